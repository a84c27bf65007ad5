// SPDX-License-Identifier: Apache-2.0
#pragma once
// Crafted HDF5 files for the hostile tests: files written by libhdf5 (latest format, so that
// links and attributes are link and attribute messages, in object headers or in dense storage),
// then patched byte by byte where a test needs damage, with every checksum recomputed afterwards
// (raw::lookup3) so that the damage reaches the checks behind the checksums.

#include <hdf5.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "ckpt/formats/hdf5/raw/lookup3.hpp"
#include "ckpt/hdf5.hpp"
#include "files.hpp"
#include "hdf5_test_support.hpp"

namespace ckpt_test::crafting {

namespace fs = std::filesystem;

// ---- bytes ----

inline std::uint64_t get(const std::string& b, std::size_t at, std::size_t width) {
  REQUIRE(at + width <= b.size());
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}
inline void put(std::string& b, std::size_t at, std::size_t width, std::uint64_t v) {
  REQUIRE(at + width <= b.size());
  for (std::size_t i = 0; i < width; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline std::uint32_t checksum(const std::string& b, std::size_t at, std::size_t length) {
  return ckpt::hdf5::raw::lookup3(
      std::span(reinterpret_cast<const std::byte*>(b.data()) + at, length));
}

// True if `length` bytes at `at` lie inside `b` (addresses read from damaged files may be
// anything).
inline bool inside(const std::string& b, std::uint64_t at, std::uint64_t length) {
  return at <= b.size() && length <= b.size() - at;
}

// Offsets of every occurrence of `needle`.
inline std::vector<std::size_t> find_all(const std::string& b, std::string_view needle) {
  std::vector<std::size_t> found;
  for (auto at = b.find(needle); at != std::string::npos; at = b.find(needle, at + 1))
    found.push_back(at);
  return found;
}

// The one occurrence of `needle`; the test fails if there is not exactly one.
inline std::size_t find_one(const std::string& b, std::string_view needle) {
  const auto all = find_all(b, needle);
  INFO("looking for " << needle);
  REQUIRE(all.size() == 1);
  return all.front();
}

// ---- files written by libhdf5 (sizes of offsets and lengths 8) ----

struct group_file {
  int datasets = 2;          // float32 [2] datasets d00, d01, ... in group /g
  bool external = false;     // external link /g/external_link_1 -> other.h5:/target
  bool soft = false;         // soft link /g/soft_link_1 -> /g/d00
  bool track_order = false;  // /g tracks and indexes creation order
  int attributes = 0;        // int64 attributes attribute_00, ... on /g/d00 (> 8: dense)
  bool strings = false;      // and a variable-length string attribute "names" (global heap)
};

// Writes `spec` in the newest file format (superblock v3, "OHDR" headers, link messages): up to 8
// links a group keeps in its header, more in dense storage; the same for attributes.
inline void write_group_file(const fs::path& path, const group_file& spec) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  REQUIRE(file >= 0);
  const hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  if (spec.track_order)
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  const hid_t g = H5Gcreate2(file, "g", H5P_DEFAULT, gcpl, H5P_DEFAULT);
  REQUIRE(g >= 0);
  const hsize_t two = 2;
  const hid_t space = H5Screate_simple(1, &two, nullptr);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  for (int i = 0; i < spec.datasets; ++i) {
    const std::string name = (i < 10 ? "d0" : "d") + std::to_string(i);
    const hid_t d =
        H5Dcreate2(g, name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(d >= 0);
    const float values[2] = {static_cast<float>(i), static_cast<float>(i) + 0.5f};
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    for (int a = 0; i == 0 && a < spec.attributes; ++a) {
      const std::string an = (a < 10 ? "attribute_0" : "attribute_") + std::to_string(a);
      const hid_t at = H5Acreate2(d, an.c_str(), H5T_STD_I64LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
      REQUIRE(at >= 0);
      const std::int64_t v = 1000 + a;
      H5Awrite(at, H5T_NATIVE_INT64, &v);
      H5Aclose(at);
    }
    if (i == 0 && spec.strings) {
      const hid_t str = H5Tcopy(H5T_C_S1);
      H5Tset_size(str, H5T_VARIABLE);
      const hid_t at = H5Acreate2(d, "names", str, space, H5P_DEFAULT, H5P_DEFAULT);
      REQUIRE(at >= 0);
      const char* names[2] = {"first", "second one"};
      H5Awrite(at, str, names);
      H5Aclose(at);
      H5Tclose(str);
    }
    H5Dclose(d);
  }
  if (spec.external)
    REQUIRE(H5Lcreate_external("other.h5", "/target", g, "external_link_1", H5P_DEFAULT,
                               H5P_DEFAULT) >= 0);
  if (spec.soft) REQUIRE(H5Lcreate_soft("/g/d00", g, "soft_link_1", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  H5Sclose(scalar);
  H5Sclose(space);
  H5Gclose(g);
  H5Pclose(gcpl);
  REQUIRE(H5Fclose(file) >= 0);
  H5Pclose(fapl);
}

// A file whose superblock extension holds what `fcpl_setup` asks for (a file space strategy, a
// shared message table), with one dataset /w.
template <class Setup>
void write_extension_file(const fs::path& path, Setup fcpl_setup) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  fcpl_setup(fcpl);
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
  REQUIRE(file >= 0);
  const hsize_t two = 2;
  const hid_t space = H5Screate_simple(1, &two, nullptr);
  const hid_t d =
      H5Dcreate2(file, "w", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const float values[2] = {1.5f, -2.5f};
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose(d);
  H5Sclose(space);
  REQUIRE(H5Fclose(file) >= 0);
  H5Pclose(fcpl);
  H5Pclose(fapl);
}

// ---- structures of the newest format ----

// Superblock versions 2 and 3: extension address at 20, root object header at 36.
inline std::size_t superblock_extension(const std::string& b) {
  REQUIRE(b.size() > 48);
  REQUIRE((b[8] == 2 || b[8] == 3));
  return static_cast<std::size_t>(get(b, 20, 8));
}

struct v2_message {
  unsigned type = 0;
  std::size_t header_at = 0, body_at = 0, size = 0;
};

// A version 2 object header's first chunk: its messages and where its checksum lies.
struct v2_header {
  std::size_t address = 0, checksum_at = 0, message_header_size = 4;
  std::vector<v2_message> messages;
};

// Parses the header at `address` into `h`; false if it does not fit in `b` (a damaged file).
inline bool try_parse_v2_header(const std::string& b, std::size_t address, v2_header& h) {
  if (!inside(b, address, 6) || b.compare(address, 4, "OHDR") != 0) return false;
  h = {};
  h.address = address;
  const unsigned flags = static_cast<unsigned char>(b[address + 5]);
  std::size_t at = address + 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
  const std::size_t width = std::size_t{1} << (flags & 0x03);
  if (!inside(b, at, width)) return false;
  const std::uint64_t size = get(b, at, width);
  at += width;
  if (!inside(b, at, size + 4) || size > b.size()) return false;
  h.checksum_at = at + static_cast<std::size_t>(size);
  h.message_header_size = (flags & 0x04) ? 6 : 4;
  while (at + h.message_header_size <= h.checksum_at) {
    v2_message m;
    m.header_at = at;
    m.type = static_cast<unsigned char>(b[at]);
    m.size = static_cast<std::size_t>(get(b, at + 1, 2));
    m.body_at = at + h.message_header_size;
    if (m.body_at + m.size > h.checksum_at) break;
    h.messages.push_back(m);
    at = m.body_at + m.size;
  }
  return true;
}

inline v2_header parse_v2_header(const std::string& b, std::size_t address) {
  v2_header h;
  INFO("object header at " << address);
  REQUIRE(try_parse_v2_header(b, address, h));
  return h;
}

inline const v2_message& message_of_type(const v2_header& h, unsigned type) {
  for (const auto& m : h.messages)
    if (m.type == type) return m;
  FAIL("no message of type " << type << " in the object header at " << h.address);
  throw std::logic_error("unreachable");
}

// Makes message `m` `size` bytes long and fills the bytes it gives up with a NIL message.
inline void shrink_message(std::string& b, const v2_header& h, const v2_message& m,
                           std::size_t size) {
  REQUIRE(m.size >= size + h.message_header_size);
  put(b, m.header_at + 1, 2, size);
  const std::size_t nil = m.body_at + size;
  for (std::size_t i = nil; i < m.body_at + m.size; ++i) b[i] = 0;
  put(b, nil + 1, 2, m.size - size - h.message_header_size);
}

// ---- checksums ----

// Fractal heap direct blocks of the heap whose header is at `heap`: {address, size}. Covers a
// root direct block and the direct rows of a root indirect block (what small heaps have).
inline std::vector<std::pair<std::size_t, std::size_t>> heap_direct_blocks(const std::string& b,
                                                                           std::size_t heap) {
  std::vector<std::pair<std::size_t, std::size_t>> blocks;
  const std::size_t table = heap + 14 + 10 * 8 + 2 * 8;
  const std::uint64_t width = get(b, table, 2), start = get(b, table + 2, 8),
                      max_direct = get(b, table + 10, 8), max_bits = get(b, table + 18, 2);
  const std::uint64_t root = get(b, table + 22, 8), rows = get(b, table + 30, 2);
  if (root == ~std::uint64_t{0}) return blocks;
  if (rows == 0) {
    blocks.emplace_back(root, start);
    return blocks;
  }
  if (!inside(b, root, 4) || b.compare(root, 4, "FHIB") != 0) return blocks;
  unsigned start_bits = 0, direct_bits = 0;
  while (start_bits < 40 && (std::uint64_t{1} << start_bits) < start) ++start_bits;
  while (direct_bits < 40 && (std::uint64_t{1} << direct_bits) < max_direct) ++direct_bits;
  if (direct_bits < start_bits || width == 0) return blocks;
  const std::uint64_t direct_rows = direct_bits - start_bits + 2;
  const std::size_t entries = static_cast<std::size_t>(root) + 5 + 8 + (max_bits + 7) / 8;
  for (std::uint64_t e = 0; e < std::min(rows, direct_rows) * width; ++e) {
    if (!inside(b, entries + 8 * e, 8)) break;
    const std::uint64_t child = get(b, entries + 8 * e, 8);
    const std::uint64_t row = e / width;
    if (child != ~std::uint64_t{0} && row < 24)
      blocks.emplace_back(child, row == 0 ? start : start << (row - 1));
  }
  return blocks;
}

// Recomputes the checksum of every structure of the newest format that a test may have patched:
// object headers' chunks, fractal heap headers, their root indirect blocks and direct blocks, v2
// B-tree headers, their roots and, under a root internal node, its leaves.
inline void refresh_checksums(std::string& b) {
  for (auto at : find_all(b, "OHDR")) {
    v2_header h;
    if (b[at + 4] != 2 || !try_parse_v2_header(b, at, h)) continue;
    put(b, h.checksum_at, 4, checksum(b, at, h.checksum_at - at));
    for (const auto& m : h.messages) {
      // A continuation: address and length of an "OCHK" chunk.
      if (m.type != 0x10 || m.size < 16) continue;
      const auto chunk = static_cast<std::size_t>(get(b, m.body_at, 8));
      const auto length = static_cast<std::size_t>(get(b, m.body_at + 8, 8));
      if (length >= 8 && inside(b, chunk, length) && b.compare(chunk, 4, "OCHK") == 0)
        put(b, chunk + length - 4, 4, checksum(b, chunk, length - 4));
    }
  }
  for (auto heap : find_all(b, "FRHP")) {
    const std::size_t header_size = 22 + 12 * 8 + 3 * 8;
    if (!inside(b, heap, header_size + 4)) continue;
    put(b, heap + header_size, 4, checksum(b, heap, header_size));
    const bool checksummed = b[heap + 9] & 0x02;
    const std::size_t table = heap + 14 + 10 * 8 + 2 * 8;
    const std::uint64_t width = get(b, table, 2), max_bits = get(b, table + 18, 2);
    const std::uint64_t root = get(b, table + 22, 8), rows = get(b, table + 30, 2);
    const std::size_t offset_size = static_cast<std::size_t>((max_bits + 7) / 8);
    if (checksummed)
      for (auto [block, size] : heap_direct_blocks(b, heap)) {
        const std::size_t sum_at = block + 5 + 8 + offset_size;
        if (!inside(b, block, size) || size < sum_at - block + 4 ||
            b.compare(block, 4, "FHDB") != 0)
          continue;
        put(b, sum_at, 4, 0);
        put(b, sum_at, 4, checksum(b, block, size));
      }
    const std::size_t size = 5 + 8 + offset_size + static_cast<std::size_t>(rows * width * 8);
    if (rows > 0 && inside(b, root, size + 4) && b.compare(root, 4, "FHIB") == 0) {
      put(b, root + size, 4, checksum(b, root, size));
    }
  }
  for (auto at : find_all(b, "BTHD")) {
    if (!inside(b, at, 38)) continue;
    put(b, at + 34, 4, checksum(b, at, 34));
    const std::uint64_t depth = get(b, at + 12, 2), record = get(b, at + 10, 2);
    const std::uint64_t node_size = get(b, at + 6, 4);
    const std::uint64_t root = get(b, at + 16, 8), records = get(b, at + 24, 2);
    const auto leaf = [&](std::uint64_t node, std::uint64_t count) {
      const std::size_t used = 6 + static_cast<std::size_t>(count * record);
      if (inside(b, node, used + 4) && b.compare(node, 4, "BTLF") == 0)
        put(b, node + used, 4, checksum(b, node, used));
    };
    if (depth == 0) leaf(root, records);
    if (depth != 1 || record == 0 || node_size < 10 || !inside(b, root, 4) ||
        b.compare(root, 4, "BTIN") != 0)
      continue;
    // A root internal node over leaves: child pointers of an address and a record count as wide
    // as a leaf's capacity needs.
    const std::uint64_t capacity = (node_size - 10) / record;
    std::size_t width = 1;
    while (width < 8 && (capacity >> (8 * width)) != 0) ++width;
    const std::size_t pointers = root + 6 + static_cast<std::size_t>(records * record);
    const std::size_t used = pointers - root + (records + 1) * (8 + width);
    if (!inside(b, root, used + 4)) continue;
    put(b, root + used, 4, checksum(b, root, used));
    for (std::uint64_t i = 0; i <= records; ++i)
      leaf(get(b, pointers + i * (8 + width), 8), get(b, pointers + i * (8 + width) + 8, width));
  }
}

// ---- link messages ----

// Where the fields of link message `name` lie (in an object header or a fractal heap), for links
// written with a stored type, no creation order or charset, and a 1-byte name length.
struct link_fields {
  std::size_t flags_at = 0, type_at = 0, name_at = 0, value_length_at = 0, value_at = 0;
};

inline link_fields find_link(const std::string& b, const std::string& name) {
  link_fields f;
  f.name_at = find_one(b, name);
  REQUIRE(static_cast<unsigned char>(b[f.name_at - 1]) == name.size());
  f.type_at = f.name_at - 2;
  f.flags_at = f.name_at - 3;
  REQUIRE(b[f.flags_at] == 0x08);   // link type stored, 1-byte name length
  REQUIRE(b[f.flags_at - 1] == 1);  // link message version
  f.value_length_at = f.name_at + name.size();
  f.value_at = f.value_length_at + 2;
  return f;
}

// ---- loading in a child ----

// Opens `path` with ckpt's reader and reads every entry.
inline std::size_t read_everything(const fs::path& path) {
  ckpt::reader reader(path);
  for (std::size_t i = 0; i < reader.entries().size(); ++i) {
    const auto& e = reader.entries()[i];
    std::vector<std::byte> bytes(e.bytes);
    std::vector<std::string> strings;
    ckpt::mutable_tensor_view out{e.dtype, e.shape, {}, {}};
    if (e.dtype == ckpt::dtype::string) {
      strings.resize(ckpt::num_elements(e.shape));
      out.strings = strings;
    } else {
      out.bytes = bytes;
    }
    reader.impl().read(i, out);
  }
  return reader.entries().size();
}

// Runs `body` in a forked child with its stderr in a file in `dir` (child_process.hpp).
template <class Body>
child_result run_in_child(const fs::path& dir, Body body) {
  return ckpt_test::run_in_child(dir / "child-stderr.txt", body);
}

}  // namespace ckpt_test::crafting
