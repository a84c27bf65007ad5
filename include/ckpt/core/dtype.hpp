// SPDX-License-Identifier: Apache-2.0
#pragma once
// Element types. The numbers are TensorFlow's DataType values so a TF checkpoint's dtype field is
// a dtype without translation; other formats map their own names onto these.

#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "ckpt/core/float16.hpp"

namespace ckpt {

enum class dtype : std::int32_t {
  invalid = 0,
  float32 = 1,
  float64 = 2,
  int32 = 3,
  uint8 = 4,
  int16 = 5,
  int8 = 6,
  string = 7,
  complex64 = 8,
  int64 = 9,
  bool_ = 10,
  qint8 = 11,
  quint8 = 12,
  qint32 = 13,
  bfloat16 = 14,
  qint16 = 15,
  quint16 = 16,
  uint16 = 17,
  complex128 = 18,
  float16 = 19,
  resource = 20,
  variant = 21,
  uint32 = 22,
  uint64 = 23,
  float8_e5m2 = 24,
  float8_e4m3fn = 25,
  float8_e4m3fnuz = 26,
  float8_e4m3b11fnuz = 27,
  float8_e5m2fnuz = 28,
  int4 = 29,
  uint4 = 30,
  int2 = 31,
  uint2 = 32,
};

namespace detail {
struct dtype_row {
  dtype type;
  std::string_view name;
  std::size_t size;  // bytes per element as stored; 0 where elements have no fixed size
};
// TF keeps 4- and 2-bit integers one per byte in checkpoints, so they count as 1 byte here.
inline constexpr dtype_row dtype_table[] = {
    {dtype::float32, "float32", 4},
    {dtype::float64, "float64", 8},
    {dtype::int32, "int32", 4},
    {dtype::uint8, "uint8", 1},
    {dtype::int16, "int16", 2},
    {dtype::int8, "int8", 1},
    {dtype::string, "string", 0},
    {dtype::complex64, "complex64", 8},
    {dtype::int64, "int64", 8},
    {dtype::bool_, "bool", 1},
    {dtype::qint8, "qint8", 1},
    {dtype::quint8, "quint8", 1},
    {dtype::qint32, "qint32", 4},
    {dtype::bfloat16, "bfloat16", 2},
    {dtype::qint16, "qint16", 2},
    {dtype::quint16, "quint16", 2},
    {dtype::uint16, "uint16", 2},
    {dtype::complex128, "complex128", 16},
    {dtype::float16, "float16", 2},
    {dtype::resource, "resource", 0},
    {dtype::variant, "variant", 0},
    {dtype::uint32, "uint32", 4},
    {dtype::uint64, "uint64", 8},
    {dtype::float8_e5m2, "float8_e5m2", 1},
    {dtype::float8_e4m3fn, "float8_e4m3fn", 1},
    {dtype::float8_e4m3fnuz, "float8_e4m3fnuz", 1},
    {dtype::float8_e4m3b11fnuz, "float8_e4m3b11fnuz", 1},
    {dtype::float8_e5m2fnuz, "float8_e5m2fnuz", 1},
    {dtype::int4, "int4", 1},
    {dtype::uint4, "uint4", 1},
    {dtype::int2, "int2", 1},
    {dtype::uint2, "uint2", 1},
};
constexpr const dtype_row* find_row(dtype t) noexcept {
  for (const auto& row : dtype_table)
    if (row.type == t) return &row;
  return nullptr;
}
}  // namespace detail

// A dtype number read from a file may be anything; only listed values are valid.
constexpr bool is_valid(dtype t) noexcept { return detail::find_row(t) != nullptr; }

constexpr std::string_view name(dtype t) noexcept {
  const auto* row = detail::find_row(t);
  return row ? row->name : std::string_view("invalid");
}

inline std::string describe(dtype t) {
  if (is_valid(t)) return std::string(name(t));
  return "unknown dtype " + std::to_string(static_cast<std::int32_t>(t));
}

constexpr std::size_t element_size(dtype t) noexcept {
  const auto* row = detail::find_row(t);
  return row ? row->size : 0;
}

constexpr std::optional<dtype> dtype_from_name(std::string_view n) noexcept {
  for (const auto& row : detail::dtype_table)
    if (row.name == n) return row.type;
  return std::nullopt;
}

// Types whose in-memory bytes are the stored bytes: tensors of these are read and written in place.
template <class T>
struct dtype_of_t {};
template <dtype D>
struct dtype_constant {
  static constexpr dtype value = D;
};
template <>
struct dtype_of_t<float> : dtype_constant<dtype::float32> {};
template <>
struct dtype_of_t<double> : dtype_constant<dtype::float64> {};
template <>
struct dtype_of_t<std::int8_t> : dtype_constant<dtype::int8> {};
template <>
struct dtype_of_t<std::int16_t> : dtype_constant<dtype::int16> {};
template <>
struct dtype_of_t<std::int32_t> : dtype_constant<dtype::int32> {};
template <>
struct dtype_of_t<std::int64_t> : dtype_constant<dtype::int64> {};
template <>
struct dtype_of_t<std::uint8_t> : dtype_constant<dtype::uint8> {};
template <>
struct dtype_of_t<std::uint16_t> : dtype_constant<dtype::uint16> {};
template <>
struct dtype_of_t<std::uint32_t> : dtype_constant<dtype::uint32> {};
template <>
struct dtype_of_t<std::uint64_t> : dtype_constant<dtype::uint64> {};
template <>
struct dtype_of_t<bool> : dtype_constant<dtype::bool_> {};
template <>
struct dtype_of_t<std::complex<float>> : dtype_constant<dtype::complex64> {};
template <>
struct dtype_of_t<std::complex<double>> : dtype_constant<dtype::complex128> {};
template <>
struct dtype_of_t<ckpt::float16> : dtype_constant<dtype::float16> {};
template <>
struct dtype_of_t<ckpt::bfloat16> : dtype_constant<dtype::bfloat16> {};
template <>
struct dtype_of_t<std::string> : dtype_constant<dtype::string> {};
// `long long` and `long` are distinct types even where both are 64 bits wide.
template <class T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char> &&
         sizeof(T) == 8 && !std::is_same_v<T, std::int64_t> &&
         !std::is_same_v<T, std::uint64_t>) struct dtype_of_t<T>
    : dtype_of_t<std::conditional_t<std::is_signed_v<T>, std::int64_t, std::uint64_t>> {
};

template <class T>
concept element = requires {
  dtype_of_t<T>::value;
};

template <element T>
inline constexpr dtype dtype_of = dtype_of_t<T>::value;

}  // namespace ckpt
