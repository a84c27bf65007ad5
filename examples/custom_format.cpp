// A format of your own, plugged in without touching the library: register it, then ckpt::save and
// ckpt::load pick it by extension like any built-in format.
#include <cstdio>

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
  return loaded.layers[0].kernel == model.layers[0].kernel && loaded.step == 42 ? 0 : 1;
}
