// SPDX-License-Identifier: Apache-2.0
// safetensors files cross-checked with an independent reader and writer (Python + numpy, written
// from the format description): ckpt reads what it writes, and it reads what ckpt writes.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "../support/checkers.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"

namespace {

struct Layer0 {
  ckpt::tensor<float> kernel;
  std::vector<ckpt::float16> bias;
  bool operator==(const Layer0&) const = default;
};
struct Layer1 {
  ckpt::tensor<double> kernel;
  std::array<std::int8_t, 2> bias{};
  bool operator==(const Layer1&) const = default;
};
struct Layers {
  Layer0 first;
  Layer1 second;
  template <class V>
  void trackable(V& v) {
    v("0", first);
    v("1", second);
  }
  bool operator==(const Layers&) const = default;
};
struct Encoder {
  Layers layers;
  bool operator==(const Encoder&) const = default;
};
struct ReferenceModel {
  Encoder encoder;
  std::int64_t step = 0;
  ckpt::tensor<bool> mask;
  std::vector<std::uint64_t> ids;
  ckpt::tensor<ckpt::bfloat16> embedding;
  bool operator==(const ReferenceModel&) const = default;
};

// The same tensors as reference() in tests/interop/safetensors_numpy.py.
ReferenceModel reference() {
  ReferenceModel m;
  m.encoder.layers.first.kernel =
      ckpt::tensor<float>({2, 3}, {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f});
  m.encoder.layers.first.bias = {ckpt::float16(1.5f), ckpt::float16(-2.0f),
                                 ckpt::float16(65504.0f)};
  m.encoder.layers.second.kernel = ckpt::tensor<double>({1, 2}, {HUGE_VAL, -0.0});
  m.encoder.layers.second.bias = {-128, 127};
  m.step = (std::int64_t{1} << 62) + 1;
  m.mask = ckpt::tensor<bool>({4}, {true, false, false, true});
  m.ids = {~std::uint64_t{0}, 0};
  m.embedding = ckpt::tensor<ckpt::bfloat16>({1, 2});
  m.embedding[0] = ckpt::bfloat16::from_bits(0x3fc0);
  m.embedding[1] = ckpt::bfloat16::from_bits(0xc000);
  return m;
}

int run_script(const std::string& verb, const std::filesystem::path& file, bool quiet = false) {
  const std::string command = ckpt_test::numpy().command + " " + CKPT_SOURCE_DIR +
                              "/tests/interop/safetensors_numpy.py " + verb + " " + file.string() +
                              (quiet ? " >/dev/null 2>&1" : "");
  return std::system(command.c_str());
}

}  // namespace

TEST_CASE("ckpt and an independent numpy implementation read each other's files",
          "[safetensors][interop]") {
  if (!ckpt_test::require(ckpt_test::numpy(), "cross-checking with the numpy implementation"))
    return;
  ckpt_test::scratch_dir dir("ckpt-interop");

  const auto from_numpy = dir / "numpy.safetensors";
  REQUIRE(run_script("write", from_numpy) == 0);
  ReferenceModel loaded;
  ckpt::load(loaded, from_numpy);
  CHECK(loaded == reference());
  CHECK(std::signbit(loaded.encoder.layers.second.kernel[1]));
  CHECK(ckpt::reader(from_numpy).metadata() ==
        std::map<std::string, std::string>{{"format", "pt"}});

  const auto from_ckpt = dir / "ckpt.safetensors";
  ckpt::save(reference(), from_ckpt);
  CHECK(run_script("check", from_ckpt) == 0);

  // A file that breaks the layout rules must fail the independent check too: the check can fail.
  ckpt::save(std::map<std::string, std::vector<float>>{{"step", {1.0f}}},
             dir / "other.safetensors");
  CHECK(run_script("check", dir / "other.safetensors", true) != 0);
}
