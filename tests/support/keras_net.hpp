// SPDX-License-Identifier: Apache-2.0
#pragma once
// A layer-shaped model for the Keras layouts, and the layouts and storage options to save it
// with: the Keras round trips (tests/formats/keras) and the independent readers' checks of the
// same files (tests/interop) save the same things.
//
//   for (const auto& f : ckpt_test::keras_net::format_cases()) ckpt::save(make_net(), dir /
//   f.file);

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ckpt/api.hpp"
#include "model.hpp"

namespace ckpt_test::keras_net {

struct Layer {
  ckpt::tensor<float> kernel;
  std::vector<float> bias;
  bool operator==(const Layer&) const = default;
};
struct Norm {
  std::array<float, 3> gamma{}, beta{}, moving_mean{}, moving_variance{};
  bool operator==(const Norm&) const = default;
};
struct Inner {
  Layer dense;
  bool operator==(const Inner&) const = default;
};
// Top-level members are layers; `block` nests a sub-layer; `step` is the model's own weight.
struct Net {
  Layer conv;
  Norm bn;
  Inner block;
  Layer head;
  std::int64_t step = 0;
  ckpt::tensor<double> scale;
  bool operator==(const Net&) const = default;
};

inline Net make_net() {
  Net n;
  n.conv.kernel = ckpt_test::make_floats({3, 3, 2, 4}, 1);
  for (int i = 0; i < 4; ++i) n.conv.bias.push_back(ckpt_test::value_at(2, i));
  for (std::size_t i = 0; i < 3; ++i) {
    n.bn.gamma[i] = ckpt_test::value_at(3, i);
    n.bn.beta[i] = ckpt_test::value_at(4, i);
    n.bn.moving_mean[i] = ckpt_test::value_at(5, i);
    n.bn.moving_variance[i] = 1.0f + static_cast<float>(i);
  }
  n.block.dense.kernel = ckpt_test::make_floats({4, 5}, 6);
  n.block.dense.bias = {0.5f, -0.5f, 1.5f, -1.5f, 2.5f};
  n.head.kernel = ckpt_test::make_floats({5, 2}, 7);
  n.head.bias = {-1.0f, 1.0f};
  n.step = 1234567890123;
  n.scale = ckpt::tensor<double>({2}, {0.1, -1e300});
  return n;
}

struct storage_case {
  const char* name;
  ckpt::storage_options storage;
};

// Contiguous, and chunked with every filter and the checksum.
inline std::vector<storage_case> storage_cases() {
  ckpt::storage_options chunked;
  chunked.layout = ckpt::storage_layout::chunked;
  chunked.chunk_bytes = 64;
  chunked.shuffle = true;
  chunked.deflate_level = 4;
  chunked.checksum = true;
  return {{"contiguous", {}}, {"chunked+shuffle+deflate+fletcher32", chunked}};
}

struct format_case {
  const char* format;
  const char* file;
  std::map<std::string, std::string> metadata;
};

// Every Keras layout with a file name it takes: Keras 2 save_weights and full model, Keras 3,
// .keras.
inline std::vector<format_case> format_cases() {
  return {{"keras2", "net.h5", {}},
          {"keras2", "net_model.h5", {{"model_config", R"({"class_name": "Sequential"})"}}},
          {"keras3", "net.weights.h5", {}},
          {"keras", "net.keras", {}}};
}

// The options that save in layout `f` with storage `s`.
inline ckpt::save_options options_for(const format_case& f, const storage_case& s) {
  ckpt::save_options options;
  options.format = f.format;
  options.metadata = f.metadata;
  options.storage = s.storage;
  return options;
}

}  // namespace ckpt_test::keras_net
