// SPDX-License-Identifier: Apache-2.0
#pragma once
// The `.index` file of a TensorBundle: an immutable sorted key/value table in the LevelDB table
// format (specs/tf_checkpoint.md §2), read and written here without LevelDB.
//
//   std::vector<table_entry> entries = read_table(bytes, "x.index", limits);
//   table_builder b;  b.add(key, value) ...;  std::string file = std::move(b).finish();
//
// read_table() checks everything the format lets it check and raises ckpt::error otherwise:
//   * footer: at least 48 bytes, magic, both block handles, zero padding (bad_format);
//   * layout: data blocks, metaindex block and index block tile the file in that order with no
//     gap or overlap, each followed by its 5-byte trailer (bad_format);
//   * trailers: compression type 0 (raw) or 1 (Snappy), and the masked CRC32C over the stored
//     block bytes and the type byte (checksum_mismatch);
//   * blocks: restart array (count, offsets in order and inside the entries), every entry's
//     shared/unshared/value lengths inside the block, entries at restart points sharing nothing
//     (bad_format);
//   * keys strictly increasing over the whole table; every key of a data block at most that
//     block's index key, and above the previous block's index key (bad_format);
//   * limits: entry count (max_entries), uncompressed block size (max_header_bytes) (limit).
// TF itself never reads the metaindex block; it is checksum-verified and parsed here, its
// entries ignored.
//
// table_builder writes what TF's TableBuilder writes for the same sorted entries (no
// compression): 256 KiB blocks, restart interval 16 in data blocks and 1 in the index block,
// the "large entry" pre-flush, shortest separators and short successor as index keys, an empty
// metaindex block and the 48-byte footer.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/codec/crc32c.hpp"
#include "ckpt/codec/protobuf.hpp"
#include "ckpt/codec/snappy.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"

