#pragma once
// A format written outside the library: one line per tensor, "path dtype dims... : hex-bytes".
// It is what examples/custom_format.cpp registers, and what tests/unit/custom_format_test.cpp
// round-trips, to show that a new format needs no change to ckpt itself.

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
      out << path << ' ' << ckpt::name(t.dtype) << ' ' << t.shape.size();
      for (auto d : t.shape) out << ' ' << d;
      out << " :";
      static constexpr char hex[] = "0123456789abcdef";
      out << ' ';
      for (std::byte b : t.bytes)
        out << hex[std::to_integer<int>(b) >> 4] << hex[std::to_integer<int>(b) & 15];
      out << '\n';
    }
    const std::string text = out.str();
    ckpt::atomic_file file(path_, {.sync = options_.sync});
    file.write(text.data(), text.size());
    file.commit();
  }

 private:
  std::filesystem::path path_;
  ckpt::save_options options_;
};

class reader : public ckpt::format_reader {
 public:
  explicit reader(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line) || line != "ckpt-text 1")
      throw ckpt::error(ckpt::errc::bad_format, "not a ckpt-text file", path.string());
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      ckpt::entry e;
      std::string dtype_name, colon, hex;
      std::size_t rank = 0;
      fields >> e.path >> dtype_name >> rank;
      auto dtype = ckpt::dtype_from_name(dtype_name);
      if (!fields || !dtype || rank > 64)
        throw ckpt::error(ckpt::errc::bad_format, "bad line", path.string(), e.path);
      e.name = e.path;
      e.dtype = *dtype;
      e.shape.resize(rank);
      for (auto& d : e.shape) fields >> d;
      fields >> colon >> hex;
      if (colon != ":" || hex.size() % 2 != 0)
        throw ckpt::error(ckpt::errc::bad_format, "bad line", path.string(), e.path);
      std::vector<std::byte> bytes(hex.size() / 2);
      for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = std::byte(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
      auto expected = ckpt::checked_byte_size(e.dtype, e.shape);
      if (!expected || *expected != bytes.size())
        throw ckpt::error(ckpt::errc::bad_format, "byte count does not match the shape",
                          path.string(), e.path);
      e.bytes = bytes.size();
      entries_.push_back(std::move(e));
      data_.push_back(std::move(bytes));
    }
  }
  std::string format() const override { return "text"; }
  const std::vector<ckpt::entry>& entries() const override { return entries_; }
  void read(std::size_t i, const ckpt::mutable_tensor_view& out) override {
    std::copy(data_[i].begin(), data_[i].end(), out.bytes.begin());
  }

 private:
  std::vector<ckpt::entry> entries_;
  std::vector<std::vector<std::byte>> data_;
};

inline bool register_format() {
  return ckpt::register_format({
      .name = "text",
      .extensions = {".ckpt.txt"},
      .detect = {},
      .open = [](const std::filesystem::path& p,
                 const ckpt::load_options&) { return std::make_unique<reader>(p); },
      .create = [](const std::filesystem::path& p,
                   const ckpt::save_options& o) { return std::make_unique<writer>(p, o); },
  });
}

}  // namespace text_format
