// SPDX-License-Identifier: Apache-2.0
#pragma once
// Registers the Keras formats: `keras2` (Keras 2 save_weights and full-model `.h5` files; written
// only when named), `keras3` (the default for ".weights.h5") and `keras` (".keras" zips). keras2
// and keras3 claim the HDF5 files in their layout before the generic `hdf5` format is asked, so
// `ckpt::load` and `ckpt inspect` read any Keras file without being told its layout.
// formats/keras/README.md describes the key mapping of each layout and what was verified against
// files Keras wrote.

#include "ckpt/formats/keras/keras2.hpp"
#include "ckpt/formats/keras/keras3.hpp"
#include "ckpt/formats/keras/keras_zip.hpp"
#include "ckpt/formats/registry.hpp"

namespace ckpt {
CKPT_REGISTER_FORMAT(keras2_registered, keras2::info())
CKPT_REGISTER_FORMAT(keras3_registered, keras3::info())
CKPT_REGISTER_FORMAT(keras_registered, keras_zip::info())
}  // namespace ckpt
