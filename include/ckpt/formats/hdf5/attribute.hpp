// SPDX-License-Identifier: Apache-2.0
#pragma once
// Attributes on a group or dataset: scalar or 1-D, numeric or string. Strings come in both kinds
// Keras files hold: variable-length (h5py 3) and fixed-length NULLPAD (h5py 2, numpy 'S' arrays),
// ASCII or UTF-8. Reads check the attribute's dataspace against the bytes libhdf5 stored for it
// before allocating, so a hostile element count cannot size an allocation.

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/handle.hpp"
#include "ckpt/formats/hdf5/preflight.hpp"
#include "ckpt/formats/hdf5/types.hpp"

namespace ckpt::hdf5 {

// What an attribute holds, without reading it.
struct attribute_info {
  H5T_class_t type_class = H5T_NO_CLASS;
  std::size_t element_size = 0;  // bytes per element as stored (a vlen string: the reference)
  bool variable_string = false;
  bool scalar = false;         // a scalar dataspace (else 1-D or more)
  std::uint64_t elements = 0;  // 1 for a scalar
  std::vector<std::uint64_t> dims;

  bool is_string() const noexcept { return type_class == H5T_STRING; }
};

inline bool has_attribute(hid_t object, const site& where, std::string_view name) {
  const std::string n(name);
  preflight_object(object, where);  // H5Aexists decodes every attribute message of the object
  return check_tri(H5Aexists(object, n.c_str()), where, "H5Aexists");
}

namespace detail {

struct opened_attribute {
  attribute_handle attr;
  datatype_handle type;
  dataspace_handle space;
  attribute_info info;
};

inline opened_attribute open_attribute(hid_t object, const site& where, std::string_view name,
                                       std::uint32_t max_rank = 64) {
  const std::string n(name);
  const site at{where.file, where.object + "@" + n};
  opened_attribute a;
  // The object's attribute messages, and a variable-length attribute's global heap references.
  preflight_attribute(object, where, name);
  a.attr = attribute_handle(check_id(H5Aopen(object, n.c_str(), H5P_DEFAULT), at, "H5Aopen"));
  a.type = datatype_handle(check_id(H5Aget_type(a.attr.get()), at, "H5Aget_type"));
  a.space = dataspace_handle(check_id(H5Aget_space(a.attr.get()), at, "H5Aget_space"));
  a.info.type_class = H5Tget_class(a.type.get());
  a.info.element_size = H5Tget_size(a.type.get());
  if (a.info.type_class == H5T_STRING)
    a.info.variable_string = check_tri(H5Tis_variable_str(a.type.get()), at, "H5Tis_variable_str");
  const H5S_class_t space_class = H5Sget_simple_extent_type(a.space.get());
  if (space_class == H5S_NULL) {
    a.info.elements = 0;
    return a;
  }
  if (space_class == H5S_SCALAR) {
    a.info.scalar = true;
    a.info.elements = 1;
    return a;
  }
  const int rank =
      check(H5Sget_simple_extent_ndims(a.space.get()), at, "H5Sget_simple_extent_ndims");
  if (static_cast<std::uint32_t>(rank) > max_rank)
    throw error(errc::limit, "attribute has rank " + std::to_string(rank), at.file, at.object);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  check(H5Sget_simple_extent_dims(a.space.get(), dims.data(), nullptr), at,
        "H5Sget_simple_extent_dims");
  std::uint64_t n_elements = 1;
  for (auto d : dims) {
    if (__builtin_mul_overflow(n_elements, d, &n_elements))
      throw error(errc::bad_format, "attribute's element count overflows", at.file, at.object);
    a.info.dims.push_back(d);
  }
  a.info.elements = n_elements;
  // The stored bytes back every element (vlen elements are references of element_size bytes).
  std::uint64_t needed = 0;
  if (__builtin_mul_overflow(n_elements, a.info.element_size, &needed) ||
      needed > H5Aget_storage_size(a.attr.get()))
    throw error(errc::bad_format,
                "attribute claims " + std::to_string(n_elements) +
                    " elements, more than its stored bytes hold",
                at.file, at.object);
  return a;
}

}  // namespace detail

inline attribute_info inspect_attribute(hid_t object, const site& where, std::string_view name) {
  return detail::open_attribute(object, where, name).info;
}

// Every string of a scalar or 1-D string attribute; fixed-length ones lose their NUL padding.
inline std::vector<std::string> read_strings(hid_t object, const site& where,
                                             std::string_view name) {
  auto a = detail::open_attribute(object, where, name);
  const site at{where.file, where.object + "@" + std::string(name)};
  if (!a.info.is_string())
    throw error(errc::bad_format, "attribute is a " + describe_type(a.type.get()) + ", not strings",
                at.file, at.object);
  const auto n = static_cast<std::size_t>(a.info.elements);
  std::vector<std::string> out;
  out.reserve(n);
  if (n == 0) return out;
  const H5T_cset_t cset = H5Tget_cset(a.type.get());
  if (a.info.variable_string) {
    auto mem =
        string_type(string_kind::variable,
                    cset == H5T_CSET_UTF8 ? string_charset::utf8 : string_charset::ascii, at);
    std::vector<char*> ptrs(n, nullptr);
    check(H5Aread(a.attr.get(), mem.get(), ptrs.data()), at, "H5Aread");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.get(), a.space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    const std::size_t size = a.info.element_size;
    std::vector<char> buffer(n * size);
    check(H5Aread(a.attr.get(), a.type.get(), buffer.data()), at, "H5Aread");
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view s(buffer.data() + i * size, size);
      // NULLPAD and NULLTERM both end at the first NUL; SPACEPAD strips trailing spaces.
      if (const auto nul = s.find('\0'); nul != std::string_view::npos) s = s.substr(0, nul);
      if (H5Tget_strpad(a.type.get()) == H5T_STR_SPACEPAD)
        while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      out.emplace_back(s);
    }
  }
  return out;
}

