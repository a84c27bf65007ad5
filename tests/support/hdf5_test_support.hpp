// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers for the HDF5 tests: capturing what the process writes to stderr (file descriptor 2,
// where libhdf5 prints its error stack), and running a body in a forked child (file bytes are
// files.hpp's).

#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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

// Runs `body` in a forked child with stderr sent to `stderr_file`, and returns the child's exit
// code, or 128 + signal if it died. The child leaves through exit(), so atexit handlers (libhdf5's
// shutdown) run and what they print is captured; a hang ends at a 5 s alarm.
inline bool in_forked_child = false;

template <class Body>
int exit_code_in_child(const std::filesystem::path& stderr_file, Body body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    in_forked_child = true;
    // The test framework's crash handlers would report a child's crash as the parent's failure.
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) std::signal(sig, SIG_DFL);
    ::alarm(5);
    const int fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    int code = 2;
    try {
      code = body();
    } catch (...) {
    }
    std::exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace ckpt_test

// LeakSanitizer asks this at its exit-time check. A forked child holds a copy of everything the
// parent allocated (libhdf5's free lists among it) and cannot account for it; the parent's own
// check covers the same code.
extern "C" __attribute__((weak)) int __lsan_is_turned_off() {
  return ckpt_test::in_forked_child ? 1 : 0;
}
