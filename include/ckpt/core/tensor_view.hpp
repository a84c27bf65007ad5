// SPDX-License-Identifier: Apache-2.0
#pragma once
// What formats see of a tensor: dtype, shape and its memory. Fixed-size dtypes expose raw bytes;
// string tensors expose their std::string elements, since their stored layout differs per format.

#include <cstddef>
#include <span>
#include <string>

#include "ckpt/core/dtype.hpp"
#include "ckpt/core/shape.hpp"

namespace ckpt {

struct tensor_view {
  ckpt::dtype dtype = dtype::invalid;
  ckpt::shape shape;
  std::span<const std::byte> bytes;      // every dtype but string
  std::span<const std::string> strings;  // dtype::string

  template <element T>
  requires(!std::is_same_v<T, std::string>) std::span<const T> as()
  const noexcept { return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)}; }
};

struct mutable_tensor_view {
  ckpt::dtype dtype = dtype::invalid;
  ckpt::shape shape;
  std::span<std::byte> bytes;
  std::span<std::string> strings;

  operator tensor_view() const noexcept { return {dtype, shape, bytes, strings}; }
};

}  // namespace ckpt
