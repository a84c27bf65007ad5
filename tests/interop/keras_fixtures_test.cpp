// SPDX-License-Identifier: Apache-2.0
// Every Keras file of the fixtures' h5/ folder (written by tf.keras and Keras) loads into a user
// struct and lists through ckpt::reader with the layer names, weight names, shapes and values
// FIXTURES.md gives.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../support/fixtures.hpp"
#include "../support/hdf5_test_support.hpp"
#include "ckpt/hdf5.hpp"

namespace {

namespace fs = std::filesystem;

using ckpt_test::h5_fixture;
using ckpt_test::h5_fixture_present;

struct Conv {
  ckpt::tensor<float> kernel;
  ckpt::tensor<float> bias;
};
struct Conv2dModel {
  Conv conv2d;
};

struct Dense {
  ckpt::tensor<float> kernel;
  ckpt::tensor<float> bias;
};
struct Dense3Layer {
  Dense fc1_relu, fc2_relu, fc3_relu, output_softmax;
};

struct BatchNorm {
  ckpt::tensor<float> gamma, beta, moving_mean, moving_variance;
};
struct DenseBatchNorm {
  Dense fc1_relu;
  BatchNorm bn1;
  Dense fc2_relu;
  BatchNorm bn2;
  Dense fc3_relu;
  BatchNorm bn3;
  Dense output_softmax;
  BatchNorm bn4;
};

struct Conv1dModel {
  Dense conv1_relu, conv2_relu, conv3_relu, fc1_relu, output_softmax;
};

// Keras 3 variables are numbered; a struct names them through trackable().
struct NumberedDense {
  ckpt::tensor<float> kernel;
  template <class V>
  void trackable(V& v) {
    v("0", kernel);
  }
};
struct NumberedDenseBias {
  ckpt::tensor<float> kernel, bias;
  template <class V>
  void trackable(V& v) {
    v("0", kernel);
    v("1", bias);
  }
};
struct NestedContainer {
  NumberedDense dense, dense_1, dense_2;
  NumberedDenseBias dense_3;
};

// The same model with plain field names, loaded through load_options::rename.
struct NamedNestedContainer {
  Dense dense_3;
  struct {
    ckpt::tensor<float> kernel;
  } dense, dense_1, dense_2;
};

std::vector<std::string> entry_names(const ckpt::reader& r) {
  std::vector<std::string> names;
  for (const auto& e : r.entries()) names.push_back(e.name);
  return names;
}

const ckpt::entry& entry_at(const ckpt::reader& r, const std::string& path) { return r.find(path); }

bool all_equal(const ckpt::tensor<float>& t, float value) {
  for (std::size_t i = 0; i < t.size(); ++i)
    if (t[i] != value) return false;
  return t.size() > 0;
}

}  // namespace

TEST_CASE("tf.keras 2.11 save_weights (conv2d) loads with the expected kernel",
          "[keras][fixtures]") {
  const std::string name = "keras2_tf2.11_conv2d_save_weights.h5";
  if (!h5_fixture_present(name)) return;
  Conv2dModel m;
  ckpt::load(m, h5_fixture(name));
  REQUIRE(m.conv2d.kernel.shape() == ckpt::shape{3, 3, 1, 1});
  const float expected[9] = {1, -1, 1, -1, 1, -1, 1, -1, 1};
  for (std::size_t i = 0; i < 9; ++i) CHECK(m.conv2d.kernel[i] == expected[i]);
  REQUIRE(m.conv2d.bias.shape() == ckpt::shape{1});
  CHECK(m.conv2d.bias[0] == 0.0f);

  const ckpt::reader r(h5_fixture(name));
  CHECK(r.format() == "keras2");
  CHECK(entry_names(r) ==
        std::vector<std::string>{"conv2d/conv2d/kernel:0", "conv2d/conv2d/bias:0"});
  CHECK(entry_at(r, "conv2d/kernel").dtype == ckpt::dtype::float32);
  const auto meta = r.metadata();
  CHECK(meta.at("layout") == "keras2");
  CHECK(meta.at("backend") == "tensorflow");
  CHECK(meta.at("keras_version") == "2.11.0");
  CHECK(nlohmann::json::parse(meta.at("layer_names")) == nlohmann::json::array({"conv2d"}));
}

