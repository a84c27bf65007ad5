// SPDX-License-Identifier: Apache-2.0
// Loads a TensorFlow 2 checkpoint written by tf.train.Checkpoint(step, optimizer, net) around a
// Keras Sequential model of five Dense layers (float64, Adam) into a struct of our own, prints a
// few of its tensors, then writes the struct as a TF2 checkpoint and as safetensors.
//
//   tf_keras_checkpoint [PREFIX]   (default: eos_checkpoint_manager/ckpt-5 of the shared fixtures)
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "ckpt/ckpt.hpp"

struct Dense {
  ckpt::tensor<double> kernel;  // [inputs, units]
  ckpt::tensor<double> bias;    // [units]
};
struct Moments {  // Adam's running averages of one variable
  ckpt::tensor<double> m, v;
};
struct DenseMoments {
  Moments kernel, bias;
};
struct Adam {
  std::int64_t iter = 0;
  float beta_1 = 0, beta_2 = 0, decay = 0, learning_rate = 0;
};
struct Training {
  std::array<Dense, 5> layers;
  std::array<DenseMoments, 5> slots;
  Adam optimizer;
  std::int32_t step = 0;
};

// The checkpoint names the layers "net/layer_with_weights-N" and keeps a variable's Adam slot at
// "<variable>/.OPTIMIZER_SLOT/optimizer/<m or v>". Renames map them onto the struct; the slot
// prefixes come first because the first prefix that matches wins.
ckpt::load_options keras_names() {
  ckpt::load_options options;
  for (int i = 0; i < 5; ++i)
    for (const std::string weight : {"kernel", "bias"})
      options.rename_prefix.emplace_back("net/layer_with_weights-" + std::to_string(i) + "/" +
                                             weight + "/.OPTIMIZER_SLOT/optimizer",
                                         "slots/" + std::to_string(i) + "/" + weight);
  for (int i = 0; i < 5; ++i)
    options.rename_prefix.emplace_back("net/layer_with_weights-" + std::to_string(i),
                                       "layers/" + std::to_string(i));
  return options;
}

int main(int argc, char** argv) {
  const std::filesystem::path input = argc > 1 ? std::filesystem::path(argv[1])
                                               : std::filesystem::path(CKPT_EXAMPLE_FIXTURES) /
                                                     "tf" / "eos_checkpoint_manager" / "ckpt-5";
  if (!std::filesystem::exists(input.string() + ".index") && !std::filesystem::exists(input)) {
    std::printf("skipped: no TensorFlow checkpoint at %s\n", input.c_str());
    return 0;
  }
  try {
    Training model;
    ckpt::load(model, input, keras_names());  // strict: every stored tensor has a field
    std::printf("%s: step %d, Adam iteration %lld, learning rate %g\n", input.c_str(), model.step,
                static_cast<long long>(model.optimizer.iter),
                static_cast<double>(model.optimizer.learning_rate));

    const auto& last = model.layers[4].bias;
    std::printf("layers[4].bias [%zu]:", std::size_t(last.shape()[0]));
    for (std::size_t i = 0; i < last.size(); ++i) std::printf(" %.6f", last[i]);
    std::printf("\n");

    const auto& k = model.layers[0].kernel;
    const std::size_t rows = k.shape()[0], cols = k.shape()[1];
    std::printf("layers[0].kernel [%zu,%zu], top-left 3x3:\n", rows, cols);
    for (std::size_t r = 0; r < 3 && r < rows; ++r) {
      for (std::size_t c = 0; c < 3 && c < cols; ++c) std::printf(" %10.6f", k[r * cols + c]);
      std::printf("\n");
    }

    // Our own names from here on: "layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE" with an object
    // graph (tf.train.Checkpoint(layers=..., slots=..., optimizer=..., step=...) would restore
    // it), and "layers.0.kernel" in safetensors.
    const std::filesystem::path tf_out = "keras_training.ckpt",
                                st_out = "keras_training.safetensors";
    ckpt::save(model, tf_out);
    ckpt::save(model, st_out);
    bool same = true;
    for (const auto& out : {tf_out, st_out}) {
      Training back;
      ckpt::load(back, out);
      const bool equal = back.layers[0].kernel == model.layers[0].kernel &&
                         back.slots[4].bias.v == model.slots[4].bias.v && back.step == model.step;
      std::printf("wrote %s (%s): %s\n", out.c_str(), ckpt::reader(out).format().c_str(),
                  equal ? "reads back identically" : "DIFFERS");
      same = same && equal;
    }
    return same ? 0 : 1;
  } catch (const ckpt::error& e) {
    std::fprintf(stderr, "tf_keras_checkpoint: %s\n", e.what());
    return 1;
  }
}
