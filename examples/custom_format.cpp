// SPDX-License-Identifier: Apache-2.0
// A format of your own, plugged in without touching the library: register it, then ckpt::save and
// ckpt::load pick it by extension like any built-in format, a ckpt::manager keeps a directory of
// its checkpoints, and ckpt::convert_file moves tensors between it and every other format.
#include <cstdio>
#include <filesystem>

#include "text_format.hpp"

struct Layer {
  ckpt::tensor<float> kernel;
  std::vector<float> bias;
};

struct Model {
  std::vector<Layer> layers;
  std::int64_t step = 0;
};

int main() {
  text_format::register_format();

  Model model;
  model.layers.push_back({ckpt::tensor<float>({2, 2}, {1, 2, 3, 4}), {0.5f, -0.5f}});
  model.step = 42;
  ckpt::save(model, "model.ckpt.txt");

  Model loaded;
  ckpt::load(loaded, "model.ckpt.txt");
  std::printf("loaded %zu layer(s), step %lld, kernel(1, 0) = %g\n", loaded.layers.size(),
              static_cast<long long>(loaded.step), loaded.layers[0].kernel(1, 0));

  // A checkpoint directory in the new format: the newest two are kept.
  std::filesystem::remove_all("text_run");
  {
    ckpt::manager manager{"text_run", {.max_to_keep = 2, .format = "text"}};
    for (int step = 1; step <= 4; ++step) {
      model.step = step;
      manager.save(model, step);
    }
    std::printf("kept:");
    for (const auto& c : manager.checkpoints()) std::printf(" %s", c.filename().c_str());
    std::printf("\n");
  }

  // And to any other format, by file name.
  const auto result = ckpt::convert_file("text_run/ckpt-4.ckpt.txt", "model.safetensors");
  std::printf("%s -> %s: %zu tensors\n", result.from_format.c_str(), result.to_format.c_str(),
              result.tensors);
  return loaded.layers[0].kernel == model.layers[0].kernel && loaded.step == 42 &&
                 result.tensors == 3
             ? 0
             : 1;
}
