// SPDX-License-Identifier: Apache-2.0
#pragma once
// Writes a TensorBundle the way TF's BundleWriter (and MergeBundles, for several shards) does.
//
//   tf_checkpoint::bundle_writer w{"dir/ckpt-1", {.num_shards = 1, .sync = true}};
//   w.add("w/.ATTRIBUTES/VARIABLE_VALUE", view);            // shard 0
//   w.add("v", view, /*shard=*/1);                          // when num_shards > 1
//   w.add_slice("p", {10, 4}, slice, view_of_the_slice);     // a partitioned variable
//   w.finish();                                             // data files, then the index
//
// Each shard's tensors are packed back to back in the order of add() calls (no alignment
// padding, TF's default), so offsets are what TF would give; the `.index` lists the entries in
// bytewise key order, after the header entry "" (num_shards, little-endian, version {1, 0}),
// through table_builder (TF's block rules, no compression). Entries are encoded canonically
// (protos.hpp), so given the same adds, the files are byte-identical to TF's.
// Fixed-size dtypes are stored as their little-endian bytes with the masked CRC32C of exactly
// those bytes; DT_STRING as varint lengths, the masked CRC32C of the lengths (as u32le, or u64le
// above 4 GiB), then the bytes; the entry CRC continues over the stored checksum and the bytes.
//
// Files: every data file and then the index are written to a temporary name beside the target,
// fsynced (unless options.sync is false), renamed into place, and the directory fsynced
// (io/atomic_file.hpp). A writer destroyed before finish(), or a failure at any point, removes
// its temporary files. Errors: a duplicate, empty or reserved ("\0"-leading) key, a shard out of
// range, DT_VARIANT/DT_RESOURCE/invalid dtypes, or a view whose bytes/strings disagree with its
// shape raise ckpt::error before anything is written for that entry.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/codec/crc32c.hpp"
#include "ckpt/codec/protobuf.hpp"
#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/protos.hpp"
#include "ckpt/formats/tf_checkpoint/slices.hpp"
#include "ckpt/formats/tf_checkpoint/table.hpp"
#include "ckpt/io/atomic_file.hpp"

namespace ckpt::tf_checkpoint {

struct writer_options {
  std::uint32_t num_shards = 1;
  bool sync = true;  // fsync files and directory before and after each rename
};

class bundle_writer {
 public:
  explicit bundle_writer(std::filesystem::path prefix, writer_options options = {})
      : prefix_(std::move(prefix)), options_(options) {
    if (options_.num_shards < 1 || options_.num_shards > 99999)
      throw error(
          errc::unsupported,
          "num_shards must be between 1 and 99999, not " + std::to_string(options_.num_shards),
          prefix_.string());
    for (std::uint32_t s = 0; s < options_.num_shards; ++s)
      shards_.push_back(std::make_unique<shard_out>(data_path(prefix_, s, options_.num_shards),
                                                    write_options{options_.sync}));
  }
  bundle_writer(const bundle_writer&) = delete;
  bundle_writer& operator=(const bundle_writer&) = delete;

  const std::filesystem::path& prefix() const noexcept { return prefix_; }

  void add(std::string_view key, const tensor_view& t, std::uint32_t shard = 0) {
    check_key(key);
    if (is_slice_key(key))
      throw error(errc::unsupported, "keys starting with a zero byte are reserved for slices",
                  index_name(), std::string(key));
    add_entry(std::string(key), t, shard);
  }

