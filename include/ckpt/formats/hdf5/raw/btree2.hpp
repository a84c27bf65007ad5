// SPDX-License-Identifier: Apache-2.0
#pragma once
// Version 2 B-trees ("BTHD" header, "BTIN" internal and "BTLF" leaf nodes), as they index a
// group's dense links and an object's dense attributes. libhdf5 1.10 verifies their checksums but
// trusts the rest: it sizes its per-level tables from the header's node size, record size and
// depth, and fills fixed-size record and child arrays with the record counts the parent nodes
// give. So the walk here checks every node (signature, version, type, checksum, record counts
// within what a node of that level holds, counts below each child adding up), visits each node
// once, and hands every record to the caller.

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/raw/lookup3.hpp"
#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

namespace btree2_type {
inline constexpr unsigned link_name = 5, link_order = 6, attribute_name = 8, attribute_order = 9;
}  // namespace btree2_type

struct walk_limits {
  std::uint64_t max_bytes = 256ull << 20;  // read, over the whole walk
  std::uint64_t max_blocks = 1u << 20;     // nodes or heap blocks
  std::uint64_t max_records = 1u << 22;

  // Counts `n` more bytes read at `at` into `bytes`, refusing the walk past max_bytes.
  void spend(std::uint64_t& bytes, std::uint64_t n, const source& src, std::string_view object,
             std::uint64_t at) const {
    bytes += n;
    if (bytes > max_bytes)
      throw error(
          errc::limit,
          "dense storage needs more than " + std::to_string(max_bytes) + " bytes of metadata read",
          src.name(), std::string(object), src.base() + at);
  }
};

namespace detail {

// Bytes libhdf5 uses to encode counts up to `limit` (H5VM_limit_enc_size).
inline unsigned count_width(std::uint64_t limit) {
  unsigned bits = 0;
  while (bits < 63 && (limit >> (bits + 1)) != 0) ++bits;
  return bits / 8 + 1;
}

inline std::uint32_t stored_u32(std::span<const std::byte> b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(b[at + i]) << (8 * i);
  return v;
}

}  // namespace detail

