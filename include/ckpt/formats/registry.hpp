// SPDX-License-Identifier: Apache-2.0
#pragma once
// Which format a path is in. Formats register themselves once; the built-in ones do so when their
// header is included, so including <ckpt/hdf5.hpp> is all it takes to make ".h5" work.

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/format.hpp"

namespace ckpt {

namespace detail {
struct format_registry {
  std::mutex mutex;
  std::vector<format_info> formats;
};
inline format_registry& registry() {
  static format_registry r;
  return r;
}
inline bool has_extension(const std::filesystem::path& p, const std::string& ext) {
  const std::string name = p.filename().string();
  return name.size() > ext.size() && name.ends_with(ext);
}
}  // namespace detail

// Adds a format, or replaces the one registered under the same name. Returns true so a header can
// register at static initialisation: `inline const bool registered = register_format(...);`.
inline bool register_format(format_info info) {
  auto& r = detail::registry();
  std::lock_guard lock(r.mutex);
  auto it = std::find_if(r.formats.begin(), r.formats.end(),
                         [&](const format_info& f) { return f.name == info.name; });
  if (it != r.formats.end())
    *it = std::move(info);
  else
    r.formats.push_back(std::move(info));
  std::stable_sort(
      r.formats.begin(), r.formats.end(),
      [](const format_info& a, const format_info& b) { return a.detect_order < b.detect_order; });
  return true;
}

// Including a built-in format's header registers it at static initialisation. Every file that
// includes it then compiles that format's code (the linker keeps one copy), which is what
// header-only costs. A program with many files that include ckpt can compile the formats once:
// define CKPT_REGISTER_FORMATS_ONCE for every file, and in exactly one .cpp also define
// CKPT_REGISTER_FORMATS_HERE before including the headers of the formats the program uses.
#if defined(CKPT_REGISTER_FORMATS_ONCE) && !defined(CKPT_REGISTER_FORMATS_HERE)
#define CKPT_REGISTER_FORMAT(variable, format)
#else
#define CKPT_REGISTER_FORMAT(variable, format) \
  inline const bool variable = ::ckpt::register_format(format);
#endif

inline std::vector<format_info> registered_formats() {
  auto& r = detail::registry();
  std::lock_guard lock(r.mutex);
  return r.formats;
}

inline format_info find_format(const std::string& name) {
  for (auto& f : registered_formats())
    if (f.name == name) return f;
  std::string known;
  for (auto& f : registered_formats()) known += (known.empty() ? "" : ", ") + f.name;
  throw error(errc::unsupported, "no format named '" + name + "' (known: " + known + ")");
}

// The format to write `path` in: the explicit name, else the longest matching extension.
inline format_info format_for_save(const std::filesystem::path& path, const std::string& name) {
  if (!name.empty()) return find_format(name);
  const format_info* best = nullptr;
  std::size_t best_len = 0;
  auto formats = registered_formats();
  for (auto& f : formats)
    for (auto& ext : f.extensions)
      if (ext.size() > best_len && detail::has_extension(path, ext))
        best = &f, best_len = ext.size();
  if (best) return *best;
  // TensorFlow names checkpoints by prefix ("dir/ckpt-5", "model.ckpt-100"), not by extension.
  const std::string ext = path.filename().extension().string();
  if (ext.empty() || ext.starts_with(".ckpt"))
    for (auto& f : formats)
      if (f.takes_bare_prefixes) return f;
  throw error(errc::unsupported,
              "cannot tell the format from the file name; name the format explicitly",
              path.string());
}

// The format a reader came from, by the name it reports.
inline std::optional<format_info> format_of(const format_reader& reader) {
  const std::string name = reader.format();
  for (auto& f : registered_formats())
    if (f.name == name) return f;
  return std::nullopt;
}

// Creates the directories above `path` (as TensorFlow's checkpoint.save creates the prefix's
// directory); failure is a ckpt::error naming the file.
inline void create_parent_directories(const std::filesystem::path& path) {
  const auto parent = path.parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec)
    throw error(errc::io, "cannot create the directory " + parent.string() + ": " + ec.message(),
                path.string());
}

// A writer for `path` in `format`, with the directories above it created first.
inline std::unique_ptr<format_writer> create_writer(const format_info& format,
                                                    const std::filesystem::path& path,
                                                    const save_options& options) {
  create_parent_directories(path);
  return format.create(path, options);
}

// The format to read `path` as: the explicit name, else the first whose detect() accepts the
// file's contents, else the extension.
inline format_info format_for_load(const std::filesystem::path& path, const std::string& name) {
  if (!name.empty()) return find_format(name);
  auto formats = registered_formats();
  for (auto& f : formats)
    if (f.detect && f.detect(path)) return f;
  // A name too long or a loop of symbolic links is not a missing file.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found)
    throw error(errc::not_found, "no such file or directory", path.string());
  if (ec) throw error(errc::io, "cannot open: " + ec.message(), path.string());
  return format_for_save(path, {});
}

}  // namespace ckpt
