// SPDX-License-Identifier: Apache-2.0
#pragma once
// ckpt's generic HDF5 layout: canonical path "encoder/layers/0/kernel" is the dataset
// /encoder/layers/0/kernel, one group per path level. The root group carries the marker of
// generic_marker.hpp, and `ckpt_metadata` (a JSON object of strings) when save_options::metadata
// is not empty. The reader also takes any other HDF5 file: every dataset becomes an entry named by
// its path.

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/attribute.hpp"
#include "ckpt/formats/hdf5/dataset.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/file_writer.hpp"
#include "ckpt/formats/hdf5/generic_marker.hpp"
#include "ckpt/formats/hdf5/group.hpp"
#include "ckpt/formats/hdf5/reader.hpp"
#include "ckpt/formats/hdf5/storage.hpp"
#include "ckpt/formats/hdf5/types.hpp"

namespace ckpt::hdf5::generic {

inline constexpr const char* metadata_attribute = "ckpt_metadata";

class reader final : public tensor_reader {
 public:
  reader(file f, const load_options& options) : tensor_reader(std::move(f), "hdf5", options) {
    quiet_errors quiet;
    const group root = h5().root();
    if (is_marked(root)) {
      const auto v = read_numbers<std::int64_t>(root.id(), root.site, version_attribute);
      if (v.size() != 1 || v[0] < 1 || v[0] > version)
        throw error(errc::unsupported,
                    "generic layout version " +
                        (v.empty() ? std::string("?") : std::to_string(v[0])) +
                        " is newer than this ckpt reads (" + std::to_string(version) + ")",
                    h5().name());
      set_metadata("layout", layout_name);
      if (has_attribute(root.id(), root.site, metadata_attribute)) read_metadata(root);
    }
    std::size_t visited = 0;
    walk(root, "", 0, visited);
  }

 private:
  void read_metadata(const group& root) {
    const std::string text = read_string(root.id(), root.site, metadata_attribute);
    const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object())
      throw error(errc::bad_format, "ckpt_metadata is not a JSON object", h5().name(), "/");
    for (const auto& [key, value] : json.items()) {
      if (!value.is_string())
        throw error(errc::bad_format, "ckpt_metadata value of '" + key + "' is not a string",
                    h5().name(), "/");
      set_metadata(key, value.get<std::string>());
    }
  }

  void walk(const group& g, const std::string& prefix, std::uint32_t depth, std::size_t& visited) {
    const auto& limits = options().limits;
    if (depth > limits.max_depth)
      throw error(errc::limit, "groups nest deeper than load_limits::max_depth", g.site.file,
                  g.site.object);
    for (const auto& c : children(g, limits.max_entries)) {
      // Hard links may form cycles; counting every visit bounds the walk.
      if (++visited > limits.max_entries)
        throw error(errc::limit, "more than load_limits::max_entries objects", g.site.file,
                    g.site.object);
      const std::string path = prefix.empty() ? c.name : prefix + "/" + c.name;
      switch (c.kind) {
        case child_kind::group:
          walk(open_group(g, c.name), path, depth + 1, visited);
          break;
        case child_kind::dataset:
          add_entry("/" + path, path, path);
          break;
        case child_kind::soft_link:
        case child_kind::external_link:
          throw error(errc::unsupported, "is a soft or external link, which ckpt does not follow",
                      g.site.file, "/" + path);
        default:
          break;  // named datatypes hold no tensor
      }
    }
  }
};

namespace detail {

inline void check_path(const std::string& path, const site& where) {
  std::size_t begin = 0;
  while (true) {
    const auto slash = path.find('/', begin);
    const std::string_view component = std::string_view(path).substr(
        begin, slash == std::string::npos ? std::string::npos : slash - begin);
    if (component.empty() || component == ".")
      throw error(errc::unsupported, "path has an empty or '.' component, which HDF5 cannot name",
                  where.file, path);
    if (component.find('\0') != std::string_view::npos)
      throw error(errc::unsupported, "path holds a NUL byte, which ends an HDF5 name", where.file,
                  path);
    if (slash == std::string::npos) break;
    begin = slash + 1;
  }
}

}  // namespace detail

// Writes the generic layout into the (empty) root group `root`.
inline void write_layout(const group& root, const std::vector<named_tensor>& tensors,
                         const save_options& options) {
  // Fixed-length: kept in the object header, not in libhdf5's global heap, which libhdf5 does not
  // read robustly from damaged files (README, "What remains").
  write_string(root.id(), root.site, layout_attribute, layout_name, string_kind::fixed,
               string_charset::ascii);
  write_number<std::int32_t>(root.id(), root.site, version_attribute, version);
  if (!options.metadata.empty()) {
    nlohmann::json json = nlohmann::json::object();
    for (const auto& [key, value] : options.metadata) json[key] = value;
    write_string(root.id(), root.site, metadata_attribute,
                 json.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict));
  }
  std::map<std::string, group, std::less<>> groups;
  for (const auto& [path, tensor] : tensors) {
    detail::check_path(path, root.site);
    const auto slash = path.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
    const std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
    const group* owner = &root;
    if (!parent.empty()) {
      auto it = groups.find(parent);
      if (it == groups.end()) it = groups.emplace(parent, require_group(root, parent)).first;
      owner = &it->second;
    }
    write_dataset(*owner, leaf, tensor, options.storage);
  }
}

// What the generic layout holds: every dtype of the type mapping, any tree of paths whose
// components HDF5 can name. Groups list their members by name, not in the order written. Fletcher32
// is verified only where save_options::storage asked for it, so verify() reports none by default.
inline format_capabilities capabilities() {
  format_capabilities c;
  c.dtypes = held_dtypes();
  c.refused_key_characters = std::string(1, '\0');
  c.max_rank = H5S_MAX_RANK;
  c.keeps_order = false;
  return c;
}

}  // namespace ckpt::hdf5::generic
