// SPDX-License-Identifier: Apache-2.0
#pragma once
// ckpt dtypes <-> HDF5 datatypes, in one table. Every dtype is stored with a type h5py reads as the
// matching numpy dtype: IEEE floats and integers, float16 as IEEE half (h5py's own construction:
// a copy of IEEE F32LE with half's fields), bool as h5py's int8 enum {FALSE, TRUE}, complex as
// h5py's compound {r, i}. Dtypes HDF5 has no type for (bfloat16, float8, 4- and 2-bit integers,
// TF's quantized integers) are stored as the unsigned/signed integer of their width, with a
// `ckpt_dtype` attribute naming the ckpt dtype, so the bytes round-trip exactly and other readers
// see the raw bits. The same types serve as memory types on the (little-endian) host.

#include <hdf5.h>

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/dtype.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/handle.hpp"

namespace ckpt::hdf5 {

// The dataset attribute that names a dtype HDF5 cannot express.
inline constexpr const char* dtype_attribute = "ckpt_dtype";

namespace detail {

inline datatype_handle copied(hid_t predefined, const site& where) {
  return datatype_handle(check_id(H5Tcopy(predefined), where, "H5Tcopy"));
}

// IEEE half as h5py builds it: F32LE with 1 sign, 5 exponent and 10 mantissa bits in 2 bytes.
inline datatype_handle make_float16(const site& where) {
  auto t = copied(H5T_IEEE_F32LE, where);
  check(H5Tset_fields(t.get(), 15, 10, 5, 0, 10), where, "H5Tset_fields");
  check(H5Tset_size(t.get(), 2), where, "H5Tset_size");
  check(H5Tset_ebias(t.get(), 15), where, "H5Tset_ebias");
  return t;
}

inline datatype_handle make_bool(const site& where) {
  datatype_handle t(check_id(H5Tenum_create(H5T_NATIVE_INT8), where, "H5Tenum_create"));
  const std::int8_t no = 0, yes = 1;
  check(H5Tenum_insert(t.get(), "FALSE", &no), where, "H5Tenum_insert");
  check(H5Tenum_insert(t.get(), "TRUE", &yes), where, "H5Tenum_insert");
  return t;
}

inline datatype_handle make_complex(hid_t part, std::size_t part_size, const site& where) {
  datatype_handle t(check_id(H5Tcreate(H5T_COMPOUND, 2 * part_size), where, "H5Tcreate"));
  check(H5Tinsert(t.get(), "r", 0, part), where, "H5Tinsert");
  check(H5Tinsert(t.get(), "i", part_size, part), where, "H5Tinsert");
  return t;
}

// The integer type that carries a dtype without an HDF5 equivalent, or nothing if it has one.
inline std::optional<hid_t> carrier_of(dtype t) noexcept {
  switch (t) {
    case dtype::bfloat16:
    case dtype::quint16:
      return H5T_STD_U16LE;
    case dtype::qint16:
      return H5T_STD_I16LE;
    case dtype::qint32:
      return H5T_STD_I32LE;
    case dtype::float8_e5m2:
    case dtype::float8_e4m3fn:
    case dtype::float8_e4m3fnuz:
    case dtype::float8_e4m3b11fnuz:
    case dtype::float8_e5m2fnuz:
    case dtype::uint4:
    case dtype::uint2:
    case dtype::quint8:
      return H5T_STD_U8LE;
    case dtype::int4:
    case dtype::int2:
    case dtype::qint8:
      return H5T_STD_I8LE;
    default:
      return std::nullopt;
  }
}

}  // namespace detail

// True if `t` is stored as a plain integer plus the ckpt_dtype attribute.
inline bool needs_dtype_attribute(dtype t) noexcept { return detail::carrier_of(t).has_value(); }

// The HDF5 type a tensor of `t` is stored as (and read into). Strings have their own function.
inline datatype_handle type_of(dtype t, const site& where) {
  if constexpr (std::endian::native != std::endian::little)
    throw error(errc::unsupported, "the HDF5 format supports little-endian hosts only", where.file);
  if (auto carrier = detail::carrier_of(t)) return detail::copied(*carrier, where);
  switch (t) {
    case dtype::float32:
      return detail::copied(H5T_IEEE_F32LE, where);
    case dtype::float64:
      return detail::copied(H5T_IEEE_F64LE, where);
    case dtype::float16:
      return detail::make_float16(where);
    case dtype::int8:
      return detail::copied(H5T_STD_I8LE, where);
    case dtype::int16:
      return detail::copied(H5T_STD_I16LE, where);
    case dtype::int32:
      return detail::copied(H5T_STD_I32LE, where);
    case dtype::int64:
      return detail::copied(H5T_STD_I64LE, where);
    case dtype::uint8:
      return detail::copied(H5T_STD_U8LE, where);
    case dtype::uint16:
      return detail::copied(H5T_STD_U16LE, where);
    case dtype::uint32:
      return detail::copied(H5T_STD_U32LE, where);
    case dtype::uint64:
      return detail::copied(H5T_STD_U64LE, where);
    case dtype::bool_:
      return detail::make_bool(where);
    case dtype::complex64:
      return detail::make_complex(H5T_IEEE_F32LE, 4, where);
    case dtype::complex128:
      return detail::make_complex(H5T_IEEE_F64LE, 8, where);
    default:
      throw error(errc::unsupported, "the HDF5 format cannot store " + describe(t) + " tensors",
                  where.file, where.object);
  }
}

// The dtypes the mapping above (and string_type below) stores and reads back bit for bit: every
// dtype that has values (resource and variant handles have none to store).
inline std::vector<dtype> held_dtypes() {
  return {dtype::float16,
          dtype::bfloat16,
          dtype::float32,
          dtype::float64,
          dtype::int8,
          dtype::int16,
          dtype::int32,
          dtype::int64,
          dtype::uint8,
          dtype::uint16,
          dtype::uint32,
          dtype::uint64,
          dtype::bool_,
          dtype::complex64,
          dtype::complex128,
          dtype::string,
          dtype::qint8,
          dtype::quint8,
          dtype::qint16,
          dtype::quint16,
          dtype::qint32,
          dtype::float8_e5m2,
          dtype::float8_e4m3fn,
          dtype::float8_e4m3fnuz,
          dtype::float8_e4m3b11fnuz,
          dtype::float8_e5m2fnuz,
          dtype::int4,
          dtype::uint4,
          dtype::int2,
          dtype::uint2};
}

// One traits class for C++ element types, in the manner of HighFive's AtomicType<T>.
template <element T>
struct type_traits {
  static constexpr ckpt::dtype dtype = dtype_of<T>;
  static datatype_handle make(const site& where = {}) { return type_of(dtype, where); }
};

enum class string_kind { variable, fixed };
enum class string_charset { ascii, utf8 };

// A string type: variable-length (NULLTERM, h5py 3's str/bytes) or fixed-length of `size` bytes
// (NULLPAD, h5py's numpy 'S' arrays).
inline datatype_handle string_type(string_kind kind, string_charset charset, const site& where,
                                   std::size_t size = 0) {
  auto t = detail::copied(H5T_C_S1, where);
  if (kind == string_kind::variable) {
    check(H5Tset_size(t.get(), H5T_VARIABLE), where, "H5Tset_size");
    check(H5Tset_strpad(t.get(), H5T_STR_NULLTERM), where, "H5Tset_strpad");
  } else {
    check(H5Tset_size(t.get(), size == 0 ? 1 : size), where, "H5Tset_size");
    check(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), where, "H5Tset_strpad");
  }
  check(H5Tset_cset(t.get(), charset == string_charset::utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII),
        where, "H5Tset_cset");
  return t;
}

