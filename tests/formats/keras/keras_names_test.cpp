// SPDX-License-Identifier: Apache-2.0
// The Keras naming rules on their own: canonical paths to Keras 2 layers / weight names and Keras 3
// vars groups, and back. The expected names are those found in real Keras files (see
// ../shared/fixtures/h5/FIXTURES.md): "conv2d/kernel:0" in layer "conv2d", "dense_3/kernel:0" in a
// nested model "model_1", "/layers/dense/vars/0".
#include "ckpt/formats/keras/names.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace ckpt::keras;

TEST_CASE("Keras 2 plan: layers in declaration order, weight names with the layer prefix",
          "[keras][names]") {
  const std::vector<std::string> paths = {"conv2d/kernel", "conv2d/bias", "dense/kernel",
                                          "dense/bias"};
  const auto plan = plan_keras2(paths, false);
  REQUIRE(plan.layers.size() == 2);
  CHECK(plan.layers[0].name == "conv2d");
  CHECK(plan.layers[1].name == "dense");
  REQUIRE(plan.layers[0].weights.size() == 2);
  CHECK(plan.layers[0].weights[0].weight_name == "conv2d/kernel:0");
  CHECK(plan.layers[0].weights[0].tensor == 0);
  CHECK(plan.layers[0].weights[1].weight_name == "conv2d/bias:0");
  CHECK(plan.layers[1].weights[1].weight_name == "dense/bias:0");
  CHECK(plan.layers[1].weights[1].tensor == 3);
  CHECK(plan.top_level.empty());
  CHECK(plan.optimizer.empty());
}

TEST_CASE("Keras 2 plan: interleaved layers keep first-appearance order", "[keras][names]") {
  const auto plan = plan_keras2({"b/x", "a/x", "b/y"}, false);
  REQUIRE(plan.layers.size() == 2);
  CHECK(plan.layers[0].name == "b");
  CHECK(plan.layers[0].weights.size() == 2);
  CHECK(plan.layers[1].name == "a");
}

TEST_CASE("Keras 2 plan: sub-layers carry their own name, as in a nested model", "[keras][names]") {
  const auto plan = plan_keras2({"model_1/dense_3/kernel", "blocks/0/dense/bias"}, false);
  REQUIRE(plan.layers.size() == 2);
  CHECK(plan.layers[0].weights[0].weight_name == "dense_3/kernel:0");
  CHECK(plan.layers[1].name == "blocks");
  CHECK(plan.layers[1].weights[0].weight_name == "0/dense/bias:0");
  CHECK(keras2_path("model_1", "dense_3/kernel:0") == "model_1/dense_3/kernel");
  CHECK(keras2_path("blocks", "0/dense/bias:0") == "blocks/0/dense/bias");
}

TEST_CASE("Keras 2 plan: a sub-layer named like its layer keeps the prefix so reading is exact",
          "[keras][names]") {
  const auto plan = plan_keras2({"dense/dense/kernel"}, false);
  REQUIRE(plan.layers.size() == 1);
  const auto& w = plan.layers[0].weights[0].weight_name;
  CHECK(w == "dense/dense/kernel:0");
  CHECK(keras2_path("dense", w) == "dense/dense/kernel");
}

TEST_CASE("Keras 2 plan: one-component paths are the model's own weights", "[keras][names]") {
  const auto plan = plan_keras2({"step", "dense/kernel"}, false);
  REQUIRE(plan.top_level.size() == 1);
  CHECK(plan.top_level[0].weight_name == "step:0");
  CHECK(plan.top_level[0].tensor == 0);
  CHECK(keras2_top_level_path("step:0") == "step");
}

TEST_CASE("Keras 2 plan: optimizer_weights is the optimizer group only in a full model",
          "[keras][names]") {
  const std::vector<std::string> paths = {"optimizer_weights/Adam/iter", "dense/kernel"};
  const auto full = plan_keras2(paths, true);
  REQUIRE(full.optimizer.size() == 1);
  CHECK(full.optimizer[0].weight_name == "Adam/iter:0");
  CHECK(keras2_optimizer_path("Adam/iter:0") == "optimizer_weights/Adam/iter");
  CHECK(full.layers.size() == 1);
  const auto weights_only = plan_keras2(paths, false);
  CHECK(weights_only.optimizer.empty());
  CHECK(weights_only.layers.size() == 2);
}

