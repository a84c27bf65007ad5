// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the `.keras` reader: the input is `mode byte | zip archive`, read as the
// "keras" format (libzip opens the archive, config.json and metadata.json become metadata,
// model.weights.h5 is opened by libhdf5 in memory as Keras 3 variables) with every entry read.
// With the mode's low bit set, each stored member's CRC-32 is recomputed in its local header and
// its central directory record before reading: libzip refuses a member whose bytes do not match
// its CRC, so without this almost every mutation of the inner HDF5 file or of the JSON members
// would end at the CRC check. Any ckpt::error is a correct answer. Seeds in corpus/keras_zip/
// come from make_hdf5_seeds.cpp and the Keras fixture.
#include <array>
#include <cstdint>
#include <vector>

#include "ckpt/hdf5.hpp"
#include "fuzz_reader.hpp"
#include "libhdf5_leaks.hpp"

namespace {

std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::uint32_t get(const std::vector<std::uint8_t>& z, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | z[at + static_cast<std::size_t>(i)];
  return v;
}

void put32(std::vector<std::uint8_t>& z, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    z[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Walks the central directory the end-of-central-directory record names; for each stored member
// whose local header and bytes lie inside the archive, writes the CRC-32 of those bytes into both
// records. Anything malformed is left as it is, for libzip to refuse.
void fix_crcs(std::vector<std::uint8_t>& z) {
  if (z.size() < 22) return;
  std::size_t eocd = z.size() - 22;
  const std::size_t lowest = z.size() > 22 + 0xffff ? z.size() - 22 - 0xffff : 0;
  while (get(z, eocd, 4) != 0x06054b50u) {
    if (eocd == lowest) return;
    --eocd;
  }
  const std::size_t count = get(z, eocd + 10, 2);
  std::size_t at = get(z, eocd + 16, 4);
  for (std::size_t i = 0; i < count; ++i) {
    if (at + 46 > z.size() || get(z, at, 4) != 0x02014b50u) return;
    const std::uint32_t method = get(z, at + 10, 2);
    const std::size_t compressed = get(z, at + 20, 4);
    const std::size_t local = get(z, at + 42, 4);
    const std::size_t next = at + 46 + get(z, at + 28, 2) + get(z, at + 30, 2) + get(z, at + 32, 2);
    if (method == 0 && local + 30 <= z.size() && get(z, local, 4) == 0x04034b50u) {
      const std::size_t start = local + 30 + get(z, local + 26, 2) + get(z, local + 28, 2);
      if (start <= z.size() && compressed <= z.size() - start) {
        const std::uint32_t crc = crc32(z.data() + start, compressed);
        put32(z, local + 14, crc);
        put32(z, at + 16, crc);
      }
    }
    at = next;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if (!(data[0] & 1)) return ckpt_fuzz::read_as("keras", data + 1, size - 1);
  std::vector<std::uint8_t> archive(data + 1, data + size);
  fix_crcs(archive);
  return ckpt_fuzz::read_as("keras", archive.data(), archive.size());
}
