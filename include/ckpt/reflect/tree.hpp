// SPDX-License-Identifier: Apache-2.0
#pragma once
// Walks a user object as a tree of named children down to its leaves. Saving visits leaves as
// read-only views; loading matches leaves to stored entries, sizing containers from what the file
// holds. Paths are the canonical names formats map to their own keys: "encoder/layers/0/kernel".

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/reflect/container_traits.hpp"
#include "ckpt/reflect/containers/map.hpp"
#include "ckpt/reflect/containers/optional.hpp"
#include "ckpt/reflect/containers/pointer.hpp"
#include "ckpt/reflect/containers/sequence.hpp"
#include "ckpt/reflect/record.hpp"
#include "ckpt/reflect/tensor_traits.hpp"

namespace ckpt {

// Anything the walkers accept.
template <class T>
concept serializable = leaf<T> || container<T> || record<T>;

namespace detail {

template <class T>
constexpr void require_serializable() {
  static_assert(
      serializable<T>,
      "ckpt: this type is not serializable. Do one of:\n"
      "  (1) template <> struct ckpt::fields<T> { static constexpr auto value = "
      "ckpt::members(\"name\", &T::name, ...); };\n"
      "  (2) add a member  template <class V> void trackable(V& v) { v(\"name\", name); ... }\n"
      "  (3) make T a plain aggregate (public members, no constructors);\n"
      "  (4) for a container, specialize ckpt::container_traits<T>, e.g. for a sequence\n"
      "      template <> struct ckpt::container_traits<T> {\n"
      "        static constexpr auto kind = ckpt::container_kind::sequence;\n"
      "        static void for_each(auto& c, auto&& visit) { for (auto& x : c) visit(x); }\n"
      "        static void rebuild(T& c, std::size_t count) { c.resize(count); } };\n"
      "      (maps and optional children: see ckpt/reflect/container_traits.hpp);\n"
      "  (5) for a tensor type, specialize ckpt::tensor_traits<T> (see tensor_traits.hpp).");
  if constexpr (container<T>) require_container_shape<T>();
}

// Appends "/name" for the duration of a child's visit.
class path_builder {
 public:
  const std::string& str() const noexcept { return path_; }
  template <class Fn>
  void child(std::string_view name, Fn&& fn) {
    if (name.empty() || name.find('/') != std::string_view::npos)
      throw error(errc::bad_format,
                  "child name '" + std::string(name) + "' must be non-empty and contain no '/'", {},
                  path_);
    const auto old = path_.size();
    if (!path_.empty()) path_ += '/';
    path_ += name;
    fn();
    path_.resize(old);
  }

 private:
  std::string path_;
};

template <class T, class OnLeaf>
void walk_leaves(const T& object, path_builder& path, OnLeaf& on_leaf) {
  require_serializable<T>();
  if constexpr (leaf<T>) {
    on_leaf(path.str(), tensor_traits<T>::view(object));
  } else if constexpr (complete_container<T>) {
    using traits = container_traits<T>;
    if constexpr (kind_of<T> == container_kind::sequence) {
      std::size_t index = 0;
      traits::for_each(object, [&](const auto& child) {
        path.child(std::to_string(index++), [&] { walk_leaves(child, path, on_leaf); });
      });
    } else if constexpr (kind_of<T> == container_kind::map) {
      traits::for_each(object, [&](std::string_view key, const auto& child) {
        path.child(key, [&] { walk_leaves(child, path, on_leaf); });
      });
    } else {
      traits::for_each(object, [&](const auto& child) { walk_leaves(child, path, on_leaf); });
    }
  } else if constexpr (record<T> && !container<T>) {
    // Saving never modifies: trackable() is written once for both directions, so it is non-const.
    for_each_field(const_cast<T&>(object), [&](std::string_view name, const auto& member) {
      path.child(name, [&] { walk_leaves(member, path, on_leaf); });
    });
  }
}

}  // namespace detail

// The stored entries a load can bind to, by canonical path.
class key_index {
 public:
  explicit key_index(std::vector<std::pair<std::string, std::size_t>> paths)
      : paths_(std::move(paths)) {
    std::sort(paths_.begin(), paths_.end());
  }

  using iterator = std::vector<std::pair<std::string, std::size_t>>::const_iterator;
  iterator lower(const std::string& prefix) const {
    return std::lower_bound(paths_.begin(), paths_.end(), prefix,
                            [](const auto& e, const std::string& p) { return e.first < p; });
  }

  std::optional<std::size_t> find(std::string_view path) const {
    auto it = std::lower_bound(paths_.begin(), paths_.end(), path,
                               [](const auto& e, std::string_view p) { return e.first < p; });
    if (it == paths_.end() || it->first != path) return std::nullopt;
    return it->second;
  }

