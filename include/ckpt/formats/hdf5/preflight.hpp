// SPDX-License-Identifier: Apache-2.0
#pragma once
// Where the reader asks ckpt's own structural check (raw/preflight.hpp) before libhdf5 decodes
// anything: each opened file registers its preflight under the name libhdf5 knows the file by, and
// the calls below find it from any object id. Files ckpt is writing have no preflight and skip the
// checks. Every call here is quiet (libhdf5 errors are cleared) and throws only ckpt::error.

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/handle.hpp"
#include "ckpt/formats/hdf5/raw/preflight.hpp"

namespace ckpt::hdf5 {

namespace detail {

struct preflight_registry {
  std::mutex mutex;
  std::map<std::string, std::vector<std::weak_ptr<raw::preflight>>> files;
};

inline preflight_registry& registry() {
  static preflight_registry r;
  return r;
}

// The name libhdf5 opened the file of `id` under (a path, or the internal name of an image).
inline std::string libhdf5_file_name(hid_t id) {
  const ssize_t n = H5Fget_name(id, nullptr, 0);
  if (n <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return {};
  }
  std::string name(static_cast<std::size_t>(n) + 1, '\0');
  if (H5Fget_name(id, name.data(), name.size()) != n) {
    H5Eclear2(H5E_DEFAULT);
    return {};
  }
  name.resize(static_cast<std::size_t>(n));
  return name;
}

}  // namespace detail

// Makes `checks` the preflight of the open file `file` while `checks` lives.
inline void register_preflight(hid_t file, const std::shared_ptr<raw::preflight>& checks) {
  const std::string name = detail::libhdf5_file_name(file);
  if (name.empty()) return;
  auto& r = detail::registry();
  std::lock_guard lock(r.mutex);
  auto& list = r.files[name];
  std::erase_if(list, [](const auto& w) { return w.expired(); });
  list.push_back(checks);
  for (auto it = r.files.begin(); it != r.files.end();) {
    std::erase_if(it->second, [](const auto& w) { return w.expired(); });
    it = it->second.empty() ? r.files.erase(it) : std::next(it);
  }
}

// The preflight of the file holding object `id`, or null (a file being written).
inline std::shared_ptr<raw::preflight> preflight_of(hid_t id) {
  const std::string name = detail::libhdf5_file_name(id);
  if (name.empty()) return nullptr;
  auto& r = detail::registry();
  std::lock_guard lock(r.mutex);
  const auto it = r.files.find(name);
  if (it == r.files.end()) return nullptr;
  for (const auto& w : it->second)
    if (auto p = w.lock()) return p;
  return nullptr;
}

namespace detail {

// The object header address of open object `id`.
inline std::uint64_t object_address(hid_t id, const site& where) {
  H5O_info_t info{};
  check(H5Oget_info2(id, &info, H5O_INFO_BASIC), where, "H5Oget_info2");
  return info.addr;
}

}  // namespace detail

// Checks the open object `id` (its header is checked once per file); before attribute calls.
inline void preflight_object(hid_t id, const site& where) {
  const auto checks = preflight_of(id);
  if (!checks) return;
  checks->check_object(detail::object_address(id, where), where.object);
}

// Checks every object libhdf5 visits to resolve `path` below `loc` (one link name or a relative or
// absolute path), before libhdf5 opens them. A missing link is left for the open to report; a soft
// or external link on the way is refused, as ckpt never follows them.
inline void preflight_path(hid_t loc, const site& where, std::string_view path) {
  const auto checks = preflight_of(loc);
  if (!checks) return;
  std::string prefix = !path.empty() && path.front() == '/' ? "/" : "";
  std::size_t begin = 0;
  while (begin <= path.size()) {
    auto slash = path.find('/', begin);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view component = path.substr(begin, slash - begin);
    begin = slash + 1;
    if (component.empty() || component == ".") {
      if (slash == path.size()) break;
      continue;
    }
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    prefix += component;
    site at = where.at(prefix);
    if (!checks->path_checked(at.object)) {
      H5L_info_t info{};
      if (H5Lget_info(loc, prefix.c_str(), &info, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
      }
      if (info.type != H5L_TYPE_HARD)
        throw error(errc::unsupported, "is a soft or external link, which ckpt does not follow",
                    at.file, at.object);
      checks->check_object(info.u.address, at.object);
      checks->mark_path_checked(std::move(at.object));
    }
    if (slash == path.size()) break;
  }
}

// Checks the variable-length elements of attribute `name` of `object` against the global heap.
inline void preflight_attribute(hid_t object, const site& where, std::string_view name) {
  const auto checks = preflight_of(object);
  if (!checks) return;
  const std::uint64_t address = detail::object_address(object, where);
  checks->check_object(address, where.object);
  checks->check_attribute_data(address, name, where.object);
}

// Checks every variable-length element of dataset `d` that a read of `elements` elements visits.
// Chunked variable-length data is checked chunk by chunk when unfiltered, and refused when
// filtered (its references are only visible after libhdf5 decodes the chunk).
inline void preflight_dataset_data(hid_t d, const site& at, std::uint64_t elements) {
  const auto checks = preflight_of(d);
  if (!checks || elements == 0) return;
  const std::uint64_t address = detail::object_address(d, at);
  const auto [type, layout] = checks->dataset_storage(address, at.object);
  if (!type.vlen) return;
  switch (layout.layout_class) {
    case 0:
      checks->check_vlen_elements(layout.compact, layout.compact_address, type, elements,
                                  at.object);
      return;
    case 1:
      checks->check_vlen_data(layout.address, elements, type, at.object);
      return;
    default:
      break;
  }
  plist_handle dcpl(check_id(H5Dget_create_plist(d), at, "H5Dget_create_plist"));
  if (check(H5Pget_nfilters(dcpl.get()), at, "H5Pget_nfilters") > 0)
    throw error(errc::unsupported,
                "variable-length data in filtered chunks, which ckpt cannot check before libhdf5 "
                "reads it",
                at.file, at.object);
  dataspace_handle space(check_id(H5Dget_space(d), at, "H5Dget_space"));
  const int rank = check(H5Sget_simple_extent_ndims(space.get()), at, "H5Sget_simple_extent_ndims");
  if (rank <= 0 || static_cast<std::size_t>(rank) != layout.chunk.size())
    throw error(errc::bad_format, "chunk rank differs from the dataset's rank", at.file, at.object);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), offset(dims.size());
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), at,
        "H5Sget_simple_extent_dims");
  std::uint64_t chunk_elements = 1;
  for (auto c : layout.chunk)
    if (__builtin_mul_overflow(chunk_elements, c, &chunk_elements))
      throw error(errc::bad_format, "chunk size overflows", at.file, at.object);
  std::uint64_t chunk_bytes = 0;
  if (__builtin_mul_overflow(chunk_elements, type.size, &chunk_bytes))
    throw error(errc::bad_format, "chunk size overflows", at.file, at.object);
  hsize_t nchunks = 0;
  check(H5Dget_num_chunks(d, space.get(), &nchunks), at, "H5Dget_num_chunks");
  std::vector<std::uint64_t> coord(dims.size());
  for (hsize_t i = 0; i < nchunks; ++i) {
    unsigned mask = 0;
    haddr_t chunk_address = 0;
    hsize_t size = 0;
    check(H5Dget_chunk_info(d, space.get(), i, offset.data(), &mask, &chunk_address, &size), at,
          "H5Dget_chunk_info");
    if (size < chunk_bytes)
      throw error(errc::bad_format,
                  "chunk " + std::to_string(i) + " holds " + std::to_string(size) +
                      " bytes, less than a chunk of variable-length elements",
                  at.file, at.object);
    const auto bytes = checks->src().read(chunk_address, chunk_bytes, "chunk", at.object);
    // Only elements inside the dataset's extent are read; edge chunks hold unused ones.
    std::fill(coord.begin(), coord.end(), 0);
    for (std::uint64_t j = 0; j < chunk_elements; ++j) {
      bool inside = true;
      for (std::size_t k = 0; k < dims.size(); ++k)
        inside = inside && offset[k] + coord[k] < dims[k];
      if (inside)
        checks->check_vlen_elements(std::span(bytes).subspan(j * type.size, type.size),
                                    chunk_address + j * type.size, type, 1, at.object);
      for (std::size_t k = dims.size(); k-- > 0;) {
        if (++coord[k] < layout.chunk[k]) break;
        coord[k] = 0;
      }
    }
  }
}

}  // namespace ckpt::hdf5
