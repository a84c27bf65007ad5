// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shapes are row-major dimension lists, as every supported format stores them. Sizes read from a
// file are untrusted, so products are computed with overflow checks.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/core/dtype.hpp"

namespace ckpt {

using shape = std::vector<std::uint64_t>;

// Element count, or nothing if it does not fit in 64 bits. A zero dimension after an overflowing
// prefix still overflows: a shape like [2^40, 2^40, 0] is hostile, not empty.
inline std::optional<std::uint64_t> checked_num_elements(const shape& s) noexcept {
  std::uint64_t n = 1;
  for (auto d : s)
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  return n;
}

// Bytes of a fixed-size dtype with this shape, or nothing on overflow or a dtype without a size.
inline std::optional<std::uint64_t> checked_byte_size(dtype t, const shape& s) noexcept {
  const auto n = checked_num_elements(s);
  const std::uint64_t size = element_size(t);
  std::uint64_t bytes;
  if (!n || size == 0 || __builtin_mul_overflow(*n, size, &bytes)) return std::nullopt;
  return bytes;
}

inline std::uint64_t num_elements(const shape& s) noexcept {
  std::uint64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

inline std::string to_string(const shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

}  // namespace ckpt
