// SPDX-License-Identifier: Apache-2.0
#pragma once
// A format written outside the library: one line per tensor, "path dtype rank dims... : hex-bytes".
// It is what examples/custom_format.cpp registers. Registering it is all it takes for ckpt::save
// and ckpt::load, ckpt::manager (retention, crash-safe commits), conversion, and the library's
// round-trip conformance tests, which run over every registered format.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <ckpt/ckpt.hpp>

namespace text_format {

class writer : public ckpt::format_writer {
 public:
  writer(std::filesystem::path path, ckpt::save_options options)
      : path_(std::move(path)), options_(std::move(options)) {}

  void write(const std::vector<ckpt::named_tensor>& tensors) override {
    std::ostringstream out;
    out << "ckpt-text 1\n";
    for (const auto& [path, t] : tensors) {
      if (t.dtype == ckpt::dtype::string)
        throw ckpt::error(ckpt::errc::unsupported, "the text format holds no strings", {}, path);
      if (path.find_first_of(" \t\n\r\v\f") != std::string::npos)
        throw ckpt::error(ckpt::errc::unsupported, "a path with white space", {}, path);
      out << path << ' ' << ckpt::name(t.dtype) << ' ' << t.shape.size();
      for (auto d : t.shape) out << ' ' << d;
      static constexpr char hex[] = "0123456789abcdef";
      out << " : ";
      for (std::byte b : t.bytes)
        out << hex[std::to_integer<int>(b) >> 4] << hex[std::to_integer<int>(b) & 15];
      out << '\n';
    }
    // Through ckpt's atomic file, so a crash leaves the old checkpoint or the new one whole.
    const std::string text = out.str();
    ckpt::atomic_file file(path_, {.sync = options_.sync});
    file.write(text.data(), text.size());
    file.commit();
  }

 private:
  std::filesystem::path path_;
  ckpt::save_options options_;
};

// basic_reader owns the entries and checks every read's dtype and size; this class only parses.
class reader : public ckpt::basic_reader {
 public:
  reader(const std::filesystem::path& path, const ckpt::load_options& = {})
      : basic_reader(path.string()) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line) || line != "ckpt-text 1")
      throw ckpt::error(ckpt::errc::bad_format, "not a ckpt-text file", file_);
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      ckpt::entry e;
      std::string dtype_name, colon, hex;
      std::size_t rank = 0;
      fields >> e.path >> dtype_name >> rank;
      const auto dtype = ckpt::dtype_from_name(dtype_name);
      if (!fields || !dtype || rank > 64) throw bad_line(e.path);
      e.name = e.path;
      e.dtype = *dtype;
      e.shape.resize(rank);
      for (auto& d : e.shape) fields >> d;
      fields >> colon;
      std::getline(fields >> std::ws, hex);
      if (colon != ":" || hex.size() % 2 != 0) throw bad_line(e.path);
      std::vector<std::byte> bytes(hex.size() / 2);
      for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = std::byte(digit(hex[2 * i], e.path) * 16 + digit(hex[2 * i + 1], e.path));
      const auto expected = ckpt::checked_byte_size(e.dtype, e.shape);
      if (!expected || *expected != bytes.size())
        throw ckpt::error(ckpt::errc::bad_format, "byte count does not match the shape", file_,
                          e.path);
      e.bytes = bytes.size();
      entries_.push_back(std::move(e));
      data_.push_back(std::move(bytes));
    }
  }
  std::string format() const override { return "text"; }

 private:
  void read_entry(std::size_t i, const ckpt::mutable_tensor_view& out) override {
    std::copy(data_[i].begin(), data_[i].end(), out.bytes.begin());
  }
  ckpt::error bad_line(const std::string& key) const {
    return ckpt::error(ckpt::errc::bad_format, "not a 'path dtype rank dims : hex' line", file_,
                       key);
  }
  int digit(char c, const std::string& key) const {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw bad_line(key);
  }

  std::vector<std::vector<std::byte>> data_;
};

inline ckpt::format_info info() {
  // A reader and a writer built from (path, options) make a format; no detect(): the
  // extension names it.
  ckpt::format_info f = ckpt::basic_format<reader, writer>("text", {".ckpt.txt"});
  // What the format gives back exactly: every fixed-size dtype (the bytes are stored as they
  // are), no strings, and no whitespace inside a path (it separates the fields of a line).
  using ckpt::dtype;
  f.capabilities.dtypes = {dtype::float16, dtype::bfloat16, dtype::float32,   dtype::float64,
                           dtype::int8,    dtype::int16,    dtype::int32,     dtype::int64,
                           dtype::uint8,   dtype::uint16,   dtype::uint32,    dtype::uint64,
                           dtype::bool_,   dtype::complex64, dtype::complex128};
  f.capabilities.refused_key_characters = " \t\n\r\v\f";
  return f;
}

inline bool register_format() { return ckpt::register_format(info()); }

}  // namespace text_format
