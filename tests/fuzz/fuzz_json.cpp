// SPDX-License-Identifier: Apache-2.0
#include "ckpt/formats/json.hpp"
#include "fuzz_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ckpt_fuzz::read_as("json", data, size);
}
