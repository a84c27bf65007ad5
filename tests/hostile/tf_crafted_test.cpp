// SPDX-License-Identifier: Apache-2.0
// TensorBundles built byte by byte with valid checksums everywhere (block trailers, tensor and
// string-length CRC32Cs), so that each damage gets past the checksums and reaches the check behind
// them. Each row T3..T24 of the TF section of the reliability catalog is refused with its exact
// code, the error names the file, nothing is printed, and counts that no bytes back allocate
// nothing. Every case runs in a forked child, so a crash or a hang fails that case only.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/files.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/codec/crc32c.hpp"
#include "ckpt/codec/protobuf.hpp"
#include "ckpt/codec/snappy.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/protos.hpp"
#include "ckpt/formats/tf_checkpoint/slices.hpp"
#include "ckpt/formats/tf_checkpoint/table.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
namespace pb = ckpt::protobuf;
using ckpt::errc;

namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();
constexpr std::uint64_t uint64_max = std::numeric_limits<std::uint64_t>::max();

// ------------------------------------------------------------------------------------ raw bytes

std::string varint(std::uint64_t v) {
  std::string s;
  pb::append_varint(s, v);
  return s;
}

std::string u32le(std::uint32_t v) {
  std::string s;
  pb::append_fixed32(s, v);
  return s;
}

std::uint32_t masked_crc(std::string_view bytes) {
  return ckpt::crc32c_mask(ckpt::crc32c(bytes.data(), bytes.size()));
}

// A varint of `n` bytes: continuation bits all set but the last byte's, whose value is `last`.
std::string long_varint(std::size_t n, unsigned char last = 0) {
  return std::string(n - 1, '\x80') + std::string(1, static_cast<char>(last));
}

// ------------------------------------------------------------------------------- table blocks

// One block entry with its three lengths given, so that they can lie about what follows.
std::string block_entry(std::uint64_t shared, std::uint64_t unshared, std::uint64_t value_len,
                        std::string_view rest) {
  return varint(shared) + varint(unshared) + varint(value_len) + std::string(rest);
}

// Entries followed by the restart array and its count.
std::string block(const std::string& entries, const std::vector<std::uint32_t>& restarts) {
  std::string out = entries;
  for (auto r : restarts) out += u32le(r);
  return out + u32le(static_cast<std::uint32_t>(restarts.size()));
}

using key_values = std::vector<std::pair<std::string, std::string>>;

// A well-formed block: every entry a restart point sharing nothing with its predecessor.
std::string block_of(const key_values& kv) {
  std::string entries;
  std::vector<std::uint32_t> restarts;
  for (const auto& [k, v] : kv) {
    restarts.push_back(static_cast<std::uint32_t>(entries.size()));
    entries += block_entry(0, k.size(), v.size(), k + v);
  }
  if (restarts.empty()) restarts.push_back(0);
  return block(entries, restarts);
}

std::string handle(std::uint64_t offset, std::uint64_t size) {
  return varint(offset) + varint(size);
}

// The size that makes a block at `offset` plus its trailer end at `end` modulo 2^64.
std::uint64_t wrapping_size(std::uint64_t offset, std::uint64_t end) {
  return end - tfc::block_trailer_size - offset;
}

// The parts of an `.index`, each replaceable by hostile bytes. Whatever a block holds and whatever
// its type byte says, its trailer carries the right masked CRC32C.
struct table_spec {
  std::vector<std::string> data_blocks;  // as stored
  std::vector<std::string> index_keys;   // one per data block
  std::uint8_t data_type = tfc::block_type_raw;
  // The value of data block i's index entry, given its true handle.
  std::function<std::string(std::size_t, tfc::block_handle)> index_value = {};
  // The footer's two handles, given the true metaindex and index handles.
  std::function<std::string(tfc::block_handle, tfc::block_handle)> footer_handles = {};
};

std::string trailer(std::string_view contents, std::uint8_t type) {
  const char t = static_cast<char>(type);
  const std::uint32_t crc = ckpt::crc32c(&t, 1, ckpt::crc32c(contents.data(), contents.size()));
  return std::string(1, t) + u32le(ckpt::crc32c_mask(crc));
}

std::string assemble(const table_spec& spec) {
  std::string file;
  key_values index;
  for (std::size_t i = 0; i < spec.data_blocks.size(); ++i) {
    const std::string& b = spec.data_blocks[i];
    const tfc::block_handle h{file.size(), b.size()};
    index.emplace_back(spec.index_keys.at(i),
                       spec.index_value ? spec.index_value(i, h) : handle(h.offset, h.size));
    file += b + trailer(b, spec.data_type);
  }
  const std::string meta = block_of({});
  const tfc::block_handle meta_h{file.size(), meta.size()};
  file += meta + trailer(meta, tfc::block_type_raw);
  const std::string index_block = block_of(index);
  const tfc::block_handle index_h{file.size(), index_block.size()};
  file += index_block + trailer(index_block, tfc::block_type_raw);
  std::string footer = spec.footer_handles ? spec.footer_handles(meta_h, index_h)
                                           : handle(meta_h.offset, meta_h.size) +
                                                 handle(index_h.offset, index_h.size);
  REQUIRE(footer.size() <= 40);
  footer.resize(40, '\0');
  pb::append_fixed64(footer, tfc::table_magic);
  return file + footer;
}

// A table of one data block holding `kv` as given (sorted or not).
std::string index_of(const key_values& kv) { return assemble({{block_of(kv)}, {"\xff"}}); }

// ------------------------------------------------------------------------------ bundle entries

std::string header_value(std::int32_t shards = 1, std::int32_t endian = 0,
                         tfc::version_def version = {1, 0, {}}) {
  tfc::bundle_header_proto h;
  h.num_shards = shards;
  h.endianness = endian;
  h.version = std::move(version);
  return tfc::encode(h);
}

tfc::bundle_entry_proto tensor(std::int32_t dtype, const std::vector<std::int64_t>& dims,
                               std::int64_t offset, std::int64_t size, std::uint32_t crc,
                               std::int32_t shard = 0) {
  tfc::bundle_entry_proto e;
  e.dtype = dtype;
  for (auto d : dims) e.shape.dims.push_back({d, {}});
  e.offset = offset;
  e.size = size;
  e.crc32c = crc;
  e.shard_id = shard;
  return e;
}

const std::string one_float("\0\0\x80\x3f", 4);  // 1.0f
const std::uint32_t one_float_crc = masked_crc(one_float);

// The value of a well-formed entry for `one_float`.
std::string float_entry() { return tfc::encode(tensor(1, {1}, 0, 4, one_float_crc)); }

