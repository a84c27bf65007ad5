// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fractal heaps ("FRHP" header, "FHIB" indirect and "FHDB" direct blocks), where a group's dense
// links and an object's dense attributes are stored as encoded messages. libhdf5 1.10 verifies the
// blocks' checksums, but derives its doubling table from the header's parameters unchecked (a row
// count below zero wraps into a huge allocation), trusts a direct block's own offset when it finds
// an object in it, and indexes an indirect block's entries with rows computed from the object's
// offset without comparing them to the block's row count. So the whole managed space is walked
// here first: every block reached from the root once, with its signature, heap address, offset in
// the heap (as its place in the table gives it) and checksum; then each heap ID the B-tree records
// hold is resolved against the blocks found.

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/raw/btree2.hpp"
#include "ckpt/formats/hdf5/raw/lookup3.hpp"
#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

struct fractal_heap {
  std::uint64_t address = undefined_address;
  std::size_t id_length = 0, offset_size = 0, length_size = 0;
  std::uint64_t max_managed = 0;   // largest object kept in a direct block
  std::size_t block_overhead = 0;  // a direct block's bytes before its first object
  struct direct_block {
    std::uint64_t address = 0, size = 0;
    std::vector<std::byte> bytes;
  };
  std::map<std::uint64_t, direct_block> blocks;  // by offset in the heap's managed space
};

// One object of a heap: its bytes (copied) and where they start in the file.
struct heap_object {
  std::vector<std::byte> bytes;
  std::uint64_t address = 0;
};

