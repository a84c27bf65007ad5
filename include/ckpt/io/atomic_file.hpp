// SPDX-License-Identifier: Apache-2.0
#pragma once
// Writes a file so that readers see either the old file or the complete new one: the bytes go to a
// temporary name in the same directory, are fsynced, renamed over the target, and the directory is
// fsynced so the rename itself survives a crash. Anything that fails removes the temporary.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/io/system_error.hpp"

namespace ckpt {

// Fault injection for tests of what a failed or interrupted save leaves behind. When set, it is
// called before each operation of every atomic_file with the target and, for writes, the byte
// count; a nonzero result makes the operation fail with that errno (ENOSPC, EIO) as if the system
// had returned it. A test may also end the process from it to simulate a crash at that point.
// Unset it costs one load and branch per operation. Set it only while no save is running.
enum class file_op { create, write, fsync, close, rename, sync_directory };
inline int (*file_fault_hook)(file_op op, const std::filesystem::path& target,
                              std::size_t bytes) = nullptr;

namespace detail {
inline int injected_fault(file_op op, const std::filesystem::path& target, std::size_t bytes = 0) {
  return file_fault_hook ? file_fault_hook(op, target, bytes) : 0;
}
}  // namespace detail

struct write_options {
  bool sync = true;  // fsync file and directory; off only for scratch files and benchmarks
};

class atomic_file {
 public:
  explicit atomic_file(std::filesystem::path target, write_options options = {})
      : target_(std::move(target)), options_(options) {
    auto dir = target_.parent_path();
    if (dir.empty()) dir = ".";
    std::string pattern = (dir / ("." + target_.filename().string() + ".tmp-XXXXXX")).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (const int err = detail::injected_fault(file_op::create, target_))
      detail::throw_errno("cannot create a temporary file beside it", target_.string(), err);
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0)
      detail::throw_errno("cannot create a temporary file beside it", target_.string(), errno);
    temp_ = name.data();
    ::fchmod(fd_, 0644);
  }

  // The same with a temporary name chosen by the caller (in the target's directory), for files
  // whose temporaries other tools name their own way, such as TensorFlow's `checkpoint.tmp<hex>`.
  atomic_file(std::filesystem::path target, std::filesystem::path temp, write_options options)
      : target_(std::move(target)), options_(options) {
    if (const int err = detail::injected_fault(file_op::create, target_))
      detail::throw_errno("cannot create a temporary file beside it", target_.string(), err);
    fd_ = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0)
      detail::throw_errno("cannot create a temporary file beside it", target_.string(), errno);
    temp_ = temp.string();
  }

  // The target file name whose temporary `name` is under the default naming
  // (".<target>.tmp-XXXXXX"), so that a later run can recognise debris of an interrupted save.
  static std::optional<std::string> target_of_temporary(std::string_view name) {
    constexpr std::string_view mark = ".tmp-";
    constexpr std::size_t random_chars = 6;
    if (name.size() < 1 + 1 + mark.size() + random_chars || name.front() != '.')
      return std::nullopt;
    const auto target_end = name.size() - random_chars - mark.size();
    if (name.substr(target_end, mark.size()) != mark) return std::nullopt;
    return std::string(name.substr(1, target_end - 1));
  }
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;
  ~atomic_file() { discard(); }

  const std::filesystem::path& target() const noexcept { return target_; }
  std::uint64_t written() const noexcept { return written_; }

  void write(std::span<const std::byte> bytes) {
    const std::byte* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      // Linux moves at most ~2 GiB per call; larger requests come back short and loop.
      if (const int err = detail::injected_fault(file_op::write, target_, left))
        fail("cannot write", err);
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("cannot write", errno);
      }
      if (n == 0) fail("cannot write", ENOSPC);
      p += n;
      left -= static_cast<std::size_t>(n);
      written_ += static_cast<std::uint64_t>(n);
    }
  }
  void write(const void* data, std::size_t n) { write({static_cast<const std::byte*>(data), n}); }

  // Makes the new content visible under the target name.
  void commit() {
    if (options_.sync) {
      if (const int err = detail::injected_fault(file_op::fsync, target_))
        fail("cannot fsync", err);
      if (::fsync(fd_) != 0) fail("cannot fsync", errno);
    }
    if (const int err = detail::injected_fault(file_op::close, target_)) fail("cannot close", err);
    if (::close(fd_) != 0) {
      fd_ = -1;
      fail("cannot close", errno);
    }
    fd_ = -1;
    if (const int err = detail::injected_fault(file_op::rename, target_))
      fail("cannot rename into place", err);
    if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("cannot rename into place", errno);
    temp_.clear();
    if (options_.sync) sync_directory(target_.parent_path());
  }

  static void sync_directory(std::filesystem::path dir) {
    if (dir.empty()) dir = ".";
    if (const int err = detail::injected_fault(file_op::sync_directory, dir))
      detail::throw_errno("cannot fsync directory", dir.string(), err);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) detail::throw_errno("cannot open directory to fsync", dir.string(), errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) detail::throw_errno("cannot fsync directory", dir.string(), err);
  }

 private:
  [[noreturn]] void fail(const char* what, int err) {
    discard();
    detail::throw_errno(what, target_.string(), err);
  }
  void discard() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_.empty()) ::unlink(temp_.c_str());
    temp_.clear();
  }

  std::filesystem::path target_;
  write_options options_;
  std::string temp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

}  // namespace ckpt