// A string attribute holding exactly one string (scalar, or 1-D of one element).
inline std::string read_string(hid_t object, const site& where, std::string_view name) {
  auto strings = read_strings(object, where, name);
  if (strings.size() != 1)
    throw error(errc::bad_format,
                "attribute holds " + std::to_string(strings.size()) + " strings, not one",
                where.file, where.object + "@" + std::string(name));
  return std::move(strings.front());
}

// Every element of a numeric attribute, converted by libhdf5 to T (refused if not numeric).
template <element T>
requires(!std::is_same_v<T, std::string>) std::vector<T> read_numbers(hid_t object,
                                                                      const site& where,
                                                                      std::string_view name) {
  auto a = detail::open_attribute(object, where, name);
  const site at{where.file, where.object + "@" + std::string(name)};
  if (a.info.type_class != H5T_INTEGER && a.info.type_class != H5T_FLOAT)
    throw error(errc::bad_format, "attribute is a " + describe_type(a.type.get()) + ", not numbers",
                at.file, at.object);
  std::vector<T> out(static_cast<std::size_t>(a.info.elements));
  if (out.empty()) return out;
  auto mem = type_traits<T>::make(at);
  check(H5Aread(a.attr.get(), mem.get(), out.data()), at, "H5Aread");
  return out;
}

namespace detail {

inline dataspace_handle attribute_space(std::size_t count, bool scalar, const site& at) {
  if (scalar) return dataspace_handle(check_id(H5Screate(H5S_SCALAR), at, "H5Screate"));
  const hsize_t dims[1] = {count};
  return dataspace_handle(check_id(H5Screate_simple(1, dims, nullptr), at, "H5Screate_simple"));
}

inline void write_attribute(hid_t object, const site& where, std::string_view name, hid_t type,
                            hid_t space, const void* data) {
  const std::string n(name);
  const site at{where.file, where.object + "@" + n};
  if (check_tri(H5Aexists(object, n.c_str()), at, "H5Aexists"))
    check(H5Adelete(object, n.c_str()), at, "H5Adelete", errc::io);
  attribute_handle attr(
      check_id(H5Acreate2(object, n.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), at,
               "H5Acreate2", errc::io));
  if (data) check(H5Awrite(attr.get(), type, data), at, "H5Awrite", errc::io);
}

}  // namespace detail

// Writes (or replaces) a 1-D string attribute, or a scalar one when `scalar` and one string.
// Fixed-length strings are NULLPAD, as long as the longest string (h5py's numpy 'S' arrays).
inline void write_strings(hid_t object, const site& where, std::string_view name,
                          const std::vector<std::string>& values,
                          string_kind kind = string_kind::variable,
                          string_charset charset = string_charset::utf8, bool scalar = false) {
  const site at{where.file, where.object + "@" + std::string(name)};
  if (scalar && values.size() != 1)
    throw error(errc::unsupported, "a scalar attribute holds one string", at.file, at.object);
  for (const auto& v : values)
    if (v.find('\0') != std::string::npos)
      throw error(errc::unsupported, "HDF5 string attributes cannot hold a NUL byte", at.file,
                  at.object);
  auto space = detail::attribute_space(values.size(), scalar, at);
  if (kind == string_kind::variable) {
    auto type = string_type(kind, charset, at);
    std::vector<const char*> ptrs;
    ptrs.reserve(values.size());
    for (const auto& v : values) ptrs.push_back(v.c_str());
    detail::write_attribute(object, where, name, type.get(), space.get(),
                            ptrs.empty() ? nullptr : ptrs.data());
  } else {
    std::size_t size = 1;
    for (const auto& v : values) size = std::max(size, v.size());
    auto type = string_type(kind, charset, at, size);
    std::vector<char> buffer(values.size() * size, '\0');
    for (std::size_t i = 0; i < values.size(); ++i)
      if (!values[i].empty())
        std::memcpy(buffer.data() + i * size, values[i].data(), values[i].size());
    detail::write_attribute(object, where, name, type.get(), space.get(),
                            buffer.empty() ? nullptr : buffer.data());
  }
}

// A scalar string attribute.
inline void write_string(hid_t object, const site& where, std::string_view name,
                         const std::string& value, string_kind kind = string_kind::variable,
                         string_charset charset = string_charset::utf8) {
  write_strings(object, where, name, {value}, kind, charset, /*scalar=*/true);
}

// A numeric attribute: 1-D of values.size() elements (possibly zero, as Keras' empty
// `weight_names` float64 arrays), or scalar when `scalar` and one value.
template <element T>
requires(!std::is_same_v<T, std::string>) void write_numbers(hid_t object, const site& where,
                                                             std::string_view name,
                                                             std::span<const T> values,
                                                             bool scalar = false) {
  const site at{where.file, where.object + "@" + std::string(name)};
  if (scalar && values.size() != 1)
    throw error(errc::unsupported, "a scalar attribute holds one value", at.file, at.object);
  auto space = detail::attribute_space(values.size(), scalar, at);
  auto type = type_traits<T>::make(at);
  detail::write_attribute(object, where, name, type.get(), space.get(),
                          values.empty() ? nullptr : values.data());
}

template <element T>
requires(!std::is_same_v<T, std::string>) void write_number(hid_t object, const site& where,
                                                            std::string_view name, T value) {
  write_numbers<T>(object, where, name, std::span<const T>(&value, 1), /*scalar=*/true);
}

}  // namespace ckpt::hdf5