  // Stores one slice of the partitioned tensor `name` of shape `full_shape`, as TF's AddSlice:
  // the data under the slice's own key, and the slice listed in `name`'s entry. A slice that
  // covers the whole tensor is stored as a plain add().
  void add_slice(std::string_view name, const ckpt::shape& full_shape,
                 const tensor_slice_proto& slice, const tensor_view& t, std::uint32_t shard = 0) {
    check_key(name);
    if (slice.extents.size() != full_shape.size())
      throw error(errc::shape_mismatch, "slice rank differs from the tensor's", index_name(),
                  std::string(name));
    ckpt::shape sub;
    bool full = true;
    for (std::size_t d = 0; d < full_shape.size(); ++d) {
      const auto& x = slice.extents[d];
      if (!x.length) {
        if (x.start != 0)
          throw error(errc::shape_mismatch, "full extent with a start", index_name(),
                      std::string(name));
        sub.push_back(full_shape[d]);
        continue;
      }
      if (x.start < 0 || *x.length < 0 || static_cast<std::uint64_t>(x.start) > full_shape[d] ||
          static_cast<std::uint64_t>(*x.length) >
              full_shape[d] - static_cast<std::uint64_t>(x.start))
        throw error(errc::shape_mismatch, "slice outside the tensor", index_name(),
                    std::string(name));
      full = full && x.start == 0 && static_cast<std::uint64_t>(*x.length) == full_shape[d];
      sub.push_back(static_cast<std::uint64_t>(*x.length));
    }
    if (t.shape != sub)
      throw error(errc::shape_mismatch,
                  "slice data has shape " + to_string(t.shape) + ", the slice " + to_string(sub),
                  index_name(), std::string(name));
    if (full) {
      add(name, t, shard);
      return;
    }
    const std::string key(name);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.slices.empty())
      throw error(errc::bad_format, "the key is already used by an unsliced tensor", index_name(),
                  key);
    if (it != entries_.end()) {
      if (it->second.dtype != static_cast<std::int32_t>(t.dtype) ||
          shape_of(it->second.shape) != full_shape)
        throw error(errc::shape_mismatch, "slices of one tensor disagree on dtype or shape",
                    index_name(), key);
    }
    add_entry(encode_slice_key(name, slice), t, shard);
    if (it == entries_.end()) {
      bundle_entry_proto full_entry;
      full_entry.dtype = static_cast<std::int32_t>(t.dtype);
      full_entry.shape = shape_proto(full_shape);
      it = entries_.emplace(key, std::move(full_entry)).first;
    }
    it->second.slices.push_back(canonical(slice));
  }

  // Writes the data files, then the index. The writer cannot be used afterwards.
  void finish() {
    if (finished_) throw error(errc::io, "bundle already finished", index_name());
    finished_ = true;
    for (auto& s : shards_) {
      s->flush();
      s->file.commit();
    }
    table_builder table;
    bundle_header_proto header;
    header.num_shards = static_cast<std::int32_t>(options_.num_shards);
    header.version.producer = bundle_version;
    header.version.min_consumer = bundle_min_consumer;
    table.add("", encode(header));
    for (const auto& [key, entry] : entries_) table.add(key, encode(entry));
    const std::string bytes = std::move(table).finish();
    atomic_file index(index_path(prefix_), write_options{options_.sync});
    index.write(bytes.data(), bytes.size());
    index.commit();
  }

 private:
  // Small tensors gather in a buffer so 10,000 of them do not cost 10,000 write calls.
  static constexpr std::size_t buffer_limit = std::size_t{1} << 20;

  struct shard_out {
    shard_out(const std::filesystem::path& path, write_options o) : file(path, o) {}
    atomic_file file;
    std::string buffer;
    std::uint64_t offset = 0;  // bytes added so far, buffered or written

    void append(const void* data, std::size_t n) {
      if (n == 0) return;
      if (n >= buffer_limit) {
        flush();
        file.write(data, n);
      } else {
        if (buffer.size() + n > buffer_limit) flush();
        buffer.append(static_cast<const char*>(data), n);
      }
      offset += n;
    }
    void flush() {
      if (!buffer.empty()) file.write(buffer.data(), buffer.size());
      buffer.clear();
    }
  };

  std::string index_name() const { return index_path(prefix_).string(); }

  void check_key(std::string_view key) const {
    if (finished_) throw error(errc::io, "bundle already finished", index_name(), std::string(key));
    if (key.empty())
      throw error(errc::unsupported, "the empty key is reserved for the bundle header",
                  index_name());
  }

