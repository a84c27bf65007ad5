// SPDX-License-Identifier: Apache-2.0
#pragma once
// The body every reader fuzz target shares: the input becomes a file (or a directory of files) in
// memory-backed /dev/shm, which is opened as one format and read entry by entry. Any ckpt::error is
// a correct answer; anything else (a crash, a sanitizer report, another exception, a leak) is a
// bug.

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

// The API without any format: each target includes its own format's header, which registers it
// (and is all of the library the target compiles).
#include "ckpt/api.hpp"

namespace ckpt_fuzz {

// A fuzzer that cannot write its input has nothing to test: stop loudly rather than pass.
inline void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)))
    __builtin_trap();
  ::close(fd);
}

// A path of this process under /dev/shm (several fuzzers run side by side, and -fork runs several
// of one), removed with everything under it when the fuzzer exits normally.
inline const std::string& scratch(const char* tag) {
  struct owned {
    std::string path;
    ~owned() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const owned p{"/dev/shm/ckpt-fuzz-" + std::string(tag) + "-" + std::to_string(::getpid())};
  return p.path;
}

// Reads, views and verifies every entry and asks for the metadata; the errors of one entry do not
// stop the others being read.
inline void read_entries(ckpt::format_reader& impl) {
  (void)impl.metadata();
  for (std::size_t i = 0; i < impl.entries().size(); ++i) {
    const auto& e = impl.entries()[i];
    try {
      const bool strings = e.dtype == ckpt::dtype::string;
      std::vector<std::byte> bytes(strings ? 0 : e.bytes);
      std::vector<std::string> s(strings ? ckpt::num_elements(e.shape) : 0);
      impl.read(i, {e.dtype, e.shape, bytes, s});
      (void)impl.view(i);
      impl.verify(i);
    } catch (const ckpt::error&) {
    }
  }
}

// Opens `path` as `format` ("" detects it from the contents) and reads it all.
inline void read_path(const std::string& path, const char* format) {
  try {
    ckpt::load_options options;
    options.format = format;
    ckpt::reader r(path, options);
    read_entries(r.impl());
  } catch (const ckpt::error&) {
  }
}

inline int read_as(const char* format, const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch("file");
  write_file(path, data, size);
  read_path(path, format);
  return 0;
}

}  // namespace ckpt_fuzz
