// SPDX-License-Identifier: Apache-2.0
#pragma once
// HDF5 object headers, version 1 and version 2 ("OHDR", continued in "OCHK" chunks): the list of
// header messages (type, flags, body) of one object, each message lying inside its chunk. Chunks
// are followed through continuation messages with loop detection and caps on their number and
// total size; version 2 chunks must match their lookup3 checksum. The message bodies themselves are
// validated by raw/messages.hpp.

#include <cstdint>
#include <cstring>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/raw/lookup3.hpp"
#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

namespace message_type {
inline constexpr unsigned nil = 0x00, dataspace = 0x01, link_info = 0x02, datatype = 0x03,
                          fill_old = 0x04, fill = 0x05, link = 0x06, external = 0x07, layout = 0x08,
                          bogus = 0x09, group_info = 0x0a, filters = 0x0b, attribute = 0x0c,
                          comment = 0x0d, mtime_old = 0x0e, shared_table = 0x0f,
                          continuation = 0x10, symbol_table = 0x11, mtime = 0x12, btree_k = 0x13,
                          driver_info = 0x14, attribute_info = 0x15, refcount = 0x16, fsinfo = 0x17,
                          cache_image = 0x18;
}  // namespace message_type

inline constexpr unsigned message_flag_shared = 0x02, message_flag_dont_share = 0x04;

struct header_message {
  unsigned type = 0;
  unsigned flags = 0;
  std::uint64_t address = 0;  // of the body
  std::span<const std::byte> body;
};

struct object_header {
  unsigned version = 0;
  std::vector<std::vector<std::byte>> chunks;  // the bytes the messages' bodies point into
  std::vector<header_message> messages;
};

struct header_limits {
  std::size_t max_chunks = 4096;
  std::uint64_t max_bytes = 64ull << 20;
};

namespace detail {

// Continuation messages name the next chunks: address and length.
inline std::pair<std::uint64_t, std::uint64_t> continuation_target(const source& src,
                                                                   const header_message& m,
                                                                   std::size_t O, std::size_t L,
                                                                   std::string_view object) {
  cursor c(src, m.body, m.address, object);
  const std::uint64_t address = c.address(O, "continuation address");
  const std::uint64_t length = c.uint(L, "continuation length");
  return {address, length};
}

}  // namespace detail