// A header and one entry "a" holding `value`.
std::string index_with(const std::string& value) {
  return index_of({{"", header_value()}, {"a", value}});
}

// The stored bytes of a DT_STRING tensor as TF lays them out, from lengths that may lie about the
// characters: varint lengths, their masked CRC32C (flipped if `break_length_crc`), the characters.
// Also the entry's CRC32C, which continues the length CRC over the four stored bytes and the rest.
struct string_payload {
  std::string bytes;
  std::uint32_t crc;
};

string_payload strings(const std::vector<std::uint64_t>& lengths, std::string_view chars,
                       bool break_length_crc = false) {
  std::string out;
  std::uint32_t length_crc = 0;
  for (auto len : lengths) {
    out += varint(len);
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
    length_crc = ckpt::crc32c(le, len > 0xFFFFFFFFull ? 8 : 4, length_crc);
  }
  const std::string stored = u32le(ckpt::crc32c_mask(length_crc) ^ (break_length_crc ? 1u : 0u));
  out += stored;
  out += chars;
  const std::uint32_t crc =
      ckpt::crc32c(chars.data(), chars.size(), ckpt::crc32c(stored.data(), 4, length_crc));
  return {out, ckpt::crc32c_mask(crc)};
}

// ---------------------------------------------------------------------------------- the runner

// Opens the bundle and reads every entry with checksums on, sizing each destination from the
// entry as a caller would.
void load_everything(const fs::path& prefix, const ckpt::load_limits& limits) {
  const tfc::bundle_reader r(prefix, limits);
  for (const auto& e : r.entries()) {
    if (e.dtype == ckpt::dtype::string) {
      std::vector<std::string> s(e.num_elements());
      r.read(e, {e.dtype, e.shape, {}, s});
    } else {
      std::vector<std::byte> b(e.size);
      if (e.is_sliced()) b.resize(ckpt::element_size(e.dtype) * e.num_elements());
      r.read(e, {e.dtype, e.shape, b, {}});
    }
  }
}

class crafted {
 public:
  crafted() : dir_("ckpt-tf-crafted") {}

  // A new bundle: `index` as its `.index` and `data` as data file `shard` of `num_shards`.
  fs::path bundle(const std::string& index, const std::string& data = one_float,
                  std::uint32_t num_shards = 1, std::uint32_t shard = 0) {
    const fs::path prefix = dir_ / ("b" + std::to_string(count_++));
    ckpt_test::spit(tfc::index_path(prefix), index);
    ckpt_test::spit(tfc::data_path(prefix, shard, num_shards), data);
    return prefix;
  }

  ckpt_test::child_result load(const fs::path& prefix, const ckpt::load_limits& limits = {}) {
    return ckpt_test::run_in_child(
        dir_ / "stderr.txt", [&] { load_everything(prefix, limits); }, 10);
  }

  ckpt_test::child_result baseline() {
    return ckpt_test::run_in_child(
        dir_ / "stderr.txt", [] {}, 10);
  }

  // Loads in a child and checks that it ends on `code`, naming `file` (the `.index` unless
  // given), with `says` in the message and nothing printed.
  ckpt_test::child_result refused(const fs::path& prefix, errc code, std::string_view says,
                                  const fs::path& file = {}, const ckpt::load_limits& limits = {}) {
    const fs::path named = file.empty() ? tfc::index_path(prefix) : file;
    const auto r = load(prefix, limits);
    INFO("error: " << r.message);
    CHECK(r.status == 1);
    CHECK(r.code == code);
    CHECK(r.file == named.string());
    CHECK(r.message.starts_with(named.string() + ": "));
    CHECK(r.message.find(says) != std::string::npos);
    CHECK(r.printed.empty());
    return r;
  }

  void loads(const fs::path& prefix, const ckpt::load_limits& limits = {}) {
    const auto r = load(prefix, limits);
    INFO("error: " << r.message);
    CHECK(r.status == 0);
    CHECK(r.printed.empty());
  }

 private:
  ckpt_test::scratch_dir dir_;
  int count_ = 0;
};

}  // namespace

TEST_CASE("crafted bundles: the well-formed baselines load", "[tf][hostile][crafted]") {
  crafted c;
  c.loads(c.bundle(index_with(float_entry())));
  // The same through two data blocks and through a Snappy block, as the damaged cases use them.
  c.loads(c.bundle(
      assemble({{block_of({{"", header_value()}}), block_of({{"a", float_entry()}})}, {"", "b"}})));
  const std::string raw = block_of({{"", header_value()}, {"a", float_entry()}});
  c.loads(c.bundle(
      assemble({{ckpt::snappy_block::compress(std::as_bytes(std::span(raw.data(), raw.size())))},
                {"\xff"},
                tfc::block_type_snappy})));
  // And the values come back.
  const tfc::bundle_reader r(c.bundle(index_with(float_entry())));
  float v = 0;
  r.read(r.at("a"), {ckpt::dtype::float32, {1}, std::as_writable_bytes(std::span(&v, 1)), {}});
  CHECK(v == 1.0f);
}

TEST_CASE("T3: block handle varints of 11 bytes or past 64 bits", "[tf][hostile][crafted]") {
  crafted c;
  const key_values kv = {{"", header_value()}, {"a", float_entry()}};
  const auto with_footer = [&](auto fn) {
    table_spec s{{block_of(kv)}, {"\xff"}};
    s.footer_handles = fn;
    return c.bundle(assemble(s));
  };
  SECTION("T3: footer metaindex offset of 11 bytes") {
    c.refused(with_footer([](tfc::block_handle, tfc::block_handle i) {
                return long_varint(11) + varint(0) + handle(i.offset, i.size);
              }),
              errc::bad_format, "unreadable metaindex block handle");
  }
  SECTION("T3: footer index size past 64 bits") {
    c.refused(with_footer([](tfc::block_handle m, tfc::block_handle i) {
                return handle(m.offset, m.size) + varint(i.offset) + long_varint(10, 0x02);
              }),
              errc::bad_format, "unreadable index block handle");
  }
  SECTION("T3: footer handle padded to a longer varint than needed") {
    // Minimal varints only: the footer has no checksum to catch a changed padding byte.
    c.refused(with_footer([](tfc::block_handle m, tfc::block_handle i) {
                return handle(m.offset, m.size) + varint(i.offset) +
                       std::string(1, static_cast<char>(0x80 | i.size)) + '\0';
              }),
              errc::bad_format, "unreadable index block handle");
  }
  const auto with_index_value = [&](std::string value) {
    table_spec s{{block_of(kv)}, {"\xff"}};
    s.index_value = [value](std::size_t, tfc::block_handle) { return value; };
    return c.bundle(assemble(s));
  };
  SECTION("T3: index entry offset of 11 bytes") {
    c.refused(with_index_value(long_varint(11) + varint(10)), errc::bad_format,
              "unreadable data block handle");
  }
  SECTION("T3: index entry size past 64 bits") {
    c.refused(with_index_value(varint(0) + long_varint(10, 0x7f)), errc::bad_format,
              "unreadable data block handle");
  }
  SECTION("T3: index entry handle cut short") {
    c.refused(with_index_value(varint(0) + "\x80"), errc::bad_format,
              "unreadable data block handle");
  }
}

