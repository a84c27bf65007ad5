// SPDX-License-Identifier: Apache-2.0
#pragma once
// Raw Snappy blocks (no framing), as old TensorFlow `.index` tables store them, through libsnappy.
//
//   std::string out = snappy_block::uncompress(bytes, limit, file, offset);
//
// The uncompressed length is read from the block's preamble and checked against `max_bytes`
// before anything is allocated; a preamble that does not parse, a length over the limit, or a
// body libsnappy rejects raises ckpt::error (bad_format or limit) naming the file and offset.
// `compress` exists for tests that need a Snappy block; ckpt's writers store blocks raw, as
// TensorFlow's BundleWriter has done since TF 1.2.

#include <snappy.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ckpt/core/error.hpp"

namespace ckpt::snappy_block {

inline std::string uncompress(std::span<const std::byte> compressed, std::uint64_t max_bytes,
                              const std::string& file = {}, std::uint64_t offset = 0) {
  const auto* data = reinterpret_cast<const char*>(compressed.data());
  std::size_t length = 0;
  if (!snappy::GetUncompressedLength(data, compressed.size(), &length))
    throw error(errc::bad_format, "snappy block: unreadable length preamble", file, {}, offset);
  if (length > max_bytes)
    throw error(errc::limit,
                "snappy block would expand to " + std::to_string(length) + " bytes, more than " +
                    std::to_string(max_bytes),
                file, {}, offset);
  // The body can expand at most ~ (compressed size * 256 / 5)-fold in theory; a claimed length no
  // body of this size could produce is refused before allocating.
  if (length / 64 > compressed.size() + 64)
    throw error(errc::bad_format,
                "snappy block claims " + std::to_string(length) + " bytes from only " +
                    std::to_string(compressed.size()),
                file, {}, offset);
  std::string out(length, '\0');
  if (!snappy::RawUncompress(data, compressed.size(), out.data()))
    throw error(errc::bad_format, "snappy block does not decompress", file, {}, offset);
  return out;
}

inline std::string compress(std::span<const std::byte> raw) {
  std::string out;
  snappy::Compress(reinterpret_cast<const char*>(raw.data()), raw.size(), &out);
  return out;
}

}  // namespace ckpt::snappy_block