TEST_CASE("tf.keras 2.11 full model (conv2d) loads the same weights and exposes model_config",
          "[keras][fixtures]") {
  const std::string name = "keras2_tf2.11_conv2d_full_model.h5";
  if (!h5_fixture_present(name)) return;
  Conv2dModel m;
  ckpt::load(m, h5_fixture(name));
  REQUIRE(m.conv2d.kernel.shape() == ckpt::shape{3, 3, 1, 1});
  CHECK(m.conv2d.kernel[0] == 1.0f);
  CHECK(m.conv2d.kernel[1] == -1.0f);
  CHECK(m.conv2d.bias[0] == 0.0f);

  const ckpt::reader r(h5_fixture(name));
  CHECK(r.format() == "keras2");
  CHECK(entry_names(r) == std::vector<std::string>{"model_weights/conv2d/conv2d/kernel:0",
                                                   "model_weights/conv2d/conv2d/bias:0"});
  const auto meta = r.metadata();
  CHECK(meta.at("layout") == "keras2_model");
  CHECK(meta.count("training_config") == 0);  // not compiled
  const auto config = nlohmann::json::parse(meta.at("model_config"));
  CHECK(config["class_name"] == "Sequential");
  CHECK(meta.at("keras_version") == "2.11.0");
}

TEST_CASE("Keras 2.0.0 save_weights (fixed-length NULLPAD names) loads", "[keras][fixtures]") {
  const std::string name = "keras2_2.0.0_dense3layer_save_weights.h5";
  if (!h5_fixture_present(name)) return;
  Dense3Layer m;
  ckpt::load(m, h5_fixture(name));
  CHECK(m.fc1_relu.kernel.shape() == ckpt::shape{16, 64});
  CHECK(m.fc2_relu.kernel.shape() == ckpt::shape{64, 32});
  CHECK(m.fc3_relu.kernel.shape() == ckpt::shape{32, 32});
  CHECK(m.output_softmax.kernel.shape() == ckpt::shape{32, 5});
  CHECK(m.fc1_relu.bias.shape() == ckpt::shape{64});
  CHECK(m.fc2_relu.bias.shape() == ckpt::shape{32});
  CHECK(m.fc3_relu.bias.shape() == ckpt::shape{32});
  CHECK(m.output_softmax.bias.shape() == ckpt::shape{5});

  const ckpt::reader r(h5_fixture(name));
  // input_1 has no weights (empty float64 weight_names) and gives no entry.
  CHECK(r.entries().size() == 8);
  CHECK(r.entries()[0].name == "fc1_relu/fc1_relu/kernel:0");
  CHECK(r.entries()[1].name == "fc1_relu/fc1_relu/bias:0");
  CHECK(nlohmann::json::parse(r.metadata().at("layer_names")) ==
        nlohmann::json::array({"input_1", "fc1_relu", "fc2_relu", "fc3_relu", "output_softmax"}));
  CHECK(r.metadata().at("keras_version") == "2.0.0");
}

TEST_CASE("Keras 2.3.1 full model with BatchNormalization loads in weight_names order",
          "[keras][fixtures]") {
  const std::string name = "keras2_2.3.1_dense_batchnorm_full_model.h5";
  if (!h5_fixture_present(name)) return;
  DenseBatchNorm m;
  ckpt::load(m, h5_fixture(name));
  CHECK(m.fc1_relu.kernel.shape() == ckpt::shape{16, 64});
  CHECK(m.output_softmax.kernel.shape() == ckpt::shape{32, 5});
  CHECK(m.bn1.gamma.shape() == ckpt::shape{64});
  CHECK(m.bn2.moving_variance.shape() == ckpt::shape{32});
  CHECK(m.bn4.beta.shape() == ckpt::shape{5});
  // Variances are positive, whatever training did.
  for (std::size_t i = 0; i < m.bn1.moving_variance.size(); ++i)
    CHECK(m.bn1.moving_variance[i] > 0.0f);

  const ckpt::reader r(h5_fixture(name));
  std::vector<std::string> bn1;
  for (const auto& e : r.entries())
    if (e.path.starts_with("bn1/")) bn1.push_back(e.path);
  CHECK(bn1 == std::vector<std::string>{"bn1/gamma", "bn1/beta", "bn1/moving_mean",
                                        "bn1/moving_variance"});
  CHECK(nlohmann::json::parse(r.metadata().at("layer_names")).size() == 13);
  CHECK(nlohmann::json::parse(r.metadata().at("model_config"))["class_name"] == "Model");
}

