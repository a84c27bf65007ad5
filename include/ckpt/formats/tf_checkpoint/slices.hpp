// SPDX-License-Identifier: Apache-2.0
#pragma once
// Keys of the entries that hold one slice of a partitioned variable (TF's EncodeTensorNameSlice):
// a binary OrderedCode string, specs/tf_checkpoint.md §4 "Sliced variables".
//
//   std::string key = encode_slice_key("w", slice);      // "\0" + escaped name + "\0\1" + ...
//   std::optional<slice_key> k = decode_slice_key(key);   // nullopt unless exactly that form
//
// Every slice key starts with byte 0, so slice entries sort right after the header and before
// every ordinary name; is_slice_key() is how readers hide them from the entry list.
// In a slice, a full extent is {start 0, no length}; in the key it is start 0, length -1.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ckpt/formats/tf_checkpoint/protos.hpp"

namespace ckpt::tf_checkpoint {

struct slice_key {
  std::string name;
  tensor_slice_proto slice;
};

inline bool is_slice_key(std::string_view key) noexcept { return !key.empty() && key[0] == '\0'; }

namespace detail {

// OrderedCode "NumIncreasing": a byte count n, then the value in n big-endian bytes.
inline void append_num_increasing(std::string& out, std::uint64_t v) {
  unsigned char buf[8];
  int n = 0;
  for (std::uint64_t x = v; x != 0; x >>= 8) buf[n++] = static_cast<unsigned char>(x & 0xFF);
  out.push_back(static_cast<char>(n));
  while (n > 0) out.push_back(static_cast<char>(buf[--n]));
}

// OrderedCode "SignedNumIncreasing": big-endian two's complement in the fewest bytes that leave
// room for a header of n one-bits (n = byte count) at the top, XORed into the value's top bits.
inline void append_signed_num_increasing(std::string& out, std::int64_t v) {
  const std::uint64_t x = v < 0 ? ~static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  int bits = 0;
  for (std::uint64_t t = x; t != 0; t >>= 1) ++bits;
  // 7 payload bits per byte, one of them taken by the header; 63 or 64 bits need all 10 bytes.
  const int len = bits >= 63 ? 10 : bits / 7 + 1;
  unsigned char buf[10];
  const auto u = static_cast<std::uint64_t>(v);
  const unsigned char sign = v < 0 ? 0xFF : 0x00;
  buf[0] = buf[1] = sign;
  for (int i = 0; i < 8; ++i) buf[2 + i] = static_cast<unsigned char>(u >> (8 * (7 - i)));
  unsigned char* begin = buf + 10 - len;
  // Header: `len` one-bits from the top bit of begin[0], continuing into begin[1].
  const unsigned header = (0xFFFFu << (16 - len)) & 0xFFFFu;
  begin[0] ^= static_cast<unsigned char>(header >> 8);
  if (len > 1) begin[1] ^= static_cast<unsigned char>(header & 0xFF);
  out.append(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(len));
}

inline bool read_num_increasing(std::string_view in, std::size_t& pos, std::uint64_t& v) {
  if (pos >= in.size()) return false;
  const auto n = static_cast<unsigned char>(in[pos]);
  if (n > 8 || in.size() - pos - 1 < n) return false;
  v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(in[pos + 1 + i]);
  pos += 1 + n;
  return true;
}

inline bool read_signed_num_increasing(std::string_view in, std::size_t& pos, std::int64_t& v) {
  if (pos >= in.size()) return false;
  const bool negative = (static_cast<unsigned char>(in[pos]) & 0x80) == 0;
  const unsigned char flip = negative ? 0xFF : 0x00;
  const auto byte = [&](std::size_t i) -> unsigned {
    return static_cast<unsigned char>(static_cast<unsigned char>(in[pos + i]) ^ flip);
  };
  unsigned head = byte(0) << 8;
  if (pos + 1 < in.size()) head |= byte(1);
  int len = 0;
  while (len < 16 && (head & (0x8000u >> len))) ++len;
  if (len < 1 || len > 10 || in.size() - pos < static_cast<std::size_t>(len)) return false;
  std::uint64_t x = 0;
  for (int i = 0; i < len; ++i) {
    unsigned b = byte(static_cast<std::size_t>(i));
    // Clear the header bits this byte carries.
    if (i == 0) b &= 0xFFu >> std::min(len, 8);
    if (i == 1 && len > 8) b &= 0xFFu >> (len - 8);
    if (i < len - 8 && b != 0) return false;  // bits beyond 64
    x = (x << 8) | b;
  }
  if (x >> 63) return false;  // the magnitude of an int64 has at most 63 bits
  v = negative ? static_cast<std::int64_t>(~x) : static_cast<std::int64_t>(x);
  pos += static_cast<std::size_t>(len);
  return true;
}

}  // namespace detail

inline std::string encode_slice_key(std::string_view name, const tensor_slice_proto& slice) {
  std::string key;
  detail::append_num_increasing(key, 0);
  for (char c : name) {
    key.push_back(c);
    if (c == '\0') key.push_back('\xff');
    if (c == '\xff') key.push_back('\0');
  }
  key.append("\0\x01", 2);
  detail::append_num_increasing(key, slice.extents.size());
  for (const auto& e : slice.extents) {
    detail::append_signed_num_increasing(key, e.length ? e.start : 0);
    detail::append_signed_num_increasing(key, e.length ? *e.length : -1);
  }
  return key;
}

inline std::optional<slice_key> decode_slice_key(std::string_view key) {
  std::size_t pos = 0;
  std::uint64_t tag = 0;
  if (!detail::read_num_increasing(key, pos, tag) || tag != 0) return std::nullopt;
  slice_key out;
  for (;;) {
    if (pos >= key.size()) return std::nullopt;
    const char c = key[pos++];
    if (c != '\0' && c != '\xff') {
      out.name.push_back(c);
      continue;
    }
    if (pos >= key.size()) return std::nullopt;
    const char next = key[pos++];
    if (c == '\0' && next == '\x01') break;
    if (c == '\0' && next == '\xff') {
      out.name.push_back('\0');
    } else if (c == '\xff' && next == '\0') {
      out.name.push_back('\xff');
    } else {
      return std::nullopt;
    }
  }
  std::uint64_t rank = 0;
  if (!detail::read_num_increasing(key, pos, rank)) return std::nullopt;
  // Each dimension takes at least two bytes, which bounds the loop by the key's length.
  if (rank > (key.size() - pos) / 2) return std::nullopt;
  for (std::uint64_t d = 0; d < rank; ++d) {
    std::int64_t start = 0, length = 0;
    if (!detail::read_signed_num_increasing(key, pos, start) ||
        !detail::read_signed_num_increasing(key, pos, length))
      return std::nullopt;
    tensor_slice_proto::extent e;
    if (length == -1) {
      if (start != 0) return std::nullopt;
    } else {
      if (start < 0 || length < 0) return std::nullopt;
      e.start = start;
      e.length = length;
    }
    out.slice.extents.push_back(e);
  }
  if (pos != key.size()) return std::nullopt;
  return out;
}

}  // namespace ckpt::tf_checkpoint