  // Distinct names of the children stored under `path`, sorted. Sorting the paths does not sort
  // the names: "a-b/x" sorts before "a/x" ('-' < '/') although "a" < "a-b".
  std::vector<std::string> children(const std::string& path) const {
    const std::string prefix = path.empty() ? std::string() : path + '/';
    std::vector<std::string> names;
    for (auto it = lower(prefix); it != paths_.end() && it->first.starts_with(prefix); ++it) {
      std::string_view rest = std::string_view(it->first).substr(prefix.size());
      std::string_view name = rest.substr(0, rest.find('/'));
      if (names.empty() || names.back() != name) names.emplace_back(name);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

  bool holds(const std::string& path) const {
    if (find(path)) return true;
    const std::string prefix = path.empty() ? std::string() : path + '/';
    auto it = lower(prefix);
    return it != paths_.end() && it->first.starts_with(prefix);
  }

 private:
  std::vector<std::pair<std::string, std::size_t>> paths_;
};

// One leaf of the user object matched to one stored entry.
struct binding {
  std::size_t entry;
  std::string path;
  dtype leaf_dtype;
  std::function<mutable_tensor_view(dtype, const shape&)> prepare;
};

struct load_plan {
  std::vector<binding> bindings;
  std::vector<std::string> missing;
};

namespace detail {

inline std::size_t count_indexed(const key_index& keys, const std::string& path) {
  auto names = keys.children(path);
  std::vector<std::size_t> indices;
  indices.reserve(names.size());
  for (const auto& n : names) {
    std::size_t i = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), i);
    if (ec != std::errc() || end != n.data() + n.size() || (n.size() > 1 && n[0] == '0'))
      throw error(errc::bad_format, "child '" + n + "' of a sequence is not an index", {}, path);
    indices.push_back(i);
  }
  std::sort(indices.begin(), indices.end());
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] != i)
      throw error(errc::bad_format,
                  "sequence children are not contiguous from 0 (index " + std::to_string(i) +
                      " is missing)",
                  {}, path);
  return indices.size();
}

template <class T>
void plan_load(T& object, path_builder& path, const key_index& keys, load_plan& plan);

// A container's rebuild may throw ckpt::error; it then names the container's path.
template <class T, class Stored>
void rebuild_container(T& object, const Stored& stored, const path_builder& path) {
  try {
    container_traits<T>::rebuild(object, stored);
  } catch (error& e) {
    e.with_key(path.str());
    throw;
  }
}

// Rebuilds a container from what the file holds under its path, then plans its children.
template <class T>
void plan_container(T& object, path_builder& path, const key_index& keys, load_plan& plan) {
  using traits = container_traits<T>;
  if constexpr (kind_of<T> == container_kind::sequence) {
    if constexpr (rebuilds_from_count<T>)
      rebuild_container(object, count_indexed(keys, path.str()), path);
    std::size_t index = 0;
    traits::for_each(object, [&](auto& child) {
      path.child(std::to_string(index++), [&] { plan_load(child, path, keys, plan); });
    });
  } else if constexpr (kind_of<T> == container_kind::map) {
    const std::vector<std::string> names = keys.children(path.str());
    rebuild_container(object, std::span<const std::string>(names), path);
    traits::for_each(object, [&](std::string_view key, auto& child) {
      path.child(key, [&] { plan_load(child, path, keys, plan); });
    });
  } else {
    rebuild_container(object, keys.holds(path.str()), path);
    traits::for_each(object, [&](auto& child) { plan_load(child, path, keys, plan); });
  }
}

template <class T>
void plan_load(T& object, path_builder& path, const key_index& keys, load_plan& plan) {
  require_serializable<T>();
  if constexpr (leaf<T>) {
    auto entry = keys.find(path.str());
    if (!entry) {
      plan.missing.push_back(path.str());
      return;
    }
    plan.bindings.push_back(
        {*entry, path.str(), tensor_traits<T>::view(object).dtype,
         [&object](dtype d, const shape& s) { return tensor_traits<T>::prepare(object, d, s); }});
  } else if constexpr (complete_container<T>) {
    plan_container(object, path, keys, plan);
  } else if constexpr (record<T> && !container<T>) {
    for_each_field(object, [&](std::string_view name, auto& member) {
      path.child(name, [&] { plan_load(member, path, keys, plan); });
    });
  }
}

}  // namespace detail

// Calls on_leaf(path, tensor_view) for every leaf of object.
template <class T, class OnLeaf>
void for_each_leaf(const T& object, OnLeaf&& on_leaf) {
  detail::path_builder path;
  detail::walk_leaves(object, path, on_leaf);
}

template <class T>
load_plan plan_load(T& object, const key_index& keys) {
  load_plan plan;
  detail::path_builder path;
  detail::plan_load(object, path, keys, plan);
  return plan;
}

}  // namespace ckpt
