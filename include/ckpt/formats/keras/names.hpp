// SPDX-License-Identifier: Apache-2.0
#pragma once
// How canonical paths ("dense/kernel") map to the names Keras gives weights, and back. Pure string
// functions, kept apart from HDF5 so the mapping can be tested on its own; formats/keras/README.md
// states the rules with examples.
//
// Keras 2 (save_weights and the model_weights group of a full model):
//   "<layer>/<field>"       -> layer <layer>, weight name "<layer>/<field>:0",
//                              dataset /<layer>/<layer>/<field>:0
//   "<layer>/<sub>/.../<f>" -> layer <layer>, weight name "<sub>/.../<f>:0" (a sub-layer's weights
//                              carry the sub-layer's name, as in a nested model), dataset
//                              /<layer>/<sub>/.../<f>:0; when <sub> equals <layer> the weight name
//                              keeps the layer prefix so that reading strips only that
//   "<field>"               -> /top_level_model_weights, weight name "<field>:0"
//   "optimizer_weights/<n>" -> (full model only) /optimizer_weights, weight name "<n>:0"
// Read back: the weight name without one trailing ":0", prefixed by "<layer>/" unless it already
// starts with it.
//
// Keras 3 (.weights.h5 and the model.weights.h5 of a .keras zip):
//   "<owner...>/<field>"    -> /layers/<owner...>/vars/<i>, i counting the owner's own tensors in
//                              declaration order; an owner starting with "optimizer" lives at the
//                              root (/optimizer/vars/<i>), as Keras stores its optimizer
//   "<field>"               -> /vars/<i>, the model's own variables
// Read back: "<owner...>/<i>" with a leading "layers/" removed, or "<owner...>/<field>" when the
// dataset carries the field name ckpt writes beside it (attribute `ckpt_field`).

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"

namespace ckpt::keras {

inline constexpr std::string_view top_level_group = "top_level_model_weights";
inline constexpr std::string_view optimizer_group = "optimizer_weights";
inline constexpr std::string_view keras3_field_attribute = "ckpt_field";

inline std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    parts.emplace_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

inline std::string join_path(const std::vector<std::string>& parts, std::size_t first,
                             std::size_t last) {
  std::string out;
  for (std::size_t i = first; i < last; ++i) {
    if (i > first) out += '/';
    out += parts[i];
  }
  return out;
}

// Every component must be usable as an HDF5 link name: not empty, not "." or "..", no NUL.
inline std::vector<std::string> checked_components(std::string_view path) {
  auto parts = split_path(path);
  for (const auto& p : parts)
    if (p.empty() || p == "." || p == ".." || p.find('\0') != std::string::npos)
      throw error(
          errc::unsupported,
          "a Keras file cannot name this path: component '" + p + "' is not a valid HDF5 name", {},
          std::string(path));
  return parts;
}

// The weight name without one trailing ":0", the suffix TensorFlow gives a variable's first output.
inline std::string_view strip_output_suffix(std::string_view weight_name) {
  if (weight_name.size() > 2 && weight_name.ends_with(":0")) weight_name.remove_suffix(2);
  return weight_name;
}

// ---------------------------------------------------------------------------------------------
// Keras 2

struct keras2_weight {
  std::size_t tensor = 0;   // index into the caller's list
  std::string weight_name;  // as listed in weight_names, e.g. "dense/kernel:0"
};

struct keras2_layer {
  std::string name;
  std::vector<keras2_weight> weights;  // declaration order
};

struct keras2_plan {
  std::vector<keras2_layer> layers;      // model order: first appearance in the caller's list
  std::vector<keras2_weight> top_level;  // /top_level_model_weights
  std::vector<keras2_weight> optimizer;  // /optimizer_weights (full model only)
};

// Groups canonical paths into Keras 2 layers. `full_model` routes "optimizer_weights/..." to the
// optimizer group; otherwise such paths are an ordinary layer named "optimizer_weights".
inline keras2_plan plan_keras2(const std::vector<std::string>& paths, bool full_model) {
  keras2_plan plan;
  std::map<std::string, std::size_t, std::less<>> layer_index;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const auto parts = checked_components(paths[i]);
    if (parts.size() == 1) {
      plan.top_level.push_back({i, parts[0] + ":0"});
      continue;
    }
    const std::string& layer = parts[0];
    if (full_model && layer == optimizer_group) {
      plan.optimizer.push_back({i, join_path(parts, 1, parts.size()) + ":0"});
      continue;
    }
    if (layer == top_level_group)
      throw error(errc::unsupported,
                  "a Keras 2 file keeps the group '" + std::string(top_level_group) +
                      "' for the model's own weights; no layer may have that name",
                  {}, paths[i]);
    const bool keep_prefix = parts.size() == 2 || parts[1] == layer;
    std::string weight_name =
        keep_prefix ? paths[i] + ":0" : join_path(parts, 1, parts.size()) + ":0";
    auto [it, added] = layer_index.try_emplace(layer, plan.layers.size());
    if (added) plan.layers.push_back({layer, {}});
    plan.layers[it->second].weights.push_back({i, std::move(weight_name)});
  }
  return plan;
}

