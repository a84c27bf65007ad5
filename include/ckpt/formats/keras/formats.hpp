#pragma once
// The Keras layouts of the HDF5 format, registered with the layout dispatch (so `ckpt::load` and
// `ckpt inspect` read any Keras file through the `hdf5` format) and as the formats `keras2`,
// `keras3` (default for ".weights.h5") and `keras` (".keras"). formats/keras/README.md describes
// the key mapping of each layout and what was verified against files Keras wrote.

#include "ckpt/formats/hdf5/layout.hpp"
#include "ckpt/formats/keras/keras2.hpp"
#include "ckpt/formats/keras/keras3.hpp"
#include "ckpt/formats/keras/keras_zip.hpp"
#include "ckpt/formats/registry.hpp"

namespace ckpt {
inline const bool keras2_layouts_registered =
    hdf5::register_layout(keras2::weights_hooks()) && hdf5::register_layout(keras2::model_hooks());
inline const bool keras3_layout_registered = hdf5::register_layout(keras3::hooks());
inline const bool keras2_registered = register_format(keras2::info());
inline const bool keras3_registered = register_format(keras3::info());
inline const bool keras_registered = register_format(keras_zip::info());
}  // namespace ckpt
