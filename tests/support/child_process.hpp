// SPDX-License-Identifier: Apache-2.0
#pragma once
// Runs a test body in a forked child, so that a crash or a hang inside a library under test is
// observed rather than fatal, and reports how the child ended: its exit code or signal, the
// ckpt::error it ended on, what it printed and its peak memory. The child leaves through exit(),
// so atexit handlers (libhdf5's shutdown) run and what they print is part of what is checked.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ckpt/core/error.hpp"
#include "files.hpp"

namespace ckpt_test {

inline bool in_forked_child = false;

struct child_result {
  // The body's return value (0 for a body returning void), 1 if it threw a ckpt::error, 2 another
  // exception, or 128 + the signal that ended the child (SIGALRM: it hung).
  int status = -1;
  ckpt::errc code = ckpt::errc::io;  // the ckpt::error's, when status is 1 and the body threw one
  std::string message, file, object;
  std::optional<std::uint64_t> offset;
  std::string printed;  // what the child wrote to stderr, libhdf5's shutdown included
  // Peak memory when the body has returned (before exit handlers, which only free), so that a
  // child running an empty body measures what the others start from.
  long max_rss_kib = 0;  // resident
  long vm_peak_kib = 0;  // virtual: allocations too, whether touched or not
};

// This process's peak virtual memory (VmPeak), in KiB.
inline long vm_peak_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmPeak:")) return std::stol(line.substr(7));
  return 0;
}

// Runs `body` (returning void or an exit code below 128) in a forked child with stderr sent to
// `stderr_file`; the child is killed by SIGALRM after `alarm_seconds`.
template <class Body>
child_result run_in_child(const std::filesystem::path& stderr_file, Body body,
                          unsigned alarm_seconds = 20) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    in_forked_child = true;
    ::close(fds[0]);
    // The test framework's crash handlers would report a child's crash as the parent's failure.
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) std::signal(sig, SIG_DFL);
    ::alarm(alarm_seconds);
    const int fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::close(fd);
    std::string error;
    int code = 2;
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<Body&>>) {
        body();
        code = 0;
      } else {
        code = body();
      }
    } catch (const ckpt::error& e) {
      code = 1;
      error = std::to_string(static_cast<int>(e.code())) + '\n' +
              (e.offset() ? std::to_string(*e.offset()) : std::string("-")) + '\n' + e.file() +
              '\n' + e.key() + '\n' + e.what();
    } catch (...) {
    }
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    const std::string report =
        std::to_string(vm_peak_kib()) + ' ' + std::to_string(usage.ru_maxrss) + '\n' + error;
    for (std::size_t done = 0; done < report.size();) {
      const ssize_t n = ::write(fds[1], report.data() + done, report.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
    std::exit(code);
  }
  ::close(fds[1]);
  std::string report;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    report.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  child_result r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.printed = slurp(stderr_file);
  const auto first = report.find('\n');
  if (first != std::string::npos) {
    const auto space = report.find(' ');
    REQUIRE(space < first);
    r.vm_peak_kib = std::stol(report.substr(0, space));
    r.max_rss_kib = std::stol(report.substr(space + 1, first - space - 1));
  }
  // The ckpt::error's code, offset, file, key and message, one per line (the message last).
  if (first != std::string::npos && first + 1 < report.size()) {
    std::vector<std::string> lines;
    std::size_t begin = first + 1;
    for (int i = 0; i < 4; ++i) {
      const auto end = report.find('\n', begin);
      REQUIRE(end != std::string::npos);
      lines.push_back(report.substr(begin, end - begin));
      begin = end + 1;
    }
    r.code = static_cast<ckpt::errc>(std::stoi(lines[0]));
    if (lines[1] != "-") r.offset = std::stoull(lines[1]);
    r.file = lines[2];
    r.object = lines[3];
    r.message = report.substr(begin);
  }
  return r;
}

}  // namespace ckpt_test

// LeakSanitizer asks this at its exit-time check. A forked child holds a copy of everything the
// parent allocated (libhdf5's free lists among it) and cannot account for it; the parent's own
// check covers the same code.
extern "C" __attribute__((weak)) int __lsan_is_turned_off() {
  return ckpt_test::in_forked_child ? 1 : 0;
}
