// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the HDF5 reader in every layout: the input is `mode byte | HDF5 file`. The
// mode's low two bits pick how the file is opened: detected from its contents (as ckpt::load does,
// so the Keras 2, Keras 3 and generic layouts each claim their files), or read as "hdf5",
// "keras2" (which refuses files without Keras 2's layer lists) or "keras3", so the generic and
// Keras 3 readers also meet the other layouts' files. Bit 2 hands the file to libhdf5 as an image
// in memory (as the `.keras` reader does) instead of as a file in /dev/shm. Every entry is then
// read and verified; any ckpt::error is a correct answer. Seeds in corpus/hdf5/ come from
// make_seeds.cpp (ckpt's writers and the Keras fixtures).
#include <cstring>
#include <memory>
#include <vector>

#include "ckpt/hdf5.hpp"
#include "fuzz_reader.hpp"
#include "libhdf5_leaks.hpp"

namespace {

constexpr const char* formats[4] = {"", "hdf5", "keras2", "keras3"};

// The readers the registry would make, but of a file opened from memory.
void read_image(int format, const std::uint8_t* data, std::size_t size) {
  try {
    ckpt::hdf5::quiet_errors quiet;
    std::vector<std::byte> bytes(size);
    if (size > 0) std::memcpy(bytes.data(), data, size);
    ckpt::hdf5::file f = ckpt::hdf5::open_image(std::move(bytes), "fuzz.h5");
    const ckpt::load_options options;
    std::unique_ptr<ckpt::format_reader> r;
    if (format == 0) {
      const ckpt::hdf5::group root = f.root();
      format = ckpt::keras::is_keras2(root) ? 2 : ckpt::keras::is_keras3(root) ? 3 : 1;
    }
    if (format == 1) r = std::make_unique<ckpt::hdf5::generic::reader>(std::move(f), options);
    // As the registry's keras2 format, which refuses files without Keras 2's layer lists.
    if (format == 2 && !ckpt::keras::is_keras2(f.root())) return;
    if (format == 2) r = std::make_unique<ckpt::keras2::reader>(std::move(f), options);
    if (format == 3) r = std::make_unique<ckpt::keras3::reader>(std::move(f), options);
    ckpt_fuzz::read_entries(*r);
  } catch (const ckpt::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int format = data[0] & 3;
  if (data[0] & 4) {
    read_image(format, data + 1, size - 1);
    return 0;
  }
  return ckpt_fuzz::read_as(formats[format], data + 1, size - 1);
}
