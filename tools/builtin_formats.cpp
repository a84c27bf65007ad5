// SPDX-License-Identifier: Apache-2.0
// Including a format's header registers it: these are the formats the tool knows. Everything
// else in the tool reaches formats through the registry only.

#include "ckpt/ckpt.hpp"  // IWYU pragma: keep
#ifdef CKPT_TOOL_WITH_HDF5
#include "ckpt/hdf5.hpp"  // IWYU pragma: keep
#endif
