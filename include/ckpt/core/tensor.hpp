// SPDX-License-Identifier: Apache-2.0
#pragma once
// An owning N-D row-major tensor. New tensors are zero-filled like numpy.zeros; loading reuses or
// allocates storage without zeroing it, since the file overwrites every element anyway.

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <utility>

#include "ckpt/core/dtype.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"

namespace ckpt {

template <element T>
class tensor {
 public:
  using value_type = T;

  tensor() = default;
  explicit tensor(ckpt::shape s) : shape_(std::move(s)), size_(num_elements(shape_)) {
    data_.reset(new T[size_]());
  }
  tensor(ckpt::shape s, std::initializer_list<T> values) : tensor(std::move(s)) {
    if (values.size() != size_)
      throw std::invalid_argument("ckpt::tensor: " + std::to_string(values.size()) +
                                  " values for shape " + to_string(shape_));
    std::copy(values.begin(), values.end(), data_.get());
  }
  tensor(const tensor& o) : shape_(o.shape_), size_(o.size_), data_(new T[o.size_]) {
    std::copy(o.begin(), o.end(), data_.get());
  }
  tensor(tensor&&) noexcept = default;
  tensor& operator=(const tensor& o) {
    if (this != &o) *this = tensor(o);
    return *this;
  }
  tensor& operator=(tensor&&) noexcept = default;

  const ckpt::shape& shape() const noexcept { return shape_; }
  std::size_t rank() const noexcept { return shape_.size(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T* data() noexcept { return data_.get(); }
  const T* data() const noexcept { return data_.get(); }
  T* begin() noexcept { return data_.get(); }
  T* end() noexcept { return data_.get() + size_; }
  const T* begin() const noexcept { return data_.get(); }
  const T* end() const noexcept { return data_.get() + size_; }
  std::span<T> values() noexcept { return {data_.get(), size_}; }
  std::span<const T> values() const noexcept { return {data_.get(), size_}; }

  T& operator[](std::size_t flat) noexcept { return data_[flat]; }
  const T& operator[](std::size_t flat) const noexcept { return data_[flat]; }

  template <class... I>
  requires(sizeof...(I) > 0 && (std::is_integral_v<I> && ...)) T& operator()(I... index) noexcept {
    return data_[offset_of({static_cast<std::uint64_t>(index)...})];
  }
  template <class... I>
  requires(sizeof...(I) > 0 && (std::is_integral_v<I> && ...)) const T& operator()(
      I... index) const noexcept {
    return data_[offset_of({static_cast<std::uint64_t>(index)...})];
  }

  // Gives the tensor this shape. Existing storage is reused when the element count matches;
  // otherwise new storage is left uninitialised for trivially constructible elements.
  void resize_for_overwrite(ckpt::shape s) {
    const std::uint64_t n = num_elements(s);
    if (n != size_ || !data_) data_.reset(new T[n]);
    shape_ = std::move(s);
    size_ = n;
  }

  friend bool operator==(const tensor& a, const tensor& b) {
    return a.shape_ == b.shape_ && std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::size_t offset_of(std::initializer_list<std::uint64_t> index) const noexcept {
    std::size_t flat = 0, d = 0;
    for (auto i : index) flat = flat * shape_[d++] + i;
    return flat;
  }

  ckpt::shape shape_{0};  // a default tensor is empty, not a scalar
  std::size_t size_ = 0;
  std::unique_ptr<T[]> data_;
};

}  // namespace ckpt
