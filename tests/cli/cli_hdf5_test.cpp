// SPDX-License-Identifier: Apache-2.0
// The ckpt tool on HDF5 and Keras files: converting to and inspecting .h5 files (a damaged one is
// an error message with nothing from libhdf5), and `ckpt inspect` and `ckpt convert` on the Keras
// fixtures in every Keras layout.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "../support/cli.hpp"
#include "../support/files.hpp"
#include "../support/fixtures.hpp"
#include "../support/model.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Each run captures its output in a scratch directory of its own; `dir` stays for the call sites.
ckpt_test::cli_result run_ckpt(const std::string& args, const ckpt_test::scratch_dir&) {
  return ckpt_test::run_ckpt(args);
}

// A tool built without the HDF5 formats cannot read Keras files; these tests then skip.
bool tool_reads_keras(const ckpt_test::scratch_dir& dir) {
  const auto r = run_ckpt(
      "inspect --json " + h5_fixture("keras2_tf2.11_conv2d_save_weights.h5").string(), dir);
  if (r.status != 0 && (r.err.find("cannot tell the format") != std::string::npos ||
                        r.err.find("no format named") != std::string::npos)) {
    WARN("SKIPPED: the ckpt tool is built without the HDF5 formats: " << r.err);
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("the ckpt tool inspects and converts .h5 files", "[hdf5][cli]") {
  const fs::path tool = ckpt_tool();  // built with this program
  scratch_dir dir("ckpt-hdf5-cli");
  const Model model = make_model({.strings = false, .complex = false});
  const fs::path source = dir / "model.safetensors", converted = dir / "model.h5";
  ckpt::save(model, source);
  const auto c =
      run_command(tool.string() + " convert " + source.string() + " " + converted.string());
  INFO(c.err);
  REQUIRE(c.status == 0);
  Model loaded;
  ckpt::load(loaded, converted);
  CHECK(loaded == model);

  const auto i = run_command(tool.string() + " inspect --json " + converted.string());
  REQUIRE(i.status == 0);
  CHECK(i.err.empty());
  const json doc = json::parse(i.out);
  CHECK(doc.at("format") == "hdf5");
  bool found = false;
  for (const auto& e : doc.at("entries"))
    if (e.at("key") == "blocks/1/dense/kernel") {
      found = true;
      CHECK(e.at("dtype") == "float32");
      CHECK(e.at("shape") == json::array({4, 3}));
    }
  CHECK(found);

  // A damaged file is an error message and a failure status, with nothing from libhdf5.
  std::string bytes = slurp(converted);
  spit(converted, bytes.substr(0, bytes.size() / 2));
  const auto bad = run_command(tool.string() + " inspect " + converted.string());
  CHECK(bad.status != 0);
  CHECK(bad.err.find("model.h5") != std::string::npos);
  CHECK(bad.err.find("HDF5-DIAG") == std::string::npos);
}

TEST_CASE("ckpt inspect lists every Keras fixture in its layout", "[keras][cli]") {
  ckpt_test::scratch_dir dir("ckpt-keras-cli");
  if (!tool_reads_keras(dir)) return;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"keras2_tf2.11_conv2d_save_weights.h5", "keras2"},
      {"keras2_tf2.11_conv2d_full_model.h5", "keras2"},
      {"keras2_2.0.0_dense3layer_save_weights.h5", "keras2"},
      {"keras2_2.3.1_dense_batchnorm_full_model.h5", "keras2"},
      {"keras2_2.3.1_conv1d_full_model.h5", "keras2"},
      {"keras3_nested_container.weights.h5", "keras3"},
      {"keras3_nested_container.keras", "keras"}};
  for (const auto& [name, format] : cases) {
    if (!h5_fixture_present(name)) continue;
    INFO(name);
    const auto r = run_ckpt("inspect --json " + h5_fixture(name).string(), dir);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc["format"] == format);
    CHECK(doc["entries"].size() == ckpt::reader(h5_fixture(name)).entries().size());
  }
  if (h5_fixture_present("keras2_tf2.11_conv2d_save_weights.h5")) {
    const auto r = run_ckpt(
        "inspect --json " + h5_fixture("keras2_tf2.11_conv2d_save_weights.h5").string(), dir);
    const auto doc = nlohmann::json::parse(r.out);
    bool kernel = false;
    for (const auto& e : doc["entries"])
      if (e["key"] == "conv2d/conv2d/kernel:0") {
        kernel = true;
        CHECK(e["shape"] == nlohmann::json::array({3, 3, 1, 1}));
        CHECK(e["dtype"] == "float32");
      }
    CHECK(kernel);
  }
}

TEST_CASE("ckpt convert moves Keras fixtures between the Keras layouts", "[keras][cli]") {
  const std::string k2 = "keras2_2.0.0_dense3layer_save_weights.h5";
  const std::string k3 = "keras3_nested_container.keras";
  if (!h5_fixture_present(k2) || !h5_fixture_present(k3)) return;
  ckpt_test::scratch_dir dir("ckpt-keras-cli");
  if (!tool_reads_keras(dir)) return;
  struct Dense {
    ckpt::tensor<float> kernel, bias;
    bool operator==(const Dense&) const = default;
  };
  struct Dense3Layer {
    Dense fc1_relu, fc2_relu, fc3_relu, output_softmax;
    bool operator==(const Dense3Layer&) const = default;
  };
  Dense3Layer original;
  ckpt::load(original, h5_fixture(k2));
  for (const std::string target : {"a.weights.h5", "b.keras", "c.safetensors"}) {
    INFO(target);
    const auto r =
        run_ckpt("convert " + h5_fixture(k2).string() + " " + (dir / target).string(), dir);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    Dense3Layer back;
    ckpt::load(back, dir / target);
    CHECK(back == original);
  }
  // .keras -> Keras 2 save_weights, named explicitly.
  const auto r = run_ckpt(
      "convert --format keras2 " + h5_fixture(k3).string() + " " + (dir / "k2.h5").string(), dir);
  REQUIRE(r.status == 0);
  ckpt::reader back(dir / "k2.h5");
  CHECK(back.format() == "keras2");
  CHECK(back.find("dense_3/dense_3/1:0").shape == ckpt::shape{2});
  CHECK(back.read<float>("dense_2/0")[0] == 0.3f);
}
