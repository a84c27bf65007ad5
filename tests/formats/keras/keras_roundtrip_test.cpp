// SPDX-License-Identifier: Apache-2.0
// Round trips through the Keras layouts (keras2 save_weights and full model, keras3, .keras) with
// contiguous and chunked+shuffle+deflate+Fletcher32 storage, and files ckpt writes read back by two
// readers that share no code with ckpt's reading: h5verify (jsfive, pure JavaScript, not libhdf5)
// and h5py (Debian's python3-h5py).
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../support/hdf5_test_support.hpp"
#include "../../support/model.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

namespace {

namespace fs = std::filesystem;

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

Net make_net() {
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

std::vector<storage_case> storage_cases() {
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

std::vector<format_case> format_cases() {
  return {{"keras2", "net.h5", {}},
          {"keras2", "net_model.h5", {{"model_config", R"({"class_name": "Sequential"})"}}},
          {"keras3", "net.weights.h5", {}},
          {"keras", "net.keras", {}}};
}

struct run_result {
  int status = -1;
  std::string out;
};

run_result run(const std::string& command, const fs::path& out_file) {
  const int raw = std::system((command + " >" + out_file.string() + " 2>/dev/null").c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, ckpt_test::read_bytes(out_file)};
}

bool have_node() { return std::system("node --version >/dev/null 2>&1") == 0; }
bool have_h5py() { return std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0; }

// Every float value of `n` by its canonical path, flattened row-major.
std::map<std::string, std::vector<double>> expected_values(const Net& n) {
  std::map<std::string, std::vector<double>> out;
  ckpt::for_each_leaf(n, [&](const std::string& path, ckpt::tensor_view v) {
    auto& values = out[path];
    const auto count = ckpt::num_elements(v.shape);
    for (std::uint64_t i = 0; i < count; ++i) {
      switch (v.dtype) {
        case ckpt::dtype::float32:
          values.push_back(v.as<float>()[i]);
          break;
        case ckpt::dtype::float64:
          values.push_back(v.as<double>()[i]);
          break;
        case ckpt::dtype::int64:
          values.push_back(static_cast<double>(v.as<std::int64_t>()[i]));
          break;
        default:
          FAIL("unexpected dtype in the test model");
      }
    }
  });
  return out;
}

// A Python program that reads a Keras file with h5py the way Keras' loaders do (Keras 2: by
// layer_names and weight_names, including the split form; Keras 3: vars/0..n-1) and prints
// {stored name: [values]}.
const char* h5py_reader = R"PY(
import sys, json, io, zipfile, h5py, numpy as np
path = sys.argv[1]
if path.endswith('.keras'):
    f = h5py.File(io.BytesIO(zipfile.ZipFile(path).read('model.weights.h5')), 'r')
else:
    f = h5py.File(path, 'r')
def names(group, name):
    if name in group.attrs:
        raw = group.attrs[name]
    else:
        raw, i = [], 0
        while '%s%d' % (name, i) in group.attrs:
            raw.extend(group.attrs['%s%d' % (name, i)]); i += 1
    return [n.decode('utf8') if hasattr(n, 'decode') else n for n in raw]
out = {}
def put(key, ds):
    out[key] = [float(x) for x in np.asarray(ds[()]).reshape(-1)]
g = f['model_weights'] if 'model_weights' in f else f
if 'layer_names' in g.attrs or 'layer_names0' in g.attrs:
    prefix = 'model_weights/' if g.name != '/' else ''
    for layer in names(g, 'layer_names') + ['top_level_model_weights']:
        for w in names(g[layer], 'weight_names'):
            put(prefix + layer + '/' + w, g[layer][w])
    if 'optimizer_weights' in f:
        for w in names(f['optimizer_weights'], 'weight_names'):
            put('optimizer_weights/' + w, f['optimizer_weights'][w])
else:
    def visit(name, obj):
        if isinstance(obj, h5py.Group) and name.split('/')[-1] == 'vars':
            keys = sorted(obj.keys(), key=int)
            assert keys == [str(i) for i in range(len(keys))], keys
            for k in keys:
                put(name + '/' + k, obj[k])
    f.visititems(visit)
print(json.dumps(out))
)PY";

}  // namespace

TEST_CASE("Layer-shaped struct round-trips through every Keras layout and storage option",
          "[keras][roundtrip]") {
  const Net net = make_net();
  for (const auto& s : storage_cases())
    for (const auto& f : format_cases()) {
      DYNAMIC_SECTION(f.format << " " << f.file << " " << s.name) {
        ckpt_test::scratch_dir dir("ckpt-keras");
        ckpt::save_options options;
        options.format = f.format;
        options.metadata = f.metadata;
        options.storage = s.storage;
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
        ckpt::save_options options;
        options.format = f.format;
        options.metadata = f.metadata;
        options.storage = s.storage;
        ckpt::save(model, dir / f.file, options);
        ckpt_test::Model back;
        ckpt::load(back, dir / f.file);
        CHECK(back == model);
      }
    }
}

TEST_CASE("Files ckpt writes in the Keras layouts read back identically in h5verify and h5py",
          "[keras][interop]") {
  const bool node = have_node(), h5py = have_h5py();
  if (!node) WARN("SKIPPED: h5verify checks, node is not installed");
  if (!h5py) WARN("SKIPPED: h5py checks, /usr/bin/python3 has no h5py");
  if (!node && !h5py) return;
  const Net net = make_net();
  const auto expected = expected_values(net);
  for (const auto& s : storage_cases())
    for (const auto& f : format_cases()) {
      DYNAMIC_SECTION(f.format << " " << f.file << " " << s.name) {
        ckpt_test::scratch_dir dir("ckpt-keras");
        ckpt::save_options options;
        options.format = f.format;
        options.metadata = f.metadata;
        options.storage = s.storage;
        const auto file = dir / f.file;
        ckpt::save(net, file, options);
        // Stored name -> canonical path, from ckpt's own reader.
        std::map<std::string, std::string> path_of;
        const ckpt::reader written(file);
        for (const auto& e : written.entries()) path_of[e.name] = e.path;
        REQUIRE(path_of.size() == expected.size());

        if (node) {
          const auto r = run("node " CKPT_FIXTURES_DIR "/../tools/h5verify/h5verify.cjs " +
                                 file.string() + " --keras --all-values --compact",
                             dir / "h5verify.json");
          REQUIRE(r.status == 0);
          const auto doc = nlohmann::json::parse(r.out);
          CHECK(doc["ok"] == true);
          CHECK(doc["keras"]["problems"].empty());
          std::size_t datasets = 0;
          for (const auto& o : doc["objects"]) {
            if (o["kind"] != "dataset") continue;
            ++datasets;
            const std::string name = o["path"].get<std::string>().substr(1);
            REQUIRE(path_of.count(name) == 1);
            const auto& want = expected.at(path_of.at(name));
            const auto& got = o["values"];
            REQUIRE(got.size() == want.size());
            for (std::size_t i = 0; i < want.size(); ++i) {
              // int64 beyond 2^53 comes back as a string; ours stays below.
              CHECK(got[i].get<double>() == want[i]);
            }
          }
          CHECK(datasets == expected.size());
        }
        if (h5py) {
          const auto script = dir / "read.py";
          ckpt_test::write_bytes(script, h5py_reader);
          const auto r =
              run("/usr/bin/python3 " + script.string() + " " + file.string(), dir / "h5py.json");
          REQUIRE(r.status == 0);
          const auto doc = nlohmann::json::parse(r.out);
          CHECK(doc.size() == expected.size());
          for (const auto& [name, values] : doc.items()) {
            REQUIRE(path_of.count(name) == 1);
            CHECK(values.get<std::vector<double>>() == expected.at(path_of.at(name)));
          }
        }
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

  if (have_h5py()) {
    // weight_names of the one layer holds 3000 names "layers/<40 bytes>:0" of 49 bytes:
    // 147000 bytes as numpy counts them, so 3 pieces of 1000 (at most 64512 / 49 = 1316 each),
    // each fixed-length as wide as the longest name.
    const auto script = dir / "attrs.py";
    ckpt_test::write_bytes(script, R"PY(
import sys, h5py
g = h5py.File(sys.argv[1], 'r')['layers']
print(sorted(g.attrs.keys()), [g.attrs[k].dtype.str for k in sorted(g.attrs.keys())],
      [len(g.attrs[k]) for k in sorted(g.attrs.keys())])
)PY");
    const auto r2 = run("/usr/bin/python3 " + script.string() + " " + (dir / "wide.h5").string(),
                        dir / "out.txt");
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
  if (have_h5py()) {
    const auto script = dir / "zip.py";
    ckpt_test::write_bytes(script, R"PY(
import sys, zipfile
print([(i.filename, i.compress_type) for i in zipfile.ZipFile(sys.argv[1]).infolist()])
print(zipfile.ZipFile(sys.argv[1]).testzip())
)PY");
    const auto out =
        run("/usr/bin/python3 " + script.string() + " " + (dir / "given.keras").string(),
            dir / "zip.txt");
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
