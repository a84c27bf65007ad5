// SPDX-License-Identifier: Apache-2.0
// A class with a constructor is no aggregate, and it has neither a descriptor nor trackable().
// expect: ckpt: this type is not serializable.*specialize ckpt::container_traits<T>
#include "ckpt/api.hpp"

class Opaque {
 public:
  explicit Opaque(int v) : v_(v) {}

 private:
  int v_;
};

struct Model {
  Opaque opaque{1};
};

void save_it(const Model& m) { ckpt::save(m, "model.safetensors"); }
