// SPDX-License-Identifier: Apache-2.0
#pragma once
// Sequences of non-leaves: children "0", "1", ... std::vector and std::deque take their length
// from the file; std::array has a fixed one. (A vector or array of elements is one 1-D tensor,
// see tensor_traits.hpp; a deque of elements, having no contiguous memory, is a sequence of
// scalars.)

#include <array>
#include <cstddef>
#include <deque>
#include <vector>

#include "ckpt/reflect/container_traits.hpp"

namespace ckpt {

namespace detail {
template <class C>
struct resizable_sequence_traits {
  static constexpr container_kind kind = container_kind::sequence;
  static void for_each(auto& c, auto&& visit) {
    for (auto& child : c) visit(child);
  }
  // Children already there keep their state (trackable() types may size their own children
  // from it); their leaves are all overwritten by the load.
  static void rebuild(C& c, std::size_t count) { c.resize(count); }
};
}  // namespace detail

template <class T, class Alloc>
struct container_traits<std::vector<T, Alloc>>
    : detail::resizable_sequence_traits<std::vector<T, Alloc>> {};

template <class T, class Alloc>
struct container_traits<std::deque<T, Alloc>>
    : detail::resizable_sequence_traits<std::deque<T, Alloc>> {};

template <class T, std::size_t N>
struct container_traits<std::array<T, N>> {
  static constexpr container_kind kind = container_kind::sequence;
  static void for_each(auto& c, auto&& visit) {
    for (auto& child : c) visit(child);
  }
};

}  // namespace ckpt
