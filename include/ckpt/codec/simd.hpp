#pragma once
// One switch for every vectorised kernel: CKPT_DISABLE_SIMD, defined as a macro at build time or
// set in the environment at run time to anything but "" or "0", makes each kernel use its scalar
// twin. Tests and bug reports use it to take SIMD out of the picture.

#include <cstdlib>

namespace ckpt::simd {

constexpr bool env_value_disables(const char* value) noexcept {
  return value != nullptr && value[0] != '\0' && !(value[0] == '0' && value[1] == '\0');
}

inline bool disabled() noexcept {
#if defined(CKPT_DISABLE_SIMD)
  return true;
#else
  static const bool off = env_value_disables(std::getenv("CKPT_DISABLE_SIMD"));
  return off;
#endif
}

}  // namespace ckpt::simd
