// SPDX-License-Identifier: Apache-2.0
// Round trips through the Keras layouts (keras2 save_weights and full model, keras3, .keras) with
// contiguous and chunked+shuffle+deflate+Fletcher32 storage; the layer_names split, the full
// model's configs and the .keras members as h5py and Python's zipfile see them. The same files
// read back value by value by h5verify and h5py are tests/interop/keras_interop_test.cpp's.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../support/checkers.hpp"
#include "../../support/cli.hpp"
#include "../../support/files.hpp"
#include "../../support/keras_net.hpp"
#include "../../support/model.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

namespace fs = std::filesystem;
using namespace ckpt_test::keras_net;

TEST_CASE("Layer-shaped struct round-trips through every Keras layout and storage option",
          "[keras][roundtrip]") {
  const Net net = make_net();
  for (const auto& s : storage_cases())
    for (const auto& f : format_cases()) {
      DYNAMIC_SECTION(f.format << " " << f.file << " " << s.name) {
        ckpt_test::scratch_dir dir("ckpt-keras");
        const ckpt::save_options options = options_for(f, s);
        ckpt::save(net, dir / f.file, options);
        CHECK(dir.file_count() == 1);  // no temporaries left behind

        Net back;
        ckpt::load(back, dir / f.file);  // by detection, no format named
        CHECK(back == net);

        ckpt::reader r(dir / f.file);
        for (const auto& e : r.entries())
          CHECK(r.verify(e.name) ==
                (s.storage.checksum && e.shape.size() > 0 && ckpt::num_elements(e.shape) > 0
                     ? ckpt::checksum_status::ok
                     : ckpt::checksum_status::none));
      }
    }
}

TEST_CASE("The shared nested model round-trips through every Keras layout", "[keras][roundtrip]") {
  const auto model = ckpt_test::make_model();
  for (const auto& s : storage_cases())
    for (const auto& f : format_cases()) {
      DYNAMIC_SECTION(f.format << " " << f.file << " " << s.name) {
        ckpt_test::scratch_dir dir("ckpt-keras");
        const ckpt::save_options options = options_for(f, s);
        ckpt::save(model, dir / f.file, options);
        ckpt_test::Model back;
        ckpt::load(back, dir / f.file);
        CHECK(back == model);
      }
    }
}

TEST_CASE("Keras 2: layer_names larger than 64512 bytes are split as Keras splits them",
          "[keras][roundtrip]") {
  // 3000 layers with 40-byte names: numpy's 'S40' array of 120000 bytes needs two pieces.
  std::map<std::string, std::vector<float>> layers;
  for (int i = 0; i < 3000; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "layer_with_a_rather_long_name_%010d", i);
    layers[std::string(name)] = {static_cast<float>(i)};
  }
  struct Wide {
    std::map<std::string, std::vector<float>> layers;
  } wide{layers};
  ckpt_test::scratch_dir dir("ckpt-keras");
  ckpt::save_options options;
  options.format = "keras2";
  ckpt::save(wide, dir / "wide.h5", options);

  ckpt::reader r(dir / "wide.h5");
  CHECK(r.format() == "keras2");
  CHECK(r.entries().size() == 3000);
  const auto names = nlohmann::json::parse(r.metadata().at("layer_names"));
  CHECK(names.size() == 1);  // one layer: the map "layers"
  Wide back;
  ckpt::load(back, dir / "wide.h5");
  CHECK(back.layers == layers);

  if (ckpt_test::require(ckpt_test::h5py(), "reading the split weight_names with h5py")) {
    // weight_names of the one layer holds 3000 names "layers/<40 bytes>:0" of 49 bytes:
    // 147000 bytes as numpy counts them, so 3 pieces of 1000 (at most 64512 / 49 = 1316 each),
    // each fixed-length as wide as the longest name.
    const auto script = dir / "attrs.py";
    ckpt_test::spit(script, R"PY(
import sys, h5py
g = h5py.File(sys.argv[1], 'r')['layers']
print(sorted(g.attrs.keys()), [g.attrs[k].dtype.str for k in sorted(g.attrs.keys())],
      [len(g.attrs[k]) for k in sorted(g.attrs.keys())])
)PY");
    const auto r2 = ckpt_test::run_command(ckpt_test::h5py().command + " " + script.string() + " " +
                                           (dir / "wide.h5").string());
    REQUIRE(r2.status == 0);
    CHECK(r2.out ==
          "['weight_names0', 'weight_names1', 'weight_names2'] ['|S49', '|S49', '|S49'] "
          "[1000, 1000, 1000]\n");
  }
}

