#pragma once
// Which format a path is in. Formats register themselves once; the built-in ones do so when their
// header is included, so including <ckpt/hdf5.hpp> is all it takes to make ".h5" work.

#include <algorithm>
#include <mutex>
#include <string>
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
  return true;
}

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
              "cannot tell the format from the file name; name it in save_options::format",
              path.string());
}

// The format to read `path` as: the explicit name, else the first whose detect() accepts the
// file's contents, else the extension.
inline format_info format_for_load(const std::filesystem::path& path, const std::string& name) {
  if (!name.empty()) return find_format(name);
  auto formats = registered_formats();
  for (auto& f : formats)
    if (f.detect && f.detect(path)) return f;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw error(errc::not_found, "no such file or directory", path.string());
  return format_for_save(path, {});
}

}  // namespace ckpt
