// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reads a TensorBundle (TF's checkpoint format: `P.index` + `P.data-SSSSS-of-NNNNN`).
//
//   tf_checkpoint::bundle_reader r{"dir/ckpt-5"};            // or "dir/ckpt-5.index"
//   for (const bundle_entry& e : r.entries()) ...             // key order, slice entries hidden
//   r.slice_entries()                                         // the hidden slice entries
//   r.header(), r.num_shards(), r.stored_bytes(e)             // raw access for tools
//   const bundle_entry* e = r.find("w/.ATTRIBUTES/VARIABLE_VALUE");
//   r.read(*e, mutable_tensor_view{...});                    // fills bytes or strings, CRC checked
//   r.read(*e, view, /*verify_checksum=*/false);             // skips the tensor CRC
//   checksum_status s = r.verify(*e);                        // ok or mismatch, nothing copied
//   bundle_reader::is_bundle(path), bundle_reader::bundle_prefix(path)
//
// Opening reads the whole `.index` (refused above load_limits::max_header_bytes), checks its
// table (see table.hpp), the header (first key "", num_shards >= 1, little-endian, TF's version
// rules) and every entry against its data file, which is mapped: known dtype, valid shape (rank
// <= max_rank, no negative or unknown dims, element count in 64 bits), shard in range, byte
// range inside the data file, size = elements x element size for fixed-size dtypes, at most one
// element per stored byte for strings, and for a sliced (partitioned) entry: no data of its own,
// slices of the right rank inside the shape, each slice's entry present with the same dtype, and
// enough slice data to cover the tensor; no two entries share stored bytes. So an entry's element
// count is always backed by file bytes of its own, and a caller may size its buffer from it.
// Failures raise ckpt::error naming the file, key and offset: bad_format, checksum_mismatch, limit,
// unsupported (big-endian bundles, a producer/consumer version TF would refuse), not_found/io for
// missing or unreadable files.
//
// read() checks dtype (dtype_mismatch) and shape (shape_mismatch) of the destination, then
// copies. DT_STRING: varint lengths, their masked CRC32C (always checked), bytes; the stored size
// must be exactly what the lengths describe. Sliced entries are assembled from their slices
// (every element must be covered); sliced strings and DT_VARIANT/DT_RESOURCE payloads raise
// `unsupported` naming the key.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/codec/crc32c.hpp"
#include "ckpt/codec/protobuf.hpp"
#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/tf_checkpoint/protos.hpp"
#include "ckpt/formats/tf_checkpoint/slices.hpp"
#include "ckpt/formats/tf_checkpoint/table.hpp"
#include "ckpt/io/mapped_file.hpp"
#include "ckpt/io/read_file.hpp"

namespace ckpt::tf_checkpoint {

inline std::filesystem::path index_path(const std::filesystem::path& prefix) {
  return std::filesystem::path(prefix.string() + ".index");
}

// TF's name for shard `shard` of `num_shards`: "P.data-00000-of-00001".
inline std::filesystem::path data_path(const std::filesystem::path& prefix, std::uint32_t shard,
                                       std::uint32_t num_shards) {
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".data-%05u-of-%05u", shard, num_shards);
  return std::filesystem::path(prefix.string() + suffix);
}

struct bundle_entry {
  std::string key;
  ckpt::dtype dtype = dtype::invalid;
  ckpt::shape shape;
  std::uint32_t shard_id = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint32_t crc32c = 0;                // masked CRC32C as stored
  std::vector<tensor_slice_proto> slices;  // non-empty: data lives in slice entries
  bundle_entry_proto proto;                // every field as decoded
  std::uint64_t index_offset = 0;          // of the value in the .index (for error messages)

  bool is_sliced() const noexcept { return !slices.empty(); }
  std::uint64_t num_elements() const noexcept { return ckpt::num_elements(shape); }
};

enum class checksum_status { ok, mismatch };

class bundle_reader {
 public:
  explicit bundle_reader(const std::filesystem::path& prefix, const load_limits& limits = {})
      : limits_(limits) {
    const auto resolved = resolve_prefix(prefix);
    prefix_ = resolved ? *resolved : prefix;
    const auto index_file = index_path(prefix_);
    index_name_ = index_file.string();
    const std::string index_bytes = read_whole_file(index_file, limits_.max_header_bytes);
    auto table =
        read_table(std::as_bytes(std::span<const char>(index_bytes.data(), index_bytes.size())),
                   index_name_, limits_);
    parse_header(table);
    for (std::size_t i = 1; i < table.size(); ++i) {
      auto e = parse_entry(table[i]);
      (is_slice_key(e.key) ? slice_entries_ : entries_).push_back(std::move(e));
    }
    for (const auto* list : {&slice_entries_, &entries_})
      for (const auto& e : *list)
        if (!e.is_sliced()) check_data_range(e);
    check_no_shared_bytes();
    for (const auto& e : entries_)
      if (e.is_sliced()) check_slices(e);
  }

