// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the Keras layouts (keras2, keras3 and the `.keras` zip) hold. Their datasets use the HDF5
// type mapping, so every dtype it holds round-trips; but Keras imposes a structure on paths (a
// layer, then its weights; names.hpp), lists layers by name or in its own order rather than in the
// order written, and refuses names HDF5 cannot hold. Fletcher32 is verified only where
// save_options::storage asked for it, so verify() reports none by default.

#include <hdf5.h>

#include <string>

#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/types.hpp"

namespace ckpt::keras {

inline format_capabilities capabilities() {
  format_capabilities c;
  c.dtypes = hdf5::held_dtypes();
  c.refused_key_characters = std::string(1, '\0');
  c.max_rank = H5S_MAX_RANK;
  c.keeps_order = false;
  c.any_paths = false;
  return c;
}

}  // namespace ckpt::keras