// The canonical path of weight `weight_name` listed by layer `layer`.
inline std::string keras2_path(std::string_view layer, std::string_view weight_name) {
  const std::string_view name = strip_output_suffix(weight_name);
  if (name.size() > layer.size() && name.starts_with(layer) && name[layer.size()] == '/')
    return std::string(name);
  return std::string(layer) + "/" + std::string(name);
}

// Weights of /top_level_model_weights: the name alone.
inline std::string keras2_top_level_path(std::string_view weight_name) {
  return std::string(strip_output_suffix(weight_name));
}

inline std::string keras2_optimizer_path(std::string_view weight_name) {
  // Appended in place: GCC 12 at -O3 reports a false array-bounds error for the chain of '+'.
  std::string path(optimizer_group);
  path += '/';
  path += strip_output_suffix(weight_name);
  return path;
}

// ---------------------------------------------------------------------------------------------
// Keras 3

struct keras3_var {
  std::size_t tensor = 0;  // index into the caller's list
  std::string field;       // the last path component, written beside the dataset
};

struct keras3_owner {
  std::string group;  // HDF5 group holding "vars", "" for the root ("layers/dense", "optimizer")
  std::vector<keras3_var> vars;  // dataset i of <group>/vars is vars[i]
};

inline keras3_owner& keras3_owner_of(std::vector<keras3_owner>& owners,
                                     std::map<std::string, std::size_t, std::less<>>& index,
                                     std::string group) {
  auto [it, added] = index.try_emplace(group, owners.size());
  if (added) owners.push_back({std::move(group), {}});
  return owners[it->second];
}

// Owners in first-appearance order, each with its tensors in declaration order.
inline std::vector<keras3_owner> plan_keras3(const std::vector<std::string>& paths) {
  std::vector<keras3_owner> owners;
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const auto parts = checked_components(paths[i]);
    std::string group;
    if (parts.size() > 1) {
      const std::string owner = join_path(parts, 0, parts.size() - 1);
      group = parts[0] == "optimizer" ? owner : "layers/" + owner;
    }
    keras3_owner_of(owners, index, std::move(group)).vars.push_back({i, parts.back()});
  }
  return owners;
}

// The canonical path of dataset `var` in the "vars" group whose parent is `owner_group` (an HDF5
// path relative to the root, "" for the root itself). `field` is the stored field name, if any.
inline std::string keras3_path(std::string_view owner_group, std::string_view var,
                               std::string_view field = {}) {
  std::string_view owner = owner_group;
  if (owner.starts_with("layers/")) owner.remove_prefix(7);
  const std::string_view leaf = field.empty() ? var : field;
  return owner.empty() ? std::string(leaf) : std::string(owner) + "/" + std::string(leaf);
}

}  // namespace ckpt::keras