namespace ckpt::tf_checkpoint {

inline constexpr std::size_t table_block_size = 262144;
inline constexpr int data_restart_interval = 16;
inline constexpr int index_restart_interval = 1;
inline constexpr std::size_t footer_size = 48;
inline constexpr std::size_t block_trailer_size = 5;
inline constexpr std::uint64_t table_magic = 0xdb4775248b80fb57ull;
inline constexpr std::uint8_t block_type_raw = 0;
inline constexpr std::uint8_t block_type_snappy = 1;

struct table_entry {
  std::string key;
  std::string value;
  std::uint64_t value_offset = 0;  // in the file for raw blocks; of the block for Snappy ones
};

struct block_handle {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

inline void append_block_handle(std::string& out, block_handle h) {
  protobuf::append_varint(out, h.offset);
  protobuf::append_varint(out, h.size);
}

inline std::uint32_t load_u32le(const std::byte* p) noexcept {
  return std::to_integer<std::uint32_t>(p[0]) | (std::to_integer<std::uint32_t>(p[1]) << 8) |
         (std::to_integer<std::uint32_t>(p[2]) << 16) |
         (std::to_integer<std::uint32_t>(p[3]) << 24);
}

// LevelDB's bytewise comparator: unsigned memcmp, shorter first on a common prefix.
inline int compare_keys(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  const int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// The shortest key k with start <= k < limit that TF's index uses, or `start` if none is shorter.
inline std::string shortest_separator(std::string start, std::string_view limit) {
  const std::size_t n = std::min(start.size(), limit.size());
  std::size_t i = 0;
  while (i < n && start[i] == limit[i]) ++i;
  if (i < n) {
    const auto b = static_cast<unsigned char>(start[i]);
    if (b < 0xff && b + 1 < static_cast<unsigned char>(limit[i])) {
      start[i] = static_cast<char>(b + 1);
      start.resize(i + 1);
    }
  }
  return start;
}

// A short key >= `key`: the first byte that is not 0xff, plus one, and nothing after it.
inline std::string short_successor(std::string key) {
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto b = static_cast<unsigned char>(key[i]);
    if (b != 0xff) {
      key[i] = static_cast<char>(b + 1);
      key.resize(i + 1);
      return key;
    }
  }
  return key;
}

namespace detail {

struct block_entry {
  std::string key;
  std::string_view value;
  std::uint64_t value_offset;  // within the block
};

// Parses the entries of one block's contents; `where` is the block's file offset (for errors).
inline std::vector<block_entry> parse_block(std::string_view block, const std::string& file,
                                            std::uint64_t where, std::uint64_t max_entries) {
  const auto fail = [&](const std::string& what, std::uint64_t at) -> error {
    return error(errc::bad_format, "table block: " + what, file, {}, where + at);
  };
  if (block.size() < 4) throw fail("shorter than its restart count", 0);
  const auto bytes = std::as_bytes(std::span<const char>(block.data(), block.size()));
  const std::uint32_t num_restarts = load_u32le(bytes.data() + block.size() - 4);
  if (num_restarts == 0) throw fail("no restart points", block.size() - 4);
  if (num_restarts > (block.size() - 4) / 4)
    throw fail("restart count " + std::to_string(num_restarts) + " does not fit the block",
               block.size() - 4);
  const std::size_t restarts_at = block.size() - 4 - 4 * std::size_t{num_restarts};
  std::vector<std::uint32_t> restarts(num_restarts);
  for (std::uint32_t i = 0; i < num_restarts; ++i) {
    restarts[i] = load_u32le(bytes.data() + restarts_at + 4 * i);
    const bool in_order = i == 0 ? restarts[i] == 0 : restarts[i] > restarts[i - 1];
    if (!in_order || (restarts[i] >= restarts_at && !(i == 0 && restarts_at == 0)))
      throw fail("restart offset " + std::to_string(restarts[i]) + " out of order or range",
                 restarts_at + 4 * i);
  }
  const auto entries_bytes = bytes.first(restarts_at);
  std::vector<block_entry> out;
  std::string key;
  std::size_t pos = 0, next_restart = 0;
  while (pos < restarts_at) {
    const std::size_t entry_at = pos;
    const bool at_restart = next_restart < restarts.size() && restarts[next_restart] == pos;
    if (next_restart < restarts.size() && restarts[next_restart] < pos)
      throw fail("restart offset " + std::to_string(restarts[next_restart]) +
                     " is not at an entry boundary",
                 restarts_at + 4 * next_restart);
    if (at_restart) ++next_restart;
    std::uint64_t shared = 0, unshared = 0, value_len = 0;
    if (!protobuf::parse_varint(entries_bytes, pos, shared) ||
        !protobuf::parse_varint(entries_bytes, pos, unshared) ||
        !protobuf::parse_varint(entries_bytes, pos, value_len))
      throw fail("entry header runs past the entries", entry_at);
    if (shared > key.size())
      throw fail("entry shares " + std::to_string(shared) + " bytes of a " +
                     std::to_string(key.size()) + "-byte previous key",
                 entry_at);
    if (at_restart && shared != 0) throw fail("entry at a restart point shares a prefix", entry_at);
    const std::size_t left = restarts_at - pos;
    if (unshared > left || value_len > left - unshared)
      throw fail("entry of " + std::to_string(unshared) + "+" + std::to_string(value_len) +
                     " bytes runs past the entries",
                 entry_at);
    if (out.size() >= max_entries)
      throw error(
          errc::limit,
          "more than load_limits::max_entries (" + std::to_string(max_entries) + ") table entries",
          file, {}, where + entry_at);
    key.resize(static_cast<std::size_t>(shared));
    key.append(block.data() + pos, static_cast<std::size_t>(unshared));
    pos += static_cast<std::size_t>(unshared);
    out.push_back({key, block.substr(pos, static_cast<std::size_t>(value_len)), pos});
    pos += static_cast<std::size_t>(value_len);
  }
  // An empty block has the single restart point 0 and nothing for it to point at.
  const bool empty_block = restarts_at == 0 && restarts.size() == 1;
  if (next_restart != restarts.size() && !empty_block)
    throw fail(
        "restart offset " + std::to_string(restarts[next_restart]) + " is not at an entry boundary",
        restarts_at + 4 * next_restart);
  return out;
}

struct loaded_block {
  std::string contents;  // uncompressed
  bool raw = true;
};

// Checks the trailer of the block at `h` and returns its (uncompressed) contents.
inline loaded_block load_block(std::span<const std::byte> file_bytes, block_handle h,
                               const std::string& file, const load_limits& limits) {
  // Callers have checked that the block and its trailer lie inside the file.
  const auto stored =
      file_bytes.subspan(static_cast<std::size_t>(h.offset), static_cast<std::size_t>(h.size));
  const std::byte* trailer = stored.data() + stored.size();
  const auto type = std::to_integer<std::uint8_t>(trailer[0]);
  const std::uint32_t expected = load_u32le(trailer + 1);
  std::uint32_t actual = crc32c(stored);
  actual = crc32c(trailer, 1, actual);
  if (crc32c_mask(actual) != expected)
    throw error(errc::checksum_mismatch,
                "table block of " + std::to_string(h.size) + " bytes: stored CRC32C " +
                    std::to_string(expected) + ", computed " + std::to_string(crc32c_mask(actual)),
                file, {}, h.offset);
  if (type == block_type_raw)
    return {std::string(reinterpret_cast<const char*>(stored.data()), stored.size()), true};
  if (type == block_type_snappy)
    return {snappy_block::uncompress(stored, limits.max_header_bytes, file, h.offset), false};
  throw error(errc::bad_format, "unknown block compression type " + std::to_string(type), file, {},
              h.offset + h.size);
}

inline block_handle parse_handle(std::span<const std::byte> bytes, std::size_t& pos,
                                 const std::string& file, std::uint64_t where, const char* what) {
  block_handle h;
  // Only the shortest encoding of each number is accepted: a padded varint would let a changed
  // footer byte go unnoticed (the footer has no checksum).
  const std::size_t start = pos;
  const bool ok = protobuf::parse_varint(bytes, pos, h.offset) &&
                  pos - start == protobuf::varint_size(h.offset);
  const std::size_t mid = pos;
  if (!ok || !protobuf::parse_varint(bytes, pos, h.size) ||
      pos - mid != protobuf::varint_size(h.size))
    throw error(errc::bad_format, std::string("unreadable ") + what + " block handle", file, {},
                where);
  return h;
}

}  // namespace detail

// Every entry of the table, in key order, after all the checks listed at the top.
inline std::vector<table_entry> read_table(std::span<const std::byte> bytes,
                                           const std::string& file,
                                           const load_limits& limits = {}) {
  if (bytes.size() < footer_size)
    throw error(errc::bad_format,
                "the file has " + std::to_string(bytes.size()) +
                    " bytes, less than the 48-byte table footer",
                file, {}, 0);
  const std::uint64_t footer_at = bytes.size() - footer_size;
  const auto footer = bytes.subspan(static_cast<std::size_t>(footer_at));
  const std::uint64_t magic = std::uint64_t{load_u32le(footer.data() + 40)} |
                              (std::uint64_t{load_u32le(footer.data() + 44)} << 32);
  if (magic != table_magic)
    throw error(errc::bad_format, "no table magic number at the end of the file", file, {},
                footer_at + 40);
  std::size_t pos = 0;
  const auto meta = detail::parse_handle(footer.first(40), pos, file, footer_at, "metaindex");
  const auto index = detail::parse_handle(footer.first(40), pos, file, footer_at, "index");
  for (std::size_t i = pos; i < 40; ++i)
    if (footer[i] != std::byte{0})
      throw error(errc::bad_format, "non-zero byte in the footer padding", file, {}, footer_at + i);

  // The index block ends right before the footer, the metaindex right before the index block.
  const auto check_handle = [&](block_handle h, std::uint64_t end, const char* what) {
    std::uint64_t block_end = 0;
    if (__builtin_add_overflow(h.offset, h.size, &block_end) ||
        __builtin_add_overflow(block_end, block_trailer_size, &block_end) || block_end != end)
      throw error(errc::bad_format,
                  std::string(what) + " block [" + std::to_string(h.offset) + ", +" +
                      std::to_string(h.size) + "] does not end where the next part begins (" +
                      std::to_string(end) + ")",
                  file, {}, footer_at);
  };
  check_handle(index, footer_at, "index");
  check_handle(meta, index.offset, "metaindex");

  detail::parse_block(detail::load_block(bytes, meta, file, limits).contents, file, meta.offset,
                      limits.max_entries);
  const auto index_block = detail::load_block(bytes, index, file, limits);
  const auto index_entries =
      detail::parse_block(index_block.contents, file, index.offset, limits.max_entries);

  std::vector<table_entry> out;
  std::uint64_t next_block = 0;
  std::string previous_separator;
  for (std::size_t b = 0; b < index_entries.size(); ++b) {
    const auto& ie = index_entries[b];
    const std::uint64_t ie_at = index.offset + ie.value_offset;
    if (b > 0 && compare_keys(ie.key, previous_separator) <= 0)
      throw error(errc::bad_format, "index keys are not increasing", file, {}, ie_at);
    const auto value = std::as_bytes(std::span<const char>(ie.value.data(), ie.value.size()));
    std::size_t p = 0;
    const auto h = detail::parse_handle(value, p, file, ie_at, "data");
    if (p != value.size())
      throw error(errc::bad_format, "data block handle has trailing bytes", file, {}, ie_at);
    if (h.offset != next_block)
      throw error(errc::bad_format,
                  "data block at " + std::to_string(h.offset) + " where " +
                      std::to_string(next_block) + " was expected (blocks must tile the file)",
                  file, {}, ie_at);
    std::uint64_t end = 0;
    if (__builtin_add_overflow(h.offset, h.size, &end) ||
        __builtin_add_overflow(end, block_trailer_size, &end) || end > meta.offset)
      throw error(errc::bad_format, "data block runs into the metaindex block", file, {}, ie_at);
    next_block = end;
    const auto block = detail::load_block(bytes, h, file, limits);
    const auto entries = detail::parse_block(
        block.contents, file, h.offset,
        limits.max_entries - std::min<std::uint64_t>(limits.max_entries, out.size()));
    if (entries.empty()) throw error(errc::bad_format, "empty data block", file, {}, h.offset);
    for (const auto& e : entries) {
      const std::uint64_t at = block.raw ? h.offset + e.value_offset : h.offset;
      if (!out.empty() && compare_keys(e.key, out.back().key) <= 0)
        throw error(errc::bad_format, "table keys are not strictly increasing", file, e.key, at);
      if (b > 0 && compare_keys(e.key, previous_separator) <= 0)
        throw error(errc::bad_format, "key sorts before its block's index range", file, e.key, at);
      if (compare_keys(e.key, ie.key) > 0)
        throw error(errc::bad_format, "key sorts after its block's index key", file, e.key, at);
      out.push_back({e.key, std::string(e.value), at});
    }
    previous_separator = ie.key;
  }
  if (next_block != meta.offset)
    throw error(errc::bad_format,
                std::to_string(meta.offset - next_block) +
                    " bytes between the last data block and the metaindex block",
                file, {}, next_block);
  return out;
}

namespace detail {

class block_builder {
 public:
  explicit block_builder(int restart_interval) : interval_(restart_interval) {}

