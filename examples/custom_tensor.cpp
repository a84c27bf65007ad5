// SPDX-License-Identifier: Apache-2.0
// Your own tensor type as a leaf: specialize ckpt::tensor_traits once and it works in every format.
// The same recipe adapts Eigen or mdspan; a column-major type must transpose or refuse, since every
// file format here is row-major.
#include <cstdio>
#include <filesystem>

#include <ckpt/ckpt.hpp>

// A grayscale image stored row by row.
struct Image {
  std::uint32_t height = 0, width = 0;
  std::vector<std::uint8_t> pixels;
};

template <>
struct ckpt::tensor_traits<Image> {
  static ckpt::tensor_view view(const Image& img) {
    return {ckpt::dtype::uint8, {img.height, img.width}, std::as_bytes(std::span(img.pixels)), {}};
  }
  static ckpt::mutable_tensor_view prepare(Image& img, ckpt::dtype, const ckpt::shape& s) {
    if (s.size() != 2)
      throw ckpt::error(ckpt::errc::shape_mismatch,
                        "an Image needs a rank-2 tensor, stored shape is " + ckpt::to_string(s));
    img.height = static_cast<std::uint32_t>(s[0]);
    img.width = static_cast<std::uint32_t>(s[1]);
    img.pixels.resize(s[0] * s[1]);
    return {ckpt::dtype::uint8, s, std::as_writable_bytes(std::span(img.pixels)), {}};
  }
};

struct Dataset {
  std::vector<Image> images;
  std::vector<std::int32_t> labels;
};

int main() {
  Dataset data;
  data.images.push_back({2, 3, {0, 1, 2, 3, 4, 5}});
  data.images.push_back({1, 2, {255, 128}});
  data.labels = {7, 3};
  const auto path = std::filesystem::temp_directory_path() / "ckpt_custom_tensor.json";
  ckpt::save(data, path);

  Dataset loaded;
  ckpt::load(loaded, path);
  std::filesystem::remove(path);
  const Image& second = loaded.images.at(1);
  std::printf("%zu images; the second is %ux%u with pixels %d %d\n", loaded.images.size(),
              second.height, second.width, second.pixels[0], second.pixels[1]);
  return second.pixels == data.images[1].pixels && loaded.labels == data.labels ? 0 : 1;
}
