// SPDX-License-Identifier: Apache-2.0
#pragma once
// The format a command line names, with errors that name its flags. Formats are known only
// through the registry (ckpt::registered_formats): the tool has no list of its own.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "ckpt/formats/format.hpp"

namespace ckpt_tool {

// The format to read `path` in: the one named by `flag` (--format, --from) when given, else the
// one its contents or its name tell.
ckpt::format_info format_to_read(const std::filesystem::path& path, const std::string& name,
                                 std::string_view flag);

// The format to write `path` in: the one named by `flag` when given, else the one its name tells.
ckpt::format_info format_to_write(const std::filesystem::path& path, const std::string& name,
                                  std::string_view flag);

// The registered format called `name` (as a reader reports it), for its optional hooks.
std::optional<ckpt::format_info> registered_format(const std::string& name);

// "hdf5, json, ...": every registered format's name.
std::string known_formats();

}  // namespace ckpt_tool