  void add(std::string_view key, std::string_view value) {
    std::size_t shared = 0;
    if (counter_ < interval_) {
      const std::size_t n = std::min(last_key_.size(), key.size());
      while (shared < n && last_key_[shared] == key[shared]) ++shared;
    } else {
      restarts_.push_back(static_cast<std::uint32_t>(buffer_.size()));
      counter_ = 0;
    }
    protobuf::append_varint(buffer_, shared);
    protobuf::append_varint(buffer_, key.size() - shared);
    protobuf::append_varint(buffer_, value.size());
    buffer_.append(key.substr(shared));
    buffer_.append(value);
    last_key_.assign(key);
    ++counter_;
    empty_ = false;
  }

  std::size_t size_estimate() const noexcept { return buffer_.size() + 4 * restarts_.size() + 4; }
  bool empty() const noexcept { return empty_; }

  // The finished contents; the builder starts over.
  std::string finish() {
    std::string out = std::move(buffer_);
    for (auto r : restarts_) protobuf::append_fixed32(out, r);
    protobuf::append_fixed32(out, static_cast<std::uint32_t>(restarts_.size()));
    buffer_.clear();
    restarts_.assign(1, 0);
    counter_ = 0;
    last_key_.clear();
    empty_ = true;
    return out;
  }

