// SPDX-License-Identifier: Apache-2.0
#pragma once
// Whole files as strings, for the tests that read back or build files byte by byte. Nothing here
// needs the test framework, so the tools beside the tests (tests/fuzz/make_tf_checkpoint_seeds.cpp)
// use it too.
//
//   const std::string bytes = ckpt_test::slurp(path);
//   ckpt_test::spit(path, bytes.substr(0, bytes.size() / 2));

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace ckpt_test {

// Every byte of the file `path`; empty when it cannot be read.
inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Makes `bytes` the whole content of the file `path`.
inline void spit(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace ckpt_test
