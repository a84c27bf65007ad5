// SPDX-License-Identifier: Apache-2.0
#pragma once
// Which checkpoint a path names. TensorFlow names a checkpoint by its prefix ("dir/ckpt-5"), but
// users also point at "dir/ckpt-5.index", at one of its data files, or at a SavedModel directory,
// whose variables always live under the prefix "variables/variables".

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt::tf_checkpoint {

inline std::filesystem::path index_file(const std::filesystem::path& prefix) {
  return prefix.string() + ".index";
}

// "P.data-00000-of-00002" -> "P"; nullopt if the name does not end that way.
inline std::optional<std::string> prefix_of_data_file(std::string_view name) {
  constexpr std::string_view tag = ".data-";
  constexpr std::size_t tail = tag.size() + 5 + 4 + 5;  // ".data-SSSSS-of-NNNNN"
  if (name.size() <= tail) return std::nullopt;
  const std::string_view end = name.substr(name.size() - tail);
  auto digits = [](std::string_view s) {
    for (const char c : s)
      if (c < '0' || c > '9') return false;
    return true;
  };
  if (!end.starts_with(tag) || !digits(end.substr(6, 5)) || end.substr(11, 4) != "-of-" ||
      !digits(end.substr(15, 5)))
    return std::nullopt;
  return std::string(name.substr(0, name.size() - tail));
}

inline bool is_saved_model_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) &&
         (std::filesystem::exists(dir / "saved_model.pb", ec) ||
          std::filesystem::exists(dir / "saved_model.pbtxt", ec) ||
          std::filesystem::is_regular_file(dir / "variables" / "variables.index", ec));
}

// The checkpoint prefix `path` names, if it names an existing checkpoint.
inline std::optional<std::filesystem::path> existing_prefix(const std::filesystem::path& path) {
  std::error_code ec;
  if (is_saved_model_dir(path)) {
    auto prefix = path / "variables" / "variables";
    if (std::filesystem::is_regular_file(index_file(prefix), ec)) return prefix;
    return std::nullopt;
  }
  const std::string s = path.string();
  if (std::filesystem::is_regular_file(index_file(path), ec)) return path;
  if (s.ends_with(".index") && std::filesystem::is_regular_file(path, ec))
    return std::filesystem::path(s.substr(0, s.size() - 6));
  if (auto p = prefix_of_data_file(s); p && std::filesystem::is_regular_file(index_file(*p), ec))
    return std::filesystem::path(*p);
  return std::nullopt;
}

// The prefix to read: the existing checkpoint `path` names, else `path` itself (whose missing
// .index the reader then reports).
inline std::filesystem::path resolve_prefix(const std::filesystem::path& path) {
  if (auto p = existing_prefix(path)) return *p;
  if (is_saved_model_dir(path)) return path / "variables" / "variables";
  return path;
}

// Of `names` (a directory's entries), the files of the checkpoint with prefix name `stem`: its
// `.index` first (without it the rest is no checkpoint to any reader), then its data files.
inline std::vector<std::string> checkpoint_files(const std::string& stem,
                                                 const std::vector<std::string>& names) {
  std::vector<std::string> files;
  for (const auto& n : names)
    if (n == stem + ".index") files.insert(files.begin(), n);
  for (const auto& n : names)
    if (auto p = prefix_of_data_file(n); p && *p == stem) files.push_back(n);
  return files;
}

// The prefix to write: "dir/model.ckpt.index" and "dir/model.ckpt" both mean "dir/model.ckpt".
inline std::filesystem::path prefix_for_write(const std::filesystem::path& path) {
  const std::string s = path.string();
  if (s.ends_with(".index")) return std::filesystem::path(s.substr(0, s.size() - 6));
  return path;
}

}  // namespace ckpt::tf_checkpoint
