// SPDX-License-Identifier: Apache-2.0
#pragma once
// The list attributes of Keras 2 files (`layer_names`, `weight_names`), read and written the way
// Keras does: a list of names is one 1-D string attribute, split into `name0`, `name1`, ... when
// its numpy form would exceed 64512 bytes (HDF5's object header limit as Keras counts it); an
// empty list is a float64 array of shape (0,), which is what numpy makes of [].
// Reading accepts both string kinds h5py has written: variable-length (h5py 3) and fixed-length
// NULLPAD (h5py 2, and the split pieces of every version).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/hdf5/attribute.hpp"
#include "ckpt/formats/hdf5/error.hpp"

namespace ckpt::keras {

// Keras' HDF5_OBJECT_HEADER_LIMIT: the largest numpy array (item size x count) it writes as one
// attribute.
inline constexpr std::uint64_t attribute_split_bytes = 64512;

namespace detail {

// One attribute as a list of names: strings, or an empty numeric array.
inline std::vector<std::string> read_list_attribute(hid_t object, const hdf5::site& where,
                                                    const std::string& name,
                                                    const load_limits& limits) {
  const auto info = hdf5::inspect_attribute(object, where, name);
  const hdf5::site at{where.file, where.object + "@" + name};
  if (info.elements > limits.max_entries)
    throw error(
        errc::limit,
        "lists " + std::to_string(info.elements) + " names, more than load_limits::max_entries",
        at.file, at.object);
  if (!info.is_string()) {
    if (info.elements == 0) return {};  // Keras' empty list: float64 of shape (0,)
    throw error(errc::bad_format, "is neither a list of names nor empty", at.file, at.object);
  }
  auto names = hdf5::read_strings(object, where, name);
  for (const auto& n : names)
    if (n.size() > limits.max_name_bytes)
      throw error(errc::limit, "holds a name longer than load_limits::max_name_bytes", at.file,
                  at.object);
  return names;
}

// A 1-D fixed-length NULLPAD ASCII attribute of item size `width` (numpy's 'S<width>').
inline void write_fixed_width_strings(hid_t object, const hdf5::site& where,
                                      const std::string& name,
                                      const std::vector<std::string>& values, std::size_t width) {
  const hdf5::site at{where.file, where.object + "@" + name};
  auto space = hdf5::detail::attribute_space(values.size(), false, at);
  auto type = hdf5::string_type(hdf5::string_kind::fixed, hdf5::string_charset::ascii, at, width);
  std::vector<char> buffer(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!values[i].empty())
      std::memcpy(buffer.data() + i * width, values[i].data(), values[i].size());
  hdf5::detail::write_attribute(object, where, name, type.get(), space.get(), buffer.data());
}

// How many attributes of `object` are named `name` followed by a number as Keras writes it
// (`name0`, `name1`, ..., no leading zeros), counting at most `limit` + 1.
inline std::uint64_t count_pieces(hid_t object, const hdf5::site& where, const std::string& name,
                                  std::uint64_t limit) {
  struct state {
    const std::string* name;
    std::uint64_t limit, count = 0;
  } s{&name, limit};
  const auto visit = [](hid_t, const char* attribute, const H5A_info_t*, void* data) -> herr_t {
    auto& st = *static_cast<state*>(data);
    const std::string_view a(attribute);
    if (!a.starts_with(*st.name)) return 0;
    const std::string_view digits = a.substr(st.name->size());
    if (digits.empty() || (digits.size() > 1 && digits.front() == '0') ||
        digits.find_first_not_of("0123456789") != std::string_view::npos)
      return 0;
    return ++st.count > st.limit ? 1 : 0;
  };
  hdf5::preflight_object(object, where);
  hsize_t index = 0;
  hdf5::check(H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_NATIVE, &index, visit, &s), where,
              "H5Aiterate2");
  return s.count;
}

}  // namespace detail

// The list stored as `name`, or as `name0`, `name1`, ... ; nothing if neither form is there.
// Pieces must be numbered without a gap: Keras stops at the first missing one, which would drop
// the names listed after it without a word.
inline std::optional<std::vector<std::string>> read_name_list(hid_t object, const hdf5::site& where,
                                                              const std::string& name,
                                                              const load_limits& limits) {
  if (hdf5::has_attribute(object, where, name))
    return detail::read_list_attribute(object, where, name, limits);
  if (!hdf5::has_attribute(object, where, name + "0")) return std::nullopt;
  std::vector<std::string> all;
  std::uint64_t piece = 0;
  for (;; ++piece) {
    const std::string piece_name = name + std::to_string(piece);
    if (!hdf5::has_attribute(object, where, piece_name)) break;
    // Empty pieces list no names, so only their number bounds the walk.
    if (piece >= limits.max_entries)
      throw error(errc::limit, "is split in more pieces than load_limits::max_entries", where.file,
                  where.object + "@" + name);
    auto names = detail::read_list_attribute(object, where, piece_name, limits);
    if (names.size() > limits.max_entries - std::min<std::uint64_t>(all.size(), limits.max_entries))
      throw error(errc::limit, "lists more names than load_limits::max_entries", where.file,
                  where.object + "@" + name);
    all.insert(all.end(), std::make_move_iterator(names.begin()),
               std::make_move_iterator(names.end()));
  }
  if (detail::count_pieces(object, where, name, piece) != piece)
    throw error(errc::bad_format,
                "piece " + name + std::to_string(piece) + " is missing, and later pieces exist",
                where.file, where.object + "@" + name);
  return all;
}

// Writes `values` as Keras does: empty -> float64 (0,); fitting in 64512 bytes as numpy counts them
// (count x longest) -> one variable-length ASCII attribute, as h5py 3 writes a list of bytes;
// larger -> the fewest pieces that fit, sized as numpy.array_split sizes them, each a fixed-length
// NULLPAD attribute as wide as the longest name of the whole list.
inline void write_name_list(hid_t object, const hdf5::site& where, const std::string& name,
                            const std::vector<std::string>& values) {
  if (values.empty()) {
    hdf5::write_numbers<double>(object, where, name, std::span<const double>());
    return;
  }
  std::size_t longest = 1;  // numpy gives b"" the item size 1
  for (const auto& v : values) {
    if (v.size() > attribute_split_bytes)
      throw error(errc::unsupported,
                  "a name of " + std::to_string(v.size()) +
                      " bytes does not fit in an attribute (" +
                      std::to_string(attribute_split_bytes) + " bytes at most, as Keras)",
                  where.file, where.object + "@" + name);
    longest = std::max(longest, v.size());
  }
  if (values.size() * longest <= attribute_split_bytes) {
    hdf5::write_strings(object, where, name, values, hdf5::string_kind::variable,
                        hdf5::string_charset::ascii);
    return;
  }
  const std::size_t per_piece = attribute_split_bytes / longest;
  const std::size_t pieces = (values.size() + per_piece - 1) / per_piece;
  const std::size_t base = values.size() / pieces, larger = values.size() % pieces;
  std::size_t begin = 0;
  for (std::size_t piece = 0; piece < pieces; ++piece) {
    const std::size_t count = base + (piece < larger ? 1 : 0);
    std::vector<std::string> part(values.begin() + static_cast<std::ptrdiff_t>(begin),
                                  values.begin() + static_cast<std::ptrdiff_t>(begin + count));
    begin += count;
    detail::write_fixed_width_strings(object, where, name + std::to_string(piece), part, longest);
  }
}

}  // namespace ckpt::keras
