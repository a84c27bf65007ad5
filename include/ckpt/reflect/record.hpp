// SPDX-License-Identifier: Apache-2.0
#pragma once
// How a struct becomes named children. Three tiers, explicit ones first:
//   1. ckpt::fields<T>            a descriptor outside the type (fields.hpp)
//   2. trackable(V&)              a member template, for dynamic or renamed children
//   3. plain aggregates           automatic, with member names read at compile time
// A type with both a descriptor and trackable() is ambiguous and rejected.

#include <string_view>
#include <type_traits>
#include <utility>

#include "ckpt/reflect/fields.hpp"
#include "ckpt/reflect/member_names.hpp"
#include "ckpt/reflect/tensor_traits.hpp"

namespace ckpt {

namespace detail {
struct probe_visitor {
  template <class M>
  void operator()(std::string_view, M&) {}
};
}  // namespace detail

template <class T>
concept trackable = requires(T& t, detail::probe_visitor& v) {
  t.trackable(v);
};

template <class T>
concept plain_aggregate = std::is_class_v<T> && std::is_aggregate_v<T> && !leaf<T>;

template <class T>
concept record = described<T> || trackable<T> || plain_aggregate<T>;

namespace detail {

template <class Fn>
struct trackable_adapter {
  Fn& fn;
  template <class M>
  void operator()(std::string_view name, M& member) {
    fn(name, member);
  }
};

}  // namespace detail

// Calls fn(name, member&) for each child of a record, in declaration order.
template <record T, class Fn>
void for_each_field(T& object, Fn&& fn) {
  static_assert(!(described<T> && trackable<T>),
                "ckpt: this type has both a ckpt::fields<T> specialization and a trackable(V&) "
                "member; keep exactly one of them");
  if constexpr (described<T>) {
    std::apply([&](const auto&... f) { (fn(f.name, object.*(f.pointer)), ...); }, fields<T>::value);
  } else if constexpr (trackable<T>) {
    detail::trackable_adapter<Fn> adapter{fn};
    object.trackable(adapter);
  } else {
    constexpr auto& names = detail::member_names_v<T>;
    auto refs = detail::tie_fields(object);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (fn(names[I], detail::field_at<I>(refs)), ...);
    }
    (std::make_index_sequence<names.size()>{});
  }
}

}  // namespace ckpt
