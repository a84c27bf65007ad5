// SPDX-License-Identifier: Apache-2.0
#pragma once
// ckpt::container_traits<C> is the customization point that makes C a container: a node of the
// tree whose children are named by the container, not by C's members. The library's own
// containers use it too, one header per family in reflect/containers/. A specialization says
//
//   static constexpr ckpt::container_kind kind;   // how children are named, below
//   static void for_each(auto& c, auto&& visit);  // visits every child, in the order to save
//   static void rebuild(C& c, <what the file holds>);  // on load, before for_each
//
// for_each is called with a const C& to save and with a C& to load. The kinds:
//
//   sequence  children "0", "1", ...: visit(child) in index order.
//             rebuild(C&, std::size_t count): hold `count` children. A fixed-size sequence
//             leaves rebuild out: children the file lacks are missing, extra ones are
//             unexpected. With rebuild, the stored indices must run 0..count-1 without a gap.
//   map       children named by string keys: visit(key, child), key convertible to
//             std::string_view, in the order to save (std::unordered_map sorts its keys, so
//             one object always gives the same file); keys must be non-empty and hold no '/'.
//             rebuild(C&, std::span<const std::string> keys): hold exactly these keys (sorted,
//             distinct).
//   nullable  zero or one child stored at the container's own path (std::optional, pointers):
//             visit(child) only when there is one, so saving writes nothing for an empty one.
//             rebuild(C&, bool stored): `stored` is whether the file has any entry at or under
//             this path; true keeps an existing child or creates one, false empties C. An absent
//             child is a value, not a missing field, so load_options::allow_missing has no say.
//
// rebuild may keep children that are already there (the library's containers do, so that
// trackable() types keep what sizes them); every leaf under them is overwritten by the load.
// rebuild may throw ckpt::error (say errc::shape_mismatch for a count it cannot hold); the
// load adds the container's path as the error's key. Loading binds leaves by reference between
// rebuild and the end of the load, so children must not move once rebuild returns.
//
// A type that ckpt::tensor_traits makes a leaf is never a container (std::vector<float> is one
// 1-D tensor); container_traits takes precedence over the record tiers (fields<T>, trackable(),
// aggregates). Like every specialization, it must be declared before the type is first saved or
// loaded.
//
// Example, a user sequence (see examples/custom_container.cpp):
//
//   template <class T>
//   struct ckpt::container_traits<my::small_vector<T>> {
//     static constexpr auto kind = ckpt::container_kind::sequence;
//     static void for_each(auto& c, auto&& visit) { for (auto& x : c) visit(x); }
//     static void rebuild(my::small_vector<T>& c, std::size_t count) { c.resize(count); }
//   };

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "ckpt/reflect/tensor_traits.hpp"

namespace ckpt {

enum class container_kind { sequence, map, nullable };

template <class C>
struct container_traits;

namespace detail {

// Stand-ins for the library's visitors, to check a specialization's for_each signature.
struct probe_child_visitor {
  template <class Child>
  void operator()(Child&) const {}
};
struct probe_keyed_visitor {
  template <class Child>
  void operator()(std::string_view, Child&) const {}
};

template <class C>
concept declares_container_kind = requires {
  { container_traits<C>::kind } -> std::convertible_to<container_kind>;
};

}  // namespace detail

template <class C>
concept container = !leaf<C> && detail::declares_container_kind<C>;

namespace detail {

template <class C>
constexpr container_kind kind_of = container_traits<C>::kind;

template <class C>
concept visits_children = requires(const C& c, C& m, probe_child_visitor v) {
  container_traits<C>::for_each(c, v);
  container_traits<C>::for_each(m, v);
};
template <class C>
concept visits_keyed_children = requires(const C& c, C& m, probe_keyed_visitor v) {
  container_traits<C>::for_each(c, v);
  container_traits<C>::for_each(m, v);
};
template <class C>
concept rebuilds_from_keys = requires(C& m, std::span<const std::string> keys) {
  container_traits<C>::rebuild(m, keys);
};
template <class C>
concept rebuilds_from_presence = requires(C& m) {
  container_traits<C>::rebuild(m, bool{});
};
template <class C>
concept rebuilds_from_count = requires(C& m) {
  container_traits<C>::rebuild(m, std::size_t{});
};

// A specialization with every function its kind needs. The walkers only walk these, so a
// malformed one fails with the message of require_container_shape alone.
template <class C>
concept complete_container = container<C> &&
    ((kind_of<C> == container_kind::sequence && visits_children<C>) ||
     (kind_of<C> == container_kind::map && visits_keyed_children<C> && rebuilds_from_keys<C>) ||
     (kind_of<C> == container_kind::nullable && visits_children<C> && rebuilds_from_presence<C>));

// Says which function a container_traits<C> specialization lacks.
template <container C>
constexpr void require_container_shape() {
  constexpr container_kind kind = kind_of<C>;
  if constexpr (kind == container_kind::map) {
    static_assert(visits_keyed_children<C>,
                  "ckpt::container_traits<C> of kind map needs  static void for_each(auto& c, "
                  "auto&& visit)  calling visit(key, child) for each child, for const C& and C&");
    static_assert(rebuilds_from_keys<C>,
                  "ckpt::container_traits<C> of kind map needs  static void rebuild(C& c, "
                  "std::span<const std::string> keys)");
  } else {
    static_assert(visits_children<C>,
                  "ckpt::container_traits<C> of kind sequence or nullable needs  static void "
                  "for_each(auto& c, auto&& visit)  calling visit(child) for each child, for "
                  "const C& and C&");
    if constexpr (kind == container_kind::nullable)
      static_assert(rebuilds_from_presence<C>,
                    "ckpt::container_traits<C> of kind nullable needs  static void rebuild(C& c, "
                    "bool stored)");
  }
}

}  // namespace detail

}  // namespace ckpt
