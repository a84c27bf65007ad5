// SPDX-License-Identifier: Apache-2.0
#pragma once
// The body every reader fuzz target shares: the input becomes a file, which is opened as one
// format and read entry by entry. Any ckpt::error is a correct answer; anything else (a crash, a
// sanitizer report, another exception, a leak) is a bug.

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

// The API without any format: each target includes its own format's header, which registers it
// (and is all of the library the target compiles).
#include "ckpt/api.hpp"

namespace ckpt_fuzz {

inline int read_as(const char* format, const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/dev/shm/ckpt-fuzz-" + std::to_string(::getpid());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) __builtin_trap();
  ::close(fd);
  try {
    ckpt::load_options options;
    options.format = format;
    ckpt::reader r(path, options);
    auto& impl = r.impl();
    for (std::size_t i = 0; i < impl.entries().size(); ++i) {
      const auto& e = impl.entries()[i];
      std::vector<std::byte> bytes(e.dtype == ckpt::dtype::string ? 0 : e.bytes);
      std::vector<std::string> strings(e.dtype == ckpt::dtype::string ? ckpt::num_elements(e.shape)
                                                                      : 0);
      impl.read(i, {e.dtype, e.shape, bytes, strings});
      impl.verify(i);
    }
  } catch (const ckpt::error&) {
  }
  return 0;
}

}  // namespace ckpt_fuzz
