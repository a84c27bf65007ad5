// SPDX-License-Identifier: Apache-2.0
// A container_traits specialization of kind map without rebuild: the message names the function
// to add.
// expect: container_traits<C> of kind map needs  static void rebuild
#include <map>
#include <string>

#include "ckpt/api.hpp"

namespace my {
struct registry {
  std::map<std::string, float> values;
};
}  // namespace my

template <>
struct ckpt::container_traits<my::registry> {
  static constexpr auto kind = ckpt::container_kind::map;
  static void for_each(auto& c, auto&& visit) {
    for (auto& [key, value] : c.values) visit(key, value);
  }
};

struct Model {
  my::registry registry;
};

void load_it(Model& m) { ckpt::load(m, "model.safetensors"); }
