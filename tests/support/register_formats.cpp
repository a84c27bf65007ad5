// SPDX-License-Identifier: Apache-2.0
// The test programs compile the built-in formats once, here (CKPT_REGISTER_FORMATS_ONCE is
// defined for every test file): each test file then compiles only the code it uses.
#define CKPT_REGISTER_FORMATS_HERE
#include "ckpt/ckpt.hpp"  // IWYU pragma: keep
#ifdef CKPT_TEST_WITH_HDF5
#include "ckpt/hdf5.hpp"  // IWYU pragma: keep
#endif
