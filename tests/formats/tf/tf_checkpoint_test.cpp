// SPDX-License-Identifier: Apache-2.0
// TensorFlow checkpoints through ckpt's API: structs to TF2 (object-based) and TF1 (name-based)
// bundles and back, the object graph TF would restore from, shards, prefixes and SavedModel
// directories. Real TensorFlow files are checked in tests/interop/tf_fixtures_test.cpp, damaged
// ones in tests/hostile/tf_corruption_test.cpp.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "../../support/checkers.hpp"
#include "../../support/model.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"

namespace fs = std::filesystem;
using ckpt_test::make_model;
using ckpt_test::Model;
using ckpt_test::scratch_dir;
namespace tf = ckpt::tf_checkpoint;

namespace {

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(dir)) names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

tf::object_graph graph_of(const fs::path& prefix) {
  const tf::bundle_reader bundle(prefix);
  std::string bytes;
  bundle.read(bundle.at(tf::object_graph_key),
              {ckpt::dtype::string, {}, {}, std::span<std::string>(&bytes, 1)});
  return tf::decode_object_graph(bytes);
}

// What tfverify says about a bundle we wrote; every check it makes must pass.
void check_with_tfverify(const fs::path& prefix, bool object_based) {
  if (!ckpt_test::require(ckpt_test::tfverify(),
                          "checking the checkpoint ckpt wrote with tfverify"))
    return;
  const auto report = ckpt_test::run_tfverify(prefix);
  INFO(report.dump(1));
  CHECK(report["ok"] == true);
  CHECK(report["errors"].empty());
  CHECK(report["warnings"].empty());
  CHECK(report["bundle"]["index"]["leveldb_crosscheck"] == "ok");
  CHECK(report["bundle"]["index"]["tf_identical"] == true);
  for (const auto& e : report["bundle"]["entries"]) CHECK(e["crc32c_ok"] == true);
  if (object_based) {
    REQUIRE(report["object_graph"].is_object());
    CHECK(report["object_graph"]["missing_keys"].empty());
  } else {
    CHECK(report["object_graph"].is_null());
  }
}

}  // namespace

// The round trip itself is tests/roundtrip's; here the independent checker reads what was written.
TEST_CASE("TF2 and TF1 checkpoints of the shared model pass tfverify", "[tf]") {
  const Model original = make_model({.strings = true, .complex = true});
  for (const std::string format : {"tf", "tf1"}) {
    DYNAMIC_SECTION(format) {
      scratch_dir dir("ckpt-tf");
      const fs::path prefix = dir / "model.ckpt";
      ckpt::save(original, prefix, {.format = format});
      CHECK(files_in(dir.path()) ==
            std::vector<std::string>{"model.ckpt.data-00000-of-00001", "model.ckpt.index"});
      ckpt::reader r(prefix);
      CHECK(r.format() == format);
      check_with_tfverify(prefix, format == "tf");
    }
  }
}

