// SPDX-License-Identifier: Apache-2.0
// Including a format's header here registers it: these are the formats the tool knows. The tool
// is built with CKPT_REGISTER_FORMATS_ONCE, so this is the one file that compiles them; everything
// else reaches formats through the registry only.

#define CKPT_REGISTER_FORMATS_HERE
#include "ckpt/ckpt.hpp"  // IWYU pragma: keep
#ifdef CKPT_TOOL_WITH_HDF5
#include "ckpt/hdf5.hpp"  // IWYU pragma: keep
#endif