namespace detail {

inline bool power_of_two(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

inline unsigned log2_floor(std::uint64_t v) {
  unsigned bits = 0;
  while (v >>= 1) ++bits;
  return bits;
}

}  // namespace detail

// Reads the fractal heap at `address` and every block of its managed space. The heap must use
// heap IDs of `id_length` bytes (what libhdf5 writes for the index records that will be resolved
// against it). Huge objects and filtered heaps are not supported.
inline fractal_heap read_fractal_heap(const source& src, std::uint64_t address,
                                      std::size_t id_length, std::size_t O, std::size_t L,
                                      std::string_view object, const walk_limits& limits,
                                      std::uint64_t& bytes_read) {
  const auto fail = [&](const std::string& what, std::uint64_t at) -> void {
    src.fail("fractal heap: " + what, at, object);
  };
  const auto account = [&](std::uint64_t n, std::uint64_t at) {
    limits.spend(bytes_read, n, src, object, at);
  };
  const auto checksum_failed = [&](const std::string& what, std::uint64_t at) {
    throw error(errc::checksum_mismatch, "fractal heap " + what + " does not match its checksum",
                src.name(), std::string(object), src.base() + at);
  };

  fractal_heap heap;
  heap.address = address;
  const std::size_t header_size = 22 + 12 * L + 3 * O + 4;
  const auto header = src.read(address, header_size, "fractal heap header", object);
  account(header_size, address);
  cursor h(src, header, address, object);
  if (!h.match("FRHP")) fail("no FRHP signature", address);
  if (h.u8("fractal heap version") != 0) fail("header version is not 0", address + 4);
  heap.id_length = h.u16("heap ID length");
  const unsigned filter_length = h.u16("I/O filter length");
  if (filter_length != 0) {
    // The filtered root block's size and mask and the pipeline sit before the checksum: a damaged
    // length is told from a filtered heap by it.
    const std::size_t filtered = header_size + L + 4 + filter_length;
    if (src.contains(address, filtered)) {
      const auto whole = src.read(address, filtered, "fractal heap header", object);
      if (detail::stored_u32(whole, filtered - 4) != lookup3(std::span(whole).first(filtered - 4)))
        checksum_failed("header", address + filtered - 4);
    }
    throw error(errc::unsupported, "fractal heap with I/O filters, which ckpt does not check",
                src.name(), std::string(object), src.base() + address + 7);
  }
  const unsigned flags = h.u8("fractal heap flags");
  if (flags & ~0x03u) fail("unknown flags", address + 9);
  const bool checksummed_blocks = flags & 0x02;
  heap.max_managed = h.u32("maximum managed object size");
  h.skip(L, "next huge object ID");
  const std::size_t huge_at = h.pos();
  const std::uint64_t huge_index = h.address(O, "huge object index address");
  h.skip(L + O, "free space fields");
  h.skip(8 * L, "heap statistics");
  const std::size_t table_at = h.pos();
  const std::uint64_t width = h.u16("doubling table width");
  const std::uint64_t start = h.uint(L, "starting block size");
  const std::uint64_t max_direct = h.uint(L, "maximum direct block size");
  const unsigned max_bits = h.u16("maximum heap size");
  h.u16("starting root rows");
  const std::uint64_t root = h.address(O, "root block address");
  const unsigned root_rows = h.u16("root rows");
  if (detail::stored_u32(header, header_size - 4) !=
      lookup3(std::span(header).first(header_size - 4)))
    checksum_failed("header", address + header_size - 4);
  // libhdf5 walks (to delete it) a huge object index holding no objects each time it closes the
  // heap, even in a file open read-only; ckpt checks no huge objects, so refuses the index.
  if (huge_index != undefined_address) {
    if (!src.contains(huge_index, 1))
      fail("huge object index lies outside the file", address + huge_at);
    throw error(errc::unsupported, "fractal heap indexes huge objects, which ckpt does not check",
                src.name(), std::string(object), src.base() + address + huge_at);
  }
  if (heap.id_length != id_length)
    fail("heap IDs of " + std::to_string(heap.id_length) + " bytes, not " +
             std::to_string(id_length),
         address + 5);

  // The doubling table, derived as libhdf5 derives it, each step checked.
  const std::uint64_t at = address + table_at;
  if (!detail::power_of_two(width) || width > 65536)
    fail("doubling table width " + std::to_string(width), at);
  if (!detail::power_of_two(start) || !detail::power_of_two(max_direct) || max_direct < start ||
      max_direct > (std::uint64_t{1} << 31))
    fail("block sizes " + std::to_string(start) + ".." + std::to_string(max_direct), at + 2);
  const unsigned start_bits = detail::log2_floor(start), width_bits = detail::log2_floor(width);
  const unsigned first_row_bits = start_bits + width_bits;
  if (max_bits < first_row_bits || max_bits > 8 * L || max_bits > 64)
    fail("maximum heap size of 2^" + std::to_string(max_bits) + " bytes", at + 2 + 2 * L);
  const unsigned max_rows = max_bits - first_row_bits + 1;
  const unsigned direct_rows = detail::log2_floor(max_direct) - start_bits + 2;
  if (root_rows > max_rows)
    fail("root of " + std::to_string(root_rows) + " rows where at most " +
             std::to_string(max_rows) + " fit",
         at + 6 + 2 * L + O);
  if (heap.max_managed == 0 || heap.max_managed > max_direct)
    fail("maximum managed object size " + std::to_string(heap.max_managed), address + 10);
  heap.offset_size = (max_bits + 7) / 8;
  heap.length_size = std::min<std::size_t>((detail::log2_floor(max_direct) + 7) / 8,
                                           detail::count_width(heap.max_managed));
  if (1 + heap.offset_size + heap.length_size > heap.id_length)
    fail("heap IDs too short for the heap's offsets and lengths", address + 5);
  heap.block_overhead = 5 + O + heap.offset_size + (checksummed_blocks ? 4 : 0);
  if (start <= heap.block_overhead)
    fail("starting block size " + std::to_string(start) + " leaves no room for objects", at + 2);
  const auto row_size = [&](unsigned row) { return row == 0 ? start : start << (row - 1); };
  const auto row_offset = [&](unsigned row) {
    return row == 0 ? std::uint64_t{0} : (start * width) << (row - 1);
  };

  if (root == undefined_address) return heap;  // no managed objects
  std::set<std::uint64_t> seen;
  const auto visit_block = [&](std::uint64_t block, std::uint64_t pointer_at) {
    if (!seen.insert(block).second) fail("block reached twice", pointer_at);
    if (seen.size() > limits.max_blocks)
      throw error(errc::limit,
                  "fractal heap has more than " + std::to_string(limits.max_blocks) + " blocks",
                  src.name(), std::string(object), src.base() + block);
  };
  // Checks the block prefix shared by direct and indirect blocks.
  const auto prefix = [&](cursor& c, const char* signature, std::uint64_t block,
                          std::uint64_t offset) {
    if (!c.match(signature)) fail(std::string("no ") + signature + " signature", block);
    if (c.u8("block version") != 0) fail("block version is not 0", block + 4);
    if (c.address(O, "block's heap address") != address) fail("block of another heap", block + 5);
    const std::uint64_t stored = c.uint(heap.offset_size, "block offset");
    if (stored != offset)
      fail("block claims heap offset " + std::to_string(stored) + " at offset " +
               std::to_string(offset),
           block + 5 + O);
  };
  const auto direct = [&](std::uint64_t block, std::uint64_t size, std::uint64_t offset,
                          std::uint64_t pointer_at) {
    visit_block(block, pointer_at);
    if (!src.contains(block, size)) fail("direct block lies outside the file", pointer_at);
    auto bytes = src.read(block, size, "fractal heap direct block", object);
    account(size, block);
    cursor c(src, bytes, block, object);
    prefix(c, "FHDB", block, offset);
    if (checksummed_blocks) {
      const std::size_t sum_at = c.pos();
      const std::uint32_t stored = c.u32("direct block checksum");
      std::vector<std::byte> zeroed = bytes;
      for (int i = 0; i < 4; ++i) zeroed[sum_at + i] = std::byte{0};
      if (stored != lookup3(zeroed)) checksum_failed("direct block", block + sum_at);
    }
    heap.blocks.emplace(offset, fractal_heap::direct_block{block, size, std::move(bytes)});
  };
  const auto indirect = [&](auto&& self, std::uint64_t block, unsigned rows, std::uint64_t offset,
                            std::uint64_t pointer_at) -> void {
    visit_block(block, pointer_at);
    const std::uint64_t entries = rows * width;
    const std::uint64_t size = 5 + O + heap.offset_size + entries * O + 4;
    if (!src.contains(block, size)) fail("indirect block lies outside the file", pointer_at);
    const auto bytes = src.read(block, size, "fractal heap indirect block", object);
    account(size, block);
    cursor c(src, bytes, block, object);
    prefix(c, "FHIB", block, offset);
    if (detail::stored_u32(bytes, static_cast<std::size_t>(size - 4)) !=
        lookup3(std::span(bytes).first(static_cast<std::size_t>(size - 4))))
      checksum_failed("indirect block", block + size - 4);
    for (std::uint64_t e = 0; e < entries; ++e) {
      const std::uint64_t entry_at = block + c.pos();
      const std::uint64_t child = c.address(O, "child block address");
      if (child == undefined_address) continue;
      const unsigned row = static_cast<unsigned>(e / width);
      const std::uint64_t child_offset = offset + row_offset(row) + (e % width) * row_size(row);
      if (row < direct_rows) {
        direct(child, row_size(row), child_offset, entry_at);
      } else {
        // A child indirect block spans one block of its row: log2 of that size, less the first
        // row's bits, plus one rows, which is fewer than its parent's.
        const unsigned child_rows = start_bits + row - 1 - first_row_bits + 1;
        if (row < width_bits + 1 || child_rows >= rows)
          fail("indirect block row " + std::to_string(row) + " cannot hold an indirect block",
               entry_at);
        self(self, child, child_rows, child_offset, entry_at);
      }
    }
  };
  if (root_rows == 0)
    direct(root, start, 0, address + table_at + 6 + 2 * L);
  else
    indirect(indirect, root, root_rows, 0, address + table_at + 6 + 2 * L);
  return heap;
}

// The object heap ID `id` (read from file address `id_address`) names in `heap`: a managed object
// inside the direct block holding its offset, past the block's prefix, or a tiny object inside
// the ID itself. Huge objects live outside the heap's blocks and are not supported.
inline heap_object read_heap_object(const source& src, const fractal_heap& heap,
                                    std::span<const std::byte> id, std::uint64_t id_address,
                                    std::string_view object) {
  cursor c(src, id, id_address, object);
  const unsigned head = c.u8("heap ID flags");
  if (head & 0xc0) c.fail_at("heap ID version " + std::to_string(head >> 6), 0);
  heap_object out;
  switch (head & 0x30) {
    case 0x00: {
      const std::uint64_t offset = c.uint(heap.offset_size, "heap object offset");
      const std::uint64_t length = c.uint(heap.length_size, "heap object length");
      if (length == 0 || length > heap.max_managed)
        c.fail_at("heap object of " + std::to_string(length) + " bytes", 0);
      auto it = heap.blocks.upper_bound(offset);
      if (offset == 0 || it == heap.blocks.begin())
        c.fail_at("heap object offset " + std::to_string(offset) + " is in no direct block", 0);
      --it;
      const auto& b = it->second;
      const std::uint64_t inside = offset - it->first;
      if (inside >= b.size)
        c.fail_at("heap object offset " + std::to_string(offset) + " is in no direct block", 0);
      if (inside < heap.block_overhead || length > b.size - inside)
        c.fail_at("heap object (" + std::to_string(length) + " bytes at " + std::to_string(inside) +
                      ") lies outside its " + std::to_string(b.size) + "-byte direct block",
                  0);
      const auto start = b.bytes.begin() + static_cast<std::ptrdiff_t>(inside);
      out.bytes.assign(start, start + static_cast<std::ptrdiff_t>(length));
      out.address = b.address + inside;
      return out;
    }
    case 0x20: {
      // The length is kept in the flags' low bits, and in a second byte too when the IDs are long
      // enough to hold more than 17 bytes.
      std::uint64_t length = (head & 0x0f) + 1;
      if (heap.id_length > 18) length = ((head & 0x0f) << 8 | c.u8("tiny object length")) + 1;
      c.need(length, "tiny heap object");
      out.bytes.assign(id.begin() + static_cast<std::ptrdiff_t>(c.pos()),
                       id.begin() + static_cast<std::ptrdiff_t>(c.pos() + length));
      out.address = id_address + c.pos();
      return out;
    }
    case 0x10:
      throw error(errc::unsupported, "huge object in a fractal heap, which ckpt does not check",
                  src.name(), std::string(object), src.base() + id_address);
    default:
      c.fail_at("heap ID of unknown type", 0);
  }
}

}  // namespace ckpt::hdf5::raw