TEST_CASE("T4: block handles past the file, and wrapping around 2^64", "[tf][hostile][crafted]") {
  crafted c;
  const key_values kv = {{"", header_value()}, {"a", float_entry()}};
  const auto with_footer = [&](auto fn) {
    table_spec s{{block_of(kv)}, {"\xff"}};
    s.footer_handles = fn;
    return c.bundle(assemble(s));
  };
  SECTION("T4: index block one byte longer than the file holds") {
    c.refused(with_footer([](tfc::block_handle m, tfc::block_handle i) {
                return handle(m.offset, m.size) + handle(i.offset, i.size + 1);
              }),
              errc::bad_format, "index block [");
  }
  SECTION("T4: index block whose offset+size+5 wraps onto the footer") {
    c.refused(with_footer([](tfc::block_handle m, tfc::block_handle i) {
                const std::uint64_t footer_at = i.offset + i.size + tfc::block_trailer_size;
                return handle(m.offset, m.size) +
                       handle(uint64_max, wrapping_size(uint64_max, footer_at));
              }),
              errc::bad_format, "index block [");
  }
  SECTION("T4: metaindex block whose offset+size+5 wraps onto the index block") {
    c.refused(with_footer([](tfc::block_handle, tfc::block_handle i) {
                return handle(uint64_max - 7, wrapping_size(uint64_max - 7, i.offset)) +
                       handle(i.offset, i.size);
              }),
              errc::bad_format, "metaindex block [");
  }
  SECTION("T4: metaindex block running into the index block") {
    c.refused(with_footer([](tfc::block_handle m, tfc::block_handle i) {
                return handle(m.offset, m.size + 3) + handle(i.offset, i.size);
              }),
              errc::bad_format, "metaindex block [");
  }
  // The second of two data blocks, so that its offset is not 0.
  const auto with_second_handle = [&](std::function<std::string(tfc::block_handle)> fn) {
    table_spec s{{block_of({{"", header_value()}}), block_of({{"a", float_entry()}})}, {"", "b"}};
    s.index_value = [fn](std::size_t i, tfc::block_handle h) {
      return i == 0 ? handle(h.offset, h.size) : fn(h);
    };
    return c.bundle(assemble(s));
  };
  SECTION("T4: data block running past the metaindex block") {
    c.refused(with_second_handle([](tfc::block_handle h) { return handle(h.offset, h.size + 9); }),
              errc::bad_format, "data block runs into the metaindex block");
  }
  SECTION("T4: data block whose offset+size+5 wraps around") {
    // offset+size wraps, and offset+size fits but the trailer wraps past 2^64 onto byte 2.
    c.refused(with_second_handle([](tfc::block_handle h) { return handle(h.offset, uint64_max); }),
              errc::bad_format, "data block runs into the metaindex block");
    c.refused(with_second_handle(
                  [](tfc::block_handle h) { return handle(h.offset, wrapping_size(h.offset, 2)); }),
              errc::bad_format, "data block runs into the metaindex block");
  }
  SECTION("T4: data block at an offset past the file") {
    c.refused(with_second_handle([](tfc::block_handle h) { return handle(uint64_max, h.size); }),
              errc::bad_format, "blocks must tile the file");
  }
}

TEST_CASE("T6: block compression types", "[tf][hostile][crafted]") {
  crafted c;
  const std::string raw = block_of({{"", header_value()}, {"a", float_entry()}});
  const auto raw_bytes = std::as_bytes(std::span(raw.data(), raw.size()));
  SECTION("T6: unknown compression types with a valid CRC") {
    for (std::uint8_t type : {2, 5, 0x7f, 0x80, 0xff}) {
      INFO("type " << int(type));
      c.refused(c.bundle(assemble({{raw}, {"\xff"}, type})), errc::bad_format,
                "unknown block compression type " + std::to_string(type));
    }
  }
  SECTION("T6: Snappy (type 1) is supported; a body that does not decompress is refused") {
    c.loads(c.bundle(
        assemble({{ckpt::snappy_block::compress(raw_bytes)}, {"\xff"}, tfc::block_type_snappy})));
    // The preamble promises more bytes than the literal that follows holds.
    c.refused(c.bundle(assemble({{varint(raw.size()) + std::string(1, '\x0c') + raw.substr(0, 4)},
                                 {"\xff"},
                                 tfc::block_type_snappy})),
              errc::bad_format, "snappy block does not decompress");
    c.refused(c.bundle(assemble({{long_varint(6)}, {"\xff"}, tfc::block_type_snappy})),
              errc::bad_format, "unreadable length preamble");
  }
  SECTION("T6: a Snappy block expanding past max_header_bytes") {
    const std::string big = block_of({{"", header_value()}, {"a", std::string(20000, '\0')}});
    const std::string small =
        ckpt::snappy_block::compress(std::as_bytes(std::span(big.data(), big.size())));
    const auto prefix = c.bundle(assemble({{small}, {"\xff"}, tfc::block_type_snappy}));
    ckpt::load_limits limits;
    limits.max_header_bytes = 10000;
    REQUIRE(fs::file_size(tfc::index_path(prefix)) < limits.max_header_bytes);
    c.refused(prefix, errc::limit, "snappy block would expand", {}, limits);
  }
}

