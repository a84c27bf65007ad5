// SPDX-License-Identifier: Apache-2.0
#pragma once
// Keras 2's HDF5 layouts: `model.save_weights("w.h5")` and the full model of `model.save("m.h5")`.
//
// save_weights: root attributes layer_names (model order), backend, keras_version; one group per
// layer, created in name order, with a weight_names attribute; the weights at
// /<layer>/<weight name>, e.g. /dense/dense/kernel:0; /top_level_model_weights for the model's own
// weights. A full model has the same under /model_weights, model_config and training_config (JSON)
// on the root, and the optimizer's weights under /optimizer_weights.
// Canonical paths follow names.hpp; optimizer weights read as "optimizer_weights/<name>".
// The writer mirrors tf.keras 2.11 (attribute names, order and HDF5 types of its files); a full
// model is written when save_options::metadata has "model_config". formats/keras/README.md has the
// details and what was checked against real files.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/attribute.hpp"
#include "ckpt/formats/hdf5/dataset.hpp"
#include "ckpt/formats/hdf5/detect.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/file_writer.hpp"
#include "ckpt/formats/hdf5/group.hpp"
#include "ckpt/formats/hdf5/reader.hpp"
#include "ckpt/formats/hdf5/storage.hpp"
#include "ckpt/formats/keras/attributes.hpp"
#include "ckpt/formats/keras/capabilities.hpp"
#include "ckpt/formats/keras/detect.hpp"
#include "ckpt/formats/keras/names.hpp"

namespace ckpt::keras2 {

inline constexpr const char* weights_group = keras::keras2_weights_group;
inline constexpr const char* default_backend = "tensorflow";
inline constexpr const char* default_keras_version =
    "2.11.0";  // the tf.keras whose files we mirror

namespace detail {

// A link name read from the file that must name exactly one child.
inline void check_link_name(const std::string& name, const hdf5::site& where, const char* what) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    throw error(errc::bad_format, std::string(what) + " '" + name + "' is not a valid group name",
                where.file, where.object);
}

inline void check_weight_name(const std::string& name, const hdf5::site& where) {
  for (const auto& part : keras::split_path(name))
    if (part.empty() || part == "." || part == "..")
      throw error(errc::bad_format, "weight name '" + name + "' is not a valid dataset path",
                  where.file, where.object);
}

}  // namespace detail

class reader final : public hdf5::tensor_reader {
 public:
  reader(hdf5::file f, const load_options& options)
      : hdf5::tensor_reader(std::move(f), "keras2", options) {
    hdf5::quiet_errors quiet;
    const hdf5::group root = h5().root();
    const auto& limits = this->options().limits;
    if (keras::has_layer_names(root)) {
      set_metadata("layout", "keras2");
      read_weights(root, "");
    } else {
      set_metadata("layout", "keras2_model");
      for (const char* key : {"model_config", "training_config", "backend", "keras_version"})
        read_string_metadata(root, key);
      const hdf5::group weights = hdf5::open_group(root, weights_group);
      read_weights(weights, std::string(weights_group) + "/");
      if (hdf5::has_child(root, keras::optimizer_group)) {
        const hdf5::group opt = hdf5::open_group(root, keras::optimizer_group);
        const auto names = keras::read_name_list(opt.id(), opt.site, "weight_names", limits);
        if (names)
          for (const auto& w : *names) {
            detail::check_weight_name(w, opt.site);
            add("/" + std::string(keras::optimizer_group) + "/" + w,
                std::string(keras::optimizer_group) + "/" + w, keras::keras2_optimizer_path(w),
                opt);
          }
      }
    }
  }

 private:
  void read_string_metadata(const hdf5::group& g, const char* key) {
    if (!hdf5::has_attribute(g.id(), g.site, key)) return;
    if (!hdf5::inspect_attribute(g.id(), g.site, key).is_string()) return;
    set_metadata(key, hdf5::read_string(g.id(), g.site, key));
  }

