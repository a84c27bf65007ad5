// SPDX-License-Identifier: Apache-2.0
// Files ckpt writes in every Keras layout (keras2 save_weights and full model, keras3, .keras),
// with contiguous and chunked+shuffle+deflate+Fletcher32 storage, read back value by value by two
// readers that share no code with ckpt's reading: h5verify (jsfive, pure JavaScript, not libhdf5,
// with its Keras layout check) and h5py (Debian's python3-h5py) reading them as Keras' loaders do.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../support/checkers.hpp"
#include "../support/cli.hpp"
#include "../support/files.hpp"
#include "../support/keras_net.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test::keras_net;

namespace {

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

TEST_CASE("Files ckpt writes in the Keras layouts read back identically in h5verify and h5py",
          "[keras][interop]") {
  const bool with_h5verify =
      ckpt_test::require(ckpt_test::h5verify(), "reading ckpt's Keras files with jsfive");
  const bool with_h5py =
      ckpt_test::require(ckpt_test::h5py(), "reading ckpt's Keras files with h5py");
  if (!with_h5verify && !with_h5py) return;
  const Net net = make_net();
  const auto expected = expected_values(net);
  for (const auto& s : storage_cases())
    for (const auto& f : format_cases()) {
      DYNAMIC_SECTION(f.format << " " << f.file << " " << s.name) {
        ckpt_test::scratch_dir dir("ckpt-keras");
        const ckpt::save_options options = options_for(f, s);
        const auto file = dir / f.file;
        ckpt::save(net, file, options);
        // Stored name -> canonical path, from ckpt's own reader.
        std::map<std::string, std::string> path_of;
        const ckpt::reader written(file);
        for (const auto& e : written.entries()) path_of[e.name] = e.path;
        REQUIRE(path_of.size() == expected.size());

        if (with_h5verify) {
          const auto r = ckpt_test::run_command(ckpt_test::h5verify().command + " " +
                                                file.string() + " --keras --all-values --compact");
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
        if (with_h5py) {
          const auto script = dir / "read.py";
          ckpt_test::spit(script, h5py_reader);
          const auto r = ckpt_test::run_command(ckpt_test::h5py().command + " " + script.string() +
                                                " " + file.string());
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