TEST_CASE("Keras 2 names read back: ':0' stripped once, the layer prefix added when absent",
          "[keras][names]") {
  CHECK(keras2_path("conv2d", "conv2d/kernel:0") == "conv2d/kernel");
  CHECK(keras2_path("dense", "dense/kernel") == "dense/kernel");  // Keras 3 legacy .h5: no ":0"
  CHECK(keras2_path("dense", "kernel:1") == "dense/kernel:1");
  CHECK(keras2_path("dense", "densenet/kernel:0") == "dense/densenet/kernel");
  CHECK(keras2_path("bn1", "bn1/moving_variance:0") == "bn1/moving_variance");
}

TEST_CASE("Keras 2: every written name reads back to its path", "[keras][names]") {
  const std::vector<std::string> paths = {"a/b",     "a/a/b", "a/b/c:0", "x",
                                          "c/d/e/f", "c/c/c", "c/dd",    "y:0"};
  const auto plan = plan_keras2(paths, false);
  for (const auto& layer : plan.layers)
    for (const auto& w : layer.weights)
      CHECK(keras2_path(layer.name, w.weight_name) == paths[w.tensor]);
  for (const auto& w : plan.top_level)
    CHECK(keras2_top_level_path(w.weight_name) == paths[w.tensor]);
}

TEST_CASE("Keras 2: what a file cannot name is an error naming the path", "[keras][names]") {
  CHECK_THROWS_WITH(plan_keras2({"top_level_model_weights/x"}, false),
                    Catch::Contains("top_level_model_weights/x") && Catch::Contains("layer"));
  CHECK_THROWS_AS(plan_keras2({"a//b"}, false), ckpt::error);
  CHECK_THROWS_AS(plan_keras2({"a/./b"}, false), ckpt::error);
  try {
    plan_keras2({"ok/x", "bad/../x"}, false);
    FAIL("expected an error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::unsupported);
    CHECK(e.key() == "bad/../x");
  }
}

TEST_CASE("Keras 3 plan: layers/<layer>/vars/<i> in declaration order", "[keras][names]") {
  const auto owners = plan_keras3({"dense/kernel", "dense/bias", "dense_1/kernel", "step"});
  REQUIRE(owners.size() == 3);
  CHECK(owners[0].group == "layers/dense");
  REQUIRE(owners[0].vars.size() == 2);
  CHECK(owners[0].vars[0].field == "kernel");
  CHECK(owners[0].vars[1].field == "bias");
  CHECK(owners[0].vars[1].tensor == 1);
  CHECK(owners[1].group == "layers/dense_1");
  CHECK(owners[2].group.empty());  // the model's own /vars
  CHECK(owners[2].vars[0].tensor == 3);
}

TEST_CASE("Keras 3 plan: sub-layers nest as Keras nests them, the optimizer sits at the root",
          "[keras][names]") {
  const auto owners = plan_keras3({"block/attention/query", "optimizer/0", "optimizer/1"});
  REQUIRE(owners.size() == 2);
  CHECK(owners[0].group == "layers/block/attention");
  CHECK(owners[1].group == "optimizer");
  CHECK(owners[1].vars.size() == 2);
}

TEST_CASE("Keras 3 names read back", "[keras][names]") {
  // As Keras writes them: numbered, no field names.
  CHECK(keras3_path("layers/dense", "0") == "dense/0");
  CHECK(keras3_path("layers/dense_3", "1") == "dense_3/1");
  CHECK(keras3_path("", "0") == "0");
  CHECK(keras3_path("optimizer", "3") == "optimizer/3");
  CHECK(keras3_path("layers/functional/layers/dense", "0") == "functional/layers/dense/0");
  // As ckpt writes them: the field name stored beside the dataset.
  CHECK(keras3_path("layers/dense", "0", "kernel") == "dense/kernel");
  CHECK(keras3_path("", "0", "step") == "step");
  // Every written name reads back to its path.
  const std::vector<std::string> paths = {"a/b",         "layers/x", "a/vars/c",
                                          "optimizer/2", "top",      "vars/vars"};
  for (const auto& owner : plan_keras3(paths))
    for (std::size_t i = 0; i < owner.vars.size(); ++i)
      CHECK(keras3_path(owner.group, std::to_string(i), owner.vars[i].field) ==
            paths[owner.vars[i].tensor]);
}
