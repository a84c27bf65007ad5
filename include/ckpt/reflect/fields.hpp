// SPDX-License-Identifier: Apache-2.0
#pragma once
// Tier 1, for types you do not own: list their members once, outside the type.
//
//   template <> struct ckpt::fields<Linear> {
//     static constexpr auto value = ckpt::members("kernel", &Linear::kernel, "bias",
//     &Linear::bias);
//   };

#include <string_view>
#include <tuple>

namespace ckpt {

template <class T>
struct fields;

template <class Class, class Member>
struct field {
  std::string_view name;
  Member Class::*pointer;
};
template <class Class, class Member>
field(const char*, Member Class::*) -> field<Class, Member>;

namespace detail {
template <class... Args, std::size_t... I>
constexpr auto pair_up(std::tuple<Args...> flat, std::index_sequence<I...>) {
  return std::make_tuple(field{std::get<2 * I>(flat), std::get<2 * I + 1>(flat)}...);
}
}  // namespace detail

// members("a", &T::a, "b", &T::b, ...) -> a tuple of ckpt::field.
template <class... Args>
constexpr auto members(Args... name_then_pointer) {
  static_assert(sizeof...(Args) % 2 == 0, "ckpt::members takes (\"name\", &T::member) pairs");
  return detail::pair_up(std::make_tuple(name_then_pointer...),
                         std::make_index_sequence<sizeof...(Args) / 2>{});
}

template <class T>
concept described = requires {
  fields<T>::value;
};

}  // namespace ckpt
