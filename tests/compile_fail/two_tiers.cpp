// SPDX-License-Identifier: Apache-2.0
// A descriptor and a trackable() member for one type: which names win is not guessed.
// expect: has both a ckpt::fields<T> specialization and a trackable
#include "ckpt/api.hpp"

struct Layer {
  float w = 0;
  template <class V>
  void trackable(V& v) {
    v("w", w);
  }
};
template <>
struct ckpt::fields<Layer> {
  static constexpr auto value = ckpt::members("weight", &Layer::w);
};

void save_it(const Layer& l) { ckpt::save(l, "layer.safetensors"); }
