// SPDX-License-Identifier: Apache-2.0
#pragma once
// Old-style HDF5 groups (what h5py and Keras write by default): a symbol table message names a
// version 1 B-tree ("TREE", type 0) whose leaves are symbol table nodes ("SNOD"), and a local heap
// ("HEAP") holding the link names. libhdf5 1.10 walks these with few checks (a node's symbol count
// indexes a fixed array; names are read up to a NUL wherever it is; the heap's free list is
// followed without loop detection). This checks every node, entry, key and name: nodes inside the
// file and of the size libhdf5 reads, counts within capacity, levels decreasing by one (so no
// loops), names inside the heap's data segment and NUL-terminated there.

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

struct local_heap {
  std::uint64_t address = undefined_address;
  std::vector<std::byte> data;  // the data segment

  // Fails unless `offset` starts a NUL-terminated string inside the data segment.
  std::string_view name_at(const source& src, std::uint64_t offset, std::string_view object,
                           std::string_view what) const {
    if (offset >= data.size())
      src.fail(std::string(what) + " offset " + std::to_string(offset) +
                   " lies outside the local heap's " + std::to_string(data.size()) + " bytes",
               address, object);
    const auto* begin = reinterpret_cast<const char*>(data.data()) + offset;
    const void* nul = std::memchr(begin, 0, data.size() - static_cast<std::size_t>(offset));
    if (!nul)
      src.fail(std::string(what) + " is not NUL-terminated inside the local heap", address, object);
    return {begin, static_cast<std::size_t>(static_cast<const char*>(nul) - begin)};
  }
};

inline local_heap read_local_heap(const source& src, std::uint64_t address, std::size_t O,
                                  std::size_t L, std::string_view object) {
  local_heap h;
  h.address = address;
  const auto prefix = src.read(address, 8 + 2 * L + O, "local heap", object);
  cursor c(src, prefix, address, object);
  if (!c.match("HEAP")) c.fail_at("local heap has no HEAP signature", 0);
  if (c.u8("local heap version") != 0) c.fail_at("local heap version is not 0", 4);
  c.skip(3, "local heap reserved bytes");
  const std::uint64_t size = c.uint(L, "local heap data size");
  std::uint64_t free = c.uint(L, "local heap free list offset");
  const std::uint64_t data_at = c.address(O, "local heap data address");
  h.data = src.read(data_at, size, "local heap data segment", object);
  // The free list: each block holds the offset of the next (1 or all ones ends it) and its size.
  const std::uint64_t end_marker = L >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * L)) - 1;
  std::set<std::uint64_t> seen;
  while (free != 1 && free != end_marker) {
    if (!seen.insert(free).second) src.fail("local heap free list loops", address, object);
    if (free > size || size - free < 2 * L)
      src.fail("local heap free block lies outside the data segment", address, object);
    cursor b(src, h.data, data_at, object);
    b.seek(static_cast<std::size_t>(free));
    const std::uint64_t next = b.uint(L, "free block link");
    const std::uint64_t block = b.uint(L, "free block size");
    if (block > size - free)
      src.fail("local heap free block overruns the data segment", address, object);
    free = next;
  }
  return h;
}

struct symbol_table_entry {
  std::string name;
  std::uint64_t header = undefined_address;
};

struct symbol_table_limits {
  std::size_t max_entries = 10'000'000;
};

