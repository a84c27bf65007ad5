// SPDX-License-Identifier: Apache-2.0
#pragma once
// A stand-in for a TensorBundle: `prefix.data-00000-of-00001` with the tensors, then
// `prefix.index` with the data file's size and CRC32C and its own CRC32C, each written through
// atomic_file like the real writer. Registered as format "fake_bundle"; it lets manager tests
// count and fail every file operation without depending on the TF format's byte layout.

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/api.hpp"
#include "ckpt/codec/crc32c.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"

namespace ckpt_test::fake_bundle {

inline constexpr char index_magic[8] = {'F', 'A', 'K', 'E', 'I', 'D', 'X', '1'};

inline std::filesystem::path with_suffix(const std::filesystem::path& prefix, const char* suffix) {
  auto p = prefix;
  p += suffix;
  return p;
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

class writer : public ckpt::format_writer {
 public:
  writer(std::filesystem::path prefix, bool sync) : prefix_(std::move(prefix)), sync_(sync) {}
  void write(const std::vector<ckpt::named_tensor>& tensors) override {
    std::string data;
    for (const auto& t : tensors) {
      if (t.tensor.dtype == ckpt::dtype::string)
        throw ckpt::error(ckpt::errc::unsupported, "no strings here", {}, t.path);
      put<std::uint32_t>(data, static_cast<std::uint32_t>(t.path.size()));
      data += t.path;
      put<std::uint32_t>(data, static_cast<std::uint32_t>(t.tensor.dtype));
      put<std::uint32_t>(data, static_cast<std::uint32_t>(t.tensor.shape.size()));
      for (auto d : t.tensor.shape) put<std::uint64_t>(data, d);
      put<std::uint64_t>(data, t.tensor.bytes.size());
      if (!t.tensor.bytes.empty())
        data.append(reinterpret_cast<const char*>(t.tensor.bytes.data()), t.tensor.bytes.size());
    }
    const ckpt::write_options options{sync_};
    {
      ckpt::atomic_file f(with_suffix(prefix_, ".data-00000-of-00001"), options);
      // Several writes, so that a fault or a kill can land between them.
      const std::size_t chunk = 64 * 1024;
      for (std::size_t at = 0; at < data.size(); at += chunk)
        f.write(data.data() + at, std::min(chunk, data.size() - at));
      f.commit();
    }
    std::string index(index_magic, sizeof index_magic);
    put<std::uint64_t>(index, data.size());
    put<std::uint32_t>(index, ckpt::crc32c(data.data(), data.size()));
    put<std::uint32_t>(index, ckpt::crc32c(index.data(), index.size()));
    ckpt::atomic_file f(with_suffix(prefix_, ".index"), options);
    f.write(index.data(), index.size());
    f.commit();
  }

 private:
  std::filesystem::path prefix_;
  bool sync_;
};

class reader : public ckpt::format_reader {
 public:
  explicit reader(const std::filesystem::path& prefix) {
    const auto index_path = with_suffix(prefix, ".index");
    const std::string index = ckpt::read_whole_file(index_path, 1024);
    const auto bad = [&](const std::string& what, const std::filesystem::path& file) {
      return ckpt::error(ckpt::errc::bad_format, what, file.string());
    };
    if (index.size() != 24 || std::memcmp(index.data(), index_magic, 8) != 0)
      throw bad("not a fake_bundle index", index_path);
    std::uint64_t size;
    std::uint32_t data_crc, index_crc;
    std::memcpy(&size, index.data() + 8, 8);
    std::memcpy(&data_crc, index.data() + 16, 4);
    std::memcpy(&index_crc, index.data() + 20, 4);
    if (ckpt::crc32c(index.data(), 20) != index_crc)
      throw ckpt::error(ckpt::errc::checksum_mismatch, "index checksum", index_path.string());
    const auto data_path = with_suffix(prefix, ".data-00000-of-00001");
    data_ = ckpt::read_whole_file(data_path, 1ull << 30);
    if (data_.size() != size) throw bad("data file size differs from the index", data_path);
    if (ckpt::crc32c(data_.data(), data_.size()) != data_crc)
      throw ckpt::error(ckpt::errc::checksum_mismatch, "data checksum", data_path.string());
    std::size_t at = 0;
    const auto take = [&](std::size_t n) {
      if (data_.size() - at < n) throw bad("truncated", data_path);
      const char* p = data_.data() + at;
      at += n;
      return p;
    };
    const auto get32 = [&] {
      std::uint32_t v;
      std::memcpy(&v, take(4), 4);
      return v;
    };
    const auto get64 = [&] {
      std::uint64_t v;
      std::memcpy(&v, take(8), 8);
      return v;
    };
    while (at < data_.size()) {
      ckpt::entry e;
      const auto len = get32();
      e.name.assign(take(len), len);
      e.path = e.name;
      e.dtype = static_cast<ckpt::dtype>(get32());
      const auto rank = get32();
      if (rank > 64) throw bad("rank", data_path);
      for (std::uint32_t i = 0; i < rank; ++i) e.shape.push_back(get64());
      e.bytes = get64();
      offsets_.push_back(at);
      take(static_cast<std::size_t>(e.bytes));
      entries_.push_back(std::move(e));
    }
  }
  std::string format() const override { return "fake_bundle"; }
  const std::vector<ckpt::entry>& entries() const override { return entries_; }
  void read(std::size_t i, const ckpt::mutable_tensor_view& out) override {
    if (out.bytes.size() != entries_[i].bytes)
      throw ckpt::error(ckpt::errc::bad_format, "size mismatch", {}, entries_[i].name);
    if (!out.bytes.empty())
      std::memcpy(out.bytes.data(), data_.data() + offsets_[i], out.bytes.size());
  }

 private:
  std::string data_;
  std::vector<ckpt::entry> entries_;
  std::vector<std::size_t> offsets_;
};

inline ckpt::format_info info() {
  ckpt::format_info f;
  f.name = "fake_bundle";
  f.open = [](const std::filesystem::path& p,
              const ckpt::load_options&) -> std::unique_ptr<ckpt::format_reader> {
    return std::make_unique<reader>(p);
  };
  f.create = [](const std::filesystem::path& p,
                const ckpt::save_options& o) -> std::unique_ptr<ckpt::format_writer> {
    return std::make_unique<writer>(p, o.sync);
  };
  using ckpt::dtype;
  f.capabilities.dtypes = {dtype::float32, dtype::float64, dtype::int32, dtype::int64,
                           dtype::uint8,   dtype::int8,    dtype::bool_};
  f.capabilities.checksums = false;
  // The index makes the checkpoint; without it the data file is debris.
  f.files = [](const std::filesystem::path& prefix, const std::vector<std::string>& names) {
    const std::string stem = prefix.filename().string();
    std::vector<std::string> files;
    for (const char* suffix : {".index", ".data-00000-of-00001"})
      if (std::find(names.begin(), names.end(), stem + suffix) != names.end())
        files.push_back(stem + suffix);
    return files;
  };
  return f;
}

inline const bool registered = ckpt::register_format(info());

}  // namespace ckpt_test::fake_bundle
