// SPDX-License-Identifier: Apache-2.0
#pragma once
// Encoded HDF5 datatypes and dataspaces, as they appear in datatype and dataspace messages and
// inside attribute messages. libhdf5 1.10 decodes these trusting their bytes (member and enum names
// copied up to a NUL wherever it is, ranks and dimension counts used as array bounds); this checks
// every field against the bytes the encoding was given, recursing into nested types with a cap.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

struct datatype_info {
  unsigned type_class = 0;  // 0 integer ... 9 variable-length, 10 array
  std::uint64_t size = 0;   // bytes per element as stored
  bool vlen = false;        // the type itself is variable-length (string or sequence)
  bool vlen_string = false;
  std::uint64_t vlen_base_size = 0;  // bytes per item of a variable-length type's sequence
  bool contains_vlen = false;        // the type or a member/base is variable-length
};

struct dataspace_info {
  bool null = false, scalar = false;
  std::vector<std::uint64_t> dims;
  std::uint64_t elements = 0;
};

inline constexpr unsigned max_type_nesting = 16;
inline constexpr std::size_t max_rank = 32;

namespace detail {

// The length of the NUL-terminated name at the cursor, NUL excluded; fails if no NUL follows
// within the structure.
inline std::size_t terminated_name(const cursor& c, std::string_view what) {
  const auto rest = c.bytes().subspan(c.pos());
  const void* nul = rest.empty() ? nullptr : std::memchr(rest.data(), 0, rest.size());
  if (!nul) c.fail(std::string(what) + " is not NUL-terminated within its message");
  return static_cast<std::size_t>(static_cast<const std::byte*>(nul) - rest.data());
}

inline std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

}  // namespace detail

// Reads one datatype encoding at the cursor (consuming exactly its bytes). `address_size` is the
// file's size of offsets (a variable-length element on disk is a 4-byte length, a collection
// address and a 4-byte index).
inline datatype_info read_datatype(cursor& c, std::size_t address_size, unsigned depth = 0) {
  if (depth > max_type_nesting)
    c.fail("datatype nests deeper than " + std::to_string(max_type_nesting));
  const std::size_t start = c.pos();
  const std::uint8_t head = c.u8("datatype class and version");
  const unsigned cls = head & 0x0f, version = head >> 4;
  const std::uint64_t bits = c.uint(3, "datatype bit field");
  datatype_info t;
  t.type_class = cls;
  t.size = c.u32("datatype size");
  const auto bad = [&](const std::string& what) { c.fail_at("datatype: " + what, start); };
  if (version < 1 || version > 3) bad("version " + std::to_string(version));
  if (t.size == 0) bad("element size 0");
  const std::uint64_t size_bits = t.size * 8;
  switch (cls) {
    case 0:    // fixed-point
    case 4: {  // bit field
      const std::uint64_t offset = c.u16("bit offset"), precision = c.u16("bit precision");
      if (precision == 0 || offset + precision > size_bits)
        bad("bit offset and precision exceed the size");
      break;
    }
    case 1: {  // floating-point
      const std::uint64_t offset = c.u16("bit offset"), precision = c.u16("bit precision");
      const std::uint64_t exp_at = c.u8("exponent location"), exp_size = c.u8("exponent size");
      const std::uint64_t man_at = c.u8("mantissa location"), man_size = c.u8("mantissa size");
      c.u32("exponent bias");
      const std::uint64_t sign_at = (bits >> 8) & 0xff;
      if (precision == 0 || offset + precision > size_bits || exp_size == 0 || exp_size > 32 ||
          man_size == 0 || exp_at + exp_size > size_bits || man_at + man_size > size_bits ||
          sign_at >= size_bits)
        bad("floating-point fields exceed the size");
      break;
    }
    case 2:  // time
      c.u16("bit precision");
      break;
    case 3:  // string
      if ((bits & 0x0f) > 2 || ((bits >> 4) & 0x0f) > 1) bad("unknown string padding or charset");
      break;
    case 5:  // opaque: a tag of (bits & 0xff) bytes
      c.skip(bits & 0xff, "opaque tag");
      break;
    case 6: {  // compound
      const std::uint64_t members = bits & 0xffff;
      if (members == 0) bad("compound without members");
      for (std::uint64_t i = 0; i < members; ++i) {
        const std::size_t name_length = detail::terminated_name(c, "compound member name");
        c.skip(version < 3 ? detail::align8(name_length + 1) : name_length + 1,
               "compound member name");
        std::uint64_t offset = 0;
        if (version < 3) {
          offset = c.u32("compound member offset");
        } else {
          std::size_t width = 1;
          while (width < 8 && (t.size >> (8 * width)) != 0) ++width;
          offset = c.uint(width, "compound member offset");
        }
        std::uint64_t count = 1;
        if (version == 1) {
          const unsigned ndims = c.u8("compound member rank");
          if (ndims > 4) bad("compound member of rank " + std::to_string(ndims));
          c.skip(3 + 4 + 4, "compound member");
          for (unsigned d = 0; d < 4; ++d) {
            const std::uint64_t dim = c.u32("compound member dimension");
            if (d < ndims && (dim == 0 || __builtin_mul_overflow(count, dim, &count)))
              bad("compound member dimensions overflow");
          }
        }
        const datatype_info m = read_datatype(c, address_size, depth + 1);
        std::uint64_t member_size = 0, end = 0;
        if (__builtin_mul_overflow(m.size, count, &member_size) ||
            __builtin_add_overflow(offset, member_size, &end) || end > t.size)
          bad("compound member lies outside the compound's " + std::to_string(t.size) + " bytes");
        t.contains_vlen = t.contains_vlen || m.contains_vlen;
      }
      break;
    }
    case 7:  // reference
      if ((bits & 0x0f) > 1) bad("unknown reference type");
      break;
    case 8: {  // enumeration: base type, names, values
      const datatype_info base = read_datatype(c, address_size, depth + 1);
      if (base.type_class != 0 || base.size != t.size)
        bad("enumeration base is not an integer of its size");
      const std::uint64_t members = bits & 0xffff;
      for (std::uint64_t i = 0; i < members; ++i) {
        const std::size_t name_length = detail::terminated_name(c, "enumeration name");
        c.skip(version < 3 ? detail::align8(name_length + 1) : name_length + 1, "enumeration name");
      }
      std::uint64_t values = 0;
      if (__builtin_mul_overflow(members, base.size, &values)) bad("enumeration values overflow");
      c.skip(values, "enumeration values");
      break;
    }
    case 9: {  // variable-length
      const unsigned kind = bits & 0x0f;
      if (kind > 1 || ((bits >> 4) & 0x0f) > 2 || ((bits >> 8) & 0x0f) > 1)
        bad("unknown variable-length type, padding or charset");
      const datatype_info base = read_datatype(c, address_size, depth + 1);
      if (t.size != 4 + address_size + 4)
        bad("variable-length element of " + std::to_string(t.size) + " bytes, not " +
            std::to_string(4 + address_size + 4));
      t.vlen = true;
      t.vlen_string = kind == 1;
      t.vlen_base_size = base.size;
      t.contains_vlen = true;
      break;
    }
    case 10: {  // array
      const unsigned ndims = c.u8("array rank");
      if (ndims == 0 || ndims > max_rank) bad("array of rank " + std::to_string(ndims));
      if (version < 3) c.skip(3, "array reserved bytes");
      std::uint64_t count = 1;
      for (unsigned d = 0; d < ndims; ++d) {
        const std::uint64_t dim = c.u32("array dimension");
        if (__builtin_mul_overflow(count, dim, &count)) bad("array dimensions overflow");
      }
      if (version < 3) c.skip(std::uint64_t{4} * ndims, "array permutation");
      const datatype_info base = read_datatype(c, address_size, depth + 1);
      std::uint64_t total = 0;
      if (__builtin_mul_overflow(count, base.size, &total) || total != t.size)
        bad("array size is not its element count times its base size");
      t.contains_vlen = base.contains_vlen;
      break;
    }
    default:
      bad("unknown class " + std::to_string(cls));
  }
  return t;
}

