// SPDX-License-Identifier: Apache-2.0
#include "format_choice.hpp"

#include "arguments.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/formats/registry.hpp"

namespace ckpt_tool {

namespace {

ckpt::format_info named_format(const std::string& name, std::string_view flag) {
  if (auto f = registered_format(name)) return *f;
  throw usage_error(std::string(flag) + ": no format named '" + name +
                    "' (known: " + known_formats() + ")");
}

// The library's error when a name says nothing, restated in terms of the tool's flags.
[[noreturn]] void cannot_tell(const std::filesystem::path& path, std::string_view flag) {
  throw ckpt::error(ckpt::errc::unsupported,
                    "cannot tell the format from the file name; pass " + std::string(flag) +
                        " NAME (known: " + known_formats() + ")",
                    path.string());
}

}  // namespace

std::string known_formats() {
  std::string known;
  for (const auto& f : ckpt::registered_formats()) known += (known.empty() ? "" : ", ") + f.name;
  return known;
}

std::optional<ckpt::format_info> registered_format(const std::string& name) {
  for (auto& f : ckpt::registered_formats())
    if (f.name == name) return f;
  return std::nullopt;
}

ckpt::format_info format_to_read(const std::filesystem::path& path, const std::string& name,
                                 std::string_view flag) {
  if (!name.empty()) return named_format(name, flag);
  try {
    return ckpt::format_for_load(path, {});
  } catch (const ckpt::error& e) {
    // Without a name, unsupported means that no format recognised the file or its name.
    if (e.code() == ckpt::errc::unsupported) cannot_tell(path, flag);
    throw;
  }
}

ckpt::format_info format_to_write(const std::filesystem::path& path, const std::string& name,
                                  std::string_view flag) {
  if (!name.empty()) return named_format(name, flag);
  try {
    return ckpt::format_for_save(path, {});
  } catch (const ckpt::error& e) {
    if (e.code() == ckpt::errc::unsupported) cannot_tell(path, flag);
    throw;
  }
}

}  // namespace ckpt_tool
