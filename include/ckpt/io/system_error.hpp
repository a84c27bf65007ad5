// SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cerrno>
#include <cstring>
#include <string>

#include "ckpt/core/error.hpp"

namespace ckpt::detail {

// errno text goes into the message; ENOENT becomes not_found so callers can tell "absent" apart.
[[noreturn]] inline void throw_errno(const std::string& what, const std::string& file, int err) {
  throw error(err == ENOENT ? errc::not_found : errc::io, what + ": " + std::strerror(err), file);
}

}  // namespace ckpt::detail