TEST_CASE("Keras 2.3.1 full model with Conv1D loads [width, in, out] kernels",
          "[keras][fixtures]") {
  const std::string name = "keras2_2.3.1_conv1d_full_model.h5";
  if (!h5_fixture_present(name)) return;
  Conv1dModel m;
  ckpt::load(m, h5_fixture(name));
  CHECK(m.conv1_relu.kernel.shape() == ckpt::shape{4, 4, 3});
  CHECK(m.conv2_relu.kernel.shape() == ckpt::shape{4, 3, 2});
  CHECK(m.conv3_relu.kernel.shape() == ckpt::shape{4, 2, 1});
  CHECK(m.conv3_relu.bias.shape() == ckpt::shape{1});
  CHECK(m.fc1_relu.kernel.shape() == ckpt::shape{10, 5});
  CHECK(m.output_softmax.kernel.shape() == ckpt::shape{5, 5});
  const ckpt::reader r(h5_fixture(name));
  CHECK(r.entries().size() == 10);
  CHECK(nlohmann::json::parse(r.metadata().at("layer_names")) ==
        nlohmann::json::array({"input_1", "conv1_relu", "conv2_relu", "conv3_relu", "flatten_1",
                               "fc1_relu", "output_softmax"}));
}

TEST_CASE("Keras 3 .weights.h5 (nested container) loads numbered vars with FIXTURES.md values",
          "[keras][fixtures]") {
  const std::string name = "keras3_nested_container.weights.h5";
  if (!h5_fixture_present(name)) return;
  NestedContainer m;
  ckpt::load(m, h5_fixture(name));
  CHECK(m.dense.kernel.shape() == ckpt::shape{4, 4});
  CHECK(all_equal(m.dense.kernel, 0.1f));
  CHECK(all_equal(m.dense_1.kernel, 0.2f));
  CHECK(all_equal(m.dense_2.kernel, 0.3f));
  CHECK(m.dense_3.kernel.shape() == ckpt::shape{4, 2});
  CHECK(all_equal(m.dense_3.kernel, 0.5f));
  CHECK(m.dense_3.bias.shape() == ckpt::shape{2});
  CHECK(all_equal(m.dense_3.bias, 0.0f));

  const ckpt::reader r(h5_fixture(name));
  CHECK(r.format() == "keras3");
  CHECK(entry_names(r) == std::vector<std::string>{"layers/dense/vars/0", "layers/dense_1/vars/0",
                                                   "layers/dense_2/vars/0", "layers/dense_3/vars/0",
                                                   "layers/dense_3/vars/1"});
  CHECK(r.find("layers/dense_3/vars/1").path == "dense_3/1");
}

TEST_CASE("Keras 3 vars load into named fields through load_options::rename", "[keras][fixtures]") {
  const std::string name = "keras3_nested_container.weights.h5";
  if (!h5_fixture_present(name)) return;
  NamedNestedContainer m;
  ckpt::load_options options;
  options.rename = {{"dense/0", "dense/kernel"},
                    {"dense_1/0", "dense_1/kernel"},
                    {"dense_2/0", "dense_2/kernel"},
                    {"dense_3/0", "dense_3/kernel"},
                    {"dense_3/1", "dense_3/bias"}};
  ckpt::load(m, h5_fixture(name), options);
  CHECK(all_equal(m.dense_2.kernel, 0.3f));
  CHECK(all_equal(m.dense_3.kernel, 0.5f));
}