TEST_CASE("TF2 keys, object graph and data order are what tf.train.Checkpoint writes", "[tf]") {
  struct Dense {
    std::vector<float> kernel, bias;
  };
  struct Net {
    Dense dense;
    std::map<std::string, float> extra;
  };
  struct Root {
    Net net;
    std::int32_t step = 6;
  };
  const Root root{{{{1, 2}, {3}}, {{"a.b", 4.0f}}}, 6};
  scratch_dir dir("ckpt-tf");
  const fs::path prefix = dir / "ckpt-1";
  ckpt::save(root, prefix);  // a bare prefix is a TF2 checkpoint

  const tf::bundle_reader bundle(prefix);
  std::vector<std::string> keys;
  for (const auto& e : bundle.entries()) keys.push_back(e.key);
  CHECK(keys == std::vector<std::string>{
                    "_CHECKPOINTABLE_OBJECT_GRAPH", "net/dense/bias/.ATTRIBUTES/VARIABLE_VALUE",
                    "net/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                    "net/extra/a..b/.ATTRIBUTES/VARIABLE_VALUE",
                    "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "step/.ATTRIBUTES/VARIABLE_VALUE"});
  // Data in node order (breadth-first), the graph last: step, save_counter, then net's leaves.
  auto offset = [&](const char* key) { return bundle.at(key).offset; };
  CHECK(offset("step/.ATTRIBUTES/VARIABLE_VALUE") == 0);
  CHECK(offset("save_counter/.ATTRIBUTES/VARIABLE_VALUE") == 4);
  CHECK(offset("net/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE") == 12);
  CHECK(offset("net/dense/bias/.ATTRIBUTES/VARIABLE_VALUE") == 20);
  CHECK(offset("net/extra/a..b/.ATTRIBUTES/VARIABLE_VALUE") == 24);
  CHECK(offset("_CHECKPOINTABLE_OBJECT_GRAPH") == 28);
  std::int64_t counter = 0;
  bundle.read(bundle.at("save_counter/.ATTRIBUTES/VARIABLE_VALUE"),
              {ckpt::dtype::int64, {}, std::as_writable_bytes(std::span(&counter, 1)), {}});
  CHECK(counter == 1);

  // The graph: root {net, step, save_counter}; net {dense, extra}; dense {kernel, bias}; ...
  const auto graph = graph_of(prefix);
  REQUIRE(graph.nodes.size() == 9);
  std::vector<std::string> root_children;
  for (const auto& c : graph.nodes[0].children) root_children.push_back(c.local_name);
  CHECK(root_children == std::vector<std::string>{"net", "step", "save_counter"});
  const auto& step = graph.nodes[2];
  REQUIRE(step.attributes.size() == 1);
  CHECK(step.attributes[0].name == "VARIABLE_VALUE");
  CHECK(step.attributes[0].checkpoint_key == "step/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(graph.nodes[3].attributes[0].full_name == "save_counter");

  // The reader gives canonical paths back and hides the bookkeeping from strict loads.
  ckpt::reader r(prefix);
  CHECK(r.contains("net/extra/a.b"));
  Root loaded{};
  loaded.step = 0;
  ckpt::load(loaded, prefix);
  CHECK(loaded.step == 6);
  CHECK(loaded.net.extra.at("a.b") == 4.0f);
  CHECK(loaded.net.dense.kernel == std::vector<float>{1, 2});
  check_with_tfverify(prefix, true);

  // save_counter is the step when given (what a checkpoint manager counts).
  ckpt::save(root, prefix, {.step = 42});
  const tf::bundle_reader again(prefix);
  again.read(again.at("save_counter/.ATTRIBUTES/VARIABLE_VALUE"),
             {ckpt::dtype::int64, {}, std::as_writable_bytes(std::span(&counter, 1)), {}});
  CHECK(counter == 42);
}

TEST_CASE("a struct with its own save_counter keeps it", "[tf]") {
  struct WithCounter {
    std::int64_t save_counter = 7;
    float w = 1;
  };
  scratch_dir dir("ckpt-tf");
  ckpt::save(WithCounter{}, dir / "c.ckpt");
  WithCounter loaded{0, 0};
  ckpt::load(loaded, dir / "c.ckpt");
  CHECK(loaded.save_counter == 7);
  CHECK(loaded.w == 1);
}

TEST_CASE("TF1 keys are the paths, in declaration order in the data file", "[tf]") {
  struct Layer {
    ckpt::tensor<float> kernel{ckpt::shape{2, 2}};
    std::vector<float> bias{0.5f, 1.5f};
  };
  struct Net {
    Layer conv2d;
    std::int64_t global_step = 46900;
  };
  scratch_dir dir("ckpt-tf");
  ckpt::save(Net{}, dir / "model.ckpt-46900", {.format = "tf1"});
  const tf::bundle_reader bundle(dir / "model.ckpt-46900");
  REQUIRE(bundle.entries().size() == 3);
  CHECK(bundle.find(tf::object_graph_key) == nullptr);
  CHECK(bundle.at("conv2d/kernel").offset == 0);
  CHECK(bundle.at("conv2d/bias").offset == 16);
  CHECK(bundle.at("global_step").offset == 24);
  Net loaded;
  loaded.global_step = 0;
  ckpt::load(loaded, dir / "model.ckpt-46900.index");  // the .index path names it too
  CHECK(loaded.global_step == 46900);
  check_with_tfverify(dir / "model.ckpt-46900", false);
}

TEST_CASE("storage.shards spreads tensors over TF's data file names", "[tf]") {
  const Model original = make_model({.strings = true, .complex = true});
  scratch_dir dir("ckpt-tf");
  ckpt::save_options options;
  options.storage.shards = 3;
  ckpt::save(original, dir / "sharded", options);
  CHECK(files_in(dir.path()) ==
        std::vector<std::string>{"sharded.data-00000-of-00003", "sharded.data-00001-of-00003",
                                 "sharded.data-00002-of-00003", "sharded.index"});
  for (const auto& f : fs::directory_iterator(dir.path())) CHECK(fs::file_size(f) > 0);
  Model loaded;
  ckpt::load(loaded, dir / "sharded.data-00001-of-00003");
  CHECK(loaded == original);
  check_with_tfverify(dir / "sharded", true);
}

TEST_CASE("formats by name: .ckpt and bare prefixes are TF2, other names are refused", "[tf]") {
  CHECK(ckpt::format_for_save("dir/model.ckpt", "").name == "tf");
  CHECK(ckpt::format_for_save("dir/ckpt-5", "").name == "tf");
  CHECK(ckpt::format_for_save("dir/model.ckpt-46900", "").name == "tf");
  CHECK(ckpt::format_for_save("dir/m.safetensors", "").name == "safetensors");
  CHECK_THROWS_AS(ckpt::format_for_save("dir/model.bin", ""), ckpt::error);
  CHECK(ckpt::format_for_save("dir/x", "tf1").name == "tf1");
}

TEST_CASE("a SavedModel directory loads through its variables/ bundle", "[tf]") {
  struct Module {
    float x = 1, y = 2;
  };
  scratch_dir dir("ckpt-tf");
  const fs::path exported = dir / "export";
  fs::create_directories(exported / "variables");
  std::ofstream(exported / "saved_model.pb") << "";
  ckpt::save(Module{}, exported / "variables" / "variables");
  Module loaded{0, 0};
  ckpt::load(loaded, exported);
  CHECK(loaded.x == 1);
  CHECK(loaded.y == 2);
  CHECK(ckpt::reader(exported).format() == "tf");
}

TEST_CASE("a manager's checkpoints carry their number as save_counter", "[tf]") {
  struct W {
    float w = 1;
  };
  scratch_dir dir("ckpt-tf");
  ckpt::manager m{dir.path(), {.max_to_keep = 2, .sync = false}};
  for (int i = 0; i < 3; ++i) m.save(W{});
  const auto latest = ckpt::latest_checkpoint(dir.path());
  REQUIRE(latest);
  CHECK(latest->filename() == "ckpt-3");
  std::int64_t counter = 0;
  const tf::bundle_reader bundle(*latest);
  bundle.read(bundle.at("save_counter/.ATTRIBUTES/VARIABLE_VALUE"),
              {ckpt::dtype::int64, {}, std::as_writable_bytes(std::span(&counter, 1)), {}});
  CHECK(counter == 3);
}