  bundle_reader(const bundle_reader&) = delete;
  bundle_reader& operator=(const bundle_reader&) = delete;
  bundle_reader(bundle_reader&&) = default;
  bundle_reader& operator=(bundle_reader&&) = default;

  const std::filesystem::path& prefix() const noexcept { return prefix_; }
  const std::string& index_file() const noexcept { return index_name_; }
  const bundle_header_proto& header() const noexcept { return header_; }
  std::uint32_t num_shards() const noexcept {
    return static_cast<std::uint32_t>(header_.num_shards);
  }

  // Entries a user sees: everything but the header and the slice entries, in key order.
  const std::vector<bundle_entry>& entries() const noexcept { return entries_; }
  // The entries holding one slice each of a sliced entry (keys from encode_slice_key), in key
  // order. Together with entries() and the header, they are the whole table.
  const std::vector<bundle_entry>& slice_entries() const noexcept { return slice_entries_; }

  // Any entry but the header, slice entries included.
  const bundle_entry* find(std::string_view key) const {
    const auto& list = is_slice_key(key) ? slice_entries_ : entries_;
    const auto it = std::lower_bound(
        list.begin(), list.end(), key,
        [](const bundle_entry& e, std::string_view k) { return compare_keys(e.key, k) < 0; });
    if (it == list.end() || it->key != key) return nullptr;
    return &*it;
  }
  const bundle_entry& at(std::string_view key) const {
    if (const auto* e = find(key)) return *e;
    throw error(errc::missing_key, "no such entry in the bundle", index_name_, std::string(key));
  }

  // The stored bytes of an unsliced entry, straight from the mapped data file.
  std::span<const std::byte> stored_bytes(const bundle_entry& e) const {
    if (e.is_sliced())
      throw error(errc::unsupported, "a sliced entry has no bytes of its own", index_name_,
                  key_for_errors(e.key));
    return data_.at(e.shard_id).range(e.offset, e.size, e.key);
  }

  void read(const bundle_entry& e, const mutable_tensor_view& out,
            bool verify_checksum = true) const {
    if (out.dtype != e.dtype)
      throw error(errc::dtype_mismatch,
                  "stored as " + describe(e.dtype) + ", destination is " + describe(out.dtype),
                  index_name_, key_for_errors(e.key));
    if (out.shape != e.shape)
      throw error(errc::shape_mismatch,
                  "stored shape " + to_string(e.shape) + ", destination " + to_string(out.shape),
                  index_name_, key_for_errors(e.key));
    if (e.dtype == dtype::string) {
      if (out.strings.size() != e.num_elements())
        throw error(errc::shape_mismatch,
                    "destination holds " + std::to_string(out.strings.size()) + " strings",
                    index_name_, key_for_errors(e.key));
      if (e.is_sliced())
        throw error(errc::unsupported, "sliced string tensors are not supported", index_name_,
                    key_for_errors(e.key));
      decode_strings(e, out.strings, verify_checksum);
      return;
    }
    require_fixed_size(e);
    if (out.bytes.size() != *checked_byte_size(e.dtype, e.shape))
      throw error(errc::shape_mismatch,
                  "destination has " + std::to_string(out.bytes.size()) + " bytes, the tensor " +
                      std::to_string(*checked_byte_size(e.dtype, e.shape)),
                  index_name_, key_for_errors(e.key));
    if (e.is_sliced()) {
      assemble_slices(e, out.bytes, verify_checksum);
      return;
    }
    const auto bytes = stored_bytes(e);
    if (verify_checksum) check_crc(e, bytes);
    if (!bytes.empty()) std::memcpy(out.bytes.data(), bytes.data(), bytes.size());
  }

