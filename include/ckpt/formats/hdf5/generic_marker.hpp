// SPDX-License-Identifier: Apache-2.0
#pragma once
// The root attributes that mark a file as ckpt's generic HDF5 layout: `ckpt_layout` = "generic"
// and `ckpt_layout_version`. The generic writer sets them; every layout's detection looks for them
// first, so a file ckpt wrote generically is never taken for a Keras file whatever its groups are
// called (a struct with a member named `layers` makes a `/layers` group).

#include <cstdint>

#include "ckpt/formats/hdf5/attribute.hpp"
#include "ckpt/formats/hdf5/file.hpp"

namespace ckpt::hdf5::generic {

inline constexpr const char* layout_attribute = "ckpt_layout";
inline constexpr const char* version_attribute = "ckpt_layout_version";
inline constexpr const char* layout_name = "generic";
inline constexpr std::int32_t version = 1;

// True if the root names the generic layout. The caller holds a quiet_errors guard.
inline bool is_marked(const group& root) {
  if (!has_attribute(root.id(), root.site, layout_attribute)) return false;
  const auto info = inspect_attribute(root.id(), root.site, layout_attribute);
  return info.is_string() && read_string(root.id(), root.site, layout_attribute) == layout_name;
}

}  // namespace ckpt::hdf5::generic
