// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fields of a plain aggregate without macros: how many there are, references to them, and their
// names, all at compile time.
//
// Boost.PFR binds the fields; the count is our own because PFR 1.81's detector makes g++ 12 crash
// on aggregates holding a std::array of class types. Names come from the address of a member of
// an object that is declared but never defined: a constant expression that, passed as a template
// argument, the compiler spells out in __PRETTY_FUNCTION__ ending with the member's name.

#include <array>
#include <boost/pfr.hpp>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

namespace ckpt::detail {

// Converts to a reference of any field type, so T{any_field...} compiles exactly when the number
// of initializers does not exceed the number of fields.
struct any_field {
  template <class U>
  operator U&() const&& noexcept;
};

// The same for aggregates with a move-only member (std::unique_ptr), which a reference would have
// to be copied into. A prvalue initializes any member but a reference member, so it is used only
// for aggregates that cannot be copied (as Boost.PFR does): the others keep reference members.
struct any_field_value {
  template <class U>
  operator U() const&& noexcept;
};

template <class T, std::size_t... I>
constexpr bool brace_constructible(std::index_sequence<I...>) {
  if constexpr (std::is_copy_constructible_v<T>) return requires {
      T{(void(I), any_field{})...};
    };
  else
    return requires { T{(void(I), any_field_value{})...}; };
}

inline constexpr std::size_t max_fields = 128;

template <class T, std::size_t N = 0>
consteval std::size_t count_fields() {
  if constexpr (N == max_fields || !brace_constructible<T>(std::make_index_sequence<N + 1>{})) {
    static_assert(N < max_fields, "ckpt: aggregates with more than 128 members are not supported");
    return N;
  } else {
    return count_fields<T, N + 1>();
  }
}

template <class T>
inline constexpr std::size_t field_count = count_fields<T>();

// The fields of `object` as a tuple of references, in declaration order.
template <class T>
constexpr auto tie_fields(T& object) noexcept {
  return boost::pfr::detail::tie_as_tuple(
      object, boost::pfr::detail::size_t_<field_count<std::remove_cv_t<T>>>{});
}

template <std::size_t I, class Tuple>
constexpr auto& field_at(Tuple& tuple) noexcept {
  return boost::pfr::detail::sequence_tuple::get<I>(tuple);
}

template <class T>
struct name_probe {
  const T value;
};

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wundefined-var-template"
#pragma clang diagnostic ignored "-Wundefined-internal"
#endif
template <class T>
extern const name_probe<T> probe_object;

// A class-type template argument holding the pointer: clang 14 rejects the bare pointer.
template <class P>
struct pointer_holder {
  P pointer;
};
template <class P>
pointer_holder(P) -> pointer_holder<P>;

// Returns const char*, not string_view: g++ would append "[with string_view = ...]".
template <auto Holder>
consteval const char* spelled() {
  return __PRETTY_FUNCTION__;
}

constexpr bool identifier_char(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// "...value.Model::step_count)}]" (g++) and "...{&probe_object.value.step_count}]" (clang).
consteval std::string_view last_identifier(std::string_view s) {
  std::size_t end = s.rfind(']');
  while (end > 0 && !identifier_char(s[end - 1])) --end;
  std::size_t begin = end;
  while (begin > 0 && identifier_char(s[begin - 1])) --begin;
  return s.substr(begin, end - begin);
}

template <class T, std::size_t I>
consteval std::string_view member_name() {
  constexpr auto fields = tie_fields(probe_object<T>.value);
  return last_identifier(spelled<pointer_holder{&field_at<I>(fields)}>());
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

template <class T, std::size_t... I>
consteval auto member_names(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{member_name<T, I>()...};
}

template <class T>
inline constexpr auto member_names_v = member_names<T>(std::make_index_sequence<field_count<T>>{});

}  // namespace ckpt::detail
