#pragma once
// ckpt's generic HDF5 layout: canonical path "encoder/layers/0/kernel" is the dataset
// /encoder/layers/0/kernel, one group per path level. The root group carries `ckpt_layout` =
// "generic" and `ckpt_layout_version` = 1, and `ckpt_metadata` (a JSON object of strings) when
// save_options::metadata is not empty. The reader also takes any other HDF5 file: every dataset
// becomes an entry named by its path.

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
#include "ckpt/formats/hdf5/group.hpp"
#include "ckpt/formats/hdf5/layout.hpp"
#include "ckpt/formats/hdf5/reader.hpp"
#include "ckpt/formats/hdf5/storage.hpp"

namespace ckpt::hdf5::generic {

inline constexpr const char* layout_attribute = "ckpt_layout";
inline constexpr const char* version_attribute = "ckpt_layout_version";
inline constexpr const char* metadata_attribute = "ckpt_metadata";
inline constexpr const char* layout_name = "generic";
inline constexpr std::int32_t version = 1;

// True if the root names the generic layout (files ckpt wrote).
inline bool detect(const file&, const group& root) {
  if (!has_attribute(root.id(), root.site, layout_attribute)) return false;
  const auto info = inspect_attribute(root.id(), root.site, layout_attribute);
  return info.is_string() && read_string(root.id(), root.site, layout_attribute) == layout_name;
}

class reader final : public tensor_reader {
 public:
  reader(file f, const load_options& options) : tensor_reader(std::move(f), "hdf5", options) {
    quiet_errors quiet;
    const group root = h5().root();
    if (detect(h5(), root)) {
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

class writer final : public format_writer {
 public:
  writer(std::filesystem::path path, save_options options)
      : path_(std::move(path)), options_(std::move(options)) {}

  void write(const std::vector<named_tensor>& tensors) override {
    quiet_errors quiet;
    validate(options_.storage, {path_.string(), {}});
    new_file out(path_, options_.sync);
    {
      const group root = out.root();
      // Fixed-length: kept in the object header, not in libhdf5's global heap, which libhdf5
      // does not read robustly from damaged files (README, "What remains").
      write_string(root.id(), root.site, layout_attribute, layout_name, string_kind::fixed,
                   string_charset::ascii);
      write_number<std::int32_t>(root.id(), root.site, version_attribute, version);
      if (!options_.metadata.empty()) {
        nlohmann::json json = nlohmann::json::object();
        for (const auto& [key, value] : options_.metadata) json[key] = value;
        write_string(root.id(), root.site, metadata_attribute,
                     json.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict));
      }
      std::map<std::string, group, std::less<>> groups;
      for (const auto& [path, tensor] : tensors) {
        check_path(path);
        const auto slash = path.rfind('/');
        const std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
        const std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
        auto it = groups.find(parent);
        if (it == groups.end())
          it = groups.emplace(parent, parent.empty() ? out.root() : require_group(root, parent))
                   .first;
        write_dataset(it->second, leaf, tensor, options_.storage);
      }
    }  // every handle closes before the file does
    out.commit();
  }

 private:
  void check_path(const std::string& path) const {
    std::size_t begin = 0;
    while (true) {
      const auto slash = path.find('/', begin);
      const std::string_view component = std::string_view(path).substr(
          begin, slash == std::string::npos ? std::string::npos : slash - begin);
      if (component.empty() || component == ".")
        throw error(errc::unsupported, "path has an empty or '.' component, which HDF5 cannot name",
                    path_.string(), path);
      if (slash == std::string::npos) break;
      begin = slash + 1;
    }
  }

  std::filesystem::path path_;
  save_options options_;
};

inline layout_hooks hooks() {
  return {layout::generic,
          "hdf5",
          0,
          [](const file& f, const group& root) { return detect(f, root); },
          [](file f, const load_options& options) -> std::unique_ptr<format_reader> {
            return std::make_unique<reader>(std::move(f), options);
          },
          [](const std::filesystem::path& path,
             const save_options& options) -> std::unique_ptr<format_writer> {
            return std::make_unique<writer>(path, options);
          }};
}

}  // namespace ckpt::hdf5::generic