TEST_CASE("T7: restart arrays that do not fit the block", "[tf][hostile][crafted]") {
  crafted c;
  const std::string entries = block_entry(0, 0, header_value().size(), header_value()) +
                              block_entry(0, 1, float_entry().size(), "a" + float_entry());
  const auto with_block = [&](const std::string& b) { return c.bundle(assemble({{b}, {"\xff"}})); };
  c.loads(with_block(block(entries, {0})));
  SECTION("T7: num_restarts 0") {
    c.refused(with_block(entries + u32le(0)), errc::bad_format, "no restart points");
    c.refused(with_block(u32le(0)), errc::bad_format, "no restart points");
  }
  SECTION("T7: 4*num_restarts+4 larger than the block") {
    for (std::uint32_t n : {std::uint32_t{1000}, std::uint32_t{0x40000000}, ~std::uint32_t{0}}) {
      INFO("num_restarts " << n);
      c.refused(with_block(entries + u32le(0) + u32le(n)), errc::bad_format,
                "does not fit the block");
    }
    // Two restarts in a block with room for one offset.
    c.refused(with_block(u32le(0) + u32le(2)), errc::bad_format, "does not fit the block");
  }
  SECTION("T7: a block shorter than its restart count") {
    c.refused(with_block("\x01\x00"), errc::bad_format, "shorter than its restart count");
  }
  SECTION("T7: a restart offset inside an entry, or past the entries") {
    c.refused(with_block(block(entries, {0, 3})), errc::bad_format, "restart offset 3");
    c.refused(with_block(block(entries, {0, 5000})), errc::bad_format, "restart offset 5000");
  }
}

TEST_CASE("T8: entry lengths that lie", "[tf][hostile][crafted]") {
  crafted c;
  const std::string h = block_entry(0, 0, header_value().size(), header_value());
  const auto with_second = [&](const std::string& entry) {
    return c.bundle(assemble({{block(h + entry, {0})}, {"\xff"}}));
  };
  // The well-formed second entry these cases break.
  c.loads(with_second(block_entry(0, 1, float_entry().size(), "a" + float_entry())));
  SECTION("T8: shared longer than the previous key") {
    c.refused(with_second(block_entry(1, 1, float_entry().size(), "a" + float_entry())),
              errc::bad_format, "entry shares 1 bytes of a 0-byte previous key");
    // Within a run that does share: "ab" after "a" claiming 5 shared bytes.
    const std::string a = block_entry(0, 1, float_entry().size(), "a" + float_entry());
    c.refused(with_second(a + block_entry(5, 1, float_entry().size(), "b" + float_entry())),
              errc::bad_format, "entry shares 5 bytes of a 1-byte previous key");
  }
  SECTION("T8: non_shared + value_len beyond the block") {
    c.refused(with_second(block_entry(0, 1, 1000, "a" + float_entry())), errc::bad_format,
              "runs past the entries");
    c.refused(with_second(block_entry(0, 1000, 4, "a" + float_entry())), errc::bad_format,
              "runs past the entries");
    // Lengths whose sum wraps around 2^64 to something small.
    c.refused(with_second(block_entry(0, 2, uint64_max, "a" + float_entry())), errc::bad_format,
              "runs past the entries");
    c.refused(with_second(block_entry(0, uint64_max, 2, "a" + float_entry())), errc::bad_format,
              "runs past the entries");
  }
  SECTION("T8: an entry header cut short by the restart array") {
    c.refused(with_second(std::string("\x00\x01", 2)), errc::bad_format,
              "entry header runs past the entries");
  }
}

TEST_CASE("T9: keys out of order or repeated", "[tf][hostile][crafted]") {
  crafted c;
  const std::string e = float_entry();
  SECTION("T9: keys decreasing inside a block") {
    c.refused(c.bundle(index_of({{"", header_value()}, {"b", e}, {"a", e}})), errc::bad_format,
              "table keys are not strictly increasing");
  }
  SECTION("T9: a duplicate key") {
    c.refused(c.bundle(index_of({{"", header_value()}, {"a", e}, {"a", e}})), errc::bad_format,
              "table keys are not strictly increasing");
  }
  SECTION("T9: keys decreasing across blocks") {
    c.refused(c.bundle(assemble({{block_of({{"", header_value()}, {"b", e}}), block_of({{"a", e}})},
                                 {"b", "c"}})),
              errc::bad_format, "table keys are not strictly increasing");
  }
  SECTION("T9: index keys repeated, and a key outside its block's range") {
    c.refused(
        c.bundle(assemble({{block_of({{"", header_value()}}), block_of({{"a", e}})}, {"b", "b"}})),
        errc::bad_format, "index keys are not increasing");
    c.refused(c.bundle(assemble({{block_of({{"", header_value()}, {"b", e}})}, {"a"}})),
              errc::bad_format, "key sorts after its block's index key");
  }
}

TEST_CASE("T10: the header entry", "[tf][hostile][crafted]") {
  crafted c;
  SECTION("T10: no header entry") {
    c.refused(c.bundle(index_of({{"a", float_entry()}})), errc::bad_format, "no header entry");
    c.refused(c.bundle(assemble({})), errc::bad_format, "no header entry");
  }
  SECTION("T10: the header entry not first") {
    // "" sorts first, so it can only come later in a table whose keys are out of order.
    c.refused(c.bundle(index_of({{"a", float_entry()}, {"", header_value()}})), errc::bad_format,
              "table keys are not strictly increasing");
  }
  SECTION("T10: a BundleHeaderProto that does not parse") {
    const std::pair<std::string, std::string> cases[] = {
        {"\x08", "truncated varint"},
        {"\x08\x81\x80", "truncated varint"},
        {"\x0f", "invalid wire type 7"},
        {"\x0e\x01", "invalid wire type 6"},
        {"\x1a\x05\x08\x01", "runs past the end"},
        {"\x0d\x01\x00\x00\x00", "field 1 has wire type 5"},
        {std::string("\x00\x01", 2), "invalid field number 0"},
    };
    for (const auto& [value, says] : cases) {
      INFO(says);
      c.refused(c.bundle(index_of({{"", value}, {"a", float_entry()}})), errc::bad_format, says);
    }
  }
}