// Walks the v2 B-tree whose header is at `address`, which must be of `type` with records of
// `record_size` bytes, calling visit(record bytes, record address) for every record. `bytes_read`
// grows by what the walk reads.
template <class Visit>
void walk_btree2(const source& src, std::uint64_t address, unsigned type, std::size_t record_size,
                 std::size_t O, std::size_t L, std::string_view object, const walk_limits& limits,
                 std::uint64_t& bytes_read, Visit&& visit) {
  const auto fail = [&](const std::string& what, std::uint64_t at) -> void {
    src.fail("v2 B-tree: " + what, at, object);
  };
  const auto checksum_failed = [&](std::string what, std::uint64_t at) {
    throw error(errc::checksum_mismatch, "v2 B-tree " + what + " does not match its checksum",
                src.name(), std::string(object), src.base() + at);
  };
  const auto account = [&](std::uint64_t n, std::uint64_t at) {
    limits.spend(bytes_read, n, src, object, at);
  };

  const std::size_t header_size = 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + O + 2 + L + 4;
  const auto header = src.read(address, header_size, "v2 B-tree header", object);
  account(header_size, address);
  cursor h(src, header, address, object);
  if (!h.match("BTHD")) fail("no BTHD signature", address);
  if (h.u8("v2 B-tree version") != 0) fail("header version is not 0", address + 4);
  const unsigned found_type = h.u8("v2 B-tree type");
  if (found_type != type)
    fail("type " + std::to_string(found_type) + " where type " + std::to_string(type) + " belongs",
         address + 5);
  const std::uint64_t node_size = h.u32("v2 B-tree node size");
  const std::uint64_t rrec = h.u16("v2 B-tree record size");
  const unsigned depth = h.u16("v2 B-tree depth");
  const unsigned split = h.u8("v2 B-tree split percent");
  const unsigned merge = h.u8("v2 B-tree merge percent");
  const std::uint64_t root = h.address(O, "v2 B-tree root address");
  const std::uint64_t root_records = h.u16("v2 B-tree root record count");
  const std::uint64_t total_records = h.uint(L, "v2 B-tree record count");
  if (detail::stored_u32(header, header_size - 4) !=
      lookup3(std::span(header).first(header_size - 4)))
    checksum_failed("header", address + header_size - 4);
  if (rrec != record_size)
    fail("record size " + std::to_string(rrec) + ", not " + std::to_string(record_size),
         address + 10);
  // What libhdf5 writes is 512; more than 64 KiB would hold more records than its 16-bit counts.
  constexpr std::uint64_t prefix = 4 + 1 + 1 + 4;  // signature, version, type, checksum
  if (node_size < prefix + rrec || node_size > 65536)
    fail("node size " + std::to_string(node_size), address + 6);
  if (split < 1 || split > 100 || merge < 1 || merge > 100)
    fail("split and merge percentages " + std::to_string(split) + "/" + std::to_string(merge),
         address + 14);
  if (depth > 32) fail("depth " + std::to_string(depth), address + 12);

  // Per level, as libhdf5 derives them: records a node holds, records below a node at most, and
  // the widths of the counts in internal nodes' child pointers.
  struct level {
    std::uint64_t max_records = 0, cumulative = 0;
    unsigned cumulative_width = 0, pointer_size = 0;
  };
  std::vector<level> levels(depth + 1);
  levels[0].max_records = (node_size - prefix) / rrec;
  levels[0].cumulative = levels[0].max_records;
  const unsigned count_size = detail::count_width(levels[0].max_records);
  for (unsigned d = 1; d <= depth; ++d) {
    auto& l = levels[d];
    l.pointer_size = static_cast<unsigned>(O) + count_size + levels[d - 1].cumulative_width;
    if (node_size < prefix + l.pointer_size + rrec + l.pointer_size)
      fail("nodes too small for depth " + std::to_string(depth), address + 6);
    l.max_records = (node_size - (prefix + l.pointer_size)) / (rrec + l.pointer_size);
    std::uint64_t below = 0;
    if (__builtin_mul_overflow(l.max_records + 1, levels[d - 1].cumulative, &below) ||
        __builtin_add_overflow(below, l.max_records, &l.cumulative))
      fail("depth " + std::to_string(depth) + " overflows the record counts", address + 12);
    l.cumulative_width = detail::count_width(l.cumulative);
  }

  if (root == undefined_address) {
    if (root_records != 0 || total_records != 0)
      fail("records without a root node", address + 16 + O);
    return;
  }
  std::set<std::uint64_t> seen;
  std::uint64_t records_seen = 0;
  // Returns nothing; checks that the node at `at` of `d` holds `nrec` records and `all` in total.
  const auto node = [&](auto&& self, std::uint64_t at, unsigned d, std::uint64_t nrec,
                        std::uint64_t all, std::uint64_t pointer_at) -> void {
    if (at == undefined_address || !src.contains(at, node_size))
      fail("node lies outside the file", pointer_at);
    if (!seen.insert(at).second) fail("node reached twice", at);
    if (seen.size() > limits.max_blocks)
      throw error(errc::limit,
                  "v2 B-tree has more than " + std::to_string(limits.max_blocks) + " nodes",
                  src.name(), std::string(object), src.base() + at);
    if (nrec > levels[d].max_records)
      fail("node of " + std::to_string(nrec) + " records where at most " +
               std::to_string(levels[d].max_records) + " fit",
           pointer_at);
    if (d == 0 && all != nrec) fail("leaf's record total differs from its count", pointer_at);
    const auto bytes = src.read(at, node_size, "v2 B-tree node", object);
    account(node_size, at);
    const std::uint64_t used = 6 + nrec * rrec + (d > 0 ? (nrec + 1) * levels[d].pointer_size : 0);
    if (used + 4 > node_size) fail("node's records overrun the node", at);
    cursor c(src, bytes, at, object);
    if (!c.match(d > 0 ? "BTIN" : "BTLF"))
      fail(d > 0 ? "no BTIN signature on an internal node" : "no BTLF signature on a leaf", at);
    if (c.u8("v2 B-tree node version") != 0) fail("node version is not 0", at + 4);
    if (c.u8("v2 B-tree node type") != type) fail("node of another type", at + 5);
    if (detail::stored_u32(bytes, static_cast<std::size_t>(used)) !=
        lookup3(std::span(bytes).first(static_cast<std::size_t>(used))))
      checksum_failed(d > 0 ? "internal node" : "leaf", at + used);
    records_seen += nrec;
    if (records_seen > limits.max_records)
      throw error(errc::limit,
                  "v2 B-tree has more than " + std::to_string(limits.max_records) + " records",
                  src.name(), std::string(object), src.base() + at);
    for (std::uint64_t i = 0; i < nrec; ++i) {
      const std::size_t rat = static_cast<std::size_t>(6 + i * rrec);
      visit(std::span<const std::byte>(bytes).subspan(rat, static_cast<std::size_t>(rrec)),
            at + rat);
    }
    if (d == 0) return;
    c.seek(static_cast<std::size_t>(6 + nrec * rrec));
    std::uint64_t sum = nrec;
    for (std::uint64_t i = 0; i <= nrec; ++i) {
      const std::uint64_t entry_at = at + c.pos();
      const std::uint64_t child = c.address(O, "v2 B-tree child address");
      const std::uint64_t child_records = c.uint(count_size, "v2 B-tree child record count");
      std::uint64_t child_all = child_records;
      if (d > 1) child_all = c.uint(levels[d - 1].cumulative_width, "v2 B-tree child total");
      if (child_all > levels[d - 1].cumulative || child_all < child_records)
        fail("child's record total " + std::to_string(child_all), entry_at);
      sum += child_all;
      self(self, child, d - 1, child_records, child_all, entry_at);
    }
    if (sum != all)
      fail("node's records add up to " + std::to_string(sum) + ", not " + std::to_string(all),
           pointer_at);
  };
  if (total_records > levels[depth].cumulative)
    fail("record total " + std::to_string(total_records), address + 18 + O);
  node(node, root, depth, root_records, total_records, address + 16);
}

}  // namespace ckpt::hdf5::raw
