// SPDX-License-Identifier: Apache-2.0
#pragma once
// 16-bit floating-point storage types. They hold bits only: arithmetic happens in float, and every
// narrowing rounds to nearest, ties to even, like TensorFlow, PyTorch and numpy. The bulk SIMD
// conversions live in codec/half.hpp; the scalar conversions here are the reference they match.
//
// NaN rule, shared by the scalar code and every SIMD path so that all of them agree bit for bit:
// a NaN converts to a quiet NaN of the same sign that keeps as many of the leading payload bits as
// the destination holds. That is what IEEE 754 convertFormat asks for and what F16C's VCVTPS2PH and
// VCVTPH2PS do in hardware, so the F16C paths need no fix-up.

#include <bit>
#include <cstdint>
#include <type_traits>

namespace ckpt {

struct bfloat16 {
  std::uint16_t bits = 0;

  constexpr bfloat16() = default;
  explicit bfloat16(float f) noexcept : bits(from_float(f)) {}
  static constexpr bfloat16 from_bits(std::uint16_t b) noexcept {
    bfloat16 h;
    h.bits = b;
    return h;
  }
  explicit operator float() const noexcept { return to_float(bits); }

  static constexpr float to_float(std::uint16_t b) noexcept {
    std::uint32_t u = std::uint32_t{b} << 16;
    if ((u & 0x7fffffffu) > 0x7f800000u) u |= 0x00400000u;  // see the NaN rule at the top
    return std::bit_cast<float>(u);
  }

  static constexpr std::uint16_t from_float(float f) noexcept {
    const auto u = std::bit_cast<std::uint32_t>(f);
    // A NaN must stay a NaN: rounding could carry its payload into the exponent and make Inf.
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
    const std::uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
    return static_cast<std::uint16_t>((u + rounding) >> 16);
  }
  friend constexpr bool operator==(bfloat16 a, bfloat16 b) noexcept {
    // IEEE equality: NaN differs from everything, +0 equals -0.
    const bool a_nan = (a.bits & 0x7fffu) > 0x7f80u, b_nan = (b.bits & 0x7fffu) > 0x7f80u;
    if (a_nan || b_nan) return false;
    return a.bits == b.bits || ((a.bits | b.bits) & 0x7fffu) == 0;
  }
};

struct float16 {
  std::uint16_t bits = 0;

  constexpr float16() = default;
  explicit float16(float f) noexcept : bits(from_float(f)) {}
  static constexpr float16 from_bits(std::uint16_t b) noexcept {
    float16 h;
    h.bits = b;
    return h;
  }
  explicit operator float() const noexcept { return to_float(bits); }

  static constexpr float to_float(std::uint16_t h) noexcept {
    const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1fu;
    std::uint32_t mantissa = h & 0x3ffu;
    std::uint32_t u;
    if (exponent == 0x1f) {
      // Signalling NaNs come out quiet (see the NaN rule at the top); Inf has no mantissa bits.
      u = sign | 0x7f800000u | (mantissa << 13) | (mantissa != 0 ? 0x00400000u : 0u);
    } else if (exponent != 0) {
      u = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
      u = sign;
    } else {
      // Subnormal half: normalise into float's wider exponent range.
      int e = 113;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --e;
      }
      u = sign | (std::uint32_t(e) << 23) | ((mantissa & 0x3ffu) << 13);
    }
    return std::bit_cast<float>(u);
  }

  static constexpr std::uint16_t from_float(float f) noexcept {
    const auto u = std::bit_cast<std::uint32_t>(f);
    const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
    const std::uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return sign | 0x7e00u | static_cast<std::uint16_t>((abs >> 13) & 0x1ffu);
    if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to or beyond 65520: infinity
    if (abs < 0x38800000u) {
      // Result is subnormal or zero: shift the implicit-one mantissa into place, rounding once.
      if (abs < 0x33000000u) return sign;  // below half the smallest subnormal
      const std::uint32_t e = abs >> 23;
      const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
      const std::uint32_t shift = 126 - e;  // 14..24
      const std::uint32_t half_ulp = 1u << (shift - 1);
      const std::uint32_t rest = m & ((1u << shift) - 1);
      std::uint32_t r = m >> shift;
      if (rest > half_ulp || (rest == half_ulp && (r & 1u))) ++r;
      return sign | static_cast<std::uint16_t>(r);
    }
    const std::uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return sign | static_cast<std::uint16_t>((rounded - 0x38000000u) >> 13);
  }
  friend constexpr bool operator==(float16 a, float16 b) noexcept {
    const bool a_nan = (a.bits & 0x7fffu) > 0x7c00u, b_nan = (b.bits & 0x7fffu) > 0x7c00u;
    if (a_nan || b_nan) return false;
    return a.bits == b.bits || ((a.bits | b.bits) & 0x7fffu) == 0;
  }
};

// The bulk kernels of codec/half.hpp read and write arrays of these as raw 16-bit lanes.
static_assert(sizeof(float16) == 2 && alignof(float16) == 2);
static_assert(sizeof(bfloat16) == 2 && alignof(bfloat16) == 2);
static_assert(std::is_trivially_copyable_v<float16> && std::is_trivially_copyable_v<bfloat16>);
static_assert(std::is_standard_layout_v<float16> && std::is_standard_layout_v<bfloat16>);

}  // namespace ckpt
