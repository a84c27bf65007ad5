// SPDX-License-Identifier: Apache-2.0
#pragma once
// Datasets as whole tensors: inspecting one (dtype, shape, storage) with every check a hostile file
// calls for, reading it into a tensor, and writing a tensor as a new dataset.
//
// Checks before anything is allocated from the file's numbers: rank and element count within
// limits and 64 bits; the dtype one ckpt knows (ckpt_dtype attribute consistent with the stored
// type); contiguous data lying inside the file and exactly as long as the shape needs; compact data
// within an object header; chunked data with every chunk allocated, chunks inside the file, and
// filters available; no external or virtual storage (they name other files).
//
// Chunked numeric data stored as it lies in memory, through filters ckpt knows, is read chunk by
// chunk with ckpt undoing the filters (chunk_reader.hpp), so a load holds the destination and at
// most one chunk's worth of decoded bytes besides; anything else goes through H5Dread.

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/codec/json_string.hpp"
#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/hdf5/attribute.hpp"
#include "ckpt/formats/hdf5/chunk_reader.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/handle.hpp"
#include "ckpt/formats/hdf5/preflight.hpp"
#include "ckpt/formats/hdf5/storage.hpp"
#include "ckpt/formats/hdf5/types.hpp"
#include "ckpt/formats/hdf5/zstd_filter.hpp"

namespace ckpt::hdf5 {

struct dataset {
  dataset_handle handle;
  hdf5::site site;
  hid_t id() const noexcept { return handle.get(); }
};

struct dataset_info {
  ckpt::dtype dtype = dtype::invalid;
  ckpt::shape shape;
  std::uint64_t elements = 0;
  std::uint64_t bytes = 0;         // in memory; for strings, the stored bytes of their references
  std::size_t stored_element = 0;  // bytes per element in the file's type
  H5D_layout_t layout = H5D_CONTIGUOUS;
  std::vector<hsize_t> chunk;     // chunked only
  std::uint64_t chunk_bytes = 0;  // decoded bytes of one chunk
  std::vector<H5Z_filter_t> filters;
  bool fletcher32 = false;
  bool variable_string = false;
  bool byte_sequences = false;  // strings stored as variable-length uint8 sequences
  bool utf8 = false;
  // Contiguous data stored exactly as it lies in memory: its absolute file offset, so it can be
  // read without libhdf5 (which would open the dataset again). Unset for anything else.
  std::optional<std::uint64_t> plain_offset;
  // Chunked data ckpt decodes itself (chunk_reader.hpp): the stored type is the memory type and
  // every filter is one ckpt undoes, with parameters libhdf5 would accept. Empty for the others.
  bool direct_chunks = false;
  std::vector<chunk_filter> chunk_filters;
};

// Strings holding a NUL byte cannot be HDF5 strings; they are stored as variable-length
// sequences of uint8 (h5py reads them as uint8 arrays) with ckpt_dtype = "string".
inline bool is_byte_sequence(hid_t type) {
  if (H5Tget_class(type) != H5T_VLEN) return false;
  datatype_handle base(H5Tget_super(type));
  return base && H5Tget_class(base.get()) == H5T_INTEGER && H5Tget_size(base.get()) == 1;
}

inline dataset open_dataset(const group& g, std::string_view name) {
  const site at = g.site.at(name);
  const std::string n(name);
  preflight_path(g.id(), g.site, name);
  return {dataset_handle(check_id(H5Dopen2(g.id(), n.c_str(), H5P_DEFAULT), at, "H5Dopen2")), at};
}

namespace detail {

inline std::optional<dtype> dtype_from_attribute(const dataset& d) {
  if (!has_attribute(d.id(), d.site, dtype_attribute)) return std::nullopt;
  const std::string name = read_string(d.id(), d.site, dtype_attribute);
  const auto named = ckpt::dtype_from_name(name);
  if (!named)
    throw error(errc::unsupported, "attribute ckpt_dtype names an unknown dtype '" + name + "'",
                d.site.file, d.site.object);
  return named;
}

// The most decoded bytes one stored byte can become through filter `id`: deflate's longest runs
// give about 1032:1, zstd's RLE blocks 32768:1 (a 128 KiB block in 4 bytes); shuffle and Fletcher32
// keep the size. Other filters are held to zstd's bound.
inline std::uint64_t max_expansion(H5Z_filter_t id) noexcept {
  switch (id) {
    case H5Z_FILTER_SHUFFLE:
    case H5Z_FILTER_FLETCHER32:
      return 1;
    case H5Z_FILTER_DEFLATE:
      return 1032;
    default:
      return 32768;
  }
}

// The most decoded bytes a chunk of `stored` bytes can hold through the filters its mask applies.
inline std::uint64_t max_decoded(std::uint64_t stored, const std::vector<H5Z_filter_t>& filters,
                                 unsigned skipped_mask) noexcept {
  std::uint64_t bound = stored;
  for (std::size_t i = 0; i < filters.size(); ++i)
    if (i >= 32 || !(skipped_mask & (1u << i)))
      if (__builtin_mul_overflow(bound, max_expansion(filters[i]), &bound)) return UINT64_MAX;
  return bound + 64;  // headers of tiny chunks
}

inline std::uint64_t expected_chunks(const shape& dims, const std::vector<hsize_t>& chunk) {
  std::uint64_t n = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const std::uint64_t per_dim = dims[i] / chunk[i] + (dims[i] % chunk[i] != 0);
    if (__builtin_mul_overflow(n, per_dim, &n)) return UINT64_MAX;
  }
  return n;
}

}  // namespace detail

