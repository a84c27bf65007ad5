// SPDX-License-Identifier: Apache-2.0
#pragma once
// Where the real TensorFlow, SavedModel and Keras files are: $CKPT_FIXTURES when the test runs,
// else the folder the build was configured with (the CMake cache variable CKPT_FIXTURES, whose
// default is $CKPT_FIXTURES at configure time, else ../shared/fixtures beside the checkout).
// Tests that need them skip loudly when they are absent, with a Catch warning
//   SKIPPED: fixture <path> is missing
//
//   const auto prefix = ckpt_test::fixtures_dir() / "tf/tf_half_plus_two_v1/variables/variables";
//   if (!ckpt_test::fixture_present(prefix)) return;

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace ckpt_test {

inline std::filesystem::path fixtures_dir() {
  if (const char* from_environment = std::getenv("CKPT_FIXTURES");
      from_environment != nullptr && *from_environment != '\0')
    return from_environment;
  return CKPT_FIXTURES_DIR;
}

// A file of the fixtures' h5/ folder (the Keras and HDF5 files).
inline std::filesystem::path h5_fixture(const std::string& name) {
  return fixtures_dir() / "h5" / name;
}

// Whether the fixture `path` is there: a file or folder, or a TensorFlow bundle prefix whose
// .index is. If not, says so loudly and the caller skips what needs it.
inline bool fixture_present(const std::filesystem::path& path) {
  if (std::filesystem::exists(path) || std::filesystem::exists(path.string() + ".index"))
    return true;
  WARN("SKIPPED: fixture " << path.string() << " is missing");
  return false;
}

inline bool h5_fixture_present(const std::string& name) {
  return fixture_present(h5_fixture(name));
}

}  // namespace ckpt_test
