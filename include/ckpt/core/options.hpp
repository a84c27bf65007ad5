// SPDX-License-Identifier: Apache-2.0
#pragma once
// What a caller can ask of a save or a load. Defaults are strict: every key must match, dtypes
// must be equal, checksums are verified, and limits guard against hostile files.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ckpt {

// Which stored dtypes may be converted into a field of another dtype on load.
enum class conversion {
  none,      // dtypes must be equal
  lossless,  // widening only: float16 -> float32, int8 -> int32, float32 -> float64, ...
  any,       // also narrowing, rounding to nearest even: float32 -> bfloat16, float64 -> float32
};

// Ceilings on what a file may make a reader allocate or parse.
struct load_limits {
  std::uint64_t max_header_bytes = 100'000'000;
  std::uint64_t max_entries = 1'000'000;
  std::uint32_t max_rank = 64;
  std::uint32_t max_name_bytes = 65'536;
  std::uint32_t max_depth = 64;  // nesting of JSON and similar trees
};

struct load_options {
  std::string format = {};        // empty: told by the path and the file's contents
  bool allow_missing = false;     // leave fields the file lacks as they are
  bool allow_unexpected = false;  // ignore stored entries no field takes
  // Stored paths (canonical, '/'-separated) renamed before matching fields: exact names first,
  // then the first prefix that matches whole components ({"model/encoder", "encoder"}).
  std::map<std::string, std::string> rename = {};
  std::vector<std::pair<std::string, std::string>> rename_prefix = {};
  conversion convert = conversion::none;
  bool verify_checksums = true;
  load_limits limits = {};
};

// How tensor bytes are laid out where a format offers a choice (HDF5; formats/hdf5/README.md).
// Contiguous is the default: fastest, and what Keras writes. Any filter implies chunked storage.
enum class storage_layout { contiguous, chunked };

struct storage_options {
  storage_layout layout = storage_layout::contiguous;
  std::uint64_t chunk_bytes = 1 << 20;  // target size of one chunk before filters
  bool shuffle = false;                 // byte-shuffle each chunk (helps compressors)
  int deflate_level = -1;               // -1: off; 0..9: gzip/deflate (HDF5 filter 1)
  int zstd_level = 0;                   // 0: off; 1..22: zstd (HDF5 filter 32015)
  bool checksum = false;                // Fletcher32 per chunk, verified on read
  std::uint32_t shards = 1;             // data files to spread tensors over (TF checkpoints)
};

struct save_options {
  // Empty: told by the path's extension.
  std::string format = {};
  // Free-form strings, where the format has a place for them.
  std::map<std::string, std::string> metadata = {};
  // fsync before the file is renamed into place.
  bool sync = true;
  // The checkpoint's number, where the format records one (TensorFlow: the root's save_counter,
  // default 1). ckpt::manager passes each checkpoint's number.
  std::optional<std::int64_t> step = std::nullopt;
  storage_options storage = {};
};

}  // namespace ckpt