  // Whether the stored bytes match the entry's CRC32C (for a sliced entry: all its slices').
  // Structural problems (e.g. string lengths that overrun the entry) still raise errors.
  checksum_status verify(const bundle_entry& e) const {
    if (e.is_sliced()) {
      for (const auto& s : e.slices)
        if (verify(at(encode_slice_key(e.key, s))) == checksum_status::mismatch)
          return checksum_status::mismatch;
      return checksum_status::ok;
    }
    if (e.dtype == dtype::string) {
      try {
        decode_strings(e, {}, true);
      } catch (const error& err) {
        if (err.code() == errc::checksum_mismatch) return checksum_status::mismatch;
        throw;
      }
      return checksum_status::ok;
    }
    require_fixed_size(e);
    return crc32c_mask(crc32c(stored_bytes(e))) == e.crc32c ? checksum_status::ok
                                                            : checksum_status::mismatch;
  }

  // The prefix a path names: "P" for "P", "P.index" or "P.data-00000-of-00001", if P.index exists.
  static std::optional<std::filesystem::path> bundle_prefix(const std::filesystem::path& path) {
    return resolve_prefix(path);
  }

  // A bundle is there if bundle_prefix() finds one and its .index ends in the table magic.
  static bool is_bundle(const std::filesystem::path& path) {
    const auto prefix = resolve_prefix(path);
    if (!prefix) return false;
    try {
      const mapped_file f(index_path(*prefix));
      if (f.size() < footer_size) return false;
      const auto tail = f.bytes().subspan(f.size() - 8);
      return (std::uint64_t{load_u32le(tail.data())} |
              (std::uint64_t{load_u32le(tail.data() + 4)} << 32)) == table_magic;
    } catch (const error&) {
      return false;
    }
  }

