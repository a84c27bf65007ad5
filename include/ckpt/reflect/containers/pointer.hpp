// SPDX-License-Identifier: Apache-2.0
#pragma once
// std::unique_ptr<T> and std::shared_ptr<T>: owning pointers as children that may be absent, like
// std::optional. A null pointer saves nothing. A load keeps the object a non-null pointer already
// points to (so other owners of a shared one see the loaded values), creates a T when the pointer
// is null and the file has entries at or under its path, and resets it when the file has none.

#include <memory>
#include <type_traits>

#include "ckpt/core/error.hpp"
#include "ckpt/reflect/container_traits.hpp"

namespace ckpt {

namespace detail {

template <class Pointer, class T>
struct owning_pointer_traits {
  static constexpr container_kind kind = container_kind::nullable;
  static void for_each(auto& c, auto&& visit) {
    if (c) visit(*c);
  }
  static void rebuild(Pointer& c, bool stored) {
    if (!stored) {
      c.reset();
    } else if (!c) {
      if constexpr (!std::is_default_constructible_v<T>)
        throw error(errc::unsupported,
                    "the file holds this child but the pointer is null and its type cannot be "
                    "default-constructed; point it to an object before loading");
      else if constexpr (std::is_same_v<Pointer, std::shared_ptr<T>>)
        c = std::make_shared<T>();
      else
        c = std::make_unique<T>();
    }
  }
};

}  // namespace detail

// Arrays (std::unique_ptr<T[]>) have no length to save; a custom deleter may not fit a new T.
template <class T>
requires(!std::is_array_v<T>) struct container_traits<std::unique_ptr<T>>
    : detail::owning_pointer_traits<std::unique_ptr<T>, T> {
};

template <class T>
requires(!std::is_array_v<T>) struct container_traits<std::shared_ptr<T>>
    : detail::owning_pointer_traits<std::shared_ptr<T>, T> {
};

}  // namespace ckpt