  static tensor_shape_proto shape_proto(const ckpt::shape& s) {
    tensor_shape_proto p;
    for (auto d : s) p.dims.push_back({static_cast<std::int64_t>(d), {}});
    return p;
  }
  static ckpt::shape shape_of(const tensor_shape_proto& p) {
    ckpt::shape s;
    for (const auto& d : p.dims) s.push_back(static_cast<std::uint64_t>(d.size));
    return s;
  }
  // As TF's TensorSlice::AsProto: a full extent has neither start nor length.
  static tensor_slice_proto canonical(const tensor_slice_proto& s) {
    tensor_slice_proto out = s;
    for (auto& e : out.extents)
      if (!e.length) e.start = 0;
    return out;
  }

  void add_entry(std::string key, const tensor_view& t, std::uint32_t shard) {
    if (entries_.count(key))
      throw error(errc::bad_format, "the bundle already has an entry with this key", index_name(),
                  key);
    if (shard >= options_.num_shards)
      throw error(errc::unsupported,
                  "shard " + std::to_string(shard) + " of a " +
                      std::to_string(options_.num_shards) + "-shard bundle",
                  index_name(), key);
    if (t.dtype == dtype::invalid || !is_valid(t.dtype) ||
        (t.dtype != dtype::string && element_size(t.dtype) == 0))
      throw error(errc::unsupported, "cannot store " + describe(t.dtype) + " tensors", index_name(),
                  key);
    const auto count = checked_num_elements(t.shape);
    if (!count)
      throw error(errc::shape_mismatch, "shape " + to_string(t.shape) + " is too large",
                  index_name(), key);
    bundle_entry_proto e;
    e.dtype = static_cast<std::int32_t>(t.dtype);
    e.shape = shape_proto(t.shape);
    e.shard_id = static_cast<std::int32_t>(shard);
    auto& out = *shards_[shard];
    e.offset = static_cast<std::int64_t>(out.offset);
    if (t.dtype == dtype::string) {
      if (t.strings.size() != *count)
        throw error(errc::shape_mismatch,
                    std::to_string(t.strings.size()) + " strings for shape " + to_string(t.shape),
                    index_name(), key);
      e.crc32c = write_strings(out, t.strings);
    } else {
      const auto bytes = checked_byte_size(t.dtype, t.shape);
      if (!bytes || t.bytes.size() != *bytes)
        throw error(errc::shape_mismatch,
                    std::to_string(t.bytes.size()) + " bytes for " + describe(t.dtype) +
                        " of shape " + to_string(t.shape),
                    index_name(), key);
      out.append(t.bytes.data(), t.bytes.size());
      e.crc32c = crc32c_mask(crc32c(t.bytes));
    }
    e.size = static_cast<std::int64_t>(out.offset) - e.offset;
    entries_.emplace(std::move(key), std::move(e));
  }

  static std::uint32_t write_strings(shard_out& out, std::span<const std::string> strings) {
    std::string head;
    std::uint32_t crc = 0;
    for (const auto& s : strings) {
      const std::uint64_t len = s.size();
      protobuf::append_varint(head, len);
      unsigned char le[8];
      for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
      crc = crc32c(le, len > 0xFFFFFFFFull ? 8 : 4, crc);
    }
    const std::size_t checksum_at = head.size();
    protobuf::append_fixed32(head, crc32c_mask(crc));
    crc = crc32c(head.data() + checksum_at, 4, crc);
    out.append(head.data(), head.size());
    for (const auto& s : strings) {
      crc = crc32c(s.data(), s.size(), crc);
      out.append(s.data(), s.size());
    }
    return crc32c_mask(crc);
  }

  std::filesystem::path prefix_;
  writer_options options_;
  std::vector<std::unique_ptr<shard_out>> shards_;
  std::map<std::string, bundle_entry_proto> entries_;
  bool finished_ = false;
};

}  // namespace ckpt::tf_checkpoint
