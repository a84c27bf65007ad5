// SPDX-License-Identifier: Apache-2.0
#pragma once
// One switch for every vectorised kernel: CKPT_DISABLE_SIMD, defined as a macro at build time or
// set in the environment at run time to anything but "" or "0", makes each kernel use its scalar
// twin. Tests and bug reports use it to take SIMD out of the picture.

#include <cstdlib>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

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

// What this CPU can run, read once. The runtime reports AVX and AVX-512 only where the OS saves
// their register state, so a listed feature is safe to use.
struct cpu_features {
  bool sse42 = false, pclmul = false, avx2 = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, vpclmulqdq = false;
};

inline const cpu_features& cpu() noexcept {
  static const cpu_features features = [] {
    cpu_features f;
#if defined(__x86_64__)
    __builtin_cpu_init();
    f.sse42 = __builtin_cpu_supports("sse4.2");
    f.pclmul = __builtin_cpu_supports("pclmul");
    f.avx2 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2");
    // clang 14's __builtin_cpu_supports has no "f16c": read CPUID.1:ECX.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    f.f16c = f.avx2 && __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.vpclmulqdq = __builtin_cpu_supports("vpclmulqdq");
#endif
    return f;
  }();
  return features;
}

}  // namespace ckpt::simd
