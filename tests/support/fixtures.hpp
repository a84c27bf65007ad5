// SPDX-License-Identifier: Apache-2.0
#pragma once
// Where the real TensorFlow, SavedModel and Keras files are: $CKPT_FIXTURES when the test runs,
// else the folder the build was configured with (the CMake cache variable CKPT_FIXTURES, whose
// default is $CKPT_FIXTURES at configure time, else ../shared/fixtures beside the checkout).
// Tests that need them skip loudly when the folder is absent.
//
//   const auto index = ckpt_test::fixtures_dir() /
//   "tf/tf_half_plus_two_v1/variables/variables.index";

#include <cstdlib>
#include <filesystem>

namespace ckpt_test {

inline std::filesystem::path fixtures_dir() {
  if (const char* from_environment = std::getenv("CKPT_FIXTURES");
      from_environment != nullptr && *from_environment != '\0')
    return from_environment;
  return CKPT_FIXTURES_DIR;
}

}  // namespace ckpt_test