// The dtype, shape and storage of a dataset, after the checks listed at the top of this file.
inline dataset_info inspect_dataset(const dataset& d, std::uint64_t file_size,
                                    const load_limits& limits = {}) {
  const site& at = d.site;
  auto bad = [&](const std::string& what, errc code = errc::bad_format) -> error {
    return error(code, what, at.file, at.object);
  };
  dataset_info info;
  datatype_handle type(check_id(H5Dget_type(d.id()), at, "H5Dget_type"));
  dataspace_handle space(check_id(H5Dget_space(d.id()), at, "H5Dget_space"));

  auto natural = dtype_of_type(type.get());
  if (!natural && is_byte_sequence(type.get()) && detail::dtype_from_attribute(d) == dtype::string)
    natural = dtype::string;
  if (!natural)
    throw bad("stored as an " + describe_type(type.get()) + ", which ckpt has no dtype for",
              errc::unsupported);
  info.dtype = *natural;
  if (const auto named = detail::dtype_from_attribute(d)) {
    if (*named != *natural) {
      // The attribute may name a dtype carried by a plain integer of the same width.
      const auto carrier = detail::carrier_of(*named);
      if (!carrier || H5Tget_class(type.get()) != H5T_INTEGER ||
          H5Tget_size(type.get()) != element_size(*named))
        throw bad("attribute ckpt_dtype says " + describe(*named) + " but the data is an " +
                  describe_type(type.get()));
      info.dtype = *named;
    }
  }
  info.stored_element = H5Tget_size(type.get());
  if (info.dtype == dtype::string) {
    info.byte_sequences = is_byte_sequence(type.get());
    info.variable_string =
        info.byte_sequences || check_tri(H5Tis_variable_str(type.get()), at, "H5Tis_variable_str");
    info.utf8 = !info.byte_sequences && H5Tget_cset(type.get()) == H5T_CSET_UTF8;
    // A variable-length element is stored as a 16-byte global heap reference.
    if (info.variable_string) info.stored_element = 16;
  }

  switch (H5Sget_simple_extent_type(space.get())) {
    case H5S_SCALAR:
      break;
    case H5S_SIMPLE: {
      const int rank =
          check(H5Sget_simple_extent_ndims(space.get()), at, "H5Sget_simple_extent_ndims");
      if (static_cast<std::uint32_t>(rank) > limits.max_rank)
        throw bad("rank " + std::to_string(rank) + " is over load_limits::max_rank", errc::limit);
      std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
      check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), at,
            "H5Sget_simple_extent_dims");
      info.shape.assign(dims.begin(), dims.end());
      break;
    }
    default:
      throw bad("has a null dataspace (no shape)", errc::unsupported);
  }
  const auto elements = checked_num_elements(info.shape);
  std::uint64_t stored = 0;
  if (!elements || __builtin_mul_overflow(*elements, info.stored_element, &stored))
    throw bad("shape " + to_string(info.shape) + " has more bytes than 64 bits can count");
  info.elements = *elements;
  info.bytes = info.dtype == dtype::string ? stored : *checked_byte_size(info.dtype, info.shape);

  plist_handle dcpl(check_id(H5Dget_create_plist(d.id()), at, "H5Dget_create_plist"));
  if (check(H5Pget_external_count(dcpl.get()), at, "H5Pget_external_count") > 0)
    throw bad("keeps its data in external files, which ckpt does not follow", errc::unsupported);
  info.layout = H5Pget_layout(dcpl.get());
  const hsize_t storage = H5Dget_storage_size(d.id());
  switch (info.layout) {
    case H5D_COMPACT:
      if (stored > 65536) throw bad("compact data larger than an object header can hold");
      break;
    case H5D_CONTIGUOUS: {
      if (stored == 0) break;
      if (storage != stored)
        throw bad("holds " + std::to_string(storage) + " stored bytes, but " +
                  to_string(info.shape) + " needs " + std::to_string(stored));
      const haddr_t offset = H5Dget_offset(d.id());
      if (offset == HADDR_UNDEF || offset > file_size || stored > file_size - offset)
        throw bad("data at byte " + std::to_string(offset) + " (+" + std::to_string(stored) +
                  ") lies outside the " + std::to_string(file_size) + "-byte file (truncated?)");
      if (info.dtype != dtype::string && info.dtype != dtype::bool_) {
        const auto memory = type_of(info.dtype, at);
        if (check_tri(H5Tequal(type.get(), memory.get()), at, "H5Tequal"))
          info.plain_offset = offset;
      }
      break;
    }
    case H5D_CHUNKED: {
      const int rank = static_cast<int>(info.shape.size());
      info.chunk.assign(info.shape.size(), 0);
      if (check(H5Pget_chunk(dcpl.get(), rank, info.chunk.data()), at, "H5Pget_chunk") != rank)
        throw bad("chunk rank differs from the dataset's rank");
      // A fixed-size dimension's chunk extent is at most the dimension (libhdf5 requires it when
      // writing; a damaged file that breaks it makes libhdf5 copy out of bounds).
      std::vector<hsize_t> maxdims(info.shape.size());
      check(H5Sget_simple_extent_dims(space.get(), nullptr, maxdims.data()), at,
            "H5Sget_simple_extent_dims");
      for (std::size_t i = 0; i < info.chunk.size(); ++i)
        if (maxdims[i] != H5S_UNLIMITED && info.chunk[i] > std::max<hsize_t>(maxdims[i], 1))
          throw bad("chunk dimension " + std::to_string(info.chunk[i]) +
                    " exceeds the dataset's maximum " + std::to_string(maxdims[i]));
      std::uint64_t chunk_elements = 1;
      for (auto c : info.chunk)
        if (c == 0 || __builtin_mul_overflow(chunk_elements, c, &chunk_elements))
          throw bad("invalid chunk dimensions");
      if (__builtin_mul_overflow(chunk_elements, info.stored_element, &info.chunk_bytes) ||
          info.chunk_bytes > detail::hdf5_max_chunk_bytes)
        throw bad("chunks of more than 4 GiB");
      const int nfilters = check(H5Pget_nfilters(dcpl.get()), at, "H5Pget_nfilters");
      bool known_filters = true;
      int compressors = 0;
      for (int i = 0; i < nfilters; ++i) {
        unsigned flags = 0, config = 0;
        unsigned params[8] = {};
        std::size_t nelmts = std::size(params);
        char name[64] = {};
        const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags,
                                               &nelmts, params, sizeof name, name, &config);
        if (id < 0) raise(at, "H5Pget_filter2");
        info.filters.push_back(id);
        // Parameters libhdf5's own filters would refuse leave the chunks to libhdf5, which says
        // so as it always has.
        chunk_filter f{id, 0};
        if (id == H5Z_FILTER_SHUFFLE && nelmts == 1 && params[0] != 0)
          f.element_size = params[0];
        else if (id == H5Z_FILTER_DEFLATE && nelmts == 1 && params[0] <= 9)
          ++compressors;
        else if (id == zstd_filter_id)
          ++compressors;
        else if (id != H5Z_FILTER_FLETCHER32)
          known_filters = false;
        info.chunk_filters.push_back(f);
        if (id == H5Z_FILTER_FLETCHER32) info.fletcher32 = true;
        if (id == zstd_filter_id) register_zstd_filter();
        if (!check_tri(H5Zfilter_avail(id), at, "H5Zfilter_avail"))
          throw bad("needs HDF5 filter " + std::to_string(id) + " (" + std::string(name) +
                        "), which is not available",
                    errc::unsupported);
      }
      // Two compressors in one pipeline leave a decoded size unknown between them.
      if (known_filters && compressors <= 1 && info.dtype != dtype::string &&
          info.dtype != dtype::bool_) {
        const auto memory = type_of(info.dtype, at);
        info.direct_chunks = check_tri(H5Tequal(type.get(), memory.get()), at, "H5Tequal");
      }
      if (!info.direct_chunks) info.chunk_filters.clear();
      if (info.elements == 0) break;
      hsize_t nchunks = 0;
      check(H5Dget_num_chunks(d.id(), space.get(), &nchunks), at, "H5Dget_num_chunks");
      const std::uint64_t expected = detail::expected_chunks(info.shape, info.chunk);
      if (nchunks != expected)
        throw bad("has " + std::to_string(nchunks) + " of its " + std::to_string(expected) +
                  " chunks stored");
      if (storage > file_size) throw bad("chunks hold more bytes than the file (truncated?)");
      if (info.filters.empty() && storage != nchunks * info.chunk_bytes)
        throw bad("unfiltered chunks hold " + std::to_string(storage) + " bytes, not " +
                  std::to_string(nchunks * info.chunk_bytes));
      // Each chunk lies inside the file, and one whose filter mask skips filters holds at least a
      // chunk's bytes: libhdf5 copies a whole chunk out of such a chunk's stored bytes unchecked.
      // Chunks are looked up by their coordinates (one index descent each) over the chunk grid.
      std::vector<hsize_t> coord(info.shape.size(), 0);
      for (hsize_t i = 0; i < nchunks; ++i) {
        unsigned mask = 0;
        haddr_t address = HADDR_UNDEF;
        hsize_t size = 0;
        check(H5Dget_chunk_info_by_coord(d.id(), coord.data(), &mask, &address, &size), at,
              "H5Dget_chunk_info_by_coord");
        if (address == HADDR_UNDEF || address > file_size || size > file_size - address)
          throw bad("chunk " + std::to_string(i) + " at byte " + std::to_string(address) + " (+" +
                    std::to_string(size) + ") lies outside the file (truncated?)");
        if (mask != 0 && size < info.chunk_bytes)
          throw bad("chunk " + std::to_string(i) + " skips filters (mask " + std::to_string(mask) +
                    ") but holds " + std::to_string(size) + " bytes, less than a chunk");
        // So that a small file cannot make the reader allocate a huge tensor it cannot back.
        if (info.chunk_bytes > detail::max_decoded(size, info.filters, mask))
          throw bad("chunk " + std::to_string(i) + " holds " + std::to_string(size) +
                    " bytes, which its filters cannot decode to " +
                    std::to_string(info.chunk_bytes));
        // The next chunk's coordinates, last dimension fastest.
        for (std::size_t k = coord.size(); k-- > 0;) {
          coord[k] += info.chunk[k];
          if (coord[k] < info.shape[k]) break;
          coord[k] = 0;
        }
      }
      break;
    }
    default:
      throw bad("uses virtual storage, which ckpt does not follow", errc::unsupported);
  }
  return info;
}

