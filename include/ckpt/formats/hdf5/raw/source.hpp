// SPDX-License-Identifier: Apache-2.0
#pragma once
// Bounded little-endian reading of an HDF5 file's bytes, for ckpt's own structural check of the
// file's metadata before libhdf5 decodes it (raw/preflight.hpp). A `source` is the whole file, on
// disk (read with pread) or an image in memory; a `cursor` walks one structure read from it. Every
// read is range-checked with overflow-safe arithmetic and fails as errc::bad_format naming the
// file, the object being checked and the byte offset in the file.
//
// HDF5 addresses are relative to the superblock's base address (a user block before the
// superblock shifts every structure); `source::read` takes such addresses once the base is set.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt::hdf5::raw {

// The address HDF5 writes for "none": every bit set, whatever the size of offsets.
inline constexpr std::uint64_t undefined_address = ~std::uint64_t{0};

class source {
 public:
  // The file at `path`, kept open (and read with pread) while any copy of this source lives.
  static source open(const std::filesystem::path& path, std::string name) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) ckpt::detail::throw_errno("cannot open", name, errno);
    auto owned = std::shared_ptr<int>(new int(fd), [](int* p) {
      ::close(*p);
      delete p;
    });
    struct stat st {};
    if (::fstat(fd, &st) != 0) ckpt::detail::throw_errno("cannot stat", name, errno);
    source s;
    s.fd_ = std::move(owned);
    s.size_ = static_cast<std::uint64_t>(st.st_size);
    s.name_ = std::move(name);
    return s;
  }

  // An image in memory; `bytes` must outlive every copy of this source.
  static source image(std::span<const std::byte> bytes, std::string name) {
    source s;
    s.image_ = bytes;
    s.size_ = bytes.size();
    s.name_ = std::move(name);
    return s;
  }

  const std::string& name() const noexcept { return name_; }
  std::uint64_t size() const noexcept { return size_; }  // whole file, user block included
  std::uint64_t base() const noexcept { return base_; }
  void set_base(std::uint64_t base) noexcept { base_ = base; }
  // Treats the file as ending at `end` if that is sooner (the superblock's end of file).
  void limit_size(std::uint64_t end) noexcept { size_ = std::min(size_, end); }

  // The absolute file offset of `address`, or nothing if it overflows.
  bool absolute(std::uint64_t address, std::uint64_t& out) const noexcept {
    return address != undefined_address && !__builtin_add_overflow(address, base_, &out);
  }

  // True if `length` bytes at `address` lie inside the file.
  bool contains(std::uint64_t address, std::uint64_t length) const noexcept {
    std::uint64_t start = 0, end = 0;
    return absolute(address, start) && !__builtin_add_overflow(start, length, &end) && end <= size_;
  }

  [[noreturn]] void fail(std::string what, std::uint64_t address,
                         std::string_view object = {}) const {
    std::uint64_t at = address;
    if (address != undefined_address) (void)__builtin_add_overflow(address, base_, &at);
    throw error(errc::bad_format, std::move(what), name_, std::string(object), at);
  }

  // `out.size()` bytes at absolute file offset `offset` (tensor data, read without libhdf5), which
  // must lie inside the file.
  void read_at(std::uint64_t offset, std::span<std::byte> out, std::string_view object) const {
    std::uint64_t end = 0;
    if (__builtin_add_overflow(offset, out.size(), &end) || end > size_)
      throw error(errc::bad_format,
                  std::to_string(out.size()) + " bytes of data lie outside the " +
                      std::to_string(size_) + "-byte file",
                  name_, std::string(object), offset);
    read_into(offset, out.data(), out.size(), object);
  }

  // `length` bytes at `address`, which must lie inside the file. Never allocates more than the
  // file holds.
  std::vector<std::byte> read(std::uint64_t address, std::uint64_t length, std::string_view what,
                              std::string_view object = {}) const {
    if (!contains(address, length))
      fail(std::string(what) + " (" + std::to_string(length) + " bytes) lies outside the " +
               std::to_string(size_) + "-byte file",
           address, object);
    std::vector<std::byte> out(static_cast<std::size_t>(length));
    read_into(address + base_, out.data(), out.size(), object);
    return out;
  }

 private:
  source() = default;

  void read_into(std::uint64_t offset, std::byte* out, std::size_t n,
                 std::string_view object) const {
    if (n == 0) return;
    if (!fd_) {
      std::memcpy(out, image_.data() + offset, n);
      return;
    }
    std::size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(*fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0)
        throw error(errc::io, "cannot read " + std::to_string(n) + " bytes", name_,
                    std::string(object), offset);
      done += static_cast<std::size_t>(got);
    }
  }

  std::shared_ptr<int> fd_;
  std::span<const std::byte> image_;
  std::uint64_t size_ = 0, base_ = 0;
  std::string name_;
};

// Little-endian fields of one structure read into memory from file address `address`. Reading past
// its end fails naming the structure and the offset.
class cursor {
 public:
  cursor(const source& src, std::span<const std::byte> bytes, std::uint64_t address,
         std::string_view object)
      : src_(&src), bytes_(bytes), address_(address), object_(object) {}

  std::size_t pos() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  std::uint64_t address() const noexcept { return address_ + pos_; }  // of the next byte
  std::span<const std::byte> bytes() const noexcept { return bytes_; }
  std::string_view object() const noexcept { return object_; }
  const source& src() const noexcept { return *src_; }

  void need(std::uint64_t n, std::string_view what) const {
    if (n > remaining())
      fail(std::string(what) + " needs " + std::to_string(n) + " bytes, " +
           std::to_string(remaining()) + " remain in its structure");
  }
  void skip(std::uint64_t n, std::string_view what) {
    need(n, what);
    pos_ += static_cast<std::size_t>(n);
  }
  void seek(std::size_t pos) {
    if (pos > bytes_.size()) fail("position outside the structure");
    pos_ = pos;
  }
  std::uint64_t uint(std::size_t width, std::string_view what) {
    need(width, what);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width && i < 8; ++i)
      v |= static_cast<std::uint64_t>(bytes_[pos_ + i]) << (8 * i);
    pos_ += width;
    return v;
  }
  std::uint8_t u8(std::string_view what) { return static_cast<std::uint8_t>(uint(1, what)); }
  std::uint16_t u16(std::string_view what) { return static_cast<std::uint16_t>(uint(2, what)); }
  std::uint32_t u32(std::string_view what) { return static_cast<std::uint32_t>(uint(4, what)); }
  std::uint64_t u64(std::string_view what) { return uint(8, what); }
  // An address of `width` bytes; all bits set (whatever the width) is undefined_address.
  std::uint64_t address(std::size_t width, std::string_view what) {
    const std::uint64_t v = uint(width, what);
    if (width < 8 && v == (std::uint64_t{1} << (8 * width)) - 1) return undefined_address;
    return v;
  }
  bool match(std::string_view signature) {
    need(signature.size(), "signature");
    const bool ok = std::memcmp(bytes_.data() + pos_, signature.data(), signature.size()) == 0;
    pos_ += signature.size();
    return ok;
  }

  [[noreturn]] void fail(std::string what) const { fail_at(std::move(what), pos_); }
  [[noreturn]] void fail_at(std::string what, std::size_t pos) const {
    src_->fail(std::move(what), address_ + pos, object_);
  }

 private:
  const source* src_;
  std::span<const std::byte> bytes_;
  std::uint64_t address_;
  std::string_view object_;
  std::size_t pos_ = 0;
};

}  // namespace ckpt::hdf5::raw
