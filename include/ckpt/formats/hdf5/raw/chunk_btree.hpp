// SPDX-License-Identifier: Apache-2.0
#pragma once
// The version 1 B-tree ("TREE", type 1) that indexes a chunked dataset's chunks in the layouts
// libhdf5 writes with its oldest format bounds (layout message versions 1 to 3: what h5py, Keras
// and ckpt write). libhdf5 1.10 descends it by each node's own level, so a node that names itself
// or an ancestor as a child recurses until the stack overflows. This walks every inner node once:
// inside the file, levels decreasing by one from the root's, no node reached twice. The chunks the
// leaves point at are checked through libhdf5's chunk queries (dataset.hpp).

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

// Checks the chunk B-tree at `btree` of a dataset whose layout has `ndims` dimensions (its rank +
// 1); adds the bytes read to `bytes_read`.
inline void check_chunk_btree(const source& src, std::uint64_t btree, std::size_t O,
                              std::size_t ndims, std::string_view object,
                              std::uint64_t& bytes_read) {
  // A key: the chunk's stored size and filter mask, then its offset in each dimension.
  const std::uint64_t key_size = 8 + 8 * std::uint64_t{ndims};
  const std::uint64_t header_size = 8 + 2 * std::uint64_t{O};
  struct pending {
    std::uint64_t address;
    int level;  // expected; -1 for the root
  };
  std::set<std::uint64_t> seen;
  std::vector<pending> stack{{btree, -1}};
  while (!stack.empty()) {
    const pending p = stack.back();
    stack.pop_back();
    if (!seen.insert(p.address).second)
      src.fail("chunk B-tree node is reached twice", p.address, object);
    const auto head = src.read(p.address, header_size, "chunk B-tree node", object);
    cursor h(src, head, p.address, object);
    if (!h.match("TREE")) h.fail_at("chunk B-tree node has no TREE signature", 0);
    if (h.u8("B-tree node type") != 1) h.fail_at("chunk B-tree node is not of type 1", 4);
    const int level = h.u8("B-tree level");
    if (level > 64 || (p.level >= 0 && level != p.level))
      h.fail_at("chunk B-tree node has level " + std::to_string(level) +
                    (p.level >= 0 ? ", not " + std::to_string(p.level) : std::string()),
                5);
    const unsigned count = h.u16("B-tree entries used");
    bytes_read += head.size();
    if (level == 0) continue;  // a leaf's children are chunks
    const auto bytes = src.read(p.address + header_size, count * (key_size + O) + key_size,
                                "chunk B-tree node", object);
    bytes_read += bytes.size();
    cursor c(src, bytes, p.address + header_size, object);
    std::vector<std::uint64_t> children;
    for (unsigned i = 0; i < count; ++i) {
      c.skip(key_size, "chunk B-tree key");
      const std::size_t child_at = c.pos();
      const std::uint64_t child = c.address(O, "B-tree child address");
      if (child == undefined_address || !src.contains(child, 1))
        c.fail_at("chunk B-tree child lies outside the file", child_at);
      children.push_back(child);
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it)
      stack.push_back({*it, level - 1});
  }
}

}  // namespace ckpt::hdf5::raw
