// SPDX-License-Identifier: Apache-2.0
#pragma once
// Element conversion between numeric dtypes on load, when load_options::convert allows it.

#include <complex>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ckpt/codec/half.hpp"
#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/tensor_view.hpp"

namespace ckpt {

namespace detail {

template <class F>
bool with_numeric_type(dtype t, F&& f) {
  switch (t) {
    case dtype::float16:
      f(ckpt::float16{});
      return true;
    case dtype::bfloat16:
      f(ckpt::bfloat16{});
      return true;
    case dtype::float32:
      f(float{});
      return true;
    case dtype::float64:
      f(double{});
      return true;
    case dtype::int8:
      f(std::int8_t{});
      return true;
    case dtype::int16:
      f(std::int16_t{});
      return true;
    case dtype::int32:
      f(std::int32_t{});
      return true;
    case dtype::int64:
      f(std::int64_t{});
      return true;
    case dtype::uint8:
      f(std::uint8_t{});
      return true;
    case dtype::uint16:
      f(std::uint16_t{});
      return true;
    case dtype::uint32:
      f(std::uint32_t{});
      return true;
    case dtype::uint64:
      f(std::uint64_t{});
      return true;
    case dtype::bool_:
      f(bool{});
      return true;
    default:
      return false;
  }
}

template <class T>
constexpr bool is_half = std::is_same_v<T, ckpt::float16> || std::is_same_v<T, ckpt::bfloat16>;

// Bits of precision a type represents exactly (mantissa for floats, value bits for integers).
template <class T>
constexpr int exact_bits() {
  if constexpr (std::is_same_v<T, ckpt::float16>)
    return 11;
  else if constexpr (std::is_same_v<T, ckpt::bfloat16>)
    return 8;
  else
    return std::numeric_limits<T>::digits;
}

template <class From, class To>
constexpr bool widens() {
  if constexpr (std::is_same_v<From, To>)
    return true;
  else if constexpr (std::is_same_v<From, bool>)
    return true;
  else if constexpr (std::is_same_v<To, bool>)
    return false;
  else if constexpr (std::is_floating_point_v<To> || is_half<To>) {
    if constexpr (std::is_same_v<From, ckpt::float16> && std::is_same_v<To, ckpt::bfloat16>)
      return false;  // bfloat16 has fewer mantissa bits
    else if constexpr (std::is_same_v<From, ckpt::bfloat16> && std::is_same_v<To, ckpt::float16>)
      return false;  // float16 has a smaller range
    else
      return exact_bits<From>() <= exact_bits<To>();
  } else if constexpr (std::is_floating_point_v<From> || is_half<From>) {
    return false;
  } else if constexpr (std::is_signed_v<From> && !std::is_signed_v<To>) {
    return false;
  } else {
    return exact_bits<From>() <= exact_bits<To>();
  }
}

template <class T>
double to_double(T v) {
  if constexpr (is_half<T>)
    return static_cast<double>(static_cast<float>(v));
  else
    return static_cast<double>(v);
}

template <class To, class From>
To convert_one(From v) {
  if constexpr (std::is_same_v<From, To>)
    return v;
  else if constexpr (is_half<To>)
    return To(static_cast<float>(to_double(v)));
  else if constexpr (is_half<From>)
    return static_cast<To>(static_cast<float>(v));
  else if constexpr (std::is_integral_v<To> && !std::is_same_v<To, bool> &&
                     std::is_floating_point_v<From>) {
    // Out-of-range float to integer is undefined in C++: saturate, NaN to 0.
    if (!(v == v)) return To{0};
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest()))
      return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max()))
      return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace detail

inline bool convertible(dtype from, dtype to, conversion policy) {
  if (from == to) return true;
  if (policy == conversion::none) return false;
  bool ok = false;
  detail::with_numeric_type(from, [&](auto f) {
    detail::with_numeric_type(to, [&](auto t) {
      ok = policy == conversion::any || detail::widens<decltype(f), decltype(t)>();
    });
  });
  return ok;
}

// Converts every element of `from` into `to`; shapes must already agree.
inline void convert(const tensor_view& from, const mutable_tensor_view& to) {
  if (from.dtype == to.dtype) {
    if (from.dtype == dtype::string)
      std::copy(from.strings.begin(), from.strings.end(), to.strings.begin());
    else if (!from.bytes.empty())
      std::memcpy(to.bytes.data(), from.bytes.data(), from.bytes.size());
    return;
  }
  bool done = false;
  detail::with_numeric_type(from.dtype, [&](auto f) {
    detail::with_numeric_type(to.dtype, [&](auto t) {
      using From = decltype(f);
      using To = decltype(t);
      const std::size_t n = from.bytes.size() / sizeof(From);
      const auto* src = reinterpret_cast<const From*>(from.bytes.data());
      auto* dst = reinterpret_cast<To*>(to.bytes.data());
      // The common float <-> 16-bit cases take the vectorised kernels.
      if constexpr (std::is_same_v<From, float> && detail::is_half<To>)
        ckpt::convert(src, dst, n);
      else if constexpr (detail::is_half<From> && std::is_same_v<To, float>)
        ckpt::convert(src, dst, n);
      else
        for (std::size_t i = 0; i < n; ++i) dst[i] = detail::convert_one<To>(src[i]);
      done = true;
    });
  });
  if (!done)
    throw error(errc::dtype_mismatch,
                "cannot convert " + describe(from.dtype) + " to " + describe(to.dtype));
}

}  // namespace ckpt