// Checks the whole symbol table (B-tree at `btree`, names in the heap at `heap_address`) and
// returns its entries. `leaf_k` and `internal_k` are the file's group node capacities.
inline std::vector<symbol_table_entry> read_symbol_table(
    const source& src, std::uint64_t btree, std::uint64_t heap_address, std::size_t O,
    std::size_t L, unsigned leaf_k, unsigned internal_k, std::string_view object,
    std::uint64_t* bytes_read = nullptr, const symbol_table_limits& limits = {}) {
  const local_heap heap = read_local_heap(src, heap_address, O, L, object);
  if (bytes_read) *bytes_read += heap.data.size();
  std::vector<symbol_table_entry> entries;
  std::set<std::uint64_t> seen;
  const std::uint64_t node_size = 8 + 2 * O + 2ull * internal_k * O + (2ull * internal_k + 1) * L;
  const std::uint64_t snod_size = 8 + 2ull * leaf_k * (2 * O + 24);

  const auto read_snod = [&](std::uint64_t at) {
    if (!seen.insert(at).second) src.fail("symbol table node is reached twice", at, object);
    const auto bytes = src.read(at, snod_size, "symbol table node", object);
    if (bytes_read) *bytes_read += bytes.size();
    cursor c(src, bytes, at, object);
    if (!c.match("SNOD")) c.fail_at("symbol table node has no SNOD signature", 0);
    if (c.u8("symbol table node version") != 1) c.fail_at("symbol table node version is not 1", 4);
    c.skip(1, "reserved");
    const unsigned count = c.u16("symbol count");
    if (count > 2u * leaf_k)
      c.fail_at("symbol table node holds " + std::to_string(count) + " symbols, more than its " +
                    std::to_string(2u * leaf_k),
                6);
    for (unsigned i = 0; i < count; ++i) {
      symbol_table_entry e;
      const std::uint64_t name = c.uint(O, "link name offset");
      e.name = std::string(heap.name_at(src, name, object, "link name"));
      const std::size_t header_at = c.pos();
      e.header = c.address(O, "object header address");
      if (e.header == undefined_address || !src.contains(e.header, 1))
        c.fail_at("symbol table entry '" + e.name + "' points outside the file", header_at);
      const std::uint32_t cache = c.u32("cache type");
      c.skip(4, "reserved");
      if (cache == 1) {
        for (int k = 0; k < 2; ++k) {
          const std::uint64_t a = c.address(O, "cached symbol table address");
          if (a == undefined_address || !src.contains(a, 1))
            c.fail_at("cached symbol table address lies outside the file", c.pos() - O);
        }
        c.skip(16 - 2 * O, "scratch pad");
      } else if (cache == 2) {
        (void)heap.name_at(src, c.u32("soft link offset"), object, "soft link value");
        c.skip(12, "scratch pad");
      } else if (cache == 0) {
        c.skip(16, "scratch pad");
      } else {
        c.fail("symbol table entry has cache type " + std::to_string(cache));
      }
      if (entries.size() >= limits.max_entries)
        throw error(errc::limit,
                    "group has more than " + std::to_string(limits.max_entries) + " members",
                    src.name(), std::string(object));
      entries.push_back(std::move(e));
    }
  };

  // Depth-first over the B-tree, levels strictly decreasing to 0 (at most 64 levels).
  struct pending {
    std::uint64_t address;
    int level;  // expected; -1 for the root
  };
  std::vector<pending> stack{{btree, -1}};
  while (!stack.empty()) {
    const pending p = stack.back();
    stack.pop_back();
    if (!seen.insert(p.address).second)
      src.fail("group B-tree node is reached twice", p.address, object);
    const auto bytes = src.read(p.address, node_size, "group B-tree node", object);
    if (bytes_read) *bytes_read += bytes.size();
    cursor c(src, bytes, p.address, object);
    if (!c.match("TREE")) c.fail_at("group B-tree node has no TREE signature", 0);
    if (c.u8("B-tree node type") != 0) c.fail_at("group B-tree node is not of type 0", 4);
    const int level = c.u8("B-tree level");
    if (level > 64 || (p.level >= 0 && level != p.level))
      c.fail_at("group B-tree node has level " + std::to_string(level) +
                    (p.level >= 0 ? ", not " + std::to_string(p.level) : std::string()),
                5);
    const unsigned count = c.u16("B-tree entries used");
    if (count > 2u * internal_k)
      c.fail_at("group B-tree node has " + std::to_string(count) + " children, more than its " +
                    std::to_string(2u * internal_k),
                6);
    c.skip(2 * O, "sibling addresses");
    std::vector<std::uint64_t> children;
    for (unsigned i = 0; i <= count; ++i) {
      (void)heap.name_at(src, c.uint(L, "B-tree key"), object, "group B-tree key");
      if (i == count) break;
      const std::size_t child_at = c.pos();
      const std::uint64_t child = c.address(O, "B-tree child address");
      if (child == undefined_address || !src.contains(child, 1))
        c.fail_at("group B-tree child lies outside the file", child_at);
      children.push_back(child);
    }
    // Read in order: leaves now, inner nodes pushed in reverse so they pop in order.
    if (level == 0) {
      for (auto child : children) read_snod(child);
    } else {
      for (auto it = children.rbegin(); it != children.rend(); ++it)
        stack.push_back({*it, level - 1});
    }
  }
  return entries;
}

}  // namespace ckpt::hdf5::raw