TEST_CASE("T11: header values", "[tf][hostile][crafted]") {
  crafted c;
  const auto with_header = [&](const std::string& h) {
    return c.bundle(index_of({{"", h}, {"a", float_entry()}}));
  };
  SECTION("T11: num_shards 0 and negative") {
    c.refused(with_header(header_value(0)), errc::bad_format, "num_shards is 0");
    c.refused(with_header(header_value(-1)), errc::bad_format, "num_shards is -1");
    c.refused(with_header(header_value(std::numeric_limits<std::int32_t>::min())), errc::bad_format,
              "num_shards is -2147483648");
  }
  SECTION("T11: num_shards above the limit") {
    // The project's limit on num_shards is load_limits::max_entries (formats/tf_checkpoint/
    // README.md), not a fixed 65536: a shard count above it is refused before any file is named.
    c.refused(with_header(header_value(int32_max)), errc::limit,
              "exceeds load_limits::max_entries");
    ckpt::load_limits limits;
    limits.max_entries = 65536;
    c.refused(with_header(header_value(65537)), errc::limit, "exceeds load_limits::max_entries", {},
              limits);
    // At the default limit 65,537 shards are accepted; only shard 0 is referenced here.
    c.loads(
        c.bundle(index_of({{"", header_value(65537)}, {"a", float_entry()}}), one_float, 65537));
  }
  SECTION("T11: endianness BIG and unknown") {
    c.refused(with_header(header_value(1, 1)), errc::unsupported, "big-endian");
    c.refused(with_header(header_value(1, 2)), errc::bad_format, "unknown endianness 2");
    c.refused(with_header(header_value(1, -1)), errc::bad_format, "unknown endianness -1");
  }
  SECTION("T11: versions TF would refuse") {
    c.refused(with_header(header_value(1, 0, {1, 2, {}})), errc::unsupported,
              "needs a reader of version 2");
    c.refused(with_header(header_value(1, 0, {1, 0, {1}})), errc::unsupported,
              "disallows readers of version 1");
    c.refused(with_header(header_value(1, 0, {1, 0, {0, 5, 1}})), errc::unsupported,
              "disallows readers of version 1");
    c.refused(with_header(header_value(1, 0, {-1, 0, {}})), errc::unsupported,
              "producer version -1");
    // Other readers disallowed, or an older minimum: ours still reads it.
    c.loads(with_header(header_value(1, 0, {7, 1, {0, 2}})));
  }
}

TEST_CASE("T12: BundleEntryProto wire errors under valid CRCs", "[tf][hostile][crafted]") {
  using namespace std::string_literals;
  crafted c;
  SECTION("T12: malformed entries are refused where the damage is") {
    const std::pair<std::string, std::string> cases[] = {
        {"\x08"s, "truncated varint"},                               // dtype's value missing
        {"\x08\x01\x20\x81\x80"s, "truncated varint"},               // offset cut inside its varint
        {"\x08\x01\x20"s + long_varint(11), "varint"},               // offset of 11 bytes
        {"\x08\x01\x20"s + long_varint(10, 2), "varint"},            // offset past 64 bits
        {"\x08\x01\x0e\x00"s, "invalid wire type 6"},                // field 1, wire type 6
        {"\x08\x01\x0f\x00"s, "invalid wire type 7"},                // field 1, wire type 7
        {"\x08\x01\x12\x64\x12\x00"s, "runs past the end"},          // shape claims 100 bytes
        {"\x08\x01\x12\x03\x12\x01\x08"s, "truncated varint"},       // a dim's size cut short
        {"\x08\x01\x12\x04\x12\x05\x08\x01"s, "runs past the end"},  // dim longer than shape
        {"\x08\x01\x3a\x02\x0a\x05"s, "runs past the end"},          // extent longer than slice
        {"\x08\x01\x35\x01\x02"s, "needs 4 bytes"},                  // crc32c of 2 bytes
        {"\x0d\x01\x00\x00\x00"s, "field 1 has wire type 5"},        // dtype as fixed32
        {"\x08\x01\x2a\x00"s, "field 5 has wire type 2"},            // size as bytes
        {"\x08\x01\x7b"s, "unterminated group"},                     // unknown group never ends
        {"\x00\x01"s, "invalid field number 0"},
    };
    for (const auto& [value, says] : cases) {
      INFO(says);
      const auto prefix = c.bundle(index_with(value));
      const auto r = c.refused(prefix, errc::bad_format, says);
      // The offset is the damaged byte's in the .index.
      REQUIRE(r.offset);
      CHECK(*r.offset < fs::file_size(tfc::index_path(prefix)));
    }
  }
  SECTION("T12: unknown fields are skipped, as TensorFlow does") {
    // protos.hpp: decode_* skip fields they do not know, whatever their wire type.
    const std::string unknown =
        "\x78\x05"s                                  // 15: varint
        "\x82\x01\x03xyz"s                           // 16: bytes
        "\x89\x01\x01\x02\x03\x04\x05\x06\x07\x08"s  // 17: fixed64
        "\x93\x01\x08\x07\x94\x01"s;                 // 18: group
    tfc::bundle_entry_proto e = tensor(1, {1}, 0, 4, one_float_crc);
    const auto prefix = c.bundle(
        index_of({{"", header_value() + unknown}, {"a", unknown + tfc::encode(e) + unknown}}));
    c.loads(prefix);
    const tfc::bundle_reader r(prefix);
    CHECK(r.at("a").proto == e);
    float v = 0;
    r.read(r.at("a"), {ckpt::dtype::float32, {1}, std::as_writable_bytes(std::span(&v, 1)), {}});
    CHECK(v == 1.0f);
  }
}

TEST_CASE("T13: dtypes", "[tf][hostile][crafted]") {
  crafted c;
  SECTION("T13: invalid, unknown, negative and _REF dtypes") {
    for (std::int32_t dtype : {0, 33, 100, 101, 119, 127, 200, -1, int32_max,
                               std::numeric_limits<std::int32_t>::min()}) {
      INFO("dtype " << dtype);
      c.refused(c.bundle(index_with(tfc::encode(tensor(dtype, {1}, 0, 4, one_float_crc)))),
                errc::bad_format, "unknown dtype " + std::to_string(dtype));
    }
  }
  SECTION("T13: DT_RESOURCE and DT_VARIANT open, and reading them is unsupported") {
    for (const auto& [dtype, name] : {std::pair{20, "resource"}, std::pair{21, "variant"}}) {
      INFO(name);
      const auto r = c.refused(
          c.bundle(index_with(tfc::encode(tensor(dtype, {}, 0, 4, one_float_crc)))),
          errc::unsupported, std::string("reading ") + name + " tensors is not supported");
      CHECK(r.object == "a");
    }
  }
}

TEST_CASE("T14: negative and unknown dimensions", "[tf][hostile][crafted]") {
  crafted c;
  for (const auto& dims : {std::vector<std::int64_t>{-1}, std::vector<std::int64_t>{int64_min},
                           std::vector<std::int64_t>{2, -3}}) {
    c.refused(c.bundle(index_with(tfc::encode(tensor(1, dims, 0, 4, one_float_crc)))),
              errc::bad_format, "negative dimension");
  }
  auto e = tensor(1, {}, 0, 4, one_float_crc);
  e.shape.unknown_rank = true;
  c.refused(c.bundle(index_with(tfc::encode(e))), errc::bad_format, "shape of unknown rank");
}