namespace detail {

inline bool has_fields(hid_t type, std::size_t spos, std::size_t epos, std::size_t esize,
                       std::size_t mpos, std::size_t msize) {
  std::size_t s = 0, e = 0, es = 0, m = 0, ms = 0;
  if (H5Tget_fields(type, &s, &e, &es, &m, &ms) < 0) return false;
  return s == spos && e == epos && es == esize && m == mpos && ms == msize;
}

inline std::optional<dtype> float_dtype(hid_t type, std::size_t size) {
  if (size == 4 && has_fields(type, 31, 23, 8, 0, 23)) return dtype::float32;
  if (size == 8 && has_fields(type, 63, 52, 11, 0, 52)) return dtype::float64;
  if (size == 2 && has_fields(type, 15, 10, 5, 0, 10)) return dtype::float16;
  if (size == 2 && has_fields(type, 15, 7, 8, 0, 7)) return dtype::bfloat16;
  return std::nullopt;
}

inline std::optional<dtype> integer_dtype(hid_t type, std::size_t size) {
  const H5T_sign_t sign = H5Tget_sign(type);
  if (sign == H5T_SGN_ERROR) return std::nullopt;
  const bool is_signed = sign == H5T_SGN_2;
  switch (size) {
    case 1:
      return is_signed ? dtype::int8 : dtype::uint8;
    case 2:
      return is_signed ? dtype::int16 : dtype::uint16;
    case 4:
      return is_signed ? dtype::int32 : dtype::uint32;
    case 8:
      return is_signed ? dtype::int64 : dtype::uint64;
    default:
      return std::nullopt;
  }
}

inline bool is_bool_enum(hid_t type) {
  if (H5Tget_size(type) != 1 || H5Tget_nmembers(type) != 2) return false;
  for (unsigned i = 0; i < 2; ++i) {
    char* name = H5Tget_member_name(type, i);
    if (!name) return false;
    const std::string member = name;
    H5free_memory(name);
    std::int8_t value = -1;
    if (H5Tget_member_value(type, i, &value) < 0) return false;
    if (!((member == "FALSE" && value == 0) || (member == "TRUE" && value == 1))) return false;
  }
  return true;
}

inline std::optional<dtype> complex_dtype(hid_t type, std::size_t size) {
  if (H5Tget_nmembers(type) != 2 || (size != 8 && size != 16)) return std::nullopt;
  const std::size_t part = size / 2;
  const char* names[] = {"r", "i"};
  for (unsigned i = 0; i < 2; ++i) {
    char* name = H5Tget_member_name(type, i);
    if (!name) return std::nullopt;
    const bool named = std::string_view(name) == names[i];
    H5free_memory(name);
    if (!named || H5Tget_member_offset(type, i) != i * part) return std::nullopt;
    datatype_handle member(H5Tget_member_type(type, i));
    if (!member || H5Tget_class(member.get()) != H5T_FLOAT || H5Tget_size(member.get()) != part ||
        !float_dtype(member.get(), part))
      return std::nullopt;
  }
  return size == 8 ? dtype::complex64 : dtype::complex128;
}

}  // namespace detail

