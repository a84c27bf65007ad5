// SPDX-License-Identifier: Apache-2.0
#pragma once
// Bob Jenkins' lookup3 hash ("hashlittle", public domain), which HDF5 stores as the checksum of
// its newer metadata (version 2 object headers and their continuation chunks, superblocks v2/v3).
// Verifying it catches accidental damage cheaply; a hostile file can carry a valid checksum, so
// the preflight validates the contents either way.

#include <cstddef>
#include <cstdint>
#include <span>

namespace ckpt::hdf5::raw {

inline std::uint32_t lookup3(std::span<const std::byte> key, std::uint32_t initial = 0) {
  const auto rot = [](std::uint32_t x, int k) { return (x << k) | (x >> (32 - k)); };
  std::uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + static_cast<std::uint32_t>(key.size()) + initial;
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(key[i]); };
  std::size_t at = 0, length = key.size();
  while (length > 12) {
    a += byte(at) + (byte(at + 1) << 8) + (byte(at + 2) << 16) + (byte(at + 3) << 24);
    b += byte(at + 4) + (byte(at + 5) << 8) + (byte(at + 6) << 16) + (byte(at + 7) << 24);
    c += byte(at + 8) + (byte(at + 9) << 8) + (byte(at + 10) << 16) + (byte(at + 11) << 24);
    a -= c, a ^= rot(c, 4), c += b;
    b -= a, b ^= rot(a, 6), a += c;
    c -= b, c ^= rot(b, 8), b += a;
    a -= c, a ^= rot(c, 16), c += b;
    b -= a, b ^= rot(a, 19), a += c;
    c -= b, c ^= rot(b, 4), b += a;
    length -= 12;
    at += 12;
  }
  if (length == 0) return c;
  // The last 1..12 bytes, added little-endian into a, b, c.
  std::uint32_t words[3] = {0, 0, 0};
  for (std::size_t i = 0; i < length; ++i) words[i / 4] += byte(at + i) << (8 * (i % 4));
  a += words[0], b += words[1], c += words[2];
  c ^= b, c -= rot(b, 14);
  a ^= c, a -= rot(c, 11);
  b ^= a, b -= rot(a, 25);
  c ^= b, c -= rot(b, 16);
  a ^= c, a -= rot(c, 4);
  b ^= a, b -= rot(a, 14);
  c ^= b, c -= rot(b, 24);
  return c;
}

}  // namespace ckpt::hdf5::raw