TEST_CASE("T15: rank above the limit", "[tf][hostile][crafted]") {
  crafted c;
  const ckpt::load_limits defaults;
  const auto ones = [](std::size_t rank) {
    return tfc::encode(tensor(1, std::vector<std::int64_t>(rank, 1), 0, 4, one_float_crc));
  };
  c.loads(c.bundle(index_with(ones(defaults.max_rank))));
  c.refused(c.bundle(index_with(ones(defaults.max_rank + 1))), errc::limit,
            "rank " + std::to_string(defaults.max_rank + 1) + " exceeds load_limits::max_rank");
  ckpt::load_limits three;
  three.max_rank = 3;
  c.refused(c.bundle(index_with(ones(4))), errc::limit, "rank 4 exceeds", {}, three);
}

TEST_CASE("T16: element and byte counts that overflow", "[tf][hostile][crafted]") {
  crafted c;
  const auto refused = [&](std::int32_t dtype, std::vector<std::int64_t> dims,
                           const std::string& says) {
    c.refused(c.bundle(index_with(tfc::encode(tensor(dtype, dims, 0, 4, one_float_crc)))),
              errc::bad_format, says);
  };
  const std::int64_t g = std::int64_t{1} << 32;
  refused(1, {g, g}, "has more than 2^64 elements");
  refused(7, {g, g}, "has more than 2^64 elements");
  refused(1, {g, g, 0}, "has more than 2^64 elements");  // a zero after an overflow is no excuse
  // 2^63 elements: beyond int64, within uint64.
  refused(6, {g, g / 2}, "size 4 for int8 of shape");
  // Byte counts beyond size_t, and one that wraps to exactly the stored 4 bytes.
  refused(2, {g / 2, g / 2}, "size 4 for float64 of shape");
  refused(18, {std::int64_t{1} << 60}, "size 4 for complex128 of shape");
  refused(1, {(std::int64_t{1} << 62) + 1}, "size 4 for float32 of shape");
}

TEST_CASE("T17: huge shapes in a tiny file are refused before allocating",
          "[tf][hostile][crafted]") {
  crafted c;
  const auto baseline = c.baseline();
  REQUIRE(baseline.status == 0);
  const long allowance_kib = 64 * 1024;
  const auto refused = [&](const tfc::bundle_entry_proto& e, const std::string& says) {
    const auto r = c.refused(c.bundle(index_with(tfc::encode(e))), errc::bad_format, says);
    CHECK(r.max_rss_kib < baseline.max_rss_kib + allowance_kib);
  };
  SECTION("T17: DT_STRING") {
    refused(tensor(7, {100'000'000}, 0, 4, one_float_crc), "100000000 strings in 4 bytes");
    refused(tensor(7, {1'000'000, 1'000'000}, 0, 4, one_float_crc), "strings in 4 bytes");
    refused(tensor(7, {std::int64_t{1} << 62}, 0, 4, one_float_crc), "strings in 4 bytes");
  }
  SECTION("T17: fixed-size dtypes") {
    refused(tensor(1, {std::int64_t{1} << 28}, 0, 4, one_float_crc), "size 4 for float32");
    refused(tensor(4, {std::int64_t{1} << 30}, 0, 4, one_float_crc), "size 4 for uint8");
    refused(tensor(1, {std::int64_t{1} << 40}, 0, 4, one_float_crc), "size 4 for float32");
  }
  SECTION("T17: a sliced tensor whose slices hold one element") {
    auto full = tensor(1, {std::int64_t{1} << 28}, 0, 0, 0);
    tfc::tensor_slice_proto s{{{0, 1}}};
    full.slices = {s};
    const auto r = c.refused(c.bundle(index_of({{"", header_value()},
                                                {tfc::encode_slice_key("p", s),
                                                 tfc::encode(tensor(1, {1}, 0, 4, one_float_crc))},
                                                {"p", tfc::encode(full)}})),
                             errc::bad_format, "the slices hold fewer elements than the tensor");
    CHECK(r.max_rss_kib < baseline.max_rss_kib + allowance_kib);
  }
}

TEST_CASE("T18: shard ids", "[tf][hostile][crafted]") {
  crafted c;
  const auto in_shard = [&](std::int32_t shard, std::int32_t shards = 1) {
    return c.bundle(index_of({{"", header_value(shards)},
                              {"a", tfc::encode(tensor(1, {1}, 0, 4, one_float_crc, shard))}}),
                    one_float, static_cast<std::uint32_t>(shards));
  };
  // Shard 1 of 2, stored where it says: the baseline the damaged ids break.
  c.loads(c.bundle(
      index_of({{"", header_value(2)}, {"a", tfc::encode(tensor(1, {1}, 0, 4, one_float_crc, 1))}}),
      one_float, 2, 1));
  c.refused(in_shard(-1), errc::bad_format, "negative shard, offset or size");
  c.refused(in_shard(std::numeric_limits<std::int32_t>::min()), errc::bad_format,
            "negative shard, offset or size");
  c.refused(in_shard(1), errc::bad_format, "shard 1 of a 1-shard bundle");
  c.refused(in_shard(2, 2), errc::bad_format, "shard 2 of a 2-shard bundle");
  c.refused(in_shard(int32_max), errc::bad_format, "shard 2147483647 of a 1-shard bundle");
}

TEST_CASE("T20: tensor bytes past the end of the data file", "[tf][hostile][crafted]") {
  crafted c;
  const auto at = [&](std::int32_t dtype, std::vector<std::int64_t> dims, std::int64_t offset,
                      std::int64_t size) {
    return c.bundle(index_with(tfc::encode(tensor(dtype, dims, offset, size, one_float_crc))));
  };
  const auto data_file = [](const fs::path& prefix) { return tfc::data_path(prefix, 0, 1); };
  for (const auto& [offset, size] : {std::pair<std::int64_t, std::int64_t>{2, 4},
                                     {4, 4},
                                     {1, int64_max},
                                     {int64_max, 4},
                                     {int64_max, int64_max},
                                     {int64_max - 1, 2}}) {
    INFO("offset " << offset << " size " << size);
    const auto prefix = at(1, {1}, offset, size);
    c.refused(prefix, errc::bad_format, "run past the end of the data file (4 bytes)",
              data_file(prefix));
  }
  // An empty tensor still has to start inside the file.
  const auto empty = at(1, {0}, 5, 0);
  c.refused(empty, errc::bad_format, "run past the end of the data file", data_file(empty));
  c.refused(at(1, {1}, -4, 4), errc::bad_format, "negative shard, offset or size");
  c.refused(at(1, {1}, 0, -4), errc::bad_format, "negative shard, offset or size");
}

