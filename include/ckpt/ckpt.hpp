// SPDX-License-Identifier: Apache-2.0
#pragma once
// Everything in ckpt that needs no external library beyond the core's: the API, reflection and
// every built-in format. HDF5 lives in <ckpt/hdf5.hpp>.

#include "ckpt/api.hpp"
#include "ckpt/formats/basic_reader.hpp"
#include "ckpt/formats/json.hpp"
#include "ckpt/formats/safetensors.hpp"
#include "ckpt/formats/tf_checkpoint.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/mapped_file.hpp"
#include "ckpt/manager.hpp"
