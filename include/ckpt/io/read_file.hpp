// SPDX-License-Identifier: Apache-2.0
#pragma once
// Whole small files read into memory: metadata documents (JSON checkpoints, state files) that are
// parsed rather than mapped. Size is checked before allocating, and FIFOs or devices are refused
// before anything can block.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "ckpt/core/error.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt {

class file_descriptor {
 public:
  explicit file_descriptor(int fd) noexcept : fd_(fd) {}
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  ~file_descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// The whole file, refused before allocation if larger than `max_bytes`. O_NONBLOCK and the
// regular-file check keep a FIFO or device from blocking the open.
inline std::string read_whole_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::string name = path.string();
  const file_descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) detail::throw_errno("cannot open", name, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) detail::throw_errno("cannot stat", name, errno);
  if (!S_ISREG(st.st_mode)) throw error(errc::io, "not a regular file", name);
  const auto too_large = [&](std::uint64_t size) {
    return error(errc::limit,
                 "the file has " + std::to_string(size) +
                     " bytes, more than load_limits::max_header_bytes (" +
                     std::to_string(max_bytes) + ")",
                 name);
  };
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) throw too_large(size);
  // The spare byte shows whether the file grew after fstat; then reading goes on to its end,
  // unless that passes the cap.
  std::string text(static_cast<std::size_t>(size) + 1, '\0');
  std::size_t filled = 0;
  for (;;) {
    if (filled == text.size()) {
      if (filled > max_bytes) throw too_large(filled);
      text.resize(text.size() * 2);
    }
    const ssize_t n = ::read(fd.get(), text.data() + filled, text.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      detail::throw_errno("cannot read", name, errno);
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  if (filled > max_bytes) throw too_large(filled);
  text.resize(filled);
  return text;
}

}  // namespace ckpt
