// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpora of fuzz_hdf5, fuzz_keras_zip, fuzz_savedmodel, fuzz_object_graph and
// fuzz_checkpoint_state: small files ckpt's own writers make in every layout and storage, and the
// smallest of the fixtures, each in the input framing of its target (a mode byte before HDF5 and
// zip files, length-prefixed parts for SavedModel directories). Not part of the build; run from
// the repository root into build-fuzz/seeds, where scripts/fuzz.sh finds them (the seeds made from
// the fixtures stay out of the repository; those from ckpt's writers are in tests/fuzz/corpus):
//   g++ -std=c++20 -Iinclude -I/usr/include/hdf5/serial tests/fuzz/make_seeds.cpp \
//     -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 -lzip -lzstd -lsnappy -lz -o /tmp/seeds &&
//   /tmp/seeds "${CKPT_FIXTURES:-../shared/fixtures}" build-fuzz/seeds
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/files.hpp"
#include "../support/keras_net.hpp"
#include "../support/model.hpp"
#include "ckpt/formats/tf_checkpoint.hpp"
#include "ckpt/formats/tf_checkpoint/checkpoint_state.hpp"
#include "ckpt/hdf5.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
using ckpt_test::slurp;
using ckpt_test::spit;

namespace {

std::string u32le(std::size_t n) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(n >> (8 * i)));
  return s;
}

// fuzz_hdf5 and fuzz_keras_zip: the mode byte, then the file.
void framed(const fs::path& out, char mode, const fs::path& file) {
  spit(out, std::string(1, mode) + slurp(file));
}

// fuzz_savedmodel: saved_model.pb, variables.index and the one data file, length-prefixed.
void savedmodel(const fs::path& out, const std::string& pb, const fs::path& prefix) {
  const std::string index = slurp(prefix.string() + ".index");
  spit(out, u32le(pb.size()) + pb + u32le(index.size()) + index +
                slurp(prefix.string() + ".data-00000-of-00001"));
}

// Two layers, one nested: what the Keras layouts map, in a file of a few KB.
struct TinyNet {
  ckpt_test::keras_net::Layer conv;
  ckpt_test::keras_net::Inner block;
};

// One tensor of each kind the generic layout maps differently, in one group.
struct Mixed {
  ckpt::tensor<ckpt::float16> f16;
  ckpt::tensor<ckpt::bfloat16> bf16;
  ckpt::tensor<std::complex<double>> c128;
  ckpt::tensor<std::string> text;
  ckpt::tensor<bool> mask;
  ckpt::tensor<std::int32_t> empty_rows;
  std::vector<std::uint16_t> ids;
  std::int64_t step = 0;
};

Mixed make_mixed() {
  Mixed m;
  m.f16 = ckpt::tensor<ckpt::float16>({2});
  m.bf16 = ckpt::tensor<ckpt::bfloat16>({2, 1});
  m.c128 = ckpt::tensor<std::complex<double>>({2}, {{1.0, -2.0}, {0.5, 0.25}});
  m.text = ckpt::tensor<std::string>({3}, {"hello", "", "\xc3\xa9t\xc3\xa9"});
  m.mask = ckpt::tensor<bool>({3}, {true, false, true});
  m.empty_rows = ckpt::tensor<std::int32_t>({0, 3});
  m.ids = {1, 65535};
  m.step = -7;
  return m;
}