TEST_CASE("T21: fixed-size tensors whose size disagrees with the shape", "[tf][hostile][crafted]") {
  crafted c;
  const auto sized = [&](std::int32_t dtype, std::vector<std::int64_t> dims, std::int64_t size,
                         const std::string& data) {
    return c.bundle(index_with(tfc::encode(tensor(dtype, dims, 0, size, masked_crc(data)))), data);
  };
  c.refused(sized(1, {2}, 4, one_float), errc::bad_format, "size 4 for float32 of shape [2]");
  c.refused(sized(1, {1}, 3, one_float.substr(0, 3)), errc::bad_format,
            "size 3 for float32 of shape [1]");
  c.refused(sized(1, {0}, 4, one_float), errc::bad_format, "size 4 for float32 of shape [0]");
  c.refused(sized(1, {}, 8, one_float + one_float), errc::bad_format,
            "size 8 for float32 of shape []");
  c.refused(sized(18, {1}, 8, one_float + one_float), errc::bad_format,
            "size 8 for complex128 of shape [1]");
}

TEST_CASE("T23: string tensors whose lengths lie", "[tf][hostile][crafted]") {
  crafted c;
  const auto bundle_of = [&](std::int64_t count, const std::string& bytes, std::uint32_t crc,
                             std::int64_t size = -1) {
    const auto e = tensor(7, {count}, 0, size < 0 ? std::int64_t(bytes.size()) : size, crc);
    return c.bundle(index_with(tfc::encode(e)), bytes);
  };
  const auto in_data_file = [&](const fs::path& prefix, errc code, const std::string& says) {
    const auto r = c.refused(prefix, code, says, tfc::data_path(prefix, 0, 1));
    CHECK(r.object == "a");
  };
  {
    // The well-formed tensor the cases below break.
    const auto good = strings({2, 1}, "abc");
    const auto prefix = bundle_of(2, good.bytes, good.crc);
    c.loads(prefix);
    const tfc::bundle_reader r(prefix);
    std::vector<std::string> out(2);
    r.read(r.at("a"), {ckpt::dtype::string, {2}, {}, out});
    CHECK(out == std::vector<std::string>{"ab", "c"});
  }
  SECTION("T23: a length varint past the remaining bytes") {
    in_data_file(bundle_of(2, "\x02\x80", 0), errc::bad_format, "unreadable length");
    in_data_file(bundle_of(1, long_varint(11), 0), errc::bad_format, "unreadable length");
  }
  SECTION("T23: lengths adding up to more, or less, than the stored bytes") {
    const auto more = strings({100, 1}, "abc");
    in_data_file(bundle_of(2, more.bytes, more.crc), errc::bad_format,
                 "lengths add up to 101 bytes, the entry holds 3");
    // Bytes after the last string: TF ignores them, the project refuses them (README).
    const auto fewer = strings({1, 1}, "abc");
    in_data_file(bundle_of(2, fewer.bytes, fewer.crc), errc::bad_format,
                 "lengths add up to 2 bytes, the entry holds 3");
    // A length above 2^32, whose checksum takes eight bytes.
    const auto wide = strings({std::uint64_t{1} << 32}, "abc");
    in_data_file(bundle_of(1, wide.bytes, wide.crc), errc::bad_format,
                 "lengths add up to 4294967296 bytes");
    const auto wrap = strings({uint64_max, 4}, "abc");
    in_data_file(bundle_of(2, wrap.bytes, wrap.crc), errc::bad_format, "lengths overflow");
  }
  SECTION("T23: a bad length checksum") {
    const auto p = strings({2, 1}, "abc", true);
    in_data_file(bundle_of(2, p.bytes, p.crc), errc::checksum_mismatch,
                 "checksum of the lengths does not match");
  }
  SECTION("T23: the lengths region overrunning the size") {
    in_data_file(bundle_of(3, "\x01\x01\x01", 0), errc::bad_format,
                 "no room for the length checksum");
    // The entry's size ends inside the length checksum (the file holds all of it).
    const auto p = strings({1}, "x");
    in_data_file(bundle_of(1, p.bytes, p.crc, 3), errc::bad_format,
                 "no room for the length checksum");
  }
  SECTION("T23: a bad tensor checksum") {
    const auto p = strings({2, 1}, "abc");
    in_data_file(bundle_of(2, p.bytes, p.crc ^ 1), errc::checksum_mismatch,
                 "string tensor CRC32C does not match");
  }
}

namespace {

tfc::tensor_slice_proto slice(std::int64_t start, std::optional<std::int64_t> length) {
  return {{{start, length}}};
}

// One slice entry: the slice it holds and its BundleEntryProto.
struct slice_part {
  tfc::tensor_slice_proto slice;
  tfc::bundle_entry_proto entry;
};

// Floats 1, 2, 3, 4: the data of tensor "p" of shape [4] in two slices of two.
const std::string four_floats = std::string("\0\0\x80\x3f\0\0\0\x40\0\0\x40\x40\0\0\x80\x40", 16);

slice_part part(tfc::tensor_slice_proto s, std::int64_t length, std::int64_t offset,
                std::int64_t size, std::int32_t dtype = 1) {
  const std::uint32_t crc =
      masked_crc(std::string_view(four_floats)
                     .substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(size)));
  return {std::move(s), tensor(dtype, {length}, offset, size, crc)};
}

// A bundle with the sliced tensor "p" of shape [length] (4 unless given) listing `listed`, and the
// slice entries `parts`.
std::string sliced_index(const std::vector<tfc::tensor_slice_proto>& listed,
                         const std::vector<slice_part>& parts, std::int64_t own_size = 0,
                         std::int64_t length = 4) {
  auto full = tensor(1, {length}, 0, own_size, 0);
  full.slices = listed;
  key_values kv = {{"", header_value()}, {"p", tfc::encode(full)}};
  for (const auto& p : parts)
    kv.emplace_back(tfc::encode_slice_key("p", p.slice), tfc::encode(p.entry));
  std::sort(kv.begin(), kv.end(),
            [](const auto& a, const auto& b) { return tfc::compare_keys(a.first, b.first) < 0; });
  return index_of(kv);
}

}  // namespace