namespace detail {

inline plist_handle transfer_plist(bool verify_checksums, const site& at) {
  plist_handle dxpl(check_id(H5Pcreate(H5P_DATASET_XFER), at, "H5Pcreate"));
  check(H5Pset_edc_check(dxpl.get(), verify_checksums ? H5Z_ENABLE_EDC : H5Z_DISABLE_EDC), at,
        "H5Pset_edc_check");
  return dxpl;
}

}  // namespace detail

// Reads the whole dataset into `out`, whose dtype and shape must be the dataset's.
inline void read_dataset(const dataset& d, const dataset_info& info, const mutable_tensor_view& out,
                         bool verify_checksums = true) {
  const site& at = d.site;
  if (out.dtype != info.dtype)
    throw error(errc::dtype_mismatch,
                "stored as " + describe(info.dtype) + ", read into " + describe(out.dtype), at.file,
                at.object);
  if (info.dtype == dtype::string ? out.strings.size() != info.elements
                                  : out.bytes.size() != info.bytes)
    throw error(errc::shape_mismatch,
                "stored tensor " + to_string(info.shape) + " does not fit the destination", at.file,
                at.object);
  if (info.elements == 0) return;
  if (info.direct_chunks)
    return read_chunks_directly(d.id(), at, info.shape, info.chunk, info.chunk_bytes,
                                info.stored_element, info.chunk_filters, out.bytes,
                                verify_checksums);
  auto dxpl = detail::transfer_plist(verify_checksums, at);
  detail::zstd_cap_scope cap(static_cast<std::size_t>(info.chunk_bytes) + 4);
  const auto n = static_cast<std::size_t>(info.elements);

  if (info.dtype == dtype::string) {
    // Every global heap reference libhdf5 is about to follow, checked by ckpt first.
    if (info.variable_string) preflight_dataset_data(d.id(), at, info.elements);
    datatype_handle stored(check_id(H5Dget_type(d.id()), at, "H5Dget_type"));
    if (info.byte_sequences) {
      datatype_handle mem(check_id(H5Tvlen_create(H5T_NATIVE_UINT8), at, "H5Tvlen_create"));
      std::vector<hvl_t> seqs(n, hvl_t{0, nullptr});
      check(H5Dread(d.id(), mem.get(), H5S_ALL, H5S_ALL, dxpl.get(), seqs.data()), at, "H5Dread");
      for (std::size_t i = 0; i < n; ++i)
        out.strings[i] = seqs[i].p ? std::string(static_cast<const char*>(seqs[i].p), seqs[i].len)
                                   : std::string();
      dataspace_handle space(check_id(H5Dget_space(d.id()), at, "H5Dget_space"));
      H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, seqs.data());
    } else if (info.variable_string) {
      auto mem = string_type(string_kind::variable,
                             info.utf8 ? string_charset::utf8 : string_charset::ascii, at);
      std::vector<char*> ptrs(n, nullptr);
      check(H5Dread(d.id(), mem.get(), H5S_ALL, H5S_ALL, dxpl.get(), ptrs.data()), at, "H5Dread");
      for (std::size_t i = 0; i < n; ++i) out.strings[i] = ptrs[i] ? ptrs[i] : "";
      dataspace_handle space(check_id(H5Dget_space(d.id()), at, "H5Dget_space"));
      H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    } else {
      const std::size_t size = info.stored_element;
      std::vector<char> buffer(n * size);
      check(H5Dread(d.id(), stored.get(), H5S_ALL, H5S_ALL, dxpl.get(), buffer.data()), at,
            "H5Dread");
      for (std::size_t i = 0; i < n; ++i) {
        std::string_view s(buffer.data() + i * size, size);
        if (const auto nul = s.find('\0'); nul != std::string_view::npos) s = s.substr(0, nul);
        out.strings[i] = std::string(s);
      }
    }
    return;
  }

  datatype_handle mem;
  if (info.dtype == dtype::bool_) {
    // h5py's enum, or a plain 1-byte integer: read the bytes as stored, then make them 0 or 1.
    mem = datatype_handle(check_id(H5Dget_type(d.id()), at, "H5Dget_type"));
  } else {
    mem = type_of(info.dtype, at);
  }
  check(H5Dread(d.id(), mem.get(), H5S_ALL, H5S_ALL, dxpl.get(), out.bytes.data()), at, "H5Dread");
  if (info.dtype == dtype::bool_)
    for (auto& b : out.bytes) b = b == std::byte{0} ? std::byte{0} : std::byte{1};
}

