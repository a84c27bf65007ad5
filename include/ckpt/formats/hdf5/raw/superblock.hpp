// SPDX-License-Identifier: Apache-2.0
#pragma once
// The HDF5 superblock (versions 0 to 3): where the file's metadata starts. Found at offset 0, 512,
// 1024, ... (a user block may precede it); gives the sizes of addresses and lengths, the base
// address every other address is relative to, the root group's object header and the superblock
// extension. Versions 2 and 3 carry a lookup3 checksum, which is verified.

#include <cstdint>
#include <cstring>
#include <string>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/raw/lookup3.hpp"
#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

struct superblock {
  std::uint64_t offset = 0;  // of the signature in the file
  unsigned version = 0;
  std::size_t offset_size = 8, length_size = 8;
  std::uint64_t root_address = undefined_address;       // root group's object header
  std::uint64_t extension_address = undefined_address;  // superblock extension's object header
  // Version 0/1 only: the root's cached symbol table (B-tree and local heap), if cached.
  std::uint64_t root_btree = undefined_address, root_heap = undefined_address;
  unsigned group_leaf_k = 4, group_internal_k = 16;  // symbol table node and B-tree capacities
};

// Reads and validates the superblock of `src`, and sets the source's base address.
inline superblock read_superblock(source& src) {
  static constexpr unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  superblock sb;
  bool found = false;
  for (std::uint64_t at = 0; !found && at <= (1ull << 30) && src.contains(at, 9);
       at = at == 0 ? 512 : at * 2) {
    const auto head = src.read(at, 8, "signature");
    if (std::memcmp(head.data(), signature, 8) == 0) sb.offset = at, found = true;
  }
  if (!found)
    throw error(errc::bad_format, "not an HDF5 file (no HDF5 signature)", src.name(), {}, 0);
  const std::string_view what = "superblock";
  // The fixed part is at most 28 bytes; sizes of offsets and lengths decide the rest.
  const std::uint64_t avail = src.size() - sb.offset;
  const auto head = src.read(sb.offset, std::min<std::uint64_t>(avail, 28), what);
  cursor c(src, head, sb.offset, what);
  c.skip(8, what);
  sb.version = c.u8("superblock version");
  if (sb.version > 3)
    throw error(errc::unsupported, "superblock version " + std::to_string(sb.version), src.name(),
                {}, sb.offset + 8);
  const auto check_size = [&](std::size_t size, const char* name, std::uint64_t at) {
    if (size != 2 && size != 4 && size != 8)
      throw error(size == 16 || size == 32 ? errc::unsupported : errc::bad_format,
                  std::string("superblock gives size of ") + name + " " + std::to_string(size),
                  src.name(), {}, at);
  };
  std::size_t fixed = 0;
  if (sb.version < 2) {
    c.skip(4, "superblock versions");  // free space, root symbol table, reserved, shared header
    const std::uint64_t sizes_at = sb.offset + c.pos();
    sb.offset_size = c.u8("size of offsets");
    sb.length_size = c.u8("size of lengths");
    check_size(sb.offset_size, "offsets", sizes_at);
    check_size(sb.length_size, "lengths", sizes_at + 1);
    c.skip(1, what);
    sb.group_leaf_k = c.u16("group leaf node K");
    sb.group_internal_k = c.u16("group internal node K");
    if (sb.group_leaf_k == 0 || sb.group_internal_k == 0)
      src.fail("superblock gives a group node K of 0", sb.offset + 20);
    fixed = sb.version == 0 ? 24 : 28;
  } else {
    const std::uint64_t sizes_at = sb.offset + c.pos();
    sb.offset_size = c.u8("size of offsets");
    sb.length_size = c.u8("size of lengths");
    check_size(sb.offset_size, "offsets", sizes_at);
    check_size(sb.length_size, "lengths", sizes_at + 1);
    fixed = 12;
  }
  const std::size_t O = sb.offset_size;
  const std::size_t total = sb.version < 2 ? fixed + 4 * O + (2 * O + 8 + 16) : fixed + 4 * O + 4;
  const auto bytes = src.read(sb.offset, total, what);
  cursor s(src, bytes, sb.offset, what);
  s.skip(fixed, what);
  const std::uint64_t base = s.address(O, "base address");
  std::uint64_t end_of_file = undefined_address;
  if (base != sb.offset)
    // libhdf5 writes the superblock's own offset; anything else moves every address elsewhere.
    s.fail_at("base address " + std::to_string(base) + " is not the superblock's offset " +
                  std::to_string(sb.offset),
              fixed);
  if (sb.version < 2) {
    sb.extension_address = s.address(O, "superblock extension address");
    end_of_file = s.address(O, "end of file address");
    const std::uint64_t driver = s.address(O, "driver information address");
    if (driver != undefined_address)
      throw error(errc::unsupported, "file needs a special file driver (driver information block)",
                  src.name(), {}, sb.offset + s.pos() - O);
    // The root group's symbol table entry.
    s.address(O, "root link name offset");
    sb.root_address = s.address(O, "root object header address");
    const std::uint32_t cache = s.u32("root cache type");
    s.skip(4, what);
    if (cache == 1) {
      sb.root_btree = s.address(O, "root B-tree address");
      sb.root_heap = s.address(O, "root local heap address");
    } else if (cache > 2) {
      s.fail("root symbol table entry has cache type " + std::to_string(cache));
    }
  } else {
    sb.extension_address = s.address(O, "superblock extension address");
    end_of_file = s.address(O, "end of file address");
    sb.root_address = s.address(O, "root object header address");
    const std::uint32_t stored = s.u32("superblock checksum");
    if (stored != lookup3(std::span(bytes).first(total - 4)))
      throw error(errc::checksum_mismatch, "superblock does not match its checksum", src.name(), {},
                  sb.offset + total - 4);
  }
  src.set_base(base);  // from here on, addresses are relative to it
  // libhdf5 reads nothing past the stored end of file (its end of allocation), and a structure
  // there fails inside libhdf5 in ways that leave it unable to shut down cleanly: hold the checks
  // to the same end.
  std::uint64_t end = 0;
  if (src.absolute(end_of_file, end)) src.limit_size(end);
  if (sb.root_address == undefined_address || !src.contains(sb.root_address, 1))
    src.fail("root object header address lies outside the file", sb.root_address);
  if (sb.extension_address != undefined_address && !src.contains(sb.extension_address, 1))
    src.fail("superblock extension address lies outside the file", sb.extension_address);
  return sb;
}

}  // namespace ckpt::hdf5::raw