 private:
  int interval_;
  std::string buffer_;
  std::vector<std::uint32_t> restarts_{0};
  int counter_ = 0;
  std::string last_key_;
  bool empty_ = true;
};

}  // namespace detail

class table_builder {
 public:
  // Keys must come in strictly increasing bytewise order; anything else is a caller bug and
  // raises bad_format naming the key.
  void add(std::string_view key, std::string_view value) {
    if (num_entries_ > 0 && compare_keys(key, last_key_) <= 0)
      throw error(errc::bad_format, "table keys must be added in increasing order", {},
                  std::string(key));
    // TF flushes before an entry that alone is at least two blocks, so it starts a block.
    if (num_entries_ > 0 && key.size() + value.size() >= 2 * table_block_size) flush();
    if (pending_index_) {
      std::string handle;
      append_block_handle(handle, pending_handle_);
      index_.add(shortest_separator(last_key_, key), handle);
      pending_index_ = false;
    }
    last_key_.assign(key);
    ++num_entries_;
    data_.add(key, value);
    if (data_.size_estimate() >= table_block_size) flush();
  }

  std::uint64_t num_entries() const noexcept { return num_entries_; }

  // The whole file.
  std::string finish() && {
    flush();
    const block_handle meta = write_block(detail::block_builder(data_restart_interval).finish());
    if (pending_index_) {
      std::string handle;
      append_block_handle(handle, pending_handle_);
      index_.add(short_successor(last_key_), handle);
      pending_index_ = false;
    }
    const block_handle index = write_block(index_.finish());
    std::string footer;
    append_block_handle(footer, meta);
    append_block_handle(footer, index);
    footer.resize(40, '\0');
    protobuf::append_fixed64(footer, table_magic);
    out_ += footer;
    return std::move(out_);
  }

 private:
  void flush() {
    if (data_.empty()) return;
    pending_handle_ = write_block(data_.finish());
    pending_index_ = true;
  }

  block_handle write_block(const std::string& contents) {
    const block_handle h{out_.size(), contents.size()};
    out_ += contents;
    const char type = static_cast<char>(block_type_raw);
    out_.push_back(type);
    std::uint32_t crc = crc32c(contents.data(), contents.size());
    crc = crc32c(&type, 1, crc);
    protobuf::append_fixed32(out_, crc32c_mask(crc));
    return h;
  }

  std::string out_;
  detail::block_builder data_{data_restart_interval};
  detail::block_builder index_{index_restart_interval};
  std::string last_key_;
  std::uint64_t num_entries_ = 0;
  bool pending_index_ = false;
  block_handle pending_handle_;
};

}  // namespace ckpt::tf_checkpoint
