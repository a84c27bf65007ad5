// SPDX-License-Identifier: Apache-2.0
#pragma once
// Keras 3's `.weights.h5` layout (also the model.weights.h5 member of a `.keras` zip): each object
// that owns variables has a `vars` group of datasets named 0, 1, ... in the object's variable
// order; layers sit under /layers/<key>, sub-layers nest below their layer, the optimizer is at
// /optimizer and the model's own variables at /vars. No attributes are needed on the root.
// Canonical paths follow names.hpp. Datasets ckpt writes carry the field name in a
// `ckpt_field` attribute (Keras ignores it) so that a struct reads back with its own names; files
// from Keras have none, and their variables read as "<layer>/<i>".

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
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
#include "ckpt/formats/keras/capabilities.hpp"
#include "ckpt/formats/keras/detect.hpp"
#include "ckpt/formats/keras/names.hpp"

namespace ckpt::keras3 {

// One variable found in a file.
struct found_var {
  std::string hdf5_path;  // "/layers/dense/vars/0"
  std::string name;       // the stored key: the HDF5 path without the leading '/'
  std::string path;       // canonical
};

namespace detail {

// Dataset names 0, 1, ..., 10 in numeric order; other names after them, by name.
inline bool var_order(const std::string& a, const std::string& b) {
  const auto numeric = [](const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const bool na = numeric(a), nb = numeric(b);
  if (na != nb) return na;
  if (na && a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

inline void walk(const hdf5::group& g, const std::string& rel, bool in_vars, std::uint32_t depth,
                 std::size_t& visited, const load_limits& limits, std::vector<found_var>& out) {
  if (depth > limits.max_depth)
    throw error(errc::limit, "groups nest deeper than load_limits::max_depth", g.site.file,
                g.site.object);
  auto kids = hdf5::children(g, limits.max_entries);
  std::stable_sort(kids.begin(), kids.end(), [](const hdf5::child& a, const hdf5::child& b) {
    return var_order(a.name, b.name);
  });
  // The owner of a vars group is its parent: "" for /vars, "layers/dense" for /layers/dense/vars.
  const auto slash = rel.rfind('/');
  const std::string owner = slash == std::string::npos ? "" : rel.substr(0, slash);
  for (const auto& c : kids) {
    if (++visited > limits.max_entries)
      throw error(errc::limit, "more than load_limits::max_entries objects", g.site.file,
                  g.site.object);
    const std::string child_rel = rel.empty() ? c.name : rel + "/" + c.name;
    switch (c.kind) {
      case hdf5::child_kind::group:
        walk(hdf5::open_group(g, c.name), child_rel, c.name == "vars", depth + 1, visited, limits,
             out);
        break;
      case hdf5::child_kind::dataset: {
        std::string path;
        if (in_vars) {
          const hdf5::dataset d = hdf5::open_dataset(g, c.name);
          std::string field;
          if (hdf5::has_attribute(d.id(), d.site, keras::keras3_field_attribute) &&
              hdf5::inspect_attribute(d.id(), d.site, keras::keras3_field_attribute).is_string()) {
            field = hdf5::read_string(d.id(), d.site, keras::keras3_field_attribute);
            if (field.empty() || field.find('/') != std::string::npos)
              throw error(errc::bad_format, "ckpt_field '" + field + "' is not a field name",
                          d.site.file, d.site.object);
          }
          path = keras::keras3_path(owner, c.name, field);
        } else {
          path = child_rel;  // not a Keras variable; listed by its place in the file
        }
        out.push_back({"/" + child_rel, child_rel, std::move(path)});
        break;
      }
      case hdf5::child_kind::soft_link:
      case hdf5::child_kind::external_link:
        throw error(errc::unsupported, "is a soft or external link, which ckpt does not follow",
                    g.site.file, "/" + child_rel);
      default:
        break;
    }
  }
}

}  // namespace detail

// Every variable below `root`, layer by layer.
inline std::vector<found_var> find_vars(const hdf5::group& root, const load_limits& limits) {
  std::vector<found_var> out;
  std::size_t visited = 0;
  detail::walk(root, "", false, 0, visited, limits, out);
  std::set<std::string> seen;
  for (const auto& v : out)
    if (!seen.insert(v.path).second)
      throw error(errc::bad_format, "two variables map to the path '" + v.path + "'",
                  root.site.file, v.name);
  return out;
}

class reader : public hdf5::tensor_reader {
 public:
  reader(hdf5::file f, const load_options& options) : reader(std::move(f), "keras3", options) {}

 protected:
  // The Keras 3 layout read under another format's name (the `.keras` zip's weights member).
  reader(hdf5::file f, std::string format_name, const load_options& options)
      : hdf5::tensor_reader(std::move(f), std::move(format_name), options) {
    hdf5::quiet_errors quiet;
    set_metadata("layout", "keras3");
    const hdf5::group root = h5().root();
    for (auto& v : find_vars(root, this->options().limits))
      add_entry(v.hdf5_path, std::move(v.name), std::move(v.path));
  }
};

// Writes the Keras 3 layout into the (empty) root group `root`.
inline void write_layout(const hdf5::group& root, const std::vector<named_tensor>& tensors,
                         const save_options& options) {
  std::vector<std::string> paths;
  paths.reserve(tensors.size());
  for (const auto& t : tensors) paths.push_back(t.path);
  std::vector<keras::keras3_owner> owners;
  try {
    owners = keras::plan_keras3(paths);
  } catch (error& e) {
    e.with_file(root.site.file);
    throw;
  }
  for (const auto& owner : owners) {
    const hdf5::group vars =
        hdf5::require_group(root, owner.group.empty() ? "vars" : owner.group + "/vars");
    for (std::size_t i = 0; i < owner.vars.size(); ++i) {
      const auto& var = owner.vars[i];
      const hdf5::dataset d =
          hdf5::write_dataset(vars, std::to_string(i), tensors[var.tensor].tensor, options.storage);
      hdf5::write_string(d.id(), d.site, keras::keras3_field_attribute, var.field);
    }
  }
}

// The `keras3` format, the default for names ending in ".weights.h5" (as Keras 3 requires). It
// claims Keras 3 files before the generic `hdf5` format; named explicitly, it reads any HDF5 file
// as Keras 3 variables.
inline format_info info() {
  format_info f;
  f.name = "keras3";
  f.extensions = {".weights.h5"};
  f.detect = [](const std::filesystem::path& path) {
    return hdf5::root_accepts(path, [](const hdf5::group& root) { return keras::is_keras3(root); });
  };
  f.detect_order = hdf5::layout_detect_order;
  f.open = [](const std::filesystem::path& path,
              const load_options& options) -> std::unique_ptr<format_reader> {
    hdf5::quiet_errors quiet;
    return std::make_unique<reader>(hdf5::file::open(path), options);
  };
  f.create = [](const std::filesystem::path& path,
                const save_options& options) -> std::unique_ptr<format_writer> {
    return std::make_unique<hdf5::file_writer>(path, options, write_layout);
  };
  f.capabilities = keras::capabilities();
  return f;
}

}  // namespace ckpt::keras3