  // The save_weights layout in group `g` ("" or "model_weights/" as `prefix` of HDF5 paths).
  void read_weights(const hdf5::group& g, const std::string& prefix) {
    const auto& limits = options().limits;
    if (prefix.empty()) {
      read_string_metadata(g, "backend");
      read_string_metadata(g, "keras_version");
    }
    const auto layers = keras::read_name_list(g.id(), g.site, "layer_names", limits);
    nlohmann::json listed = nlohmann::json::array();
    for (const auto& layer : *layers) {
      listed.push_back(layer);
      detail::check_link_name(layer, g.site, "layer");
      if (!hdf5::has_child(g, layer))
        throw error(errc::bad_format, "layer '" + layer + "' of layer_names has no group",
                    g.site.file, g.site.object);
      read_layer(hdf5::open_group(g, layer), prefix + layer,
                 [&](const std::string& w) { return keras::keras2_path(layer, w); });
    }
    set_metadata("layer_names", listed.dump());
    if (hdf5::has_child(g, keras::top_level_group))
      read_layer(hdf5::open_group(g, keras::top_level_group),
                 prefix + std::string(keras::top_level_group),
                 [](const std::string& w) { return keras::keras2_top_level_path(w); });
  }

  template <class PathOf>
  void read_layer(const hdf5::group& layer, const std::string& stored_prefix, PathOf path_of) {
    const auto names =
        keras::read_name_list(layer.id(), layer.site, "weight_names", options().limits);
    if (!names)
      throw error(errc::bad_format, "layer group has no weight_names", layer.site.file,
                  layer.site.object);
    for (const auto& w : *names) {
      detail::check_weight_name(w, layer.site);
      add("/" + stored_prefix + "/" + w, stored_prefix + "/" + w, path_of(w), layer);
    }
  }

  void add(const std::string& hdf5_path, std::string name, std::string path,
           const hdf5::group& owner) {
    const hdf5::group root = h5().root();
    if (!hdf5::has_child(root, hdf5_path.substr(1)))
      throw error(errc::bad_format, "weight '" + name + "' of weight_names has no dataset",
                  owner.site.file, owner.site.object);
    if (!seen_.insert(path).second)
      throw error(errc::bad_format, "two weights map to the path '" + path + "'", h5().name(),
                  name);
    add_entry(hdf5_path, std::move(name), std::move(path));
  }

  std::set<std::string> seen_;
};

namespace detail {

inline std::string metadata_or(const save_options& options, const std::string& key,
                               const std::string& fallback) {
  const auto it = options.metadata.find(key);
  return it == options.metadata.end() ? fallback : it->second;
}

// The weights of one layer (or of top_level_model_weights / optimizer_weights) in `g`, as
// save_subset_weights_to_hdf5_group writes them: weight_names, then the datasets in that order.
inline void write_subset(const hdf5::group& g, const std::vector<keras::keras2_weight>& weights,
                         const std::vector<named_tensor>& tensors, const storage_options& storage) {
  std::vector<std::string> names;
  names.reserve(weights.size());
  for (const auto& w : weights) names.push_back(w.weight_name);
  keras::write_name_list(g.id(), g.site, "weight_names", names);
  for (const auto& w : weights) {
    const auto slash = w.weight_name.rfind('/');
    const tensor_view& t = tensors[w.tensor].tensor;
    if (slash == std::string::npos) {
      hdf5::write_dataset(g, w.weight_name, t, storage);
    } else {
      const hdf5::group parent = hdf5::require_group(g, w.weight_name.substr(0, slash));
      hdf5::write_dataset(parent, w.weight_name.substr(slash + 1), t, storage);
    }
  }
}

// save_weights_to_hdf5_group: layer_names, backend, keras_version on `g`, the layer groups in name
// order, then top_level_model_weights.
inline void write_weights(const hdf5::group& g, const keras::keras2_plan& plan,
                          const std::vector<named_tensor>& tensors, const save_options& options) {
  std::vector<std::string> layer_names;
  for (const auto& layer : plan.layers) layer_names.push_back(layer.name);
  keras::write_name_list(g.id(), g.site, "layer_names", layer_names);
  hdf5::write_string(g.id(), g.site, "backend", metadata_or(options, "backend", default_backend),
                     hdf5::string_kind::variable, hdf5::string_charset::ascii);
  hdf5::write_string(g.id(), g.site, "keras_version",
                     metadata_or(options, "keras_version", default_keras_version),
                     hdf5::string_kind::variable, hdf5::string_charset::ascii);
  std::vector<const keras::keras2_layer*> sorted;
  for (const auto& layer : plan.layers) sorted.push_back(&layer);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  for (const auto* layer : sorted)
    write_subset(hdf5::create_group(g, layer->name), layer->weights, tensors, options.storage);
  write_subset(hdf5::create_group(g, keras::top_level_group), plan.top_level, tensors,
               options.storage);
}

}  // namespace detail

