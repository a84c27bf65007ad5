// SPDX-License-Identifier: Apache-2.0
// A program that uses ckpt::hdf5: HDF5 with the zstd filter (libhdf5, zstd) and a Keras 3
// archive (libzip).
#include <ckpt/ckpt.hpp>
#include <ckpt/hdf5.hpp>
#include <cstdio>
#include <filesystem>

struct Model {
  std::vector<float> w;
  std::int32_t step = 0;
};

// argv[1]: a directory of its own to write in.
int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = argv[1];
  const Model saved{{1.5f, -2.0f}, 7};
  ckpt::save_options compressed;
  compressed.storage = {.shuffle = true, .zstd_level = 3, .checksum = true};
  const struct {
    const char* name;
    ckpt::save_options options;
  } files[] = {{"model.h5", compressed}, {"model.keras", {}}, {"model.safetensors", {}}};
  for (const auto& [name, options] : files) {
    ckpt::save(saved, dir / name, options);
    Model loaded;
    ckpt::load(loaded, dir / name);
    if (loaded.w != saved.w || loaded.step != saved.step) {
      std::fprintf(stderr, "%s did not round-trip\n", name);
      return 1;
    }
  }
  std::puts("consumer_hdf5: hdf5 (zstd), keras and safetensors round-trip");
  return 0;
}
