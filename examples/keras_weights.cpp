// SPDX-License-Identifier: Apache-2.0
// Loads the Keras 2 weights of a small Conv2D model into a struct that mirrors it, prints the
// kernel, then writes the struct as a Keras 3 `.weights.h5` and reads it back.
//
//   keras_weights [FILE]   (default: the tf.keras 2.11 fixture of the shared fixtures folder)
#include <cstdio>
#include <filesystem>

#include "ckpt/hdf5.hpp"

// One member per Keras layer, one field per weight: "conv2d/kernel" is Keras'
// "conv2d/kernel:0" in the file, stored at /conv2d/conv2d/kernel:0.
struct Conv2D {
  ckpt::tensor<float> kernel;  // [height, width, in, out], as Keras stores it
  ckpt::tensor<float> bias;
};
struct Model {
  Conv2D conv2d;
};

int main(int argc, char** argv) {
  const std::filesystem::path input = argc > 1 ? argv[1]
                                               : std::filesystem::path(CKPT_EXAMPLE_FIXTURES) /
                                                     "h5" / "keras2_tf2.11_conv2d_save_weights.h5";
  if (!std::filesystem::exists(input)) {
    std::printf("skipped: %s not found\n", input.c_str());
    return 0;
  }
  try {
    Model model;
    ckpt::load(model, input);  // the Keras 2 layout is detected
    const auto& k = model.conv2d.kernel;
    std::printf("conv2d/kernel %zux%zux%zux%zu:\n", std::size_t(k.shape()[0]),
                std::size_t(k.shape()[1]), std::size_t(k.shape()[2]), std::size_t(k.shape()[3]));
    for (std::size_t row = 0; row < k.shape()[0]; ++row) {
      for (std::size_t col = 0; col < k.shape()[1]; ++col)
        std::printf(" %5.1f", static_cast<double>(k[row * k.shape()[1] + col]));
      std::printf("\n");
    }

    // ".weights.h5" selects the Keras 3 layout: /layers/conv2d/vars/0 and /vars/1.
    const std::filesystem::path output = "conv2d.weights.h5";
    ckpt::save(model, output);
    Model back;
    ckpt::load(back, output);
    const bool same =
        back.conv2d.kernel == model.conv2d.kernel && back.conv2d.bias == model.conv2d.bias;
    std::printf("wrote %s (%s): %s\n", output.c_str(), ckpt::reader(output).format().c_str(),
                same ? "reads back identically" : "DIFFERS");
    return same ? 0 : 1;
  } catch (const ckpt::error& e) {
    std::fprintf(stderr, "keras_weights: %s\n", e.what());
    return 1;
  }
}
