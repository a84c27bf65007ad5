// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the `.keras` reader: the input is `mode byte | zip archive`, read as the
// "keras" format (libzip opens the archive, config.json and metadata.json become metadata,
// model.weights.h5 is opened by libhdf5 in memory as Keras 3 variables) with every entry read.
// Any ckpt::error is a correct answer.
// libzip refuses a member whose bytes do not match its CRC-32, so mutations of the inner HDF5 file
// or of the JSON members would almost all end at that check. Two ways past it: the custom mutator
// mostly mutates one member's bytes and writes the archive again around them (sizes, offsets and
// CRC-32s right); and with the mode byte's low bit set, the CRC-32s of the stored members are
// recomputed (local header and central directory) before reading, for the mutations libFuzzer
// makes to the archive as a whole. Seeds in corpus/keras_zip/ come from make_seeds.cpp and the
// Keras fixture.
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
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

struct member {
  std::vector<std::uint8_t> name, data;
};

// The members of an archive whose members are all stored, in central directory order; nullopt
// for anything else.
std::optional<std::vector<member>> stored_members(const std::vector<std::uint8_t>& z) {
  if (z.size() < 22 || get(z, z.size() - 22, 4) != 0x06054b50u) return std::nullopt;
  const std::size_t count = get(z, z.size() - 22 + 10, 2);
  std::size_t at = get(z, z.size() - 22 + 16, 4);
  std::vector<member> members;
  for (std::size_t i = 0; i < count; ++i) {
    if (at + 46 > z.size() || get(z, at, 4) != 0x02014b50u || get(z, at + 10, 2) != 0)
      return std::nullopt;
    const std::size_t size = get(z, at + 20, 4), name = get(z, at + 28, 2);
    const std::size_t local = get(z, at + 42, 4);
    if (at + 46 + name > z.size() || local + 30 > z.size()) return std::nullopt;
    const std::size_t start = local + 30 + get(z, local + 26, 2) + get(z, local + 28, 2);
    if (start > z.size() || size > z.size() - start) return std::nullopt;
    members.push_back({{z.begin() + static_cast<std::ptrdiff_t>(at + 46),
                        z.begin() + static_cast<std::ptrdiff_t>(at + 46 + name)},
                       {z.begin() + static_cast<std::ptrdiff_t>(start),
                        z.begin() + static_cast<std::ptrdiff_t>(start + size)}});
    at += 46 + name + get(z, at + 30, 2) + get(z, at + 32, 2);
  }
  return members;
}

void put(std::vector<std::uint8_t>& z, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) z.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A zip archive of stored members, as Python's zipfile writes a .keras file.
std::vector<std::uint8_t> archive_of(const std::vector<member>& members) {
  std::vector<std::uint8_t> z, directory;
  for (const auto& m : members) {
    const auto offset = static_cast<std::uint32_t>(z.size());
    const std::uint32_t crc = crc32(m.data.data(), m.data.size());
    const auto size = static_cast<std::uint32_t>(m.data.size());
    const auto name = static_cast<std::uint32_t>(m.name.size());
    // version 2.0, no flags, stored, 1980-01-01 00:00
    put(z, 0x04034b50u, 4), put(z, 20, 2), put(z, 0, 2), put(z, 0, 2), put(z, 0, 2);
    put(z, 0x21, 2), put(z, crc, 4), put(z, size, 4), put(z, size, 4), put(z, name, 2);
    put(z, 0, 2);
    z.insert(z.end(), m.name.begin(), m.name.end());
    z.insert(z.end(), m.data.begin(), m.data.end());
    put(directory, 0x02014b50u, 4), put(directory, 0x0314, 2), put(directory, 20, 2);
    put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0x21, 2);
    put(directory, crc, 4), put(directory, size, 4), put(directory, size, 4);
    put(directory, name, 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2);
    put(directory, 0, 2), put(directory, 0600u << 16, 4), put(directory, offset, 4);
    directory.insert(directory.end(), m.name.begin(), m.name.end());
  }
  const auto offset = static_cast<std::uint32_t>(z.size());
  const auto count = static_cast<std::uint32_t>(members.size());
  z.insert(z.end(), directory.begin(), directory.end());
  put(z, 0x06054b50u, 4), put(z, 0, 2), put(z, 0, 2), put(z, count, 2), put(z, count, 2);
  put(z, static_cast<std::uint32_t>(directory.size()), 4), put(z, offset, 4), put(z, 0, 2);
  return z;
}

}  // namespace

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

// Three times in four, one member of a well-formed archive is mutated and the archive rebuilt;
// otherwise (and when the input is no such archive) the bytes are mutated as they are.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned seed) {
  std::minstd_rand random(seed);
  if (size > 1 && random() % 4 != 0) {
    auto members = stored_members({data + 1, data + size});
    if (members && !members->empty()) {
      auto& m = (*members)[random() % members->size()];
      const std::size_t used = m.data.size();
      m.data.resize(used + 64 + used / 8);
      m.data.resize(LLVMFuzzerMutate(m.data.data(), used, m.data.size()));
      const auto z = archive_of(*members);
      if (z.size() + 1 <= max_size) {
        std::memcpy(data + 1, z.data(), z.size());
        return z.size() + 1;
      }
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if (!(data[0] & 1)) return ckpt_fuzz::read_as("keras", data + 1, size - 1);
  std::vector<std::uint8_t> archive(data + 1, data + size);
  fix_crcs(archive);
  return ckpt_fuzz::read_as("keras", archive.data(), archive.size());
}
