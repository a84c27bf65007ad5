// SPDX-License-Identifier: Apache-2.0
// Damaged Keras files: truncations and flipped bytes of the Keras fixtures (HDF5 files and a
// .keras zip) give ckpt::error or load, and print nothing; a Keras 2 file whose listed weight is
// missing is refused naming it.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "../support/files.hpp"
#include "../support/fixtures.hpp"
#include "../support/hdf5_test_support.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"
#include "ckpt/hdf5.hpp"

namespace fs = std::filesystem;
using ckpt_test::h5_fixture;
using ckpt_test::h5_fixture_present;

TEST_CASE("Damaged Keras files and zips give ckpt::error and print nothing", "[keras][corrupt]") {
  ckpt_test::scratch_dir dir("ckpt-keras");
  std::vector<std::string> names = {
      "keras2_tf2.11_conv2d_save_weights.h5", "keras2_2.0.0_dense3layer_save_weights.h5",
      "keras2_2.3.1_dense_batchnorm_full_model.h5", "keras3_nested_container.weights.h5",
      "keras3_nested_container.keras"};
  std::size_t damaged = 0, refused = 0;
  for (const auto& name : names) {
    if (!h5_fixture_present(name)) continue;
    const std::string bytes = ckpt_test::slurp(h5_fixture(name));
    std::vector<std::string> variants;
    for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{100}, bytes.size() / 3,
                            bytes.size() / 2, bytes.size() - 1})
      variants.push_back(bytes.substr(0, cut));
    // Flip bytes across the file: headers, names, B-trees, heaps, zip directory.
    for (std::size_t step = 1; step < 64; ++step) {
      std::string flipped = bytes;
      flipped[bytes.size() * step / 64] ^= 0x5a;
      variants.push_back(std::move(flipped));
    }
    const std::string ext = name.ends_with(".keras") ? ".keras" : ".h5";
    for (std::size_t i = 0; i < variants.size(); ++i) {
      const auto path = dir / ("damaged" + std::to_string(i) + ext);
      ckpt_test::spit(path, variants[i]);
      ++damaged;
      ckpt_test::stderr_capture capture;
      try {
        ckpt::reader r(path);
        for (const auto& e : r.entries()) (void)r.read<float>(e.name, ckpt::conversion::any);
      } catch (const ckpt::error&) {
        ++refused;
      }
      INFO(name << " variant " << i);
      CHECK(capture.finish().empty());
    }
  }
  CHECK(refused > 0);
  INFO(refused << " of " << damaged << " damaged files refused");
}

TEST_CASE("Keras-specific damage: listed layers and weights that are missing", "[keras][corrupt]") {
  ckpt_test::scratch_dir dir("ckpt-keras");
  const auto file = dir / "w.h5";
  struct Conv {
    std::vector<float> kernel;
  };
  struct Model {
    Conv conv;
  } m{{{1.0f}}};
  ckpt::save_options options;
  options.format = "keras2";
  ckpt::save(m, file, options);
  {
    ckpt::hdf5::quiet_errors quiet;
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(f >= 0);
    REQUIRE(H5Ldelete(f, "conv/conv/kernel:0", H5P_DEFAULT) >= 0);
    H5Fclose(f);
  }
  ckpt_test::stderr_capture capture;
  try {
    ckpt::reader r(file);
    FAIL("expected an error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(std::string(e.what()).find("conv/conv/kernel:0") != std::string::npos);
    CHECK(e.file() == file.string());
  }
  CHECK(capture.finish().empty());
}
