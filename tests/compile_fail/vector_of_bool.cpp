// SPDX-License-Identifier: Apache-2.0
// std::vector<bool> has no element memory to hand to a format.
// expect: std::vector<bool> packs bits
#include "ckpt/api.hpp"

struct Mask {
  std::vector<bool> bits;
};

void save_it(const Mask& m) { ckpt::save(m, "mask.safetensors"); }
