// SPDX-License-Identifier: Apache-2.0
// The built-in formats, compiled once for all the examples. Each example is a complete program on
// its own (copied alone into a project, its includes register the formats it uses); built here
// together they are compiled with CKPT_REGISTER_FORMATS_ONCE, as a program of many files would
// be, and this is the one file that compiles the formats.

#define CKPT_REGISTER_FORMATS_HERE
#include "ckpt/ckpt.hpp"  // IWYU pragma: keep
#ifdef CKPT_EXAMPLE_WITH_HDF5
#include "ckpt/hdf5.hpp"  // IWYU pragma: keep
#endif