// Creates dataset `name` in `g` holding `t`, laid out as `storage` asks.
inline dataset write_dataset(const group& g, std::string_view name, const tensor_view& t,
                             const storage_options& storage = {}) {
  const site at = g.site.at(name);
  const std::string n(name);
  const auto elements = checked_num_elements(t.shape);
  if (!elements) throw error(errc::shape_mismatch, "shape overflows", at.file, at.object);
  if (t.dtype == dtype::string) {
    if (t.strings.size() != *elements)
      throw error(errc::shape_mismatch, "string count does not match the shape", at.file,
                  at.object);
  } else {
    const auto bytes = checked_byte_size(t.dtype, t.shape);
    if (!bytes || *bytes != t.bytes.size())
      throw error(errc::shape_mismatch,
                  "the tensor has " + std::to_string(t.bytes.size()) + " bytes, not what its " +
                      describe(t.dtype) + " " + to_string(t.shape) + " needs",
                  at.file, at.object);
  }

  datatype_handle type;
  bool byte_sequences = false;
  if (t.dtype == dtype::string) {
    bool utf8 = true;
    for (const auto& s : t.strings) {
      byte_sequences = byte_sequences || s.find('\0') != std::string::npos;
      utf8 = utf8 && is_valid_utf8(s);
    }
    // Text that is not UTF-8 is stored as ASCII-flagged bytes, which h5py returns as bytes.
    if (byte_sequences)
      type = datatype_handle(check_id(H5Tvlen_create(H5T_STD_U8LE), at, "H5Tvlen_create"));
    else
      type = string_type(string_kind::variable, utf8 ? string_charset::utf8 : string_charset::ascii,
                         at);
  } else {
    type = type_of(t.dtype, at);
  }

  dataspace_handle space;
  if (t.shape.empty()) {
    space = dataspace_handle(check_id(H5Screate(H5S_SCALAR), at, "H5Screate"));
  } else {
    std::vector<hsize_t> dims(t.shape.begin(), t.shape.end());
    space = dataspace_handle(
        check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), at,
                 "H5Screate_simple"));
  }
  auto dcpl = creation_plist(storage, t.dtype, t.shape, at);
  dataset d{dataset_handle(check_id(H5Dcreate2(g.id(), n.c_str(), type.get(), space.get(),
                                               H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                    at, "H5Dcreate2", errc::io)),
            at};
  if (*elements > 0) {
    if (byte_sequences) {
      std::vector<hvl_t> seqs;
      seqs.reserve(t.strings.size());
      for (const auto& s : t.strings)
        seqs.push_back({s.size(), const_cast<char*>(s.data())});  // libhdf5 only reads them
      check(H5Dwrite(d.id(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, seqs.data()), at,
            "H5Dwrite", errc::io);
    } else if (t.dtype == dtype::string) {
      std::vector<const char*> ptrs;
      ptrs.reserve(t.strings.size());
      for (const auto& s : t.strings) ptrs.push_back(s.c_str());
      check(H5Dwrite(d.id(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), at,
            "H5Dwrite", errc::io);
    } else {
      check(H5Dwrite(d.id(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, t.bytes.data()), at,
            "H5Dwrite", errc::io);
    }
  }
  // Fixed-length, so reading a dtype never touches libhdf5's global heap.
  if (byte_sequences)
    write_string(d.id(), at, dtype_attribute, "string", string_kind::fixed, string_charset::ascii);
  if (needs_dtype_attribute(t.dtype))
    write_string(d.id(), at, dtype_attribute, std::string(ckpt::name(t.dtype)), string_kind::fixed,
                 string_charset::ascii);
  return d;
}

}  // namespace ckpt::hdf5
