// SPDX-License-Identifier: Apache-2.0
#pragma once
// How each dtype's elements are spelled in the JSON format (formats/json/README.md).

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ckpt/codec/half.hpp"
#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt::json_format {

inline constexpr std::string_view format_marker = "ckpt-json";
inline constexpr std::uint64_t current_version = 1;

enum class value_kind : std::uint8_t { floating, integer, boolean, complex, text, unsupported };
enum class float_kind : std::uint8_t { f16, bf16, f32, f64 };

struct element_rule {
  value_kind kind = value_kind::unsupported;
  float_kind real = float_kind::f32;  // floating elements and complex components
  bool is_signed = false;             // integers
  std::int64_t min = 0;
  std::uint64_t max = 0;
  std::size_t size = 0;  // bytes per element in memory
};

constexpr element_rule integer_rule(std::size_t size, std::int64_t min, std::uint64_t max) {
  return {value_kind::integer, float_kind::f32, min < 0, min, max, size};
}

constexpr element_rule rule_for(dtype t) noexcept {
  using limits8 = std::numeric_limits<std::int8_t>;
  using limits16 = std::numeric_limits<std::int16_t>;
  using limits32 = std::numeric_limits<std::int32_t>;
  using limits64 = std::numeric_limits<std::int64_t>;
  switch (t) {
    case dtype::float16:
      return {value_kind::floating, float_kind::f16, false, 0, 0, 2};
    case dtype::bfloat16:
      return {value_kind::floating, float_kind::bf16, false, 0, 0, 2};
    case dtype::float32:
      return {value_kind::floating, float_kind::f32, false, 0, 0, 4};
    case dtype::float64:
      return {value_kind::floating, float_kind::f64, false, 0, 0, 8};
    case dtype::complex64:
      return {value_kind::complex, float_kind::f32, false, 0, 0, 8};
    case dtype::complex128:
      return {value_kind::complex, float_kind::f64, false, 0, 0, 16};
    case dtype::bool_:
      return {value_kind::boolean, float_kind::f32, false, 0, 1, 1};
    case dtype::string:
      return {value_kind::text, float_kind::f32, false, 0, 0, 0};
    case dtype::int8:
    case dtype::qint8:
      return integer_rule(1, limits8::min(), limits8::max());
    case dtype::int16:
    case dtype::qint16:
      return integer_rule(2, limits16::min(), limits16::max());
    case dtype::int32:
    case dtype::qint32:
      return integer_rule(4, limits32::min(), limits32::max());
    case dtype::int64:
      return integer_rule(8, limits64::min(), limits64::max());
    case dtype::uint8:
    case dtype::quint8:
      return integer_rule(1, 0, 0xff);
    case dtype::uint16:
    case dtype::quint16:
      return integer_rule(2, 0, 0xffff);
    case dtype::uint32:
      return integer_rule(4, 0, 0xffff'ffff);
    case dtype::uint64:
      return integer_rule(8, 0, std::numeric_limits<std::uint64_t>::max());
    // TF keeps 4- and 2-bit integers one per byte; the JSON value is the number itself.
    case dtype::int4:
      return integer_rule(1, -8, 7);
    case dtype::uint4:
      return integer_rule(1, 0, 15);
    case dtype::int2:
      return integer_rule(1, -2, 1);
    case dtype::uint2:
      return integer_rule(1, 0, 3);
    // The five float8 encodings disagree on NaN, infinity and bias; their raw bits are the one
    // spelling that is exact and needs no table per encoding.
    case dtype::float8_e5m2:
    case dtype::float8_e4m3fn:
    case dtype::float8_e4m3fnuz:
    case dtype::float8_e4m3b11fnuz:
    case dtype::float8_e5m2fnuz:
      return integer_rule(1, 0, 0xff);
    default:
      return {};
  }
}

struct float_layout {
  std::size_t bytes;
  std::uint64_t sign, exponent, mantissa, canonical_nan;
  std::string_view name;
};

constexpr float_layout layout_of(float_kind k) noexcept {
  switch (k) {
    case float_kind::f16:
      return {2, 0x8000, 0x7c00, 0x03ff, 0x7e00, "float16"};
    case float_kind::bf16:
      return {2, 0x8000, 0x7f80, 0x007f, 0x7fc0, "bfloat16"};
    case float_kind::f32:
      return {4, 0x8000'0000, 0x7f80'0000, 0x007f'ffff, 0x7fc0'0000, "float32"};
    case float_kind::f64:
      return {8,
              0x8000'0000'0000'0000,
              0x7ff0'0000'0000'0000,
              0x000f'ffff'ffff'ffff,
              0x7ff8'0000'0000'0000,
              "float64"};
  }
  return {4, 0x8000'0000, 0x7f80'0000, 0x007f'ffff, 0x7fc0'0000, "float32"};
}

constexpr bool is_nan_bits(std::uint64_t bits, const float_layout& l) noexcept {
  return (bits & l.exponent) == l.exponent && (bits & l.mantissa) != 0;
}
constexpr bool is_inf_bits(std::uint64_t bits, const float_layout& l) noexcept {
  return (bits & ~l.sign) == l.exponent;
}

// Elements are kept in native byte order; these move one element between bytes and a 64-bit word
// by value, so they hold on any endianness.
inline std::uint64_t load_bits(const std::byte* p, std::size_t size) noexcept {
  switch (size) {
    case 1: {
      std::uint8_t v;
      std::memcpy(&v, p, 1);
      return v;
    }
    case 2: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default: {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

inline void store_bits(std::byte* p, std::size_t size, std::uint64_t bits) noexcept {
  switch (size) {
    case 1: {
      const auto v = static_cast<std::uint8_t>(bits);
      std::memcpy(p, &v, 1);
      return;
    }
    case 2: {
      const auto v = static_cast<std::uint16_t>(bits);
      std::memcpy(p, &v, 2);
      return;
    }
    case 4: {
      const auto v = static_cast<std::uint32_t>(bits);
      std::memcpy(p, &v, 4);
      return;
    }
    default:
      std::memcpy(p, &bits, 8);
      return;
  }
}

// Sign-extends a signed element of `size` bytes.
inline std::int64_t signed_value(std::uint64_t bits, std::size_t size) noexcept {
  switch (size) {
    case 1:
      return static_cast<std::int8_t>(bits);
    case 2:
      return static_cast<std::int16_t>(bits);
    case 4:
      return static_cast<std::int32_t>(bits);
    default:
      return static_cast<std::int64_t>(bits);
  }
}

}  // namespace ckpt::json_format