// Reads one dataspace encoding at the cursor; `length_size` is the file's size of lengths.
inline dataspace_info read_dataspace(cursor& c, std::size_t length_size) {
  const std::size_t start = c.pos();
  const unsigned version = c.u8("dataspace version");
  const unsigned rank = c.u8("dataspace rank");
  const unsigned flags = c.u8("dataspace flags");
  const auto bad = [&](const std::string& what) { c.fail_at("dataspace: " + what, start); };
  if (version < 1 || version > 2) bad("version " + std::to_string(version));
  if (rank > max_rank) bad("rank " + std::to_string(rank));
  dataspace_info s;
  if (version == 1) {
    c.skip(5, "dataspace reserved bytes");
    s.scalar = rank == 0;
  } else {
    const unsigned type = c.u8("dataspace type");
    if (type > 2) bad("unknown type " + std::to_string(type));
    if ((type == 1) != (rank > 0)) bad("rank does not match the dataspace type");
    s.scalar = type == 0;
    s.null = type == 2;
  }
  s.elements = s.null ? 0 : 1;
  for (unsigned i = 0; i < rank; ++i) {
    const std::uint64_t d = c.uint(length_size, "dimension");
    s.dims.push_back(d);
    if (__builtin_mul_overflow(s.elements, d, &s.elements)) bad("element count overflows");
  }
  if (flags & 0x01) {
    const std::uint64_t unlimited =
        length_size >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * length_size)) - 1;
    for (unsigned i = 0; i < rank; ++i) {
      const std::uint64_t m = c.uint(length_size, "maximum dimension");
      if (m != unlimited && m < s.dims[i]) bad("dimension exceeds its maximum");
    }
  }
  return s;
}

}  // namespace ckpt::hdf5::raw
