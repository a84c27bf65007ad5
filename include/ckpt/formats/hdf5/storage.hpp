// SPDX-License-Identifier: Apache-2.0
#pragma once
// save_options::storage as an HDF5 dataset creation property list. Contiguous datasets carry no
// filters; chunked ones get, in this pipeline order, shuffle -> deflate or zstd -> Fletcher32, so
// the checksum covers the bytes as stored. Scalars and empty tensors cannot be chunked in HDF5 and
// are always stored contiguous (no filters, no checksum), and so are string tensors.

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/handle.hpp"
#include "ckpt/formats/hdf5/zstd_filter.hpp"

namespace ckpt::hdf5 {

inline bool wants_chunks(const storage_options& s) noexcept {
  return s.layout == storage_layout::chunked || s.shuffle || s.deflate_level >= 0 ||
         s.zstd_level > 0 || s.checksum;
}

// Refuses options no file can honour, naming the field.
inline void validate(const storage_options& s, const site& where) {
  auto refuse = [&](const std::string& what) {
    throw error(errc::unsupported, "save_options::storage: " + what, where.file);
  };
  if (s.deflate_level < -1 || s.deflate_level > 9) refuse("deflate_level must be -1 (off) or 0..9");
  if (s.zstd_level < 0 || s.zstd_level > ZSTD_maxCLevel())
    refuse("zstd_level must be 0 (off) or 1.." + std::to_string(ZSTD_maxCLevel()));
  if (s.deflate_level >= 0 && s.zstd_level > 0) refuse("choose deflate or zstd, not both");
  if (wants_chunks(s) && (s.chunk_bytes == 0 || s.chunk_bytes > (1ull << 31)))
    refuse("chunk_bytes must be in 1..2^31 (HDF5 chunks are under 4 GiB)");
}

// Chunk dimensions of about `target_bytes`: whole trailing dimensions first, so a chunk is a run
// of rows and the shuffle filter sees long runs of one element kind.
inline std::vector<hsize_t> chunk_dims(const shape& dims, std::size_t element_size,
                                       std::uint64_t target_bytes) {
  std::vector<hsize_t> chunk(dims.size(), 1);
  std::uint64_t budget =
      std::max<std::uint64_t>(1, target_bytes / std::max<std::size_t>(1, element_size));
  for (std::size_t i = dims.size(); i-- > 0;) {
    const std::uint64_t c = std::max<std::uint64_t>(1, std::min<std::uint64_t>(dims[i], budget));
    chunk[i] = c;
    budget = std::max<std::uint64_t>(1, budget / c);
  }
  return chunk;
}

// The creation property list of a dataset of `dims`, and whether it ended up chunked.
inline plist_handle creation_plist(const storage_options& s, dtype type, const shape& dims,
                                   const site& where, bool* chunked = nullptr) {
  plist_handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), where, "H5Pcreate"));
  // Every byte is written by ckpt; fill values would only be written to be overwritten.
  // (libhdf5 insists on fill values for variable-length types.)
  if (type != dtype::string)
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), where, "H5Pset_fill_time");
  // No modification times, as h5py writes datasets: the same tensors give the same file.
  check(H5Pset_obj_track_times(dcpl.get(), false), where, "H5Pset_obj_track_times");
  const auto elements = checked_num_elements(dims);
  // Strings stay contiguous too: filters would see only their heap references.
  const bool use_chunks =
      wants_chunks(s) && !dims.empty() && elements && *elements > 0 && type != dtype::string;
  if (chunked) *chunked = use_chunks;
  if (!use_chunks) return dcpl;
  const auto chunk = chunk_dims(dims, element_size(type), s.chunk_bytes);
  check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), where,
        "H5Pset_chunk");
  if (s.shuffle) check(H5Pset_shuffle(dcpl.get()), where, "H5Pset_shuffle");
  if (s.deflate_level >= 0)
    check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(s.deflate_level)), where,
          "H5Pset_deflate");
  if (s.zstd_level > 0) {
    if (!register_zstd_filter())
      throw error(errc::unsupported, "libhdf5 refused to register the zstd filter", where.file);
    const unsigned level = static_cast<unsigned>(s.zstd_level);
    check(H5Pset_filter(dcpl.get(), zstd_filter_id, H5Z_FLAG_MANDATORY, 1, &level), where,
          "H5Pset_filter");
  }
  if (s.checksum) check(H5Pset_fletcher32(dcpl.get()), where, "H5Pset_fletcher32");
  return dcpl;
}

}  // namespace ckpt::hdf5
