// SPDX-License-Identifier: Apache-2.0
#pragma once
// Which checkpoint a PATH argument names.

#include <filesystem>
#include <optional>
#include <string>

namespace ckpt_tool {

struct checkpoint_path {
  std::filesystem::path path;
  // The directory whose `checkpoint` state file chose `path`, if one did.
  std::optional<std::filesystem::path> chosen_in;
};

// The path itself, or, for a directory holding a `checkpoint` state file, the latest checkpoint
// that state names, as TensorFlow's tools take a checkpoint directory. The choice is noted on
// stderr, so stdout stays the output of one checkpoint.
checkpoint_path locate_checkpoint(const std::string& argument);

}  // namespace ckpt_tool
