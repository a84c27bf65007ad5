// SPDX-License-Identifier: Apache-2.0
// Every real TensorFlow bundle of the shared fixtures (tf/ and the variables/ of every SavedModel
// in savedmodel/) read through ckpt's format API (ckpt::reader, ckpt::open_reader, ckpt::load),
// checked against the independent checker's reports (_tfverify/*.json): format, keys, dtypes,
// shapes, values, checksums, canonical paths from the object graph, and the graph re-encoded byte
// for byte. Then the values FIXTURES.md states, loaded into small user structs, the TF2 Keras
// checkpoints loaded into structs through the rename options, and every bundle read through the
// TensorBundle reader itself with the offsets and checksums the reports give.
#include <catch2/catch.hpp>

#include <array>
#include <complex>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../support/fixtures.hpp"
#include "../support/tf_reports.hpp"
#include "ckpt/ckpt.hpp"
#include "ckpt/codec/half.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/object_graph.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
using ckpt::dtype;
using nlohmann::json;

namespace {

const fs::path fixtures = ckpt_test::fixtures_dir();
using ckpt_test::fixture_present;
using ckpt_test::from_hex;
using ckpt_test::tf_dtype_name;

// Every bundle prefix among the fixtures, found from the files (P.index), relative to the fixtures
// folder: "tf/eos_checkpoint_manager/ckpt-5".
std::vector<std::string> fixture_prefixes() {
  std::vector<std::string> out;
  for (const char* dir : {"tf", "savedmodel"}) {
    if (!fs::exists(fixtures / dir)) continue;
    for (const auto& f : fs::recursive_directory_iterator(fixtures / dir))
      if (f.is_regular_file() && f.path().extension() == ".index")
        out.push_back(fs::relative(f.path().parent_path() / f.path().stem(), fixtures).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every SavedModel directory (saved_model.pb beside variables/).
std::vector<fs::path> saved_model_dirs() {
  std::vector<fs::path> out;
  for (const char* dir : {"tf", "savedmodel"}) {
    if (!fs::exists(fixtures / dir)) continue;
    for (const auto& d : fs::directory_iterator(fixtures / dir))
      if (fs::exists(d.path() / "saved_model.pb") && fs::is_directory(d.path() / "variables"))
        out.push_back(d.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Values read through ckpt::reader::read<T> as tfverify prints them: floats widened to double
// (exact), half and bfloat16 widened, complex as [re, im].
template <class T>
json read_as_json(ckpt::reader& r, const std::string& key,
                  ckpt::conversion policy = ckpt::conversion::none) {
  const auto t = r.read<T>(key, policy);
  json out = json::array();
  for (std::size_t i = 0; i < t.size(); ++i) {
    if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>)
      out.push_back(json::array({t[i].real(), t[i].imag()}));
    else
      out.push_back(t[i]);
  }
  return out;
}

json values_via_reader(ckpt::reader& r, const std::string& key, dtype t) {
  switch (t) {
    case dtype::float32:
      return read_as_json<float>(r, key);
    case dtype::float64:
      return read_as_json<double>(r, key);
    case dtype::float16:
    case dtype::bfloat16:
      return read_as_json<float>(r, key, ckpt::conversion::lossless);
    case dtype::int8:
      return read_as_json<std::int8_t>(r, key);
    case dtype::int16:
      return read_as_json<std::int16_t>(r, key);
    case dtype::int32:
      return read_as_json<std::int32_t>(r, key);
    case dtype::int64:
      return read_as_json<std::int64_t>(r, key);
    case dtype::uint8:
      return read_as_json<std::uint8_t>(r, key);
    case dtype::uint16:
      return read_as_json<std::uint16_t>(r, key);
    case dtype::uint32:
      return read_as_json<std::uint32_t>(r, key);
    case dtype::uint64:
      return read_as_json<std::uint64_t>(r, key);
    case dtype::bool_:
      return read_as_json<bool>(r, key);
    case dtype::complex64:
      return read_as_json<std::complex<float>>(r, key);
    case dtype::complex128:
      return read_as_json<std::complex<double>>(r, key);
    case dtype::string:
      return read_as_json<std::string>(r, key);
    default:
      FAIL("no reader for " << tf_dtype_name(t) << " of " << key);
      return nullptr;
  }
}

// What tfverify prints for a string value: the text, or {"hex": ...} for bytes that are not
// UTF-8.
json expected_values(const json& entry) {
  json out = json::array();
  for (const auto& v : entry["values"])
    out.push_back(v.is_object() && v.contains("hex") ? json(from_hex(v["hex"])) : v);
  return out;
}

// checkpoint key -> canonical path, computed from the report's object graph: the node's path (the
// report's breadth-first path), plus the attribute name for attributes other than VARIABLE_VALUE;
// slot variables (which have no path of their own) as
// "<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot name>".
std::map<std::string, std::string> expected_paths(const json& graph) {
  std::map<std::size_t, std::string> node_path;
  for (const auto& n : graph["node_list"])
    if (n.contains("path") && n["path"].is_string())
      node_path[n["id"].get<std::size_t>()] = n["path"];
  for (const auto& n : graph["node_list"]) {
    if (!n.contains("slot_variables") || !n["path"].is_string()) continue;
    for (const auto& s : n["slot_variables"]) {
      const auto original = node_path.find(s["original_variable_node_id"].get<std::size_t>());
      REQUIRE(original != node_path.end());
      node_path.emplace(s["slot_variable_node_id"].get<std::size_t>(),
                        original->second + "/.OPTIMIZER_SLOT/" + n["path"].get<std::string>() +
                            "/" + s["slot_name"].get<std::string>());
    }
  }
  std::map<std::string, std::string> out;
  for (const auto& n : graph["node_list"]) {
    if (!n.contains("attributes")) continue;
    const auto at = node_path.find(n["id"].get<std::size_t>());
    REQUIRE(at != node_path.end());
    for (const auto& a : n["attributes"]) {
      const std::string name = a["name"];
      out[a["checkpoint_key"]] = name == "VARIABLE_VALUE"
                                     ? at->second
                                     : (at->second.empty() ? name : at->second + "/" + name);
    }
  }
  return out;
}

void check_reader_against_report(ckpt::reader& r, const json& report) {
  const auto& expected = report["bundle"]["entries"];
  bool has_graph = false;
  for (const auto& x : expected) has_graph |= x["key"] == "_CHECKPOINTABLE_OBJECT_GRAPH";
  CHECK(r.format() == (has_graph ? "tf" : "tf1"));

  REQUIRE(r.entries().size() == expected.size());
  std::map<std::string, std::string> paths;
  if (has_graph) paths = expected_paths(report["object_graph"]);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& x = expected[i];
    const std::string key = x["key"];
    INFO("entry " << key);
    REQUIRE(r.contains(key));
    const ckpt::entry& e = r.find(key);
    CHECK(e.name == key);
    CHECK(tf_dtype_name(e.dtype) == x["dtype"]);
    CHECK(e.shape == x["shape"].get<std::vector<std::uint64_t>>());
    CHECK(e.bytes == x["size"]);
    CHECK(r.verify(key) ==
          (x["crc32c_ok"] == true ? ckpt::checksum_status::ok : ckpt::checksum_status::mismatch));
    if (x.contains("values")) CHECK(values_via_reader(r, key, e.dtype) == expected_values(x));

    if (!has_graph) {
      CHECK(e.path == key);
      CHECK_FALSE(e.bookkeeping);
    } else if (key == "_CHECKPOINTABLE_OBJECT_GRAPH") {
      CHECK(e.bookkeeping);
    } else {
      const auto it = paths.find(key);
      REQUIRE(it != paths.end());  // every stored key of these fixtures is named by the graph
      CHECK(e.path == it->second);
      CHECK(e.bookkeeping == (e.path == "save_counter"));
    }
  }
}

}  // namespace

TEST_CASE("every fixture bundle reads through ckpt::reader as tfverify recorded it",
          "[tf_checkpoint][conformance]") {
  if (!ckpt_test::tf_fixtures_present()) return;
  const auto reports = ckpt_test::tfverify_reports();
  const auto prefixes = fixture_prefixes();
  CHECK(prefixes.size() == 27);  // 21 under tf/ (eos has two), 6 under savedmodel/
  std::size_t tf2 = 0;
  for (const auto& prefix : prefixes) {
    INFO(prefix);
    const auto it = reports.find(prefix);
    REQUIRE(it != reports.end());  // every bundle has a report
    const json& report = it->second;
    CHECK(report["ok"] == true);

    ckpt::reader r(fixtures / prefix);
    check_reader_against_report(r, report);
    tf2 += r.format() == "tf";

    // The same entries through an .index path and open_reader.
    auto by_index = ckpt::open_reader(fixtures / (prefix + ".index"));
    CHECK(by_index->format() == r.format());
    REQUIRE(by_index->entries().size() == r.entries().size());
    for (std::size_t i = 0; i < r.entries().size(); ++i) {
      CHECK(by_index->entries()[i].name == r.entries()[i].name);
      CHECK(by_index->entries()[i].path == r.entries()[i].path);
      CHECK(by_index->verify(i) == ckpt::checksum_status::ok);
    }
  }
  // tf/: 12 object-based bundles (eos twice); savedmodel/: half_plus_two_tf2_cpu and
  // rust_regression_tf2_module.
  CHECK(tf2 == 14);
}

TEST_CASE("every SavedModel directory reads its variables/ through the format API",
          "[tf_checkpoint][conformance][saved_model]") {
  if (!ckpt_test::tf_fixtures_present()) return;
  const auto reports = ckpt_test::tfverify_reports();
  const auto dirs = saved_model_dirs();
  CHECK(dirs.size() == 21);  // 15 under tf/ (all but 4 plain checkpoints), 6 under savedmodel/
  for (const auto& dir : dirs) {
    const std::string prefix = fs::relative(dir / "variables" / "variables", fixtures).string();
    INFO(dir.string());
    const auto it = reports.find(prefix);
    REQUIRE(it != reports.end());
    ckpt::reader r(dir);
    check_reader_against_report(r, it->second);
  }
}

// The decoded graph, node for node, is the graph the report lists.
void check_graph_against_report(const tfc::object_graph& graph, const json& report) {
  const auto& nodes = report["node_list"];
  REQUIRE(graph.nodes.size() == report["nodes"].get<std::size_t>());
  REQUIRE(graph.nodes.size() == nodes.size());
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    INFO("node " << i);
    const auto& node = graph.nodes[i];
    const auto& x = nodes[i];
    const json none = json::array();
    const auto& children = x.contains("children") ? x["children"] : none;
    REQUIRE(node.children.size() == children.size());
    for (std::size_t c = 0; c < children.size(); ++c) {
      CHECK(node.children[c].local_name == children[c][0]);
      CHECK(node.children[c].node_id == children[c][1]);
    }
    const auto& attributes = x.contains("attributes") ? x["attributes"] : none;
    REQUIRE(node.attributes.size() == attributes.size());
    for (std::size_t a = 0; a < attributes.size(); ++a) {
      CHECK(node.attributes[a].name == attributes[a]["name"]);
      CHECK(node.attributes[a].full_name == attributes[a]["full_name"]);
      CHECK(node.attributes[a].checkpoint_key == attributes[a]["checkpoint_key"]);
    }
    const auto& slots = x.contains("slot_variables") ? x["slot_variables"] : none;
    REQUIRE(node.slot_variables.size() == slots.size());
    for (std::size_t s = 0; s < slots.size(); ++s) {
      CHECK(node.slot_variables[s].original_variable_node_id ==
            slots[s]["original_variable_node_id"]);
      CHECK(node.slot_variables[s].slot_name == slots[s]["slot_name"]);
      CHECK(node.slot_variables[s].slot_variable_node_id == slots[s]["slot_variable_node_id"]);
    }
  }
}

TEST_CASE("every fixture's object graph decodes as recorded and re-encodes to the stored bytes",
          "[tf_checkpoint][conformance][object_graph]") {
  if (!ckpt_test::tf_fixtures_present()) return;
  const auto reports = ckpt_test::tfverify_reports();
  // Two writers put ObjectReference's local_name (field 2) before node_id (field 1); ckpt writes
  // fields in number order, as TF's C++ and Python serializers do, so those two re-encode to a
  // permutation of the same bytes. Every other fixture's graph comes back byte for byte.
  const std::set<std::string> references_out_of_order = {
      "savedmodel/half_plus_two_tf2_cpu/variables/variables",
      "tf/tf_libtf_simple_model/variables/variables"};
  std::size_t graphs = 0;
  std::set<std::string> not_identical;
  for (const auto& prefix : fixture_prefixes()) {
    INFO(prefix);
    ckpt::reader r(fixtures / prefix);
    if (!r.contains("_CHECKPOINTABLE_OBJECT_GRAPH")) continue;
    const auto stored = r.read<std::string>("_CHECKPOINTABLE_OBJECT_GRAPH");
    REQUIRE(stored.size() == 1);
    const tfc::object_graph graph = tfc::decode_object_graph(stored[0]);
    check_graph_against_report(graph, reports.at(prefix)["object_graph"]);
    const std::string encoded = tfc::encode(graph);
    if (encoded != stored[0]) {
      not_identical.insert(prefix);
      CHECK(encoded.size() == stored[0].size());
      CHECK(std::is_permutation(encoded.begin(), encoded.end(), stored[0].begin()));
      CHECK(tfc::encode(tfc::decode_object_graph(encoded)) == encoded);
    }
    ++graphs;
  }
  CHECK(graphs == 14);
  CHECK(not_identical == references_out_of_order);
}

// ---- The values FIXTURES.md states, loaded into user structs ------------------------------------

namespace {

struct HalfPlusTwo {
  float a = 0, b = 0, c = 0;
};

struct HalfPlusTwoTf1Serving {  // savedmodel/half_plus_two_tf1_cpu: a2 and c2 too
  float a = 0, a2 = 0, b = 0, c = 0, c2 = 0;
};

struct Counter {
  std::int64_t save_counter = 0;  // bookkeeping, but taken when a field asks for it
  std::int32_t step = 0;
};

struct ContribBundle {
  struct Scope {
    ckpt::tensor<float> embeddings;
    std::vector<std::int64_t> indices;
  } some_scope;
};

struct OldStrings {
  ckpt::tensor<std::string> string_tensor, scalar, strs;
  ckpt::tensor<float> floats;
};

struct Sharded {
  ckpt::tensor<float> v;
};

struct RegressionTf2 {
  ckpt::tensor<float> w, b;
  struct Sgd {
    std::int64_t iter = -1;
    float decay = -1, learning_rate = -1, momentum = -1;
  } optimizer;
};

struct RegressionTf1 {
  ckpt::tensor<float> w, b;
};

struct MnistLayer {
  ckpt::tensor<float> kernel, bias;
};
struct MnistLayers {
  MnistLayer conv2d, conv2d_1, dense, dense_1;
};
// TF1 Adam keeps its slots as "<variable>/Adam" and "<variable>/Adam_1"; a variable cannot be a
// tensor and a parent at once, so the slots are renamed into their own subtree.
struct Mnist {
  MnistLayers model;
  struct {
    MnistLayers m, v;
  } adam;
  float beta1_power = -1, beta2_power = -1;
  std::int64_t global_step = 0;
};

ckpt::load_options mnist_renames() {
  ckpt::load_options o;
  for (const char* layer : {"conv2d", "conv2d_1", "dense", "dense_1"})
    for (const char* weight : {"kernel", "bias"}) {
      const std::string path = std::string(layer) + "/" + weight;
      o.rename[path] = "model/" + path;
      o.rename[path + "/Adam"] = "adam/m/" + path;
      o.rename[path + "/Adam_1"] = "adam/v/" + path;
    }
  return o;
}

}  // namespace

TEST_CASE("half_plus_two: a=0.5 b=2 c=3 from SavedModel dirs, .index paths and prefixes",
          "[tf_checkpoint][conformance][load]") {
  for (const char* name : {"tf/tf_half_plus_two_v1", "tf/tf_half_plus_two_v2",
                           "tf/tf_half_plus_two_main_op", "savedmodel/half_plus_two_tf2_cpu"}) {
    const fs::path dir = fixtures / name;
    if (!fixture_present(dir)) continue;
    INFO(name);
    for (const fs::path& path :
         {dir, dir / "variables" / "variables.index", dir / "variables" / "variables"}) {
      INFO(path.string());
      HalfPlusTwo m;
      ckpt::load(m, path);
      CHECK(m.a == 0.5f);
      CHECK(m.b == 2.0f);
      CHECK(m.c == 3.0f);
    }
  }
  for (const char* name : {"savedmodel/half_plus_two_tf1_cpu",
                           "savedmodel/half_plus_two_cpu_with_saved_model_config"}) {
    const fs::path dir = fixtures / name;
    if (!fixture_present(dir)) continue;
    INFO(name);
    HalfPlusTwoTf1Serving m;
    ckpt::load(m, dir);
    CHECK(m.a == 0.5f);
    CHECK(m.a2 == 0.5f);
    CHECK(m.b == 2.0f);
    CHECK(m.c == 3.0f);
    CHECK(m.c2 == 3.0f);
    // A struct without a2/c2 fails strictly, naming a stored key it has no field for.
    HalfPlusTwo fewer;
    CHECK_THROWS_WITH(ckpt::load(fewer, dir), Catch::Contains("a2"));
  }
}

TEST_CASE("single-variable fixtures hold the values FIXTURES.md gives",
          "[tf_checkpoint][conformance][load]") {
  if (const auto dir = fixtures / "tf/tf_SimpleV1Model"; fixture_present(dir)) {
    struct {
      float Variable = 0;
    } m;
    ckpt::load(m, dir);
    CHECK(m.Variable == 1.0f);
  }
  if (const auto dir = fixtures / "savedmodel/counter_tf1"; fixture_present(dir)) {
    struct {
      float counter = -1;
    } m;
    ckpt::load(m, dir);
    CHECK(m.counter == 0.0f);
  }
  if (const auto dir = fixtures / "tf/tf_VarsAndArithmeticObjectGraph"; fixture_present(dir)) {
    struct {
      float x = 0, y = 0;
      struct {
        float z = 0;
      } child;
    } m;
    ckpt::load(m, dir);
    CHECK(m.x == 1.0f);
    CHECK(m.y == 2.0f);
    CHECK(m.child.z == 3.0f);
  }
  if (const auto dir = fixtures / "tf/tf_CyclicModule"; fixture_present(dir)) {
    struct {
      struct {
        float my_variable = 0;
      } child;
    } m;
    ckpt::load(m, dir);
    CHECK(m.child.my_variable == 3.0f);
  }
  if (const auto dir = fixtures / "tf/tf_UninitializedVariable"; fixture_present(dir)) {
    struct {
      float initialized_variable = 0;
    } m;
    ckpt::load(m, dir);  // the graph's keys with no bundle entry ask for no field
    CHECK(m.initialized_variable == 1.0f);
  }
  if (const auto prefix = fixtures / "tf/tf_session_bundle_half_plus_two_ckpt_v2/export";
      fixture_present(prefix)) {
    struct {
      float a = 0, b = 0;
    } m;
    ckpt::load(m, prefix);
    CHECK(m.a == 0.5f);
    CHECK(m.b == 2.0f);
  }
}

TEST_CASE("eos ckpt-5: save_counter=5 and step=6", "[tf_checkpoint][conformance][load]") {
  const auto prefix = fixtures / "tf/eos_checkpoint_manager/ckpt-5";
  if (!fixture_present(prefix)) return;
  Counter m;
  ckpt::load(m, prefix, {.allow_unexpected = true});
  CHECK(m.save_counter == 5);
  CHECK(m.step == 6);
  // Through the checkpoint directory's state file instead of a named prefix.
  Counter latest;
  ckpt::load(latest, ckpt::latest_checkpoint(prefix.parent_path()).value(),
             {.allow_unexpected = true});
  CHECK(latest.step == 6);
}

TEST_CASE("tf_contrib_bundle_checkpoint: int64 indices [3,4,5,6,7]",
          "[tf_checkpoint][conformance][load]") {
  const auto prefix = fixtures / "tf/tf_contrib_bundle_checkpoint/bundle_checkpoint";
  if (!fixture_present(prefix)) return;
  ContribBundle m;
  ckpt::load(m, prefix);
  CHECK(m.some_scope.indices == std::vector<std::int64_t>{3, 4, 5, 6, 7});
  CHECK(m.some_scope.embeddings.shape() == ckpt::shape{5, 16});
}

TEST_CASE("tf_old_string_tensors: DT_STRING tensors with varint32 lengths",
          "[tf_checkpoint][conformance][load]") {
  const auto prefix = fixtures / "tf/tf_old_string_tensors/foo";
  if (!fixture_present(prefix)) return;
  OldStrings m;
  ckpt::load(m, prefix);
  REQUIRE(m.string_tensor.size() == 1);
  CHECK(m.string_tensor[0].empty());
  REQUIRE(m.scalar.size() == 1);
  CHECK(m.scalar[0] == "hello");
  REQUIRE(m.strs.size() == 4);
  CHECK(m.strs[0] == "hello");
  CHECK(m.strs[1].empty());
  CHECK(m.strs[2] == "x01");
  CHECK(m.strs[3] == std::string(1024, 'c'));
  CHECK(m.floats.shape() == ckpt::shape{2, 3});
  for (std::size_t i = 0; i < m.floats.size(); ++i) CHECK(m.floats[i] == 16.18f);
}

TEST_CASE("tf_trt_2.0_saved_model_sharded: v=1.0 from shard 1 of 2",
          "[tf_checkpoint][conformance][load]") {
  const auto dir = fixtures / "tf/tf_trt_2.0_saved_model_sharded";
  if (!fixture_present(dir)) return;
  Sharded m;
  ckpt::load(m, dir);
  CHECK(m.v.shape() == ckpt::shape{1, 1, 1});
  CHECK(m.v[0] == 1.0f);
  ckpt::reader r(dir);
  CHECK(r.find("v/.ATTRIBUTES/VARIABLE_VALUE").path == "v");
}

TEST_CASE("rust regression models: w and the SGD hyperparameters",
          "[tf_checkpoint][conformance][load]") {
  for (const char* name :
       {"tf/rust_regression_savedmodel_tf2", "savedmodel/rust_regression_tf2_module"}) {
    const auto dir = fixtures / name;
    if (!fixture_present(dir)) continue;
    INFO(name);
    RegressionTf2 m;
    ckpt::load(m, dir);
    REQUIRE(m.w.size() == 1);
    CHECK(m.w[0] == 0.20429754f);
    CHECK(m.b.shape() == ckpt::shape{1});
    CHECK(m.b[0] == 0.0f);
    CHECK(m.optimizer.iter == 0);
    CHECK(m.optimizer.decay == 0.0f);
    CHECK(m.optimizer.learning_rate == 0.5f);
    CHECK(m.optimizer.momentum == 0.0f);
  }
  for (const char* name : {"tf/rust_regression_model_tf1", "savedmodel/rust_regression_tf1"}) {
    const auto dir = fixtures / name;
    if (!fixture_present(dir)) continue;
    INFO(name);
    RegressionTf1 m;
    ckpt::load(m, dir / "variables" / "variables.index");
    REQUIRE(m.w.size() == 1);
    CHECK(m.w[0] == -0.85786223f);
    CHECK(m.b[0] == 0.0f);
  }
}

TEST_CASE("tf_trt_mnist_ckpt (TF1, Snappy index, Adam slots) loads through renames",
          "[tf_checkpoint][conformance][load]") {
  const auto dir = fixtures / "tf/tf_trt_mnist_ckpt";
  if (!fixture_present(dir / "model.ckpt-46900")) return;
  CHECK(ckpt::reader(dir / "model.ckpt-46900").format() == "tf1");
  Mnist m;
  ckpt::load(m, dir / "model.ckpt-46900", mnist_renames());
  CHECK(m.global_step == 46900);
  CHECK(m.beta1_power == 0.0f);
  CHECK(m.beta2_power == 4.18049851831876e-21f);
  CHECK(m.model.conv2d.kernel.shape() == ckpt::shape{3, 3, 1, 32});
  CHECK(m.adam.m.conv2d_1.kernel.shape() == ckpt::shape{3, 3, 32, 64});
  CHECK(m.adam.v.dense.kernel.shape() == ckpt::shape{64, 512});
  REQUIRE(m.model.dense_1.bias.size() == 10);
  CHECK(m.model.dense_1.bias[0] == -1.2216696739196777f);
  CHECK(m.adam.m.dense_1.bias[0] == 0.0019784753676503897f);
  CHECK(m.adam.v.dense_1.bias[0] == 2.6853349481825717e-05f);
  // The state file names this checkpoint as the latest.
  Mnist latest;
  ckpt::load(latest, ckpt::latest_checkpoint(dir).value(), mnist_renames());
  CHECK(latest.global_step == 46900);
}

// ---- The TF2 Keras checkpoints into user structs
// -------------------------------------------------

namespace {

struct DenseVars {
  ckpt::tensor<double> kernel, bias;
};
struct AdamHyper {
  std::int64_t iter = 0;
  float beta_1 = 0, beta_2 = 0, decay = -1, learning_rate = 0;
};
// tf.train.Checkpoint(step=..., optimizer=..., net=keras.Sequential(...)) without the slots.
struct EosModel {
  std::array<DenseVars, 5> layers;
  AdamHyper optimizer;
  std::int32_t step = 0;
};

// The same with Adam's m and v for every weight.
struct Moments {
  ckpt::tensor<double> m, v;
};
struct DenseMoments {
  Moments kernel, bias;
};
struct EosTraining {
  std::array<DenseVars, 5> layers;
  std::array<DenseMoments, 5> slots;
  AdamHyper optimizer;
  std::int32_t step = 0;
};

// Keras names the Sequential's weighted layers "layer_with_weights-N"; a slot of variable V lives
// at "V/.OPTIMIZER_SLOT/optimizer/<slot>". Renames put them where the struct has them: the slot
// prefixes come first because the first matching prefix wins.
ckpt::load_options keras_renames(const std::string& net, std::size_t layers, bool with_slots) {
  ckpt::load_options o;
  const std::string base = net.empty() ? "" : net + "/";
  for (std::size_t i = 0; i < layers && with_slots; ++i)
    for (const char* weight : {"kernel", "bias"})
      o.rename_prefix.emplace_back(base + "layer_with_weights-" + std::to_string(i) + "/" + weight +
                                       "/.OPTIMIZER_SLOT/optimizer",
                                   "slots/" + std::to_string(i) + "/" + weight);
  for (std::size_t i = 0; i < layers; ++i)
    o.rename_prefix.emplace_back(base + "layer_with_weights-" + std::to_string(i),
                                 "layers/" + std::to_string(i));
  return o;
}

json report_for(const std::string& prefix) {
  const auto reports = ckpt_test::tfverify_reports();
  const auto it = reports.find(prefix);
  REQUIRE(it != reports.end());
  return it->second;
}

const json& report_entry(const json& report, const std::string& key) {
  for (const auto& e : report["bundle"]["entries"])
    if (e["key"] == key) return e;
  FAIL("no entry " << key << " in the report");
  throw;
}

}  // namespace

TEST_CASE("eos ckpt-5 (Keras Sequential, float64) loads into a struct of 5 DenseVars layers",
          "[tf_checkpoint][conformance][keras]") {
  const auto prefix = fixtures / "tf/eos_checkpoint_manager/ckpt-5";
  if (!fixture_present(prefix)) return;
  const json report = report_for("tf/eos_checkpoint_manager/ckpt-5");

  // Without the slots: the 20 slot entries are stored keys no field takes.
  EosModel model;
  CHECK_THROWS_AS(ckpt::load(model, prefix, keras_renames("net", 5, false)), ckpt::error);
  auto lenient = keras_renames("net", 5, false);
  lenient.allow_unexpected = true;
  ckpt::load(model, prefix, lenient);

  ckpt::reader r(prefix);
  for (std::size_t i = 0; i < 5; ++i) {
    INFO("layer " << i);
    const std::string layer = "net/layer_with_weights-" + std::to_string(i);
    for (const char* weight : {"kernel", "bias"}) {
      const auto& x = report_entry(report, layer + "/" + weight + "/.ATTRIBUTES/VARIABLE_VALUE");
      const auto& field =
          std::string(weight) == "kernel" ? model.layers[i].kernel : model.layers[i].bias;
      CHECK(field.shape() == x["shape"].get<std::vector<std::uint64_t>>());
      CHECK(x["dtype"] == "DT_DOUBLE");
      // Large tensors have no values in the report; compare with the reader's copy instead.
      const auto stored = r.read<double>(layer + "/" + weight);
      CHECK(std::equal(field.data(), field.data() + field.size(), stored.data(),
                       stored.data() + stored.size()));
      if (x.contains("values"))
        for (std::size_t k = 0; k < field.size(); ++k) CHECK(field[k] == x["values"][k]);
    }
  }
  CHECK(model.layers[0].kernel.shape() == ckpt::shape{60, 128});
  CHECK(model.step == 6);
  CHECK(model.optimizer.iter == 5);
  CHECK(model.optimizer.beta_1 == 0.9f);
  CHECK(model.optimizer.beta_2 == 0.999f);
  CHECK(model.optimizer.decay == 0.0f);
  CHECK(model.optimizer.learning_rate == 0.001f);

  // With the slots: strict, every stored entry has a field.
  EosTraining training;
  ckpt::load(training, prefix, keras_renames("net", 5, true));
  for (std::size_t i = 0; i < 5; ++i) {
    INFO("layer " << i);
    const std::string layer = "net/layer_with_weights-" + std::to_string(i);
    CHECK(training.layers[i].kernel == model.layers[i].kernel);
    for (const char* slot : {"m", "v"}) {
      const auto& moments = training.slots[i];
      const auto& kernel_slot = std::string(slot) == "m" ? moments.kernel.m : moments.kernel.v;
      const auto& bias_slot = std::string(slot) == "m" ? moments.bias.m : moments.bias.v;
      const auto& xk = report_entry(report, layer + "/kernel/.OPTIMIZER_SLOT/optimizer/" + slot +
                                                "/.ATTRIBUTES/VARIABLE_VALUE");
      const auto& xb = report_entry(report, layer + "/bias/.OPTIMIZER_SLOT/optimizer/" + slot +
                                                "/.ATTRIBUTES/VARIABLE_VALUE");
      CHECK(kernel_slot.shape() == xk["shape"].get<std::vector<std::uint64_t>>());
      CHECK(bias_slot.shape() == xb["shape"].get<std::vector<std::uint64_t>>());
      if (xb.contains("values"))
        for (std::size_t k = 0; k < bias_slot.size(); ++k) CHECK(bias_slot[k] == xb["values"][k]);
      const auto stored = r.read<double>(layer + "/kernel/.OPTIMIZER_SLOT/optimizer/" + slot);
      CHECK(std::equal(kernel_slot.data(), kernel_slot.data() + kernel_slot.size(), stored.data(),
                       stored.data() + stored.size()));
    }
  }
  CHECK(training.step == 6);
  CHECK(training.optimizer.iter == 5);
}

namespace {

struct KerasDense {
  ckpt::tensor<float> kernel, bias;
};
struct KerasMoments {
  ckpt::tensor<float> m, v;
};
struct KerasDenseMoments {
  KerasMoments kernel, bias;
};
struct KerasMetric {
  float total = 0, count = 0;
};
struct KerasSingleInput {
  std::array<KerasDense, 3> layers;
  std::array<KerasDenseMoments, 3> slots;
  AdamHyper optimizer;
  struct {
    std::array<KerasMetric, 2> metrics;
  } keras_api;
};

}  // namespace

TEST_CASE("rust_keras_single_input (SavedModel of a Keras model) loads into a struct",
          "[tf_checkpoint][conformance][keras]") {
  const auto dir = fixtures / "tf/rust_keras_single_input";
  if (!fixture_present(dir)) return;
  const json report = report_for("tf/rust_keras_single_input/variables/variables");

  KerasSingleInput m;
  ckpt::load(m, dir, keras_renames("", 3, true));
  CHECK(m.layers[0].kernel.shape() == ckpt::shape{5, 5});
  CHECK(m.layers[1].kernel.shape() == ckpt::shape{5, 5});
  CHECK(m.layers[2].kernel.shape() == ckpt::shape{5, 1});
  CHECK(m.layers[2].bias.shape() == ckpt::shape{1});
  CHECK(m.optimizer.iter == 1);
  CHECK(m.optimizer.beta_1 == 0.9f);
  CHECK(m.optimizer.learning_rate == 0.001f);
  CHECK(m.keras_api.metrics[1].total == 1.0f);
  CHECK(m.keras_api.metrics[0].count == 1.0f);
  const auto check = [&](const ckpt::tensor<float>& field, const std::string& key) {
    INFO(key);
    const auto& x = report_entry(report, key);
    CHECK(field.shape() == x["shape"].get<std::vector<std::uint64_t>>());
    REQUIRE(x.contains("values"));
    REQUIRE(x["values"].size() == field.size());
    for (std::size_t k = 0; k < field.size(); ++k) CHECK(field[k] == x["values"][k]);
  };
  const std::string value = "/.ATTRIBUTES/VARIABLE_VALUE";
  check(m.layers[0].bias, "layer_with_weights-0/bias" + value);
  check(m.layers[2].kernel, "layer_with_weights-2/kernel" + value);
  check(m.slots[0].bias.m, "layer_with_weights-0/bias/.OPTIMIZER_SLOT/optimizer/m" + value);
  check(m.slots[0].bias.v, "layer_with_weights-0/bias/.OPTIMIZER_SLOT/optimizer/v" + value);
  check(m.slots[2].bias.m, "layer_with_weights-2/bias/.OPTIMIZER_SLOT/optimizer/m" + value);
  check(m.slots[2].kernel.v, "layer_with_weights-2/kernel/.OPTIMIZER_SLOT/optimizer/v" + value);
}

// ---- Every fixture bundle through the TensorBundle reader itself --------------------------------

namespace {

// Element i of a fixed-size tensor as the JSON value tfverify would print (half/bfloat16 widened,
// complex as [re, im], bool as true/false).
json element_as_json(dtype t, const std::byte* p) {
  const auto load = [p]<class T>(T*) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (t) {
    case dtype::float32:
      return load((float*)nullptr);
    case dtype::float64:
      return load((double*)nullptr);
    case dtype::int32:
      return load((std::int32_t*)nullptr);
    case dtype::int64:
      return load((std::int64_t*)nullptr);
    case dtype::uint8:
      return load((std::uint8_t*)nullptr);
    case dtype::int8:
      return load((std::int8_t*)nullptr);
    case dtype::int16:
      return load((std::int16_t*)nullptr);
    case dtype::uint16:
      return load((std::uint16_t*)nullptr);
    case dtype::uint32:
      return load((std::uint32_t*)nullptr);
    case dtype::uint64:
      return load((std::uint64_t*)nullptr);
    case dtype::bool_:
      return load((std::uint8_t*)nullptr) != 0;
    case dtype::float16:
      return static_cast<float>(load((ckpt::float16*)nullptr));
    case dtype::bfloat16:
      return static_cast<float>(load((ckpt::bfloat16*)nullptr));
    case dtype::complex64: {
      const auto c = load((std::complex<float>*)nullptr);
      return json::array({c.real(), c.imag()});
    }
    case dtype::complex128: {
      const auto c = load((std::complex<double>*)nullptr);
      return json::array({c.real(), c.imag()});
    }
    default:
      return nullptr;
  }
}

// Reads every entry of `reader` and compares it with a tfverify bundle report.
void check_bundle_against_report(const tfc::bundle_reader& reader, const json& bundle) {
  CHECK(bundle["header"]["num_shards"] == reader.num_shards());
  const auto& expected = bundle["entries"];
  // tfverify lists the tensors only (no header); with no slices this is entries().
  REQUIRE(expected.size() == reader.entries().size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& x = expected[i];
    const auto& e = reader.entries()[i];
    INFO("entry " << e.key);
    CHECK(x["key"] == e.key);
    CHECK(x["dtype"] == tf_dtype_name(e.dtype));
    CHECK(x["shape"].get<std::vector<std::uint64_t>>() == e.shape);
    CHECK(x["shard"] == e.shard_id);
    CHECK(x["offset"] == e.offset);
    CHECK(x["size"] == e.size);
    const bool crc_ok = reader.verify(e) == tfc::checksum_status::ok;
    CHECK(x["crc32c_ok"] == crc_ok);
    if (!x.contains("values")) continue;
    const auto& values = x["values"];
    REQUIRE(values.size() == e.num_elements());
    if (e.dtype == dtype::string) {
      std::vector<std::string> strings(values.size());
      reader.read(e, {e.dtype, e.shape, {}, strings});
      for (std::size_t k = 0; k < strings.size(); ++k) {
        const auto& v = values[k];
        CHECK(strings[k] == (v.is_string() ? v.get<std::string>() : from_hex(v["hex"])));
      }
    } else {
      std::vector<std::byte> bytes(e.size);
      reader.read(e, {e.dtype, e.shape, bytes, {}});
      const std::size_t item = ckpt::element_size(e.dtype);
      for (std::size_t k = 0; k < values.size(); ++k)
        CHECK(element_as_json(e.dtype, bytes.data() + k * item) == values[k]);
    }
  }
}

}  // namespace

TEST_CASE("every fixture bundle reads as the independent checker recorded it",
          "[tf_checkpoint][fixtures]") {
  if (!ckpt_test::tf_fixtures_present()) return;
  std::size_t checked = 0;
  for (const auto& [prefix, report] : ckpt_test::tfverify_reports()) {
    INFO(prefix);
    const auto& bundle = report["bundle"];
    const tfc::bundle_reader reader(fixtures / bundle["prefix"].get<std::string>());
    check_bundle_against_report(reader, bundle);
    ++checked;
  }
  CHECK(checked == 27);
}
