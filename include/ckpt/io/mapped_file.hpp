// SPDX-License-Identifier: Apache-2.0
#pragma once
// A whole file mapped read-only. Loads take tensors straight from the page cache without a copy.
// The file must be regular: directories, FIFOs and devices are refused before anything blocks.
// A file truncated by someone else while mapped raises SIGBUS on access, as with any mmap reader.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <utility>

#include "ckpt/io/system_error.hpp"

namespace ckpt {

class mapped_file {
 public:
  mapped_file() = default;
  explicit mapped_file(const std::filesystem::path& path) : name_(path.string()) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) detail::throw_errno("cannot open", name_, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      detail::throw_errno("cannot stat", name_, err);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw error(errc::io, "not a regular file", name_);
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        detail::throw_errno("cannot map", name_, err);
      }
      data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);
  }
  mapped_file(mapped_file&& o) noexcept
      : name_(std::move(o.name_)),
        data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)) {}
  mapped_file& operator=(mapped_file&& o) noexcept {
    if (this != &o) {
      unmap();
      name_ = std::move(o.name_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file() { unmap(); }

  const std::string& name() const noexcept { return name_; }
  std::size_t size() const noexcept { return size_; }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }

  // Bytes [offset, offset + n), or an error naming the file if they are not all inside it.
  std::span<const std::byte> range(std::uint64_t offset, std::uint64_t n,
                                   const std::string& key = {}) const {
    if (offset > size_ || n > size_ - offset)
      throw error(errc::bad_format,
                  "needs bytes [" + std::to_string(offset) + ", " + std::to_string(offset) + " + " +
                      std::to_string(n) + ") but the file has " + std::to_string(size_),
                  name_, key, offset);
    return {data_ + offset, static_cast<std::size_t>(n)};
  }

 private:
  void unmap() noexcept {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
  }
  std::string name_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ckpt
