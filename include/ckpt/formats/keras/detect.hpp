// SPDX-License-Identifier: Apache-2.0
#pragma once
// Which Keras layout an HDF5 root group is in, from the names Keras gives it: Keras 2 lists its
// layers in a `layer_names` attribute (on the root for save_weights, on /model_weights for a full
// model); Keras 3 keeps its variables in `layers`, `vars` and `optimizer` groups and sets no
// attribute. A root marked as ckpt's generic layout is none of them. The caller holds a
// quiet_errors guard; a damaged file may throw ckpt::error.

#include <hdf5.h>

#include "ckpt/formats/hdf5/attribute.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/generic_marker.hpp"
#include "ckpt/formats/hdf5/group.hpp"
#include "ckpt/formats/hdf5/handle.hpp"

namespace ckpt::keras {

inline constexpr const char* keras2_weights_group = "model_weights";

// `layer_names`, or its first piece when Keras split a long list.
inline bool has_layer_names(const hdf5::group& g) {
  return hdf5::has_attribute(g.id(), g.site, "layer_names") ||
         hdf5::has_attribute(g.id(), g.site, "layer_names0");
}

// Keras 2 save_weights: layer_names on the root.
inline bool is_keras2_weights(const hdf5::group& root) {
  return !hdf5::generic::is_marked(root) && has_layer_names(root);
}

// Keras 2 full model: no layer_names on the root, a model_weights group that has them.
inline bool is_keras2_model(const hdf5::group& root) {
  if (hdf5::generic::is_marked(root) || has_layer_names(root) ||
      !hdf5::has_child(root, keras2_weights_group))
    return false;
  return has_layer_names(hdf5::open_group(root, keras2_weights_group));
}

inline bool is_keras2(const hdf5::group& root) {
  return is_keras2_weights(root) || is_keras2_model(root);
}

// Keras 3: a `layers`, `vars` or `optimizer` group at the root, and no Keras 2 or generic marker.
inline bool is_keras3(const hdf5::group& root) {
  if (hdf5::generic::is_marked(root) || is_keras2(root)) return false;
  for (const char* name : {"layers", "vars", "optimizer"})
    if (hdf5::has_child(root, name)) {
      const hdf5::object_handle o(H5Oopen(root.id(), name, H5P_DEFAULT));
      if (o && H5Iget_type(o.get()) == H5I_GROUP) return true;
    }
  return false;
}

}  // namespace ckpt::keras
