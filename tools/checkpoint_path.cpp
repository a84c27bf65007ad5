// SPDX-License-Identifier: Apache-2.0
#include "checkpoint_path.hpp"

#include <cstdio>
#include <system_error>

#include "ckpt/ckpt.hpp"  // ckpt::latest_checkpoint and the checkpoint state file
#include "ckpt/core/error.hpp"

namespace ckpt_tool {

checkpoint_path locate_checkpoint(const std::string& argument) {
  namespace fs = std::filesystem;
  const fs::path dir(argument);
  const fs::path state_file = dir / ckpt::checkpoint_state_file_name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || !fs::is_regular_file(state_file, ec)) return {dir, {}};
  const auto latest = ckpt::latest_checkpoint(dir);
  if (!latest) {
    // Say why: a damaged state throws here naming what is wrong with it; a readable one names a
    // checkpoint whose files are gone.
    const auto state = ckpt::read_checkpoint_state(state_file);
    throw ckpt::error(
        ckpt::errc::not_found,
        "the latest checkpoint it names, '" + state.model_checkpoint_path + "', does not exist",
        state_file.string());
  }
  std::fprintf(stderr, "ckpt: %s: latest checkpoint %s (named by its %s file)\n", argument.c_str(),
               latest->c_str(), std::string(ckpt::checkpoint_state_file_name).c_str());
  return {*latest, dir};
}

}  // namespace ckpt_tool