TEST_CASE("T24: slices", "[tf][hostile][crafted]") {
  crafted c;
  const auto s0 = slice(0, 2), s1 = slice(2, 2);
  const auto bundle_with = [&](const std::vector<tfc::tensor_slice_proto>& listed,
                               const std::vector<slice_part>& parts) {
    return c.bundle(sliced_index(listed, parts), four_floats);
  };
  {
    // The well-formed sliced tensor the cases below break.
    const auto prefix = bundle_with({s0, s1}, {part(s0, 2, 0, 8), part(s1, 2, 8, 8)});
    c.loads(prefix);
    const tfc::bundle_reader r(prefix);
    std::vector<float> v(4);
    r.read(r.at("p"), {ckpt::dtype::float32, {4}, std::as_writable_bytes(std::span(v)), {}});
    CHECK(v == std::vector<float>{1, 2, 3, 4});
  }
  SECTION("T24: negative start") {
    const auto bad = slice(-1, 2);
    c.refused(bundle_with({s0, bad}, {part(s0, 2, 0, 8), part(bad, 2, 8, 8)}), errc::bad_format,
              "slice extent outside dimension 0");
  }
  SECTION("T24: start + length overflowing") {
    for (const auto& bad :
         {slice(2, int64_max), slice(int64_max, int64_max), slice(int64_max, 2), slice(2, -1)}) {
      c.refused(bundle_with({s0, bad}, {part(s0, 2, 0, 8), part(bad, 2, 8, 8)}), errc::bad_format,
                "slice extent outside dimension 0");
    }
  }
  SECTION("T24: a slice beyond the full shape") {
    const auto bad = slice(3, 2);
    c.refused(bundle_with({s0, bad}, {part(s0, 2, 0, 8), part(bad, 2, 8, 8)}), errc::bad_format,
              "slice extent outside dimension 0");
    const tfc::tensor_slice_proto rank2{{{0, 2}, {0, 1}}};
    c.refused(bundle_with({s0, rank2}, {part(s0, 2, 0, 8)}), errc::bad_format,
              "slice of rank 2 for a tensor of rank 1");
    c.refused(bundle_with({s0, slice(1, std::nullopt)}, {part(s0, 2, 0, 8)}), errc::bad_format,
              "full extent with a start");
  }
  SECTION("T24: slice data smaller than the slice shape") {
    // The slice entry's own size disagrees with its shape...
    const auto r = c.refused(bundle_with({s0, s1}, {part(s0, 2, 0, 8), part(s1, 2, 8, 4)}),
                             errc::bad_format, "size 4 for float32 of shape [2]");
    // Slice keys are binary (byte 0 first); errors name the tensor and the slice instead.
    CHECK(r.object == "p (slice 2,2)");
    CHECK(r.message.find("entry 'p (slice 2,2)': size 4") != std::string::npos);
    // ...or its shape is smaller than the slice, or its dtype another.
    c.refused(bundle_with({s0, s1}, {part(s0, 2, 0, 8), part(s1, 1, 8, 4)}), errc::bad_format,
              "slice entry does not match its slice");
    c.refused(bundle_with({s0, s1}, {part(s0, 2, 0, 8), part(s1, 2, 8, 8, 3)}), errc::bad_format,
              "slice entry does not match its slice");
  }
  SECTION("T24: a slice whose bytes do not match its checksum") {
    auto bad = part(s1, 2, 8, 8);
    bad.entry.crc32c ^= 1;
    const auto prefix = bundle_with({s0, s1}, {part(s0, 2, 0, 8), bad});
    const auto r =
        c.refused(prefix, errc::checksum_mismatch, "tensor CRC32C", tfc::data_path(prefix, 0, 1));
    CHECK(r.object == "p (slice 2,2)");
  }
  SECTION("T24: slices not covering the tensor") {
    c.refused(bundle_with({s0}, {part(s0, 2, 0, 8), part(s1, 2, 8, 8)}), errc::bad_format,
              "the slices hold fewer elements than the tensor");
    c.refused(bundle_with({s0, s1}, {part(s0, 2, 0, 8)}), errc::bad_format,
              "a listed slice has no entry");
    // Enough elements in all, but overlapping: element 3 is never written.
    const auto s12 = slice(1, 2);
    c.refused(bundle_with({s0, s12}, {part(s0, 2, 0, 8), part(s12, 2, 8, 8)}), errc::bad_format,
              "the slices do not cover every element");
  }
  SECTION("T24: a sliced entry with data of its own") {
    c.refused(
        c.bundle(sliced_index({s0, s1}, {part(s0, 2, 0, 8), part(s1, 2, 8, 8)}, 4), four_floats),
        errc::bad_format, "must not have data of its own");
  }
}

TEST_CASE("entries sharing stored bytes are refused", "[tf][hostile][crafted]") {
  crafted c;
  SECTION("two tensors on the same bytes") {
    c.refused(
        c.bundle(index_of({{"", header_value()}, {"a", float_entry()}, {"b", float_entry()}})),
        errc::bad_format, "overlap those of 'a'");
  }
  SECTION("overlapping byte ranges") {
    const auto a = tfc::encode(tensor(1, {2}, 0, 8, masked_crc(four_floats.substr(0, 8))));
    const auto b = tfc::encode(tensor(1, {2}, 4, 8, masked_crc(four_floats.substr(4, 8))));
    c.refused(c.bundle(index_of({{"", header_value()}, {"a", a}, {"b", b}}), four_floats),
              errc::bad_format, "overlap those of 'a'");
  }
  SECTION("slices on one region: 16 bytes of data cannot stand for a tensor of 64") {
    // Each slice entry is well-formed; together they would make a reader size the tensor at four
    // times the data file.
    std::vector<tfc::tensor_slice_proto> listed;
    std::vector<slice_part> parts;
    for (std::int64_t i = 0; i < 4; ++i) {
      listed.push_back(slice(4 * i, 4));
      parts.push_back(part(listed.back(), 4, 0, 16));
    }
    c.refused(c.bundle(sliced_index(listed, parts, 0, 16), four_floats), errc::bad_format,
              "overlap those of 'p (slice 0,4)'");
  }
  SECTION("empty tensors may share an offset") {
    const auto empty = tfc::encode(tensor(1, {0}, 0, 0, masked_crc("")));
    c.loads(c.bundle(
        index_of({{"", header_value()}, {"a", float_entry()}, {"b", empty}, {"c", empty}})));
  }
}

// TensorFlow reads only the byte ranges the `.index` names, so bytes after the last tensor of a
// data file are not part of any tensor; ckpt reads them the same way.
TEST_CASE("G4: bytes appended after the last tensor of a data file are ignored",
          "[tf][hostile][crafted]") {
  crafted c;
  const auto prefix = c.bundle(index_with(float_entry()), one_float + std::string(4096, '\xa5'));
  c.loads(prefix);
  const tfc::bundle_reader r(prefix);
  float v = 0;
  r.read(r.at("a"), {ckpt::dtype::float32, {1}, std::as_writable_bytes(std::span(&v, 1)), {}});
  CHECK(v == 1.0f);
}
