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
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/io/system_error.hpp"

namespace ckpt {

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
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0)
      detail::throw_errno("cannot create a temporary file beside it", target_.string(), errno);
    temp_ = name.data();
    ::fchmod(fd_, 0644);
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
    if (options_.sync && ::fsync(fd_) != 0) fail("cannot fsync", errno);
    if (::close(fd_) != 0) {
      fd_ = -1;
      fail("cannot close", errno);
    }
    fd_ = -1;
    if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("cannot rename into place", errno);
    temp_.clear();
    if (options_.sync) sync_directory(target_.parent_path());
  }

  static void sync_directory(std::filesystem::path dir) {
    if (dir.empty()) dir = ".";
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