// The ckpt dtype an HDF5 type holds as h5py would read it, or nothing if ckpt has none. Does not
// look at the ckpt_dtype attribute (see stored_dtype in dataset.hpp).
inline std::optional<dtype> dtype_of_type(hid_t type) {
  const std::size_t size = H5Tget_size(type);
  if (size == 0) return std::nullopt;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return detail::integer_dtype(type, size);
    case H5T_FLOAT:
      return detail::float_dtype(type, size);
    case H5T_ENUM:
      if (detail::is_bool_enum(type)) return dtype::bool_;
      return std::nullopt;
    case H5T_COMPOUND:
      return detail::complex_dtype(type, size);
    case H5T_STRING:
      return dtype::string;
    default:
      return std::nullopt;
  }
}

// A short description of an HDF5 type for messages ("integer of 3 bytes", "opaque").
inline std::string describe_type(hid_t type) {
  const std::size_t size = H5Tget_size(type);
  std::string kind;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      kind = "integer";
      break;
    case H5T_FLOAT:
      kind = "float";
      break;
    case H5T_STRING:
      kind = "string";
      break;
    case H5T_ENUM:
      kind = "enum";
      break;
    case H5T_COMPOUND:
      kind = "compound";
      break;
    case H5T_OPAQUE:
      kind = "opaque";
      break;
    case H5T_ARRAY:
      kind = "array";
      break;
    case H5T_VLEN:
      kind = "variable-length sequence";
      break;
    case H5T_REFERENCE:
      kind = "reference";
      break;
    case H5T_BITFIELD:
      kind = "bitfield";
      break;
    default:
      kind = "unknown";
  }
  return "HDF5 " + kind + " type of " + std::to_string(size) + " bytes";
}

}  // namespace ckpt::hdf5
