// SPDX-License-Identifier: Apache-2.0
// A container the library does not know (std::list) gets the message that names
// ckpt::container_traits, not a failure deep inside the walkers.
// expect: ckpt: this type is not serializable.*for a container, specialize
// ckpt::container_traits<T>
#include <list>

#include "ckpt/api.hpp"

struct History {
  std::list<float> losses;
};

void save_it(const History& h) { ckpt::save(h, "history.safetensors"); }
