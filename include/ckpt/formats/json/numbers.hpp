// SPDX-License-Identifier: Apache-2.0
#pragma once
// Exact decimal <-> binary conversion of the JSON format's floating-point values.

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
#include "ckpt/formats/json/elements.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt::json_format {

// Rounds to float, but to odd instead of to nearest: truncate, then set the last bit if anything
// was cut off. A second rounding to nearest from there (to float16 or bfloat16, both at least two
// bits narrower) then equals rounding the double directly, with no double-rounding error.
inline float round_to_odd_float(double d) noexcept {
  float f = static_cast<float>(d);
  if (static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(f) | 1u);
}

inline bool starts_negative(std::string_view text) noexcept {
  return !text.empty() && text.front() == '-';
}

// The bits nearest to the decimal `text` (a JSON number), or nothing if the number is too large
// for the type. `approx` is the same number as a double, already known to be finite; it tells an
// overflow from an underflow when from_chars reports "out of range" for either. Numbers too small
// for the type round to a zero of their sign, as any decimal-to-binary conversion does.
inline std::optional<std::uint64_t> float_bits_from_text(std::string_view text, double approx,
                                                         float_kind kind) noexcept {
  const char* first = text.data();
  const char* last = first + text.size();
  const bool underflow_allowed = std::fabs(approx) < 1.0;
  const auto signed_zero = [&](float_kind k) -> std::uint64_t {
    return starts_negative(text) ? layout_of(k).sign : 0;
  };
  switch (kind) {
    case float_kind::f32: {
      float f = 0;
      const auto r = std::from_chars(first, last, f);
      if (r.ec == std::errc::result_out_of_range)
        return underflow_allowed ? std::optional(signed_zero(kind)) : std::nullopt;
      if (r.ec != std::errc() || r.ptr != last) return std::nullopt;
      return std::bit_cast<std::uint32_t>(f);
    }
    case float_kind::f64: {
      double d = 0;
      const auto r = std::from_chars(first, last, d);
      if (r.ec == std::errc::result_out_of_range)
        return underflow_allowed ? std::optional(signed_zero(kind)) : std::nullopt;
      if (r.ec != std::errc() || r.ptr != last) return std::nullopt;
      return std::bit_cast<std::uint64_t>(d);
    }
    case float_kind::f16:
    case float_kind::bf16: {
      double d = 0;
      const auto r = std::from_chars(first, last, d);
      if (r.ec == std::errc::result_out_of_range) {
        if (!underflow_allowed) return std::nullopt;
        d = starts_negative(text) ? -0.0 : 0.0;
      } else if (r.ec != std::errc() || r.ptr != last) {
        return std::nullopt;
      }
      const float f = round_to_odd_float(d);
      const std::uint16_t h =
          kind == float_kind::f16 ? float16::from_float(f) : bfloat16::from_float(f);
      if (is_inf_bits(h, layout_of(kind))) return std::nullopt;
      return h;
    }
  }
  return std::nullopt;
}

inline constexpr char hex_digits[] = "0123456789abcdef";

// "NaN", "Infinity", "-Infinity" or "NaN:0x<bits>" as the bits of that kind, or nothing.
inline std::optional<std::uint64_t> special_float_bits(std::string_view s, float_kind kind) {
  const float_layout l = layout_of(kind);
  if (s == "NaN") return l.canonical_nan;
  if (s == "Infinity") return l.exponent;
  if (s == "-Infinity") return l.sign | l.exponent;
  constexpr std::string_view prefix = "NaN:0x";
  if (!s.starts_with(prefix) || s.size() != prefix.size() + 2 * l.bytes) return std::nullopt;
  std::uint64_t bits = 0;
  for (char c : s.substr(prefix.size())) {
    int digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      digit = c - 'A' + 10;
    else
      return std::nullopt;
    bits = bits << 4 | static_cast<std::uint64_t>(digit);
  }
  if (!is_nan_bits(bits, l)) return std::nullopt;
  return bits;
}

// Appends one floating-point element: the shortest decimal that reads back to the same bits, or
// a string for the values JSON numbers cannot express.
inline void append_float(std::string& out, std::uint64_t bits, float_kind kind) {
  const float_layout l = layout_of(kind);
  if (is_nan_bits(bits, l)) {
    if (bits == l.canonical_nan) {
      out += "\"NaN\"";
      return;
    }
    out += "\"NaN:0x";
    for (std::size_t i = 2 * l.bytes; i-- > 0;) out += hex_digits[(bits >> (4 * i)) & 0xf];
    out += '"';
    return;
  }
  if (is_inf_bits(bits, l)) {
    out += (bits & l.sign) ? "\"-Infinity\"" : "\"Infinity\"";
    return;
  }
  char buffer[64];
  std::to_chars_result r{};
  switch (kind) {
    case float_kind::f32:
      r = std::to_chars(buffer, buffer + sizeof buffer,
                        std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
      break;
    case float_kind::f64:
      r = std::to_chars(buffer, buffer + sizeof buffer, std::bit_cast<double>(bits));
      break;
    case float_kind::f16:
    case float_kind::bf16: {
      // No standard call gives the shortest decimal of a 16-bit float, so try precisions in
      // turn and keep the first that this reader maps back to the same bits (five significant
      // digits always suffice; the bound is only a guard). That decimal is then printed the
      // way to_chars prints a double, so 10 reads "10" rather than printf's "1e+01". Where the
      // exact value is no longer ("65504" against "65500"), the exact value is written.
      const auto half = static_cast<std::uint16_t>(bits);
      const double value =
          kind == float_kind::f16 ? float16::to_float(half) : bfloat16::to_float(half);
      double shortest = value;
      for (int precision = 1; precision <= 9; ++precision) {
        r = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific,
                          precision - 1);
        const std::string_view text(buffer, static_cast<std::size_t>(r.ptr - buffer));
        if (float_bits_from_text(text, value, kind) == bits) {
          std::from_chars(buffer, r.ptr, shortest);
          break;
        }
      }
      char exact[64];
      const auto exact_end = std::to_chars(exact, exact + sizeof exact, value).ptr;
      r = std::to_chars(buffer, buffer + sizeof buffer, shortest);
      if (exact_end - exact <= r.ptr - buffer) {
        out.append(exact, exact_end);
        return;
      }
      break;
    }
  }
  out.append(buffer, r.ptr);
}

}  // namespace ckpt::json_format
