#include <ckpt/hdf5.hpp>
#include <filesystem>

struct Model {
  std::vector<float> w;
  std::int32_t step = 0;
};

int main() {
  const auto path = std::filesystem::temp_directory_path() / "ckpt_consumer.h5";
  ckpt::save_options options;
  options.storage = {.shuffle = true, .zstd_level = 3, .checksum = true};
  ckpt::save(Model{{1.5f, -2.0f}, 7}, path, options);
  Model m;
  ckpt::load(m, path);
  std::filesystem::remove(path);
  return m.w == std::vector<float>{1.5f, -2.0f} && m.step == 7 ? 0 : 1;
}