 private:
  static bool is_regular(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec);
  }

  static std::optional<std::filesystem::path> resolve_prefix(const std::filesystem::path& path) {
    if (is_regular(index_path(path))) return path;
    const std::string s = path.string();
    if (s.size() > 6 && s.ends_with(".index") && is_regular(path))
      return std::filesystem::path(s.substr(0, s.size() - 6));
    // ".data-NNNNN-of-NNNNN" is 20 characters.
    constexpr std::string_view tag = ".data-";
    if (s.size() > 20 && s.compare(s.size() - 20, tag.size(), tag) == 0 &&
        s.compare(s.size() - 9, 4, "-of-") == 0) {
      std::filesystem::path prefix(s.substr(0, s.size() - 20));
      if (is_regular(index_path(prefix))) return prefix;
    }
    return std::nullopt;
  }

  // How errors name an entry. Slice keys are binary and start with byte 0, which would end
  // error::what() (a C string) before the key and everything after it; they are named by the
  // tensor and the slice instead, TF's way of printing slices: "w (slice 0,2:-)".
  static std::string key_for_errors(std::string_view key) {
    if (!is_slice_key(key)) return std::string(key);
    const auto printable = [](std::string_view s) {
      std::string out;
      for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b < 0x7f) {
          out.push_back(c);
        } else {
          constexpr char hex[] = "0123456789abcdef";
          out += {'\\', 'x', hex[b >> 4], hex[b & 15]};
        }
      }
      return out;
    };
    const auto k = decode_slice_key(key);
    if (!k) return printable(key);
    std::string out = printable(k->name) + " (slice ";
    for (std::size_t d = 0; d < k->slice.extents.size(); ++d) {
      const auto& x = k->slice.extents[d];
      if (d > 0) out += ':';
      out += x.length ? std::to_string(x.start) + ',' + std::to_string(*x.length) : "-";
    }
    return out + ')';
  }

  [[noreturn]] void fail(errc code, const std::string& what, const std::string& key,
                         std::uint64_t offset) const {
    throw error(code, what, index_name_, key_for_errors(key), offset);
  }

  void parse_header(const std::vector<table_entry>& table) {
    if (table.empty() || !table.front().key.empty())
      fail(errc::bad_format, "the table has no header entry (key \"\")", {}, 0);
    const auto& h = table.front();
    header_ = decode_header(h.value, index_name_, h.value_offset);
    if (header_.num_shards < 1)
      fail(errc::bad_format, "header num_shards is " + std::to_string(header_.num_shards), {},
           h.value_offset);
    if (static_cast<std::uint64_t>(header_.num_shards) > limits_.max_entries)
      fail(errc::limit,
           "header num_shards " + std::to_string(header_.num_shards) +
               " exceeds load_limits::max_entries",
           {}, h.value_offset);
    if (header_.endianness == static_cast<std::int32_t>(endianness::big))
      fail(errc::unsupported, "big-endian bundles are not supported", {}, h.value_offset);
    if (header_.endianness != static_cast<std::int32_t>(endianness::little))
      fail(errc::bad_format, "unknown endianness " + std::to_string(header_.endianness), {},
           h.value_offset);
    const auto& v = header_.version;
    if (v.producer < 0)
      fail(errc::unsupported,
           "bundle producer version " + std::to_string(v.producer) + " is older than any TF reads",
           {}, h.value_offset);
    if (v.min_consumer > bundle_version)
      fail(errc::unsupported,
           "bundle needs a reader of version " + std::to_string(v.min_consumer) + " or newer", {},
           h.value_offset);
    for (auto bad : v.bad_consumers)
      if (bad == bundle_version)
        fail(errc::unsupported, "bundle disallows readers of version 1", {}, h.value_offset);
  }

  bundle_entry parse_entry(const table_entry& t) const {
    bundle_entry e;
    e.key = t.key;
    e.index_offset = t.value_offset;
    e.proto = decode_entry(t.value, index_name_, t.value_offset);
    const auto& p = e.proto;
    e.dtype = static_cast<ckpt::dtype>(p.dtype);
    if (!is_valid(e.dtype))
      fail(errc::bad_format, "unknown dtype " + std::to_string(p.dtype), e.key, t.value_offset);
    if (p.shape.unknown_rank)
      fail(errc::bad_format, "shape of unknown rank", e.key, t.value_offset);
    if (p.shape.dims.size() > limits_.max_rank)
      fail(errc::limit,
           "rank " + std::to_string(p.shape.dims.size()) + " exceeds load_limits::max_rank", e.key,
           t.value_offset);
    for (const auto& d : p.shape.dims) {
      if (d.size < 0)
        fail(errc::bad_format, "negative dimension " + std::to_string(d.size), e.key,
             t.value_offset);
      e.shape.push_back(static_cast<std::uint64_t>(d.size));
    }
    if (!checked_num_elements(e.shape))
      fail(errc::bad_format, "shape " + to_string(e.shape) + " has more than 2^64 elements", e.key,
           t.value_offset);
    if (p.shard_id < 0 || p.offset < 0 || p.size < 0)
      fail(errc::bad_format, "negative shard, offset or size", e.key, t.value_offset);
    e.shard_id = static_cast<std::uint32_t>(p.shard_id);
    e.offset = static_cast<std::uint64_t>(p.offset);
    e.size = static_cast<std::uint64_t>(p.size);
    e.crc32c = p.crc32c;
    e.slices = p.slices;
    if (e.is_sliced()) {
      if (p.shard_id != 0 || p.offset != 0 || p.size != 0 || p.crc32c != 0)
        fail(errc::bad_format, "a sliced entry must not have data of its own", e.key,
             t.value_offset);
      for (const auto& s : e.slices) check_slice_extents(e, s);
    }
    return e;
  }

  void check_slice_extents(const bundle_entry& e, const tensor_slice_proto& s) const {
    if (s.extents.size() != e.shape.size())
      fail(errc::bad_format,
           "slice of rank " + std::to_string(s.extents.size()) + " for a tensor of rank " +
               std::to_string(e.shape.size()),
           e.key, e.index_offset);
    for (std::size_t d = 0; d < e.shape.size(); ++d) {
      const auto& x = s.extents[d];
      if (!x.length) {
        if (x.start != 0) fail(errc::bad_format, "full extent with a start", e.key, e.index_offset);
        continue;
      }
      if (x.start < 0 || *x.length < 0 || static_cast<std::uint64_t>(x.start) > e.shape[d] ||
          static_cast<std::uint64_t>(*x.length) > e.shape[d] - static_cast<std::uint64_t>(x.start))
        fail(errc::bad_format, "slice extent outside dimension " + std::to_string(d), e.key,
             e.index_offset);
    }
  }

  static ckpt::shape slice_shape(const bundle_entry& full, const tensor_slice_proto& s) {
    ckpt::shape out;
    for (std::size_t d = 0; d < full.shape.size(); ++d)
      out.push_back(s.extents[d].length ? static_cast<std::uint64_t>(*s.extents[d].length)
                                        : full.shape[d]);
    return out;
  }

  const mapped_file& data_file(std::uint32_t shard) {
    auto it = data_.find(shard);
    if (it == data_.end())
      it = data_.emplace(shard, mapped_file(data_path(prefix_, shard, num_shards()))).first;
    return it->second;
  }

  void check_data_range(const bundle_entry& e) {
    if (e.shard_id >= num_shards())
      fail(errc::bad_format,
           "shard " + std::to_string(e.shard_id) + " of a " + std::to_string(num_shards()) +
               "-shard bundle",
           e.key, e.index_offset);
    const auto& f = data_file(e.shard_id);
    if (e.offset > f.size() || e.size > f.size() - e.offset)
      throw error(errc::bad_format,
                  "tensor bytes [" + std::to_string(e.offset) + ", +" + std::to_string(e.size) +
                      ") run past the end of the data file (" + std::to_string(f.size()) +
                      " bytes)",
                  f.name(), key_for_errors(e.key), e.offset);
    if (e.dtype == dtype::string) {
      // Every element takes at least its one-byte length, so the count is backed by the file.
      if (e.num_elements() > e.size)
        fail(errc::bad_format,
             std::to_string(e.num_elements()) + " strings in " + std::to_string(e.size) + " bytes",
             e.key, e.index_offset);
    } else if (element_size(e.dtype) != 0) {
      const auto expected = checked_byte_size(e.dtype, e.shape);
      if (!expected || *expected != e.size)
        fail(errc::bad_format,
             "size " + std::to_string(e.size) + " for " + describe(e.dtype) + " of shape " +
                 to_string(e.shape),
             e.key, e.index_offset);
    }
  }

  // TensorFlow writes each tensor's bytes once, so no two entries share stored bytes. Requiring it
  // keeps what a bundle lists within the size of its data files: entries pointing at the same
  // bytes would let a small file make a reader allocate many times its size.
  void check_no_shared_bytes() const {
    std::vector<const bundle_entry*> stored;
    for (const auto* list : {&slice_entries_, &entries_})
      for (const auto& e : *list)
        if (!e.is_sliced() && e.size > 0) stored.push_back(&e);
    std::sort(stored.begin(), stored.end(), [](const bundle_entry* a, const bundle_entry* b) {
      return a->shard_id != b->shard_id ? a->shard_id < b->shard_id : a->offset < b->offset;
    });
    for (std::size_t i = 1; i < stored.size(); ++i) {
      const bundle_entry& before = *stored[i - 1];
      const bundle_entry& e = *stored[i];
      // check_data_range keeps offset + size inside the data file.
      if (e.shard_id == before.shard_id && e.offset < before.offset + before.size)
        fail(errc::bad_format,
             "tensor bytes at " + std::to_string(e.offset) + " overlap those of '" +
                 key_for_errors(before.key) + "'",
             e.key, e.index_offset);
    }
  }

  void check_slices(const bundle_entry& e) const {
    std::uint64_t covered = 0;
    // A slice listed twice counts once, so repeats cannot inflate the coverage.
    std::set<std::string> seen;
    for (const auto& s : e.slices) {
      const std::string key = encode_slice_key(e.key, s);
      if (!seen.insert(key).second) continue;
      const auto* part = find(key);
      if (!part) fail(errc::bad_format, "a listed slice has no entry", e.key, e.index_offset);
      if (part->dtype != e.dtype || part->is_sliced() || part->shape != slice_shape(e, s))
        fail(errc::bad_format, "slice entry does not match its slice", e.key, part->index_offset);
      if (__builtin_add_overflow(covered, part->num_elements(), &covered)) covered = ~0ull;
    }
    if (covered < e.num_elements())
      fail(errc::bad_format, "the slices hold fewer elements than the tensor", e.key,
           e.index_offset);
  }

  void require_fixed_size(const bundle_entry& e) const {
    if (element_size(e.dtype) == 0)
      fail(errc::unsupported, "reading " + describe(e.dtype) + " tensors is not supported", e.key,
           e.index_offset);
  }

  void check_crc(const bundle_entry& e, std::span<const std::byte> bytes) const {
    const std::uint32_t actual = crc32c_mask(crc32c(bytes));
    if (actual != e.crc32c)
      throw error(
          errc::checksum_mismatch,
          "tensor CRC32C " + std::to_string(actual) + ", entry says " + std::to_string(e.crc32c),
          data_.at(e.shard_id).name(), key_for_errors(e.key), e.offset);
  }

  // Parses a DT_STRING payload; fills `out` unless it is empty (verification only).
  void decode_strings(const bundle_entry& e, std::span<std::string> out, bool verify) const {
    const auto bytes = stored_bytes(e);
    const std::string& file = data_.at(e.shard_id).name();
    const auto bad = [&](const std::string& what, std::uint64_t at) {
      return error(errc::bad_format, "string tensor: " + what, file, key_for_errors(e.key),
                   e.offset + at);
    };
    const std::uint64_t n = e.num_elements();
    std::vector<std::uint64_t> lengths(static_cast<std::size_t>(n));
    std::size_t pos = 0;
    std::uint32_t length_crc = 0;
    std::uint64_t total = 0;
    for (auto& len : lengths) {
      const std::size_t at = pos;
      if (!protobuf::parse_varint(bytes, pos, len)) throw bad("unreadable length", at);
      unsigned char le[8];
      for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
      length_crc = crc32c(le, len > 0xFFFFFFFFull ? 8 : 4, length_crc);
      if (__builtin_add_overflow(total, len, &total)) throw bad("lengths overflow", at);
    }
    if (bytes.size() - pos < 4) throw bad("no room for the length checksum", pos);
    const std::uint32_t stored = load_u32le(bytes.data() + pos);
    if (stored != crc32c_mask(length_crc))
      throw error(errc::checksum_mismatch, "string tensor: checksum of the lengths does not match",
                  file, key_for_errors(e.key), e.offset + pos);
    std::uint32_t crc = crc32c(bytes.data() + pos, 4, length_crc);
    pos += 4;
    if (total != bytes.size() - pos)
      throw bad("lengths add up to " + std::to_string(total) + " bytes, the entry holds " +
                    std::to_string(bytes.size() - pos),
                pos);
    if (verify) crc = crc32c(bytes.subspan(pos), crc);
    if (verify && crc32c_mask(crc) != e.crc32c)
      throw error(errc::checksum_mismatch, "string tensor CRC32C does not match", file,
                  key_for_errors(e.key), e.offset);
    if (out.empty()) return;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      const auto len = static_cast<std::size_t>(lengths[i]);
      out[i].assign(reinterpret_cast<const char*>(bytes.data() + pos), len);
      pos += len;
    }
  }

  void assemble_slices(const bundle_entry& e, std::span<std::byte> out, bool verify) const {
    const std::size_t item = element_size(e.dtype);
    const std::size_t rank = e.shape.size();
    const std::uint64_t total = e.num_elements();
    std::vector<bool> covered(static_cast<std::size_t>(total), false);
    // Row-major strides of the full tensor, in elements.
    std::vector<std::uint64_t> stride(rank, 1);
    for (std::size_t d = rank; d-- > 1;) stride[d - 1] = stride[d] * e.shape[d];
    for (const auto& s : e.slices) {
      const auto& part = at(encode_slice_key(e.key, s));
      const auto bytes = stored_bytes(part);
      if (verify) check_crc(part, bytes);
      const ckpt::shape sub = part.shape;
      if (num_elements(sub) == 0) continue;
      std::vector<std::uint64_t> start(rank);
      for (std::size_t d = 0; d < rank; ++d)
        start[d] = s.extents[d].length ? static_cast<std::uint64_t>(s.extents[d].start) : 0;
      const std::uint64_t run = rank == 0 ? 1 : sub[rank - 1];
      std::vector<std::uint64_t> idx(rank, 0);  // position inside the slice, last dim stays 0
      std::uint64_t src = 0;
      for (;;) {
        std::uint64_t dst = 0;
        for (std::size_t d = 0; d < rank; ++d) dst += (start[d] + idx[d]) * stride[d];
        std::memcpy(out.data() + dst * item, bytes.data() + src * item, run * item);
        for (std::uint64_t k = 0; k < run; ++k) covered[dst + k] = true;
        src += run;
        // Next row: odometer over every dimension but the last.
        bool done = true;
        for (std::size_t d = rank > 0 ? rank - 1 : 0; d-- > 0;) {
          if (++idx[d] < sub[d]) {
            done = false;
            break;
          }
          idx[d] = 0;
        }
        if (done) break;
      }
    }
    if (std::find(covered.begin(), covered.end(), false) != covered.end())
      fail(errc::bad_format, "the slices do not cover every element", e.key, e.index_offset);
  }

  load_limits limits_;
  std::filesystem::path prefix_;
  std::string index_name_;
  bundle_header_proto header_;
  std::vector<bundle_entry> entries_;
  std::vector<bundle_entry> slice_entries_;
  std::map<std::uint32_t, mapped_file> data_;
};

}  // namespace ckpt::tf_checkpoint
