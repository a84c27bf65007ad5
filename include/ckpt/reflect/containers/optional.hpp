// SPDX-License-Identifier: Apache-2.0
#pragma once
// std::optional<T>: a child that may be absent. An empty one saves nothing; a load fills it when
// the file has entries at or under its path and empties it otherwise.

#include <optional>

#include "ckpt/reflect/container_traits.hpp"

namespace ckpt {

template <class T>
struct container_traits<std::optional<T>> {
  static constexpr container_kind kind = container_kind::nullable;
  static void for_each(auto& c, auto&& visit) {
    if (c) visit(*c);
  }
  static void rebuild(std::optional<T>& c, bool stored) {
    if (!stored)
      c.reset();
    else if (!c)
      c.emplace();
  }
};

}  // namespace ckpt
