// SPDX-License-Identifier: Apache-2.0
#pragma once
// Chunked numeric datasets read one chunk at a time without libhdf5's filter pipeline. libhdf5's
// deflate filter grows its output buffer by doubling and the chunk is then copied into the
// destination, so a 1 GiB chunk needed twice the tensor. Here each chunk's stored bytes are read
// as they lie (H5Dread_chunk) and ckpt undoes the filters the chunk's mask applied, last filter
// first: Fletcher32 checked and stripped in place, zstd and deflate decoded into a buffer of
// exactly the size the filter's input had, shuffle undone out of place. A chunk that is a
// contiguous run of the destination (its extent is the dataset's in every dimension but the
// first) is decoded straight into it; other chunks, and the partial ones at the dataset's end, go
// through one reusable chunk buffer and have their part of the dataset copied out, or, when
// shuffle is their last step to undo, are unshuffled straight into that part.
//
// Used only where the result is bit for bit what H5Dread gives: the stored type equals the memory
// type (no conversion) and every filter is one ckpt knows, with the parameters libhdf5 would
// accept (dataset.hpp decides).

#include <hdf5.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ckpt/codec/shuffle.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/zstd_filter.hpp"

namespace ckpt::hdf5 {

// One filter of a dataset's pipeline, with what undoing it needs.
struct chunk_filter {
  H5Z_filter_t id = 0;
  std::size_t element_size = 0;  // shuffle's, from its parameter
};

namespace detail {

// HDF5's Fletcher32: big-endian 16-bit words summed from 0 (not 0xffff), both sums folded to 16
// bits after every 360 words, an odd last byte taken as a word's high byte, then folded again.
// The fold points are part of the definition: folding elsewhere can give 0xffff where HDF5 gives
// 0.
inline std::uint32_t hdf5_fletcher32(const std::byte* data, std::size_t size) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  std::uint32_t a = 0, b = 0;
  auto fold = [](std::uint32_t s) { return (s & 0xffff) + (s >> 16); };
  for (std::size_t words = size / 2; words > 0;) {
    std::size_t block = words < 360 ? words : 360;
    words -= block;
    for (; block > 0; --block, p += 2) {
      a += (static_cast<std::uint32_t>(p[0]) << 8) | p[1];
      b += a;
    }
    a = fold(a);
    b = fold(b);
  }
  if (size % 2) {
    a += static_cast<std::uint32_t>(p[0]) << 8;
    b += a;
    a = fold(a);
    b = fold(b);
  }
  a = fold(a);
  b = fold(b);
  return (b << 16) | a;
}

// Grow-only storage that is never cleared: every byte handed out is written before it is read.
class scratch_buffer {
 public:
  std::byte* get(std::size_t size) {
    if (size > capacity_ || !data_) {
      data_.reset();
      data_ = std::make_unique_for_overwrite<std::byte[]>(std::max<std::size_t>(size, 1));
      capacity_ = size;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t capacity_ = 0;
};

class inflate_stream {
 public:
  inflate_stream() noexcept { ok_ = inflateInit(&z_) == Z_OK; }
  inflate_stream(const inflate_stream&) = delete;
  inflate_stream& operator=(const inflate_stream&) = delete;
  ~inflate_stream() {
    if (ok_) inflateEnd(&z_);
  }
  bool ok() const noexcept { return ok_; }
  z_stream& get() noexcept { return z_; }

 private:
  z_stream z_{};
  bool ok_ = false;
};

// Undoes a dataset's filter pipeline on one chunk at a time, reusing its buffers across chunks.
class chunk_decoder {
 public:
  chunk_decoder(const site& at, std::vector<chunk_filter> filters, std::uint64_t chunk_bytes,
                bool verify_checksums)
      : at_(at),
        filters_(std::move(filters)),
        chunk_bytes_(static_cast<std::size_t>(chunk_bytes)),
        verify_(verify_checksums) {}
  chunk_decoder(const chunk_decoder&) = delete;
  chunk_decoder& operator=(const chunk_decoder&) = delete;
  ~chunk_decoder() {
    if (zstd_) ZSTD_freeDCtx(zstd_);
  }

  // Whether filter i of the pipeline was applied to a chunk whose filter mask is `mask`.
  static bool applied(std::size_t i, unsigned mask) noexcept {
    return i >= 32 || !(mask & (1u << i));
  }
  bool applies_any(unsigned mask) const noexcept {
    for (std::size_t i = 0; i < filters_.size(); ++i)
      if (applied(i, mask)) return true;
    return false;
  }

  // The element size of the shuffle a chunk with filter mask `mask` went through first, or 0 when
  // its first applied filter is not shuffle.
  std::size_t first_shuffle(unsigned mask) const noexcept {
    for (std::size_t i = 0; i < filters_.size(); ++i)
      if (applied(i, mask))
        return filters_[i].id == H5Z_FILTER_SHUFFLE ? filters_[i].element_size : 0;
    return 0;
  }

  // Decodes the chunk's `size` stored bytes at `stored` (changed in place) into `out`, which
  // receives exactly the chunk's decoded bytes. With `leave_shuffled`, a chunk whose first filter
  // is shuffle (first_shuffle) stops short of unshuffling: the return value points at its still
  // shuffled bytes (the chunk's size) and `out` is untouched; otherwise it is null. `chunk` names
  // the chunk in messages, `address` is its file offset.
  const std::byte* decode(std::byte* stored, std::size_t size, unsigned mask, std::byte* out,
                          const std::string& chunk, std::uint64_t address,
                          bool leave_shuffled = false) {
    // The size each applied filter was given when the chunk was written: the chunk itself, plus 4
    // for every Fletcher32 applied before it; unknown (npos) after the compressor, whose output
    // size only the stored bytes tell. dataset.hpp admits one compressor at most, so each
    // compressor's input, and the first applied filter's, is known.
    constexpr std::size_t unknown = static_cast<std::size_t>(-1);
    std::vector<std::size_t> input(filters_.size(), unknown);
    std::size_t running = chunk_bytes_;
    bool known = true;
    std::size_t last_applied = filters_.size();  // the first filter in pipeline order applied
    for (std::size_t i = 0; i < filters_.size(); ++i) {
      if (!applied(i, mask)) continue;
      if (last_applied == filters_.size()) last_applied = i;
      input[i] = known ? running : unknown;
      const H5Z_filter_t id = filters_[i].id;
      if (id == H5Z_FILTER_FLETCHER32) running += 4;
      if (id == H5Z_FILTER_DEFLATE || id == zstd_filter_id) known = false;
    }
    if (last_applied == filters_.size()) {
      // Every filter skipped: the chunk as stored (the open-time check saw at least a chunk).
      if (size < chunk_bytes_)
        fail(chunk, address,
             "holds " + std::to_string(size) + " unfiltered bytes, less than the chunk's " +
                 std::to_string(chunk_bytes_));
      std::memcpy(out, stored, chunk_bytes_);
      return nullptr;
    }

    std::byte* data = stored;
    int in_scratch = -1;  // which scratch buffer holds `data`, -1 for none
    for (std::size_t i = filters_.size(); i-- > 0;) {
      if (!applied(i, mask)) continue;
      const std::size_t want = input[i];
      const bool last = i == last_applied;
      const H5Z_filter_t id = filters_[i].id;
      if (id == H5Z_FILTER_FLETCHER32) {
        if (size < 4 || (want != unknown && size != want + 4))
          fail(chunk, address,
               "holds " + std::to_string(size) + " bytes before its Fletcher32 checksum is " +
                   "removed, not " +
                   (want != unknown ? std::to_string(want + 4) : std::string("at least 4")));
        if (verify_) check_fletcher32(data, size, chunk, address);
        size -= 4;
        continue;
      }
      if (last && leave_shuffled && id == H5Z_FILTER_SHUFFLE) {
        if (size != want)
          fail(chunk, address,
               "holds " + std::to_string(size) + " bytes before unshuffling, not " +
                   std::to_string(want));
        return data;
      }
      if (want == unknown && id != H5Z_FILTER_SHUFFLE)
        fail(chunk, address, "has two compressors in its pipeline, which ckpt does not undo");
      // Shuffle after the compressor keeps the compressed size.
      const std::size_t produced = want != unknown ? want : size;
      // The other filters write into a new buffer: the destination when nothing is left to undo.
      const int next_scratch = in_scratch == 0 ? 1 : 0;
      std::byte* target = last ? out : scratch_[next_scratch].get(produced);
      switch (id) {
        case H5Z_FILTER_DEFLATE:
          inflate_into(data, size, target, want, chunk, address);
          break;
        case zstd_filter_id:
          zstd_into(data, size, target, want, chunk, address);
          break;
        case H5Z_FILTER_SHUFFLE:
          if (size != produced)
            fail(chunk, address,
                 "holds " + std::to_string(size) + " bytes before unshuffling, not " +
                     std::to_string(want));
          byte_unshuffle(data, target, size, filters_[i].element_size);
          break;
        default:
          fail(chunk, address, "has filter " + std::to_string(id) + ", which ckpt cannot undo");
      }
      data = target;
      size = produced;
      in_scratch = last ? -1 : next_scratch;
    }
    // The pipeline began with Fletcher32: the bytes are still where the last copy left them.
    if (data != out) std::memcpy(out, data, chunk_bytes_);
    return nullptr;
  }

 private:
  [[noreturn]] void fail(const std::string& chunk, std::uint64_t address, const std::string& what,
                         errc code = errc::bad_format) const {
    throw error(code, chunk + " " + what, at_.file, at_.object, address);
  }

  void check_fletcher32(const std::byte* data, std::size_t size, const std::string& chunk,
                        std::uint64_t address) const {
    const std::size_t body = size - 4;
    const auto* tail = reinterpret_cast<const unsigned char*>(data + body);
    const std::uint32_t stored =
        static_cast<std::uint32_t>(tail[0]) | (static_cast<std::uint32_t>(tail[1]) << 8) |
        (static_cast<std::uint32_t>(tail[2]) << 16) | (static_cast<std::uint32_t>(tail[3]) << 24);
    const std::uint32_t sum = hdf5_fletcher32(data, body);
    // Files from HDF5 releases before 1.6.3 on little-endian machines hold the sum with the bytes
    // of each 16-bit half swapped; libhdf5 accepts both, and so does ckpt.
    const std::uint32_t swapped = ((sum & 0x00ff00ffu) << 8) | ((sum >> 8) & 0x00ff00ffu);
    if (stored != sum && stored != swapped)
      fail(chunk, address, "does not match its Fletcher32 checksum", errc::checksum_mismatch);
  }

  void inflate_into(const std::byte* src, std::size_t size, std::byte* dst, std::size_t want,
                    const std::string& chunk, std::uint64_t address) {
    inflate_stream stream;
    if (!stream.ok()) fail(chunk, address, "could not be inflated (zlib: out of memory)");
    z_stream& z = stream.get();
    // zlib counts in 32 bits per call; chunks and their stored bytes may not fit.
    constexpr std::size_t step = std::size_t{1} << 30;
    const auto* in = reinterpret_cast<const Bytef*>(src);
    auto* outp = reinterpret_cast<Bytef*>(dst);
    std::size_t in_left = size, out_left = want;
    unsigned char spare = 0;
    bool over = false;  // writing into `spare`: output beyond `want`
    for (;;) {
      if (z.avail_in == 0 && in_left > 0) {
        const std::size_t n = std::min(in_left, step);
        z.next_in = const_cast<Bytef*>(in);
        z.avail_in = static_cast<uInt>(n);
        in += n, in_left -= n;
      }
      if (z.avail_out == 0) {
        if (over)
          fail(chunk, address,
               "inflates to more than the chunk's " + std::to_string(want) + " bytes");
        if (out_left > 0) {
          const std::size_t n = std::min(out_left, step);
          z.next_out = outp;
          z.avail_out = static_cast<uInt>(n);
          outp += n, out_left -= n;
        } else {
          // A stream may fill the chunk exactly and still hold its end marker and checksum.
          z.next_out = &spare;
          z.avail_out = 1;
          over = true;
        }
      }
      const int status = inflate(&z, Z_NO_FLUSH);
      if (status == Z_STREAM_END) break;
      if (status == Z_OK) continue;
      if (status == Z_BUF_ERROR && z.avail_out == 0) continue;
      if (status == Z_BUF_ERROR)
        fail(chunk, address,
             "holds a deflate stream that ends early (" + std::to_string(z.total_out) + " of " +
                 std::to_string(want) + " bytes inflated)");
      fail(chunk, address,
           std::string("holds a bad deflate stream (zlib: ") + (z.msg ? z.msg : "error") + ")");
    }
    if (over && z.avail_out == 0)
      fail(chunk, address, "inflates to more than the chunk's " + std::to_string(want) + " bytes");
    if (z.total_out != want)
      fail(chunk, address,
           "inflates to " + std::to_string(z.total_out) + " bytes, not the chunk's " +
               std::to_string(want));
  }

  void zstd_into(const std::byte* src, std::size_t size, std::byte* dst, std::size_t want,
                 const std::string& chunk, std::uint64_t address) {
    const unsigned long long content = ZSTD_getFrameContentSize(src, size);
    if (content == ZSTD_CONTENTSIZE_ERROR) fail(chunk, address, "is not a zstd frame");
    if (content == ZSTD_CONTENTSIZE_UNKNOWN)
      fail(chunk, address, "holds a zstd frame that does not record its content size");
    if (content != want)
      fail(chunk, address,
           "holds a zstd frame of " + std::to_string(content) + " bytes, not the chunk's " +
               std::to_string(want));
    if (!zstd_ && !(zstd_ = ZSTD_createDCtx()))
      fail(chunk, address, "could not be decoded (zstd: out of memory)");
    const std::size_t decoded = ZSTD_decompressDCtx(zstd_, dst, want, src, size);
    if (ZSTD_isError(decoded))
      fail(chunk, address,
           std::string("holds a bad zstd frame (zstd: ") + ZSTD_getErrorName(decoded) + ")");
    if (decoded != want)
      fail(chunk, address,
           "decodes to " + std::to_string(decoded) + " bytes, not the chunk's " +
               std::to_string(want));
  }

  const site& at_;
  std::vector<chunk_filter> filters_;
  std::size_t chunk_bytes_;
  bool verify_;
  scratch_buffer scratch_[2];
  ZSTD_DCtx* zstd_ = nullptr;
};

// "chunk 3 at (0, 64)": the index in the order the chunks are visited and the chunk's coordinates.
inline std::string describe_chunk(std::uint64_t index, const std::vector<hsize_t>& coord) {
  std::string s = "chunk " + std::to_string(index) + " at (";
  for (std::size_t k = 0; k < coord.size(); ++k) s += (k ? ", " : "") + std::to_string(coord[k]);
  return s + ")";
}

}  // namespace detail

// Reads every chunk of a chunked dataset of shape `dims` (chunk extents `chunk`, `chunk_bytes`
// decoded bytes each, elements of `element_size` bytes stored as they lie in memory) into `out`,
// which holds exactly the dataset's bytes. The open-time checks (dataset.hpp) have seen every chunk
// allocated and inside the file.
inline void read_chunks_directly(hid_t dataset_id, const site& at, const shape& dims,
                                 const std::vector<hsize_t>& chunk, std::uint64_t chunk_bytes,
                                 std::size_t element_size, std::vector<chunk_filter> filters,
                                 std::span<std::byte> out, bool verify_checksums) {
  const std::size_t rank = dims.size();
  detail::chunk_decoder decoder(at, std::move(filters), chunk_bytes, verify_checksums);
  // A chunk spanning every dimension but the first is a run of whole rows of the destination.
  bool slab = true;
  for (std::size_t k = 1; k < rank; ++k) slab = slab && chunk[k] == dims[k];
  const std::size_t slab_row = slab ? static_cast<std::size_t>(chunk_bytes / chunk[0]) : 0;
  // Row-major strides, in elements, of the destination and of a decoded chunk.
  std::vector<std::uint64_t> out_stride(rank, 1), chunk_stride(rank, 1);
  for (std::size_t k = rank; k-- > 1;) {
    out_stride[k - 1] = out_stride[k] * dims[k];
    chunk_stride[k - 1] = chunk_stride[k] * chunk[k];
  }
  detail::scratch_buffer stored_buffer, chunk_buffer;
  std::vector<hsize_t> coord(rank, 0), extent(rank, 0), index(rank, 0);
  for (std::uint64_t n = 0;; ++n) {
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    const std::string name = detail::describe_chunk(n, coord);
    if (H5Dget_chunk_info_by_coord(dataset_id, coord.data(), &mask, &address, &size) < 0)
      raise(at, "H5Dget_chunk_info_by_coord", errc::bad_format,
            "H5Dget_chunk_info_by_coord failed for " + name);
    if (address == HADDR_UNDEF)
      throw error(errc::bad_format, name + " is not stored", at.file, at.object);
    const bool whole_slab = slab && coord[0] + chunk[0] <= dims[0];
    const bool raw = !decoder.applies_any(mask) && size == chunk_bytes;
    // A shuffled chunk that is not a run of the destination is unshuffled straight into its part
    // of it, so that it needs no chunk buffer besides the decompressed bytes.
    const std::size_t shuffle = raw ? 0 : decoder.first_shuffle(mask);
    const bool scatter = !whole_slab && shuffle == element_size;
    std::byte* target = whole_slab ? out.data() + coord[0] * slab_row
                        : scatter  ? nullptr
                                   : chunk_buffer.get(static_cast<std::size_t>(chunk_bytes));
    std::byte* stored = raw ? target : stored_buffer.get(static_cast<std::size_t>(size));
    std::uint32_t read_mask = 0;
    if (H5Dread_chunk(dataset_id, H5P_DEFAULT, coord.data(), &read_mask, stored) < 0)
      raise(at, "H5Dread_chunk", errc::bad_format, "H5Dread_chunk failed for " + name);
    if (read_mask != mask)
      throw error(errc::bad_format,
                  name + " has filter mask " + std::to_string(read_mask) + " when read but " +
                      std::to_string(mask) + " in its index entry",
                  at.file, at.object, address);
    const std::byte* shuffled = raw ? nullptr
                                    : decoder.decode(stored, static_cast<std::size_t>(size), mask,
                                                     target, name, address, scatter);

    if (!whole_slab) {
      // The part of the chunk inside the dataset, one run along the last dimension at a time.
      for (std::size_t k = 0; k < rank; ++k)
        extent[k] = std::min<std::uint64_t>(chunk[k], dims[k] - coord[k]);
      std::fill(index.begin(), index.end(), 0);
      const auto run = static_cast<std::size_t>(extent[rank - 1]);
      // Shuffle leaves fewer than two elements, or one-byte ones, as they are.
      const std::size_t planes = static_cast<std::size_t>(chunk_bytes / element_size);
      const bool unshuffle = shuffled && element_size > 1 && planes >= 2;
      const std::byte* source = shuffled ? shuffled : target;
      for (;;) {
        std::uint64_t from = 0, to = 0;
        for (std::size_t k = 0; k < rank; ++k) {
          from += index[k] * chunk_stride[k];
          to += (coord[k] + index[k]) * out_stride[k];
        }
        std::byte* dst = out.data() + to * element_size;
        if (unshuffle) {
          // Byte j of chunk element e sits at plane j, position e.
          for (std::size_t j = 0; j < element_size; ++j) {
            const std::byte* plane = source + j * planes + from;
            for (std::size_t e = 0; e < run; ++e) dst[e * element_size + j] = plane[e];
          }
        } else {
          std::memcpy(dst, source + from * element_size, run * element_size);
        }
        std::size_t k = rank - 1;
        while (k-- > 0) {
          if (++index[k] < extent[k]) break;
          index[k] = 0;
        }
        if (k == SIZE_MAX) break;
      }
    }

    // The next chunk's coordinates, last dimension fastest (as the open-time checks visit them).
    std::size_t k = rank;
    while (k-- > 0) {
      coord[k] += chunk[k];
      if (coord[k] < dims[k]) break;
      coord[k] = 0;
    }
    if (k == SIZE_MAX) break;
  }
}

}  // namespace ckpt::hdf5
