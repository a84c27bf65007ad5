// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers for the HDF5 tests: capturing what the process writes to stderr (file descriptor 2,
// where libhdf5 prints its error stack). Forked children are child_process.hpp's, file bytes
// files.hpp's.

#include <stdio.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace ckpt_test {

// Redirects fd 2 to a temporary file until finish(), which returns what was written.
class stderr_capture {
 public:
  stderr_capture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_ = ::dup(2);
    ::dup2(::fileno(file_), 2);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;
  ~stderr_capture() { finish(); }

  std::string finish() {
    if (saved_ < 0) return text_;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
    std::rewind(file_);
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0) text_.append(buffer, n);
    std::fclose(file_);
    return text_;
  }

 private:
  std::FILE* file_ = nullptr;
  int saved_ = -1;
  std::string text_;
};

}  // namespace ckpt_test
