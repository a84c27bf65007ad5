// SPDX-License-Identifier: Apache-2.0
#pragma once
// The Zstandard HDF5 filter, registered id 32015, built into ckpt with libzstd and registered
// in-process (H5Zregister), so no plugin is needed to read or write it. Compatible with the
// community plugin (HDF5Plugin-Zstandard, also shipped by hdf5plugin): cd_values[0] is the
// compression level (none: zstd's default), each chunk is one zstd frame that records its content
// size, and decompression ignores cd_values.
//
// The decoder runs on hostile input, so it never trusts the frame: the content size must be known
// and at most the cap below, decompression writes into a buffer of exactly that size, and every
// failure returns 0, which libhdf5 reports as a filter failure (an error, not an abort).

#include <hdf5.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "ckpt/formats/hdf5/error.hpp"

namespace ckpt::hdf5 {

inline constexpr H5Z_filter_t zstd_filter_id = 32015;

namespace detail {

// The largest decoded chunk the filter accepts. ckpt's readers set it to the dataset's chunk size
// (plus Fletcher32's 4 bytes, should a file place the checksum before the compressor) for the
// duration of each read; other callers in the process get libhdf5's own chunk-size ceiling.
inline thread_local std::size_t zstd_decode_cap = 0;
inline constexpr std::size_t hdf5_max_chunk_bytes = 0xffffffffu;

inline void push_filter_error(const char* message) {
  H5Epush2(H5E_DEFAULT, __FILE__, "ckpt_zstd_filter", __LINE__, H5E_ERR_CLS, H5E_PLINE,
           H5E_CANTFILTER, "%s", message);
}

inline std::size_t zstd_filter(unsigned flags, std::size_t cd_nelmts, const unsigned cd_values[],
                               std::size_t nbytes, std::size_t* buf_size, void** buf) {
  if (flags & H5Z_FLAG_REVERSE) {
    const unsigned long long content = ZSTD_getFrameContentSize(*buf, nbytes);
    if (content == ZSTD_CONTENTSIZE_ERROR) {
      push_filter_error("zstd: the chunk is not a zstd frame");
      return 0;
    }
    if (content == ZSTD_CONTENTSIZE_UNKNOWN) {
      push_filter_error("zstd: the frame does not record its content size");
      return 0;
    }
    const std::size_t cap = zstd_decode_cap ? zstd_decode_cap : hdf5_max_chunk_bytes;
    if (content > cap) {
      push_filter_error("zstd: the frame's content size exceeds the dataset's chunk size");
      return 0;
    }
    // Never hand libhdf5 a buffer shorter than a chunk: it copies a whole chunk out of it.
    const std::size_t capacity = zstd_decode_cap > content ? zstd_decode_cap : content;
    void* out = H5allocate_memory(capacity ? capacity : 1, /*clear=*/true);
    if (!out) {
      push_filter_error("zstd: out of memory");
      return 0;
    }
    const std::size_t decoded =
        ZSTD_decompress(out, static_cast<std::size_t>(content), *buf, nbytes);
    if (ZSTD_isError(decoded) || decoded != content) {
      H5free_memory(out);
      push_filter_error("zstd: the frame does not decode to its recorded size");
      return 0;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = capacity;
    return decoded;
  }
  int level = ZSTD_CLEVEL_DEFAULT;
  if (cd_nelmts > 0) level = static_cast<int>(cd_values[0]);
  if (level < 1) level = 1;
  if (level > ZSTD_maxCLevel()) level = ZSTD_maxCLevel();
  const std::size_t bound = ZSTD_compressBound(nbytes);
  void* out = H5allocate_memory(bound, /*clear=*/false);
  if (!out) {
    push_filter_error("zstd: out of memory");
    return 0;
  }
  const std::size_t written = ZSTD_compress(out, bound, *buf, nbytes, level);
  if (ZSTD_isError(written)) {
    H5free_memory(out);
    push_filter_error("zstd: compression failed");
    return 0;
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = bound;
  return written;
}

// Sets the decode cap for one read; restores the previous one.
class zstd_cap_scope {
 public:
  explicit zstd_cap_scope(std::size_t cap) noexcept : saved_(zstd_decode_cap) {
    zstd_decode_cap = cap;
  }
  zstd_cap_scope(const zstd_cap_scope&) = delete;
  zstd_cap_scope& operator=(const zstd_cap_scope&) = delete;
  ~zstd_cap_scope() { zstd_decode_cap = saved_; }

 private:
  std::size_t saved_;
};

}  // namespace detail

// Registers the filter with libhdf5 once per process. Returns false if libhdf5 refused it.
inline bool register_zstd_filter() {
  static const bool registered = [] {
    static const H5Z_class2_t filter_class = {
        H5Z_CLASS_T_VERS,
        zstd_filter_id,
        1,  // encoder present
        1,  // decoder present
        "Zstandard compression (ckpt, compatible with HDF5Plugin-Zstandard)",
        nullptr,  // can_apply
        nullptr,  // set_local
        &detail::zstd_filter,
    };
    quiet_errors quiet;
    const bool ok = H5Zregister(&filter_class) >= 0;
    H5Eclear2(H5E_DEFAULT);
    return ok;
  }();
  return registered;
}

}  // namespace ckpt::hdf5
