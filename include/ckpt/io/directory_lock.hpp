// SPDX-License-Identifier: Apache-2.0
#pragma once
// An advisory lock on a directory: flock() on a lock file inside it. Held by one object at a time
// across processes and within one (flock locks belong to the open file), released when the object
// goes or the process dies, so a crash never leaves the directory locked.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <utility>

#include "ckpt/core/error.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt {

class directory_lock {
 public:
  // Takes the lock on `file`, creating it. Without `wait`, a lock someone else holds is an error
  // that says who holds it (the holder writes its process id into the file).
  directory_lock(std::filesystem::path file, bool wait) : file_(std::move(file)) {
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) detail::throw_errno("cannot open the lock file", file_.string(), errno);
    int rc;
    do rc = ::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB));
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const int err = errno;
      const std::string holder = read_holder();
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK)
        throw error(errc::io,
                    "another ckpt::manager" + (holder.empty() ? "" : " (process " + holder + ")") +
                        " holds this directory; wait for it (manager_options::wait_for_lock) or "
                        "use another directory",
                    file_.string());
      detail::throw_errno("cannot lock", file_.string(), err);
    }
    // Only for the message a second holder gets: a failure here does not matter.
    const std::string pid = std::to_string(::getpid()) + "\n";
    const bool recorded =
        ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == ssize_t(pid.size());
    static_cast<void>(recorded);
  }

  directory_lock(directory_lock&& other) noexcept
      : file_(std::move(other.file_)), fd_(std::exchange(other.fd_, -1)) {}
  directory_lock& operator=(directory_lock&& other) noexcept {
    if (this != &other) {
      release();
      file_ = std::move(other.file_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  directory_lock(const directory_lock&) = delete;
  directory_lock& operator=(const directory_lock&) = delete;
  ~directory_lock() { release(); }

 private:
  std::string read_holder() const {
    char buffer[32] = {};
    const auto n = ::pread(fd_, buffer, sizeof buffer - 1, 0);
    std::string s(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
    for (char c : s)
      if (c < '0' || c > '9') return {};
    return s;
  }
  // The file stays: removing it would let a third party lock a new file of the same name while
  // someone still waits on the old one.
  void release() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::filesystem::path file_;
  int fd_ = -1;
};

}  // namespace ckpt
