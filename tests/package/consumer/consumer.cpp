// SPDX-License-Identifier: Apache-2.0
// A program that uses ckpt::ckpt alone: it must build and run where libhdf5 is not installed.
#include <ckpt/ckpt.hpp>
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
  for (const char* name : {"model.json", "model.safetensors", "tf/model.ckpt"}) {
    ckpt::save(saved, dir / name);
    Model loaded;
    ckpt::load(loaded, dir / name);
    if (loaded.w != saved.w || loaded.step != saved.step) {
      std::fprintf(stderr, "%s did not round-trip\n", name);
      return 1;
    }
  }
  std::puts("consumer: json, safetensors and tf round-trip");
  return 0;
}
