// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for SavedModel directories: the input is three files,
// `u32le n | saved_model.pb (n bytes) | u32le m | variables/variables.index (m bytes) |
// variables/variables.data-00000-of-00001 (the rest)`, written into a directory of this process in
// /dev/shm (a length past the end takes what is left). The directory is opened as ckpt::load opens
// one (the format detected from what is there, so the TF2 object graph is bound to paths when the
// bundle has one) and every entry is read, viewed and verified. Any ckpt::error is a correct
// answer. Seeds in corpus/savedmodel/ are the small SavedModel fixtures and bundles ckpt writes
// (make_savedmodel_seeds.cpp).
#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>

#include "ckpt/formats/tf_checkpoint.hpp"
#include "fuzz_reader.hpp"

namespace {

// The next `u32le n | n bytes` part of the input.
std::string_view take_part(const std::uint8_t*& data, std::size_t& size) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < 4 && i < size; ++i) n |= std::size_t{data[i]} << (8 * i);
  const std::size_t header = size < 4 ? size : 4;
  data += header, size -= header;
  n = std::min(n, size);
  const std::string_view part(reinterpret_cast<const char*>(data), n);
  data += n, size -= n;
  return part;
}

void write(const std::string& path, std::string_view bytes) {
  ckpt_fuzz::write_file(path, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& dir = ckpt_fuzz::scratch("savedmodel");
  static const bool made = std::filesystem::create_directories(dir + "/variables");
  (void)made;
  write(dir + "/saved_model.pb", take_part(data, size));
  write(dir + "/variables/variables.index", take_part(data, size));
  write(dir + "/variables/variables.data-00000-of-00001",
        {reinterpret_cast<const char*>(data), size});
  ckpt_fuzz::read_path(dir, "");
  return 0;
}