TEST_CASE("Keras 2 full model keeps model_config, training_config and optimizer weights",
          "[keras][roundtrip]") {
  struct Opt {
    std::int64_t iter = 0;
  };
  struct WithOptimizer {
    Layer dense;
    std::map<std::string, Opt> optimizer_weights;
  };
  WithOptimizer m;
  m.dense.kernel = ckpt_test::make_floats({2, 2}, 9);
  m.dense.bias = {1, 2};
  m.optimizer_weights["Adam"].iter = 42;
  ckpt_test::scratch_dir dir("ckpt-keras");
  ckpt::save_options options;
  options.format = "keras2";
  options.metadata = {{"model_config", R"({"class_name": "Functional", "config": {}})"},
                      {"training_config", R"({"loss": "mse"})"}};
  ckpt::save(m, dir / "m.h5", options);

  ckpt::reader r(dir / "m.h5");
  const auto meta = r.metadata();
  CHECK(meta.at("layout") == "keras2_model");
  CHECK(meta.at("model_config") == options.metadata.at("model_config"));
  CHECK(meta.at("training_config") == options.metadata.at("training_config"));
  CHECK(r.find("optimizer_weights/Adam/iter:0").path == "optimizer_weights/Adam/iter");
  CHECK(r.find("model_weights/dense/dense/kernel:0").path == "dense/kernel");
  WithOptimizer back;
  ckpt::load(back, dir / "m.h5");
  CHECK(back.optimizer_weights["Adam"].iter == 42);
  CHECK(back.dense == m.dense);

  options.metadata["model_config"] = "{not json";
  CHECK_THROWS_AS(ckpt::save(m, dir / "bad.h5", options), ckpt::error);
  CHECK(!fs::exists(dir / "bad.h5"));
}

TEST_CASE(".keras written by ckpt: members, order, compression and metadata", "[keras][zip]") {
  ckpt_test::scratch_dir dir("ckpt-keras");
  const Net net = make_net();
  ckpt::save(net, dir / "default.keras");  // format from the extension
  {
    ckpt::reader r(dir / "default.keras");
    CHECK(r.format() == "keras");
    CHECK(r.metadata().at("keras_version") == "3.15.0");
    CHECK(r.metadata().at("config") == "{}");
    CHECK(r.metadata().at("date_saved").size() == 19);
  }
  ckpt::save_options options;
  options.metadata = {{"config", R"({"class_name": "Net"})"},
                      {"metadata", R"({"keras_version": "3.9.0", "date_saved": "x"})"}};
  ckpt::save(net, dir / "given.keras", options);
  ckpt::reader r(dir / "given.keras");
  CHECK(r.metadata().at("config") == options.metadata.at("config"));
  CHECK(r.metadata().at("keras_version") == "3.9.0");

  ckpt::zip_reader zip(dir / "given.keras");
  CHECK(zip.member_names() ==
        std::vector<std::string>{"metadata.json", "config.json", "model.weights.h5"});
  if (ckpt_test::require(ckpt_test::python(), "reading the .keras members with Python's zipfile")) {
    const auto script = dir / "zip.py";
    ckpt_test::spit(script, R"PY(
import sys, zipfile
print([(i.filename, i.compress_type) for i in zipfile.ZipFile(sys.argv[1]).infolist()])
print(zipfile.ZipFile(sys.argv[1]).testzip())
)PY");
    const auto out = ckpt_test::run_command(ckpt_test::python().command + " " + script.string() +
                                            " " + (dir / "given.keras").string());
    CHECK(out.out == "[('metadata.json', 0), ('config.json', 0), ('model.weights.h5', 0)]\nNone\n");
  }
  options.metadata = {{"config", "{oops"}};
  CHECK_THROWS_WITH(ckpt::save(net, dir / "bad.keras", options), Catch::Contains("config"));
  CHECK(!fs::exists(dir / "bad.keras"));
}

TEST_CASE("Paths a Keras layout cannot express fail before a file appears", "[keras][roundtrip]") {
  struct Bad {
    std::map<std::string, std::vector<float>> top_level_model_weights;
  };
  Bad b;
  b.top_level_model_weights["x"] = {1};
  ckpt_test::scratch_dir dir("ckpt-keras");
  ckpt::save_options options;
  options.format = "keras2";
  try {
    ckpt::save(b, dir / "bad.h5", options);
    FAIL("expected an error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::unsupported);
    CHECK(e.key() == "top_level_model_weights/x");
    CHECK(e.file() == (dir / "bad.h5").string());
  }
  CHECK(dir.file_count() == 0);
}