// Writes the Keras 2 layout into the (empty) root group `root`.
inline void write_layout(const hdf5::group& root, const std::vector<named_tensor>& tensors,
                         const save_options& options) {
  const auto model_config = options.metadata.find("model_config");
  const bool full_model = model_config != options.metadata.end();
  std::vector<std::string> paths;
  paths.reserve(tensors.size());
  for (const auto& t : tensors) paths.push_back(t.path);
  keras::keras2_plan plan;
  try {
    plan = keras::plan_keras2(paths, full_model);
  } catch (error& e) {
    e.with_file(root.site.file);
    throw;
  }
  if (!full_model) {
    detail::write_weights(root, plan, tensors, options);
    return;
  }
  // save_model_to_hdf5: keras_version and backend (str, so UTF-8), the JSON configs (bytes, ASCII).
  hdf5::write_string(root.id(), root.site, "keras_version",
                     detail::metadata_or(options, "keras_version", default_keras_version));
  hdf5::write_string(root.id(), root.site, "backend",
                     detail::metadata_or(options, "backend", default_backend));
  for (const char* key : {"model_config", "training_config"})
    if (const auto it = options.metadata.find(key); it != options.metadata.end()) {
      if (!nlohmann::json::accept(it->second))
        throw error(errc::unsupported, std::string(key) + " in save_options::metadata is not JSON",
                    root.site.file);
      hdf5::write_string(root.id(), root.site, key, it->second, hdf5::string_kind::variable,
                         hdf5::string_charset::ascii);
    }
  detail::write_weights(hdf5::create_group(root, weights_group), plan, tensors, options);
  if (!plan.optimizer.empty())
    detail::write_subset(hdf5::create_group(root, keras::optimizer_group), plan.optimizer, tensors,
                         options.storage);
}

// The `keras2` format: Keras 2 files on read (save_weights or full model), claimed by detection
// before the generic `hdf5` format; Keras 2 on write. It claims no extension (a ".h5" name stays
// ckpt's generic layout): saving in it takes save_options::format = "keras2". Checkpoints named
// by a stem (the manager's) get ".h5", as Keras' ModelCheckpoint names them.
inline format_info info() {
  format_info f;
  f.name = "keras2";
  f.default_extension = ".h5";
  f.detect = [](const std::filesystem::path& path) {
    return hdf5::root_accepts(path, [](const hdf5::group& root) { return keras::is_keras2(root); });
  };
  f.detect_order = hdf5::layout_detect_order;
  f.open = [](const std::filesystem::path& path,
              const load_options& options) -> std::unique_ptr<format_reader> {
    hdf5::quiet_errors quiet;
    hdf5::file file = hdf5::file::open(path);
    if (!keras::is_keras2(file.root()))
      throw error(errc::bad_format,
                  "not a Keras 2 file (no layer_names on the root or in model_weights)",
                  path.string());
    return std::make_unique<reader>(std::move(file), options);
  };
  f.create = [](const std::filesystem::path& path,
                const save_options& options) -> std::unique_ptr<format_writer> {
    return std::make_unique<hdf5::file_writer>(path, options, write_layout);
  };
  f.capabilities = keras::capabilities();
  return f;
}

}  // namespace ckpt::keras2
