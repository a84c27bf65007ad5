// SPDX-License-Identifier: Apache-2.0
#pragma once
// Groups: listing children (in creation order where the file tracks it, else by name, which is
// what libhdf5 and h5py list by default), opening and creating them, and creating the intermediate
// groups of a path.

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/handle.hpp"
#include "ckpt/formats/hdf5/preflight.hpp"

namespace ckpt::hdf5 {

enum class child_kind { group, dataset, named_datatype, soft_link, external_link, other };

struct child {
  std::string name;
  child_kind kind = child_kind::other;
};

namespace detail {

struct listing {
  std::vector<std::string> names;
  std::vector<H5L_type_t> types;
  std::vector<haddr_t> addresses;  // of hard links' objects
  std::size_t limit = 0;
  bool over_limit = false;
};

inline herr_t collect_link(hid_t, const char* name, const H5L_info_t* info, void* data) {
  auto& out = *static_cast<listing*>(data);
  if (out.names.size() >= out.limit) {
    out.over_limit = true;
    return 1;  // stop
  }
  out.names.emplace_back(name);
  out.types.push_back(info->type);
  out.addresses.push_back(info->type == H5L_TYPE_HARD ? info->u.address : HADDR_UNDEF);
  return 0;
}

}  // namespace detail

// True if the group tracks and indexes the creation order of its links (h5py's track_order=True).
inline bool tracks_creation_order(const group& g) {
  plist_handle gcpl(check_id(H5Gget_create_plist(g.id()), g.site, "H5Gget_create_plist"));
  unsigned flags = 0;
  check(H5Pget_link_creation_order(gcpl.get(), &flags), g.site, "H5Pget_link_creation_order");
  return (flags & H5P_CRT_ORDER_TRACKED) && (flags & H5P_CRT_ORDER_INDEXED);
}

// The group's links, at most `limit` of them (more is errc::limit), with what each names. Soft and
// external links are reported as such and never followed.
inline std::vector<child> children(const group& g, std::size_t limit = 1'000'000) {
  detail::listing out;
  out.limit = limit;
  // The group's header (and an old-style group's whole symbol table) is checked before libhdf5
  // walks it, each child's header before libhdf5 opens it.
  preflight_object(g.id(), g.site);
  const auto checks = preflight_of(g.id());
  const H5_index_t order = tracks_creation_order(g) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  hsize_t index = 0;
  check(H5Literate(g.id(), order, H5_ITER_INC, &index, detail::collect_link, &out), g.site,
        "H5Literate");
  if (out.over_limit)
    throw error(errc::limit, "group has more than " + std::to_string(limit) + " members",
                g.site.file, g.site.object);
  // Link names are unique in a valid group. Two alike would make the calls by name below reach
  // an object other than the one checked at the link's address (found by fuzz_hdf5).
  {
    std::vector<std::string_view> sorted(out.names.begin(), out.names.end());
    std::sort(sorted.begin(), sorted.end());
    if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end())
      throw error(errc::bad_format, "the group has two links of this name", g.site.file,
                  g.site.at(*twice).object);
  }
  std::vector<child> result;
  result.reserve(out.names.size());
  for (std::size_t i = 0; i < out.names.size(); ++i) {
    child c{std::move(out.names[i]), child_kind::other};
    if (out.types[i] == H5L_TYPE_SOFT) {
      c.kind = child_kind::soft_link;
    } else if (out.types[i] == H5L_TYPE_EXTERNAL) {
      c.kind = child_kind::external_link;
    } else if (out.types[i] == H5L_TYPE_HARD) {
      if (checks) checks->check_object(out.addresses[i], g.site.at(c.name).object);
      // The object's type without opening it: opening a dataset copies its property lists.
      H5O_info_t object{};
      check(H5Oget_info_by_name2(g.id(), c.name.c_str(), &object, H5O_INFO_BASIC, H5P_DEFAULT),
            g.site.at(c.name), "H5Oget_info_by_name2");
      switch (object.type) {
        case H5O_TYPE_GROUP:
          c.kind = child_kind::group;
          break;
        case H5O_TYPE_DATASET:
          c.kind = child_kind::dataset;
          break;
        case H5O_TYPE_NAMED_DATATYPE:
          c.kind = child_kind::named_datatype;
          break;
        default:
          break;
      }
    }
    result.push_back(std::move(c));
  }
  return result;
}

// True if `name` (one link name, or a relative path) exists below `g`.
inline bool has_child(const group& g, std::string_view name) {
  preflight_path(g.id(), g.site, name);  // the objects H5Lexists passes through
  // H5Lexists checks one level at a time; walk the components so a missing parent is "no".
  std::string prefix;
  std::size_t begin = 0;
  while (begin <= name.size()) {
    const auto slash = name.find('/', begin);
    const auto end = slash == std::string_view::npos ? name.size() : slash;
    if (!prefix.empty()) prefix += '/';
    prefix += name.substr(begin, end - begin);
    if (!check_tri(H5Lexists(g.id(), prefix.c_str(), H5P_DEFAULT), g.site.at(prefix), "H5Lexists"))
      return false;
    if (slash == std::string_view::npos) break;
    begin = slash + 1;
  }
  return true;
}

inline group open_group(const group& parent, std::string_view name) {
  const site at = parent.site.at(name);
  const std::string n(name);
  preflight_path(parent.id(), parent.site, name);
  return {group_handle(check_id(H5Gopen2(parent.id(), n.c_str(), H5P_DEFAULT), at, "H5Gopen2")),
          at};
}

inline group create_group(const group& parent, std::string_view name) {
  const site at = parent.site.at(name);
  const std::string n(name);
  return {group_handle(
              check_id(H5Gcreate2(parent.id(), n.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       at, "H5Gcreate2", errc::io)),
          at};
}

// The group at `path` below `parent` ("a/b/c"), creating every missing level. An existing link
// that is not a group is an error naming it.
inline group require_group(const group& parent, std::string_view path) {
  group current{
      group_handle(check_id(H5Oopen(parent.id(), ".", H5P_DEFAULT), parent.site, "H5Oopen")),
      parent.site};
  std::size_t begin = 0;
  while (begin < path.size()) {
    auto slash = path.find('/', begin);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view component = path.substr(begin, slash - begin);
    begin = slash + 1;
    if (component.empty()) continue;
    const std::string n(component);
    const site at = current.site.at(component);
    if (check_tri(H5Lexists(current.id(), n.c_str(), H5P_DEFAULT), at, "H5Lexists")) {
      object_handle o(check_id(H5Oopen(current.id(), n.c_str(), H5P_DEFAULT), at, "H5Oopen"));
      if (H5Iget_type(o.get()) != H5I_GROUP)
        throw error(errc::bad_format, "exists and is not a group", at.file, at.object);
      current = open_group(current, component);
    } else {
      current = create_group(current, component);
    }
  }
  return current;
}

}  // namespace ckpt::hdf5
