// SPDX-License-Identifier: Apache-2.0
#pragma once
// Detection for the formats whose files are HDF5 files. Each is a format of its own in the one
// registry: a layout (Keras 2, Keras 3) claims the HDF5 files its root group shows to be its own,
// and the `hdf5` format, asked after every layout, takes any HDF5 file left.

#include <exception>
#include <filesystem>

#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"

namespace ckpt::hdf5 {

// format_info::detect_order of a format that claims particular HDF5 files by their layout, and of
// the `hdf5` format, which claims any HDF5 file (lower is asked first).
inline constexpr int layout_detect_order = 10;
inline constexpr int any_file_detect_order = 20;

// True if `path` is an HDF5 file whose root group `accepts` (a predicate on `const group&`). Looks
// at the signature first, so files of other formats cost a few bytes read; an HDF5 file is opened
// as the readers open it (ckpt's preflight before libhdf5). Prints nothing and never throws: a file
// that cannot be looked into is not claimed, and the format that opens it reports why.
template <class Accepts>
bool root_accepts(const std::filesystem::path& path, Accepts&& accepts) noexcept {
  if (!has_signature(path)) return false;
  try {
    quiet_errors quiet;
    const file f = file::open(path);
    const group root = f.root();
    return accepts(root);
  } catch (...) {
    return false;
  }
}

}  // namespace ckpt::hdf5