inline object_header read_object_header(const source& src, std::uint64_t address, std::size_t O,
                                        std::size_t L, std::string_view object,
                                        const header_limits& limits = {}) {
  object_header h;
  if (address == undefined_address || !src.contains(address, 16))
    src.fail("object header lies outside the file", address, object);
  const auto prefix = src.read(address, 16, "object header", object);
  std::uint64_t total = 0;
  std::set<std::uint64_t> seen{address};
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pending;  // continuation chunks to read

  // Walks the messages of chunk bytes [begin, end) of chunk `index`, which starts at `base`.
  const auto walk = [&](std::size_t index, std::size_t begin, std::size_t end, std::uint64_t base) {
    const std::span<const std::byte> chunk(h.chunks[index]);
    cursor c(src, chunk, base, object);
    c.seek(begin);
    const bool creation_order = h.version == 2 && (static_cast<unsigned>(prefix[5]) & 0x04);
    const std::size_t header_size = h.version == 1 ? 8 : creation_order ? 6 : 4;
    while (c.pos() < end) {
      const std::size_t start = c.pos();
      if (h.version == 2 && end - start < header_size)
        break;  // a gap too small for a message ends a version 2 chunk
      if (end - start < header_size) c.fail("object header message header overruns its chunk");
      header_message m;
      std::uint64_t size = 0;
      if (h.version == 1) {
        m.type = c.u16("message type");
        size = c.u16("message size");
        m.flags = c.u8("message flags");
        c.skip(3, "message header");
        if (size % 8 != 0) c.fail_at("version 1 message size is not a multiple of 8", start);
      } else {
        m.type = c.u8("message type");
        size = c.u16("message size");
        m.flags = c.u8("message flags");
      }
      if (creation_order) c.skip(2, "creation order");
      if (size > end - c.pos())
        c.fail_at("message of type " + std::to_string(m.type) + " (" + std::to_string(size) +
                      " bytes) overruns its object header chunk",
                  start);
      if ((m.flags & message_flag_shared) && (m.flags & message_flag_dont_share))
        c.fail_at("message is both shared and not shareable", start);
      if (m.flags & ~0xffu) c.fail_at("bad message flags", start);
      m.address = base + c.pos();
      m.body = chunk.subspan(c.pos(), static_cast<std::size_t>(size));
      c.skip(size, "message body");
      if (m.type == message_type::continuation) {
        const auto next = detail::continuation_target(src, m, O, L, object);
        pending.push_back(next);
      }
      if (h.messages.size() >= (1u << 20)) c.fail("object header has too many messages");
      h.messages.push_back(m);
    }
  };

  const auto add_chunk = [&](std::uint64_t at, std::uint64_t length) -> std::size_t {
    if (h.chunks.size() >= limits.max_chunks)
      src.fail("object header has more than " + std::to_string(limits.max_chunks) + " chunks", at,
               object);
    if (__builtin_add_overflow(total, length, &total) || total > limits.max_bytes)
      src.fail("object header chunks exceed " + std::to_string(limits.max_bytes) + " bytes", at,
               object);
    h.chunks.push_back(src.read(at, length, "object header chunk", object));
    return h.chunks.size() - 1;
  };

  if (prefix[0] == std::byte{1}) {
    h.version = 1;
    cursor c(src, prefix, address, object);
    c.skip(8, "object header");  // version, reserved, message count, reference count
    const std::uint32_t size = c.u32("object header size");
    std::uint64_t chunk_at = 0;
    if (__builtin_add_overflow(address, std::uint64_t{16}, &chunk_at))
      src.fail("object header address overflows", address, object);
    const auto index = add_chunk(chunk_at, size);
    walk(index, 0, size, chunk_at);
  } else if (std::memcmp(prefix.data(), "OHDR", 4) == 0) {
    h.version = 2;
    cursor c(src, prefix, address, object);
    c.skip(4, "signature");
    if (c.u8("object header version") != 2) c.fail_at("object header version is not 2", 4);
    const unsigned flags = c.u8("object header flags");
    if (flags & 0xc0) c.fail_at("unknown object header flags", 5);
    std::size_t fixed = 6;
    if (flags & 0x20) fixed += 16;  // access, modification, change and birth times
    if (flags & 0x10) fixed += 4;   // attribute storage phase change values
    const std::size_t width = std::size_t{1} << (flags & 0x03);
    const auto head = src.read(address, fixed + width, "object header", object);
    cursor hc(src, head, address, object);
    hc.skip(fixed, "object header");
    const std::uint64_t size = hc.uint(width, "size of chunk 0");
    std::uint64_t length = 0;
    if (__builtin_add_overflow(size, fixed + width + 4, &length))
      src.fail("object header size overflows", address, object);
    const auto index = add_chunk(address, length);
    const auto& chunk = h.chunks[index];
    std::uint32_t sum = 0;
    for (int i = 0; i < 4; ++i)
      sum |= static_cast<std::uint32_t>(chunk[chunk.size() - 4 + i]) << (8 * i);
    if (sum != lookup3(std::span(chunk).first(chunk.size() - 4)))
      throw error(errc::checksum_mismatch, "object header does not match its checksum", src.name(),
                  std::string(object), address + src.base() + chunk.size() - 4);
    walk(index, fixed + width, chunk.size() - 4, address);
  } else {
    src.fail("no object header (bad version or signature)", address, object);
  }

  for (std::size_t next = 0; next < pending.size(); ++next) {
    const auto [at, length] = pending[next];
    if (at == undefined_address || !seen.insert(at).second)
      src.fail("object header continuation loops or has no address", at, object);
    if (h.version == 1) {
      if (length == 0) src.fail("empty object header continuation chunk", at, object);
      const auto index = add_chunk(at, length);
      walk(index, 0, h.chunks[index].size(), at);
    } else {
      if (length < 8) src.fail("object header continuation chunk shorter than 8 bytes", at, object);
      const auto index = add_chunk(at, length);
      const auto& chunk = h.chunks[index];
      if (std::memcmp(chunk.data(), "OCHK", 4) != 0)
        src.fail("object header continuation chunk has no OCHK signature", at, object);
      std::uint32_t sum = 0;
      for (int i = 0; i < 4; ++i)
        sum |= static_cast<std::uint32_t>(chunk[chunk.size() - 4 + i]) << (8 * i);
      if (sum != lookup3(std::span(chunk).first(chunk.size() - 4)))
        throw error(errc::checksum_mismatch,
                    "object header continuation chunk does not match its checksum", src.name(),
                    std::string(object), at + src.base() + chunk.size() - 4);
      walk(index, 4, chunk.size() - 4, at);
    }
  }
  return h;
}

}  // namespace ckpt::hdf5::raw
