#pragma once
// The HDF5 format (link ckpt::hdf5). Including this header registers the `hdf5` format: files
// ending in .h5 or .hdf5 are written in ckpt's generic layout (one group per path level, one
// dataset per tensor; save_options::storage picks contiguous or chunked with shuffle, deflate,
// zstd and Fletcher32), and any HDF5 file is read in the layout it is detected to have (the Keras
// layouts register themselves in formats/hdf5/layout.hpp's registry). formats/hdf5/README.md gives
// the layout, the type mapping and every check the reader makes.

#include <filesystem>
#include <memory>

#include "ckpt/api.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/generic.hpp"
#include "ckpt/formats/hdf5/layout.hpp"
#include "ckpt/formats/hdf5/zstd_filter.hpp"
#include "ckpt/formats/registry.hpp"

namespace ckpt::hdf5 {

inline format_info info() {
  return {.name = "hdf5",
          .extensions = {".h5", ".hdf5"},
          .detect = [](const std::filesystem::path& path) { return has_signature(path); },
          .open = [](const std::filesystem::path& path,
                     const load_options& options) { return open_detected(path, options); },
          .create = [](const std::filesystem::path& path,
                       const save_options& options) -> std::unique_ptr<format_writer> {
            return std::make_unique<generic::writer>(path, options);
          }};
}

}  // namespace ckpt::hdf5

namespace ckpt {
inline const bool hdf5_generic_layout_registered = hdf5::register_layout(hdf5::generic::hooks());
inline const bool hdf5_registered = register_format(hdf5::info());
}  // namespace ckpt

// The Keras layouts and the keras2, keras3 and keras formats.
#include "ckpt/formats/keras/formats.hpp"  // IWYU pragma: export
