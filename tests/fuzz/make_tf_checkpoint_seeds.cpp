// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpus of fuzz_tf_checkpoint (u32le index size | .index | data file) from
// small bundles made by ckpt's own writer. Not part of the build; run from the repository root:
//   g++ -std=c++20 -Iinclude tests/fuzz/make_tf_checkpoint_seeds.cpp -lsnappy -o /tmp/seeds &&
//   /tmp/seeds tests/fuzz/corpus/tf_checkpoint
#include <complex>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/files.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_writer.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
using ckpt_test::slurp;

namespace {

template <class T>
ckpt::tensor_view view_of(const std::vector<T>& v, ckpt::shape s) {
  return {ckpt::dtype_of<T>, std::move(s), std::as_bytes(std::span<const T>(v)), {}};
}

void emit(const fs::path& prefix, const fs::path& out) {
  const std::string index = slurp(tfc::index_path(prefix));
  const std::string data = slurp(tfc::data_path(prefix, 0, 1));
  std::string seed;
  for (int i = 0; i < 4; ++i) seed.push_back(static_cast<char>(index.size() >> (8 * i)));
  std::ofstream(out, std::ios::binary) << seed << index << data;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path out = argv[1];
  const fs::path tmp = fs::temp_directory_path() / "ckpt-tf-seeds";
  fs::create_directories(tmp);
  fs::create_directories(out);
  const std::vector<float> a = {0.5f}, b = {2.0f}, c = {3.0f};
  {
    tfc::bundle_writer w(tmp / "scalars", {.sync = false});
    w.add("a", view_of(a, {}));
    w.add("b", view_of(b, {}));
    w.add("c", view_of(c, {}));
    w.finish();
  }
  emit(tmp / "scalars", out / "scalars.bin");
  {
    const std::vector<std::string> s = {"hello", "", "x"};
    const std::vector<std::string> graph = {std::string("\x0a\x04\x0a\x02\x08\x01", 6)};
    const std::vector<std::int64_t> step = {5};
    const std::vector<std::complex<float>> z = {{1.0f, -1.0f}};
    tfc::bundle_writer w(tmp / "mixed", {.sync = false});
    w.add("s", {ckpt::dtype::string, {3}, {}, s});
    w.add("step", view_of(step, {}));
    w.add("z", view_of(z, {1}));
    w.add("_CHECKPOINTABLE_OBJECT_GRAPH", {ckpt::dtype::string, {}, {}, graph});
    w.finish();
  }
  emit(tmp / "mixed", out / "mixed.bin");
  {
    using ext = tfc::tensor_slice_proto::extent;
    tfc::bundle_writer w(tmp / "sliced", {.sync = false});
    w.add_slice("p", {3}, {{ext{0, 1}}}, view_of(a, {1}));
    w.add_slice("p", {3}, {{ext{1, 2}}}, view_of(std::vector<float>{2.0f, 3.0f}, {2}));
    w.finish();
  }
  emit(tmp / "sliced", out / "sliced.bin");
  fs::remove_all(tmp);
  return 0;
}
