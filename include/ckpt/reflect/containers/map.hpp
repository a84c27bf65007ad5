// SPDX-License-Identifier: Apache-2.0
#pragma once
// Maps from std::string: children named by their keys. std::unordered_map saves its children in
// key order so that one object always gives the same file.

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ckpt/reflect/container_traits.hpp"

namespace ckpt {

namespace detail {

// Keeps the children whose key the file holds (with their state, as sequences do), drops the
// others and default-creates the rest. `keys` is sorted.
template <class Map>
void keep_only_keys(Map& c, std::span<const std::string> keys) {
  std::erase_if(c, [&](const auto& child) {
    return !std::binary_search(keys.begin(), keys.end(), child.first);
  });
  for (const auto& key : keys) c.try_emplace(key);
}

}  // namespace detail

template <class T, class Compare, class Alloc>
struct container_traits<std::map<std::string, T, Compare, Alloc>> {
  static constexpr container_kind kind = container_kind::map;
  static void for_each(auto& c, auto&& visit) {
    for (auto& [key, child] : c) visit(key, child);
  }
  static void rebuild(std::map<std::string, T, Compare, Alloc>& c,
                      std::span<const std::string> keys) {
    detail::keep_only_keys(c, keys);
  }
};

template <class T, class Hash, class Equal, class Alloc>
struct container_traits<std::unordered_map<std::string, T, Hash, Equal, Alloc>> {
  static constexpr container_kind kind = container_kind::map;
  static void for_each(auto& c, auto&& visit) {
    std::vector<decltype(&*c.begin())> children;
    children.reserve(c.size());
    for (auto& child : c) children.push_back(&child);
    std::sort(children.begin(), children.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (auto* child : children) visit(child->first, child->second);
  }
  static void rebuild(std::unordered_map<std::string, T, Hash, Equal, Alloc>& c,
                      std::span<const std::string> keys) {
    detail::keep_only_keys(c, keys);
  }
};

}  // namespace ckpt
