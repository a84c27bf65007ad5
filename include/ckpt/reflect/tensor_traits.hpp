// SPDX-License-Identifier: Apache-2.0
#pragma once
// ckpt::tensor_traits<T> is the one customization point that makes T a leaf (a tensor). A
// specialization provides
//   static ckpt::tensor_view view(const T&);
//   static ckpt::mutable_tensor_view prepare(T&, ckpt::dtype stored, const ckpt::shape& stored);
// `prepare` sizes the object for the stored shape (or throws errc::shape_mismatch) and returns
// memory to fill; its dtype is the object's own, which the loader converts to when allowed.

#include <array>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/tensor.hpp"
#include "ckpt/core/tensor_view.hpp"

namespace ckpt {

template <class T>
struct tensor_traits;

template <class T>
concept leaf = requires(const T& c, T& m, const shape& s) {
  { tensor_traits<T>::view(c) } -> std::convertible_to<tensor_view>;
  { tensor_traits<T>::prepare(m, dtype::float32, s) } -> std::convertible_to<mutable_tensor_view>;
};

namespace detail {

[[noreturn]] inline void throw_shape_mismatch(const shape& stored, const std::string& expected) {
  throw error(errc::shape_mismatch,
              "stored shape " + to_string(stored) + " does not fit " + expected);
}

template <element T>
tensor_view view_of(const T* data, std::size_t n, shape s) {
  if constexpr (std::is_same_v<T, std::string>)
    return {dtype::string, std::move(s), {}, {data, n}};
  else
    return {dtype_of<T>, std::move(s), std::as_bytes(std::span<const T>(data, n)), {}};
}

template <element T>
mutable_tensor_view mutable_view_of(T* data, std::size_t n, shape s) {
  if constexpr (std::is_same_v<T, std::string>)
    return {dtype::string, std::move(s), {}, {data, n}};
  else
    return {dtype_of<T>, std::move(s), std::as_writable_bytes(std::span<T>(data, n)), {}};
}

}  // namespace detail

// Scalars are rank-0 tensors.
template <element T>
struct tensor_traits<T> {
  static tensor_view view(const T& v) { return detail::view_of(&v, 1, {}); }
  static mutable_tensor_view prepare(T& v, dtype, const shape& s) {
    if (!s.empty()) detail::throw_shape_mismatch(s, "a scalar");
    return detail::mutable_view_of(&v, 1, {});
  }
};

template <element T, class Alloc>
struct tensor_traits<std::vector<T, Alloc>> {
  static_assert(!std::is_same_v<T, bool>,
                "ckpt: std::vector<bool> packs bits and has no element memory to read or write; "
                "use std::vector<std::uint8_t> or ckpt::tensor<bool>");
  static tensor_view view(const std::vector<T, Alloc>& v) {
    return detail::view_of(v.data(), v.size(), {v.size()});
  }
  static mutable_tensor_view prepare(std::vector<T, Alloc>& v, dtype, const shape& s) {
    if (s.size() != 1) detail::throw_shape_mismatch(s, "a std::vector (rank 1)");
    v.resize(s[0]);
    return detail::mutable_view_of(v.data(), v.size(), {v.size()});
  }
};

template <element T, std::size_t N>
struct tensor_traits<std::array<T, N>> {
  static tensor_view view(const std::array<T, N>& v) { return detail::view_of(v.data(), N, {N}); }
  static mutable_tensor_view prepare(std::array<T, N>& v, dtype, const shape& s) {
    if (s != shape{N}) detail::throw_shape_mismatch(s, "a std::array of " + std::to_string(N));
    return detail::mutable_view_of(v.data(), N, {N});
  }
};

template <element T>
struct tensor_traits<tensor<T>> {
  static tensor_view view(const tensor<T>& t) {
    return detail::view_of(t.data(), t.size(), t.shape());
  }
  static mutable_tensor_view prepare(tensor<T>& t, dtype, const shape& s) {
    t.resize_for_overwrite(s);
    return detail::mutable_view_of(t.data(), t.size(), t.shape());
  }
};

}  // namespace ckpt