std::string object_graph_of(const fs::path& prefix) {
  const tfc::bundle_reader r(prefix);
  std::string bytes;
  r.read(r.at(tfc::object_graph_key), {ckpt::dtype::string, {}, {}, std::span(&bytes, 1)});
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const fs::path fixtures = argv[1], out = argv[2];
  const fs::path tmp = fs::temp_directory_path() / "ckpt-fuzz-seeds";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  for (const char* d : {"hdf5", "keras_zip", "savedmodel", "object_graph", "checkpoint_state"})
    fs::create_directories(out / d);

  // HDF5: each Keras layout and ckpt's generic one, contiguous and chunked with every filter; the
  // mode bytes spread the seeds over detection, forced layouts and in-memory images.
  TinyNet net;
  net.conv.kernel = ckpt_test::make_floats({2, 3}, 1);
  net.conv.bias = {0.5f, -0.5f, 1.0f};
  net.block.dense.kernel = ckpt_test::make_floats({3, 2}, 2);
  net.block.dense.bias = {2.0f, -2.0f};
  auto storages = ckpt_test::keras_net::storage_cases();
  storages[1].storage.chunk_bytes = 8;
  char mode = 0;
  for (const auto& f : ckpt_test::keras_net::format_cases())
    for (std::size_t s = 0; s < storages.size(); ++s) {
      const fs::path file = tmp / (std::to_string(s) + f.file);
      ckpt::save(net, file, ckpt_test::keras_net::options_for(f, storages[s]));
      const std::string name = fs::path(f.file).stem().string() + "-" + std::to_string(s);
      if (std::string(f.format) == "keras") {
        framed(out / "keras_zip" / (name + ".bin"), static_cast<char>(1 - s), file);
      } else {
        framed(out / "hdf5" / (name + ".bin"), mode, file);
        mode = static_cast<char>((mode + 1) % 8);
      }
    }
  {
    ckpt::save_options zstd;
    zstd.storage.layout = ckpt::storage_layout::chunked;
    zstd.storage.chunk_bytes = 16;
    zstd.storage.zstd_level = 3;
    const auto model = make_mixed();
    ckpt::save(model, tmp / "model.h5");
    ckpt::save(model, tmp / "model-zstd.h5", zstd);
    framed(out / "hdf5" / "generic.bin", 1, tmp / "model.h5");
    framed(out / "hdf5" / "generic-zstd-image.bin", 5, tmp / "model-zstd.h5");
    ckpt::save_options keras;
    keras.metadata = {{"config", R"({"class_name": "Functional", "config": {}})"}};
    ckpt::save(model, tmp / "model.keras", keras);
    framed(out / "keras_zip" / "model-config.bin", 1, tmp / "model.keras");

    // TF checkpoints as SavedModel variables: object-based with a graph, and name-based.
    ckpt::save(net, tmp / "tf2" / "variables" / "variables", {.format = "tf"});
    ckpt::save(model, tmp / "tf1" / "variables" / "variables", {.format = "tf1"});
    savedmodel(out / "savedmodel" / "ckpt-tf2.bin", "", tmp / "tf2" / "variables" / "variables");
    savedmodel(out / "savedmodel" / "ckpt-tf1.bin", "", tmp / "tf1" / "variables" / "variables");
    spit(out / "object_graph" / "ckpt-net.bin",
         object_graph_of(tmp / "tf2" / "variables" / "variables"));
  }
  const fs::path h5 = fixtures / "h5";
  framed(out / "hdf5" / "fixture-keras2-weights.bin", 0,
         h5 / "keras2_tf2.11_conv2d_save_weights.h5");
  framed(out / "hdf5" / "fixture-keras2-model-image.bin", 4,
         h5 / "keras2_tf2.11_conv2d_full_model.h5");
  framed(out / "hdf5" / "fixture-keras3.bin", 0, h5 / "keras3_nested_container.weights.h5");
  framed(out / "keras_zip" / "fixture-keras3.bin", 1, h5 / "keras3_nested_container.keras");

  // SavedModels: the graph file itself only for the smallest (ckpt only asks that it exists).
  const fs::path sm = fixtures / "savedmodel", tf = fixtures / "tf";
  savedmodel(out / "savedmodel" / "fixture-counter-tf1.bin",
             slurp(sm / "counter_tf1/saved_model.pb"), sm / "counter_tf1/variables/variables");
  for (const auto& [name, dir] : std::vector<std::pair<std::string, fs::path>>{
           {"half-plus-two-tf2-snappy", sm / "half_plus_two_tf2_cpu"},
           {"half-plus-two-tf1-snappy", sm / "half_plus_two_tf1_cpu"},
           {"regression-tf2", sm / "rust_regression_tf2_module"},
           {"cyclic", tf / "tf_CyclicModule"},
           {"uninitialized", tf / "tf_UninitializedVariable"},
           {"vars-arithmetic", tf / "tf_VarsAndArithmeticObjectGraph"}})
    savedmodel(out / "savedmodel" / ("fixture-" + name + ".bin"), "", dir / "variables/variables");

  // Object graphs TensorFlow wrote (slot variables, cycles, optimizer nodes), and one of each
  // field ckpt's encoder writes.
  for (const auto& [name, prefix] : std::vector<std::pair<std::string, fs::path>>{
           {"half-plus-two", sm / "half_plus_two_tf2_cpu/variables/variables"},
           {"regression-optimizer", sm / "rust_regression_tf2_module/variables/variables"},
           {"cyclic", tf / "tf_CyclicModule/variables/variables"},
           {"vars-arithmetic", tf / "tf_VarsAndArithmeticObjectGraph/variables/variables"},
           {"keras-single-input", tf / "rust_keras_single_input/variables/variables"},
           {"checkpoint-manager", tf / "eos_checkpoint_manager/ckpt-1"}})
    spit(out / "object_graph" / ("fixture-" + name + ".bin"), object_graph_of(prefix));
  {
    tfc::object_graph g;
    g.nodes.resize(4);
    g.nodes[0].children = {{1, "v"}, {2, "optimizer"}, {3, "save_counter"}};
    g.nodes[1].attributes = {{"VARIABLE_VALUE", "v", "v/.ATTRIBUTES/VARIABLE_VALUE"}};
    g.nodes[2].slot_variables = {{1, "m", 3}};
    g.nodes[2].registered_saver = std::string("\x0a\x03tf.", 5);
    g.nodes[3].has_checkpoint_values = false;
    g.nodes[1].has_checkpoint_values = true;
    spit(out / "object_graph" / "ckpt-every-field.bin", tfc::encode(g));
  }

  // Checkpoint state files: TensorFlow's, ckpt's printing of one of each field, and the text
  // forms only a reader meets (list syntax, single quotes, escapes, comments, special numbers).
  spit(out / "checkpoint_state" / "fixture-manager",
       slurp(tf / "eos_checkpoint_manager/checkpoint"));
  spit(out / "checkpoint_state" / "fixture-half-plus-two",
       slurp(tf / "tf_checkpoint_state_examples/half_plus_two_pbtxt_variables_checkpoint"));
  ckpt::checkpoint_state state;
  state.model_checkpoint_path = "dir/ckpt-2\t\"\xc3\xa9\"";
  state.all_model_checkpoint_paths = {"dir/ckpt-1", state.model_checkpoint_path};
  state.all_model_checkpoint_timestamps = {1.5e-7, 1619766278.4836671, 1e22};
  state.last_preserved_timestamp = -0.0;
  spit(out / "checkpoint_state" / "ckpt-printed", ckpt::to_text(state));
  spit(out / "checkpoint_state" / "reader-forms",
       "# comment\nmodel_checkpoint_path : 'a\\x41\\101\\u00e9\\U0001F600' \"b\"\n"
       "all_model_checkpoint_paths: [\"x\", 'y\\n'];\n"
       "all_model_checkpoint_timestamps: [1.5f, -inf, NaN, 1e400, .5e-3]\n"
       "last_preserved_timestamp: -Infinity,\n");
  fs::remove_all(tmp);
  return 0;
}
