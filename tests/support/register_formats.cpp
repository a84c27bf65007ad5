// SPDX-License-Identifier: Apache-2.0
// The test programs without HDF5 compile the built-in formats once, here (CKPT_REGISTER_FORMATS_ONCE
// is defined for every test file): each test file then compiles only the code it uses. Those with
// HDF5 link the project's ckpt_builtin_formats (tools/builtin_formats.cpp), which adds the HDF5 and
// Keras formats; this file leaves them out so that those programs need no libhdf5.
#define CKPT_REGISTER_FORMATS_HERE
#include "ckpt/ckpt.hpp"  // IWYU pragma: keep
