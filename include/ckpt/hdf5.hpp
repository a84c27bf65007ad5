// SPDX-License-Identifier: Apache-2.0
#pragma once
// The HDF5 formats (link ckpt::hdf5). Including this header registers the `hdf5` format and the
// Keras formats `keras2`, `keras3` and `keras`. Files ending in .h5 or .hdf5 are written in ckpt's
// generic layout (one group per path level, one dataset per tensor; save_options::storage picks
// contiguous or chunked with shuffle, deflate, zstd and Fletcher32). On load, each Keras layout
// claims the HDF5 files in its layout first (format_info::detect_order) and `hdf5` reads any other
// HDF5 file generically. formats/hdf5/README.md gives the layout, the type mapping and every check
// the reader makes; formats/keras/README.md the Keras layouts.

#include <filesystem>
#include <memory>

#include "ckpt/api.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/detect.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/file_writer.hpp"
#include "ckpt/formats/hdf5/generic.hpp"
#include "ckpt/formats/hdf5/zstd_filter.hpp"
#include "ckpt/formats/registry.hpp"

namespace ckpt::hdf5 {

inline format_info info() {
  format_info f;
  f.name = "hdf5";
  f.extensions = {".h5", ".hdf5"};
  // Any HDF5 file: asked after the layouts, this format takes the files none of them claimed.
  f.detect = [](const std::filesystem::path& path) { return has_signature(path); };
  f.detect_order = any_file_detect_order;
  f.open = [](const std::filesystem::path& path,
              const load_options& options) -> std::unique_ptr<format_reader> {
    quiet_errors quiet;
    return std::make_unique<generic::reader>(file::open(path), options);
  };
  f.create = [](const std::filesystem::path& path,
                const save_options& options) -> std::unique_ptr<format_writer> {
    return std::make_unique<file_writer>(path, options, generic::write_layout);
  };
  f.capabilities = generic::capabilities();
  return f;
}

}  // namespace ckpt::hdf5

namespace ckpt {
CKPT_REGISTER_FORMAT(hdf5_registered, hdf5::info())
}  // namespace ckpt

// The Keras layouts: the keras2, keras3 and keras formats.
#include "ckpt/formats/keras/formats.hpp"  // IWYU pragma: export
