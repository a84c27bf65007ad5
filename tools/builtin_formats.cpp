// SPDX-License-Identifier: Apache-2.0
// Including a format's header here registers it: these are the built-in formats of the project's
// own programs (the tool, the examples and the test programs that use HDF5; the target
// ckpt_builtin_formats in the top-level CMakeLists.txt). They are built with
// CKPT_REGISTER_FORMATS_ONCE, so this is the one file that compiles the formats; everything else
// reaches them through the registry only.

#define CKPT_REGISTER_FORMATS_HERE
#include "ckpt/ckpt.hpp"  // IWYU pragma: keep
#ifdef CKPT_BUILTIN_FORMATS_WITH_HDF5
#include "ckpt/hdf5.hpp"  // IWYU pragma: keep
#endif