TEST_CASE(".keras zip loads its model.weights.h5 and exposes config.json and metadata.json",
          "[keras][fixtures]") {
  const std::string name = "keras3_nested_container.keras";
  if (!h5_fixture_present(name)) return;
  NestedContainer m;
  ckpt::load(m, h5_fixture(name));
  CHECK(all_equal(m.dense.kernel, 0.1f));
  CHECK(all_equal(m.dense_1.kernel, 0.2f));
  CHECK(all_equal(m.dense_3.kernel, 0.5f));
  CHECK(all_equal(m.dense_3.bias, 0.0f));

  const ckpt::reader r(h5_fixture(name));
  CHECK(r.format() == "keras");
  CHECK(r.entries().size() == 5);
  const auto meta = r.metadata();
  CHECK(meta.at("keras_version") == "3.15.0");
  CHECK(meta.at("date_saved") == "2026-05-13@21:23:40");
  const auto config = nlohmann::json::parse(meta.at("config"));
  CHECK(config["class_name"] == "NestedDenseModel");
  CHECK(config["build_config"]["input_shape"] == nlohmann::json::array({2, 4}));
  CHECK(nlohmann::json::parse(meta.at("metadata"))["keras_version"] == "3.15.0");
}

TEST_CASE("Every Keras fixture opens without a word on stderr", "[keras][fixtures]") {
  if (!ckpt_test::fixture_present(ckpt_test::fixtures_dir() / "h5")) return;
  std::size_t files = 0;
  for (const auto& item : fs::directory_iterator(ckpt_test::fixtures_dir() / "h5")) {
    const auto ext = item.path().extension();
    if (ext != ".h5" && ext != ".keras") continue;
    ++files;
    ckpt_test::stderr_capture capture;
    const ckpt::reader r(item.path());
    for (const auto& e : r.entries()) {
      auto t = const_cast<ckpt::reader&>(r).read<float>(e.name);
      CHECK(t.shape() == e.shape);
    }
    CHECK(capture.finish().empty());
    CHECK(r.entries().size() > 0);
  }
  CHECK(files == 7);
}

TEST_CASE("Each Keras fixture is claimed by its layout's format before the generic hdf5 format",
          "[keras][fixtures]") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"keras2_tf2.11_conv2d_save_weights.h5", {"keras2", "hdf5"}},
      {"keras2_tf2.11_conv2d_full_model.h5", {"keras2", "hdf5"}},
      {"keras2_2.0.0_dense3layer_save_weights.h5", {"keras2", "hdf5"}},
      {"keras2_2.3.1_dense_batchnorm_full_model.h5", {"keras2", "hdf5"}},
      {"keras2_2.3.1_conv1d_full_model.h5", {"keras2", "hdf5"}},
      {"keras3_nested_container.weights.h5", {"keras3", "hdf5"}},
      {"keras3_nested_container.keras", {"keras"}}};
  for (const auto& [name, claimed_by] : cases) {
    if (!h5_fixture_present(name)) continue;
    INFO(name);
    ckpt_test::stderr_capture capture;
    std::vector<std::string> accepting;  // in the order detection asks
    for (const auto& f : ckpt::registered_formats())
      if (f.detect && f.detect(h5_fixture(name))) accepting.push_back(f.name);
    CHECK(accepting == claimed_by);
    CHECK(ckpt::format_for_load(h5_fixture(name), "").name == claimed_by.front());
    CHECK(capture.finish().empty());
  }
}

TEST_CASE("Naming the hdf5 format reads a Keras file's datasets by their HDF5 paths",
          "[keras][fixtures]") {
  const std::string name = "keras3_nested_container.weights.h5";
  if (!h5_fixture_present(name)) return;
  const ckpt::reader keras(h5_fixture(name));
  const ckpt::reader generic(h5_fixture(name), {.format = "hdf5"});
  CHECK(generic.format() == "hdf5");
  REQUIRE(generic.entries().size() == keras.entries().size());
  for (const auto& e : keras.entries()) {
    // Keras 3 entries are named by their HDF5 path already; the canonical paths differ.
    REQUIRE(generic.contains(e.name));
    CHECK(generic.find(e.name).path == e.name);
    CHECK(generic.find(e.name).shape == e.shape);
  }
}
