// SPDX-License-Identifier: Apache-2.0
// The `.index` table: TF's index-key rules, the worked example of specs/tf_checkpoint.md §8 byte
// for byte, block splitting (256 KiB, the large-entry pre-flush), and Snappy-compressed blocks.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "../../support/files.hpp"
#include "../../support/fixtures.hpp"
#include "ckpt/codec/snappy.hpp"
#include "ckpt/formats/tf_checkpoint/protos.hpp"
#include "ckpt/formats/tf_checkpoint/table.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
using namespace std::string_literals;

namespace {

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size();) {
    if (hex[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    i += 2;
  }
  return out;
}

// Data block handles, in order, read from the index block through the footer.
std::vector<tfc::block_handle> data_blocks(const std::string& file) {
  const auto b = bytes_of(file);
  const auto footer = b.subspan(b.size() - tfc::footer_size);
  std::size_t pos = 0;
  tfc::block_handle meta, index;
  ckpt::protobuf::parse_varint(footer, pos, meta.offset);
  ckpt::protobuf::parse_varint(footer, pos, meta.size);
  ckpt::protobuf::parse_varint(footer, pos, index.offset);
  ckpt::protobuf::parse_varint(footer, pos, index.size);
  std::vector<tfc::block_handle> out;
  const std::string index_block = file.substr(index.offset, index.size);
  for (const auto& e : tfc::detail::parse_block(index_block, "t", index.offset, 1u << 20)) {
    const auto v = std::as_bytes(std::span<const char>(e.value.data(), e.value.size()));
    std::size_t p = 0;
    tfc::block_handle h;
    ckpt::protobuf::parse_varint(v, p, h.offset);
    ckpt::protobuf::parse_varint(v, p, h.size);
    out.push_back(h);
  }
  return out;
}

std::string trailer(const std::string& contents, char type) {
  std::uint32_t crc = ckpt::crc32c(contents.data(), contents.size());
  crc = ckpt::crc32c(&type, 1, crc);
  std::string t(1, type);
  ckpt::protobuf::append_fixed32(t, ckpt::crc32c_mask(crc));
  return t;
}

}  // namespace

TEST_CASE("index keys follow TF's separator and successor rules", "[tf_checkpoint][table]") {
  CHECK(tfc::shortest_separator("abc", "abe") == "abd");
  CHECK(tfc::shortest_separator("abc", "abd") == "abc");    // c+1 is not below d
  CHECK(tfc::shortest_separator("ab", "abc") == "ab");      // a prefix stays whole
  CHECK(tfc::shortest_separator("a\xff", "b") == "a\xff");  // 'a'+1 == 'b'
  CHECK(tfc::shortest_separator("a\xffz", "a\xff\xff") == "a\xff{");
  CHECK(tfc::shortest_separator("helloworld", "hellz") == "hellp");
  CHECK(tfc::short_successor("c") == "d");
  CHECK(tfc::short_successor("w/.ATTRIBUTES/VARIABLE_VALUE") == "x");
  CHECK(tfc::short_successor("\xff\xff"s) == "\xff\xff"s);
  CHECK(tfc::short_successor("\xff\x01z"s) == "\xff\x02"s);
  CHECK(tfc::short_successor("") == "");
  CHECK(tfc::compare_keys("\x80", "\x7f") > 0);  // bytes compare unsigned
  CHECK(tfc::compare_keys("ab", "abc") < 0);
}

TEST_CASE("the worked example of the spec is written byte for byte", "[tf_checkpoint][table]") {
  // specs/tf_checkpoint.md §8: tf_half_plus_two_v1's variables.index, 151 bytes.
  const std::string expected = unhex(
      "000006 0801 1a020801"
      "00010b61 0801120028043506 38271f"
      "00010d62 080112002004280435 10fd784f"
      "00010d63 080112002008280435 efd682c3"
      "00000000 01000000"
      "00 e415b6bc"
      "00000000 01000000 00 c0f2a1b0"
      "00010264 0042 00000000 01000000 00 58b2e9f7"
      "4708 540e" +
      std::string(72, '0') + "57fb808b247547db");
  REQUIRE(expected.size() == 151);

  tfc::bundle_header_proto header;
  header.num_shards = 1;
  header.version.producer = 1;
  const auto entry = [](std::int64_t offset, std::uint32_t crc) {
    tfc::bundle_entry_proto e;
    e.dtype = 1;
    e.offset = offset;
    e.size = 4;
    e.crc32c = crc;
    return tfc::encode(e);
  };
  tfc::table_builder b;
  b.add("", tfc::encode(header));
  b.add("a", entry(0, 0x1f273806));
  b.add("b", entry(4, 0x4f78fd10));
  b.add("c", entry(8, 0xc382d6ef));
  const std::string file = std::move(b).finish();
  CHECK(file == expected);

  const auto entries = tfc::read_table(bytes_of(file), "example.index");
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].key.empty());
  CHECK(entries[0].value == tfc::encode(header));
  CHECK(entries[2].key == "b");
  CHECK(entries[2].value_offset == 0x18 + 4);
  CHECK(tfc::decode_entry(entries[3].value).crc32c == 0xc382d6efu);

  const fs::path fixture =
      ckpt_test::fixtures_dir() / "tf/tf_half_plus_two_v1/variables/variables.index";
  if (ckpt_test::fixture_present(fixture)) CHECK(ckpt_test::slurp(fixture) == expected);
}

TEST_CASE("blocks split at 256 KiB and before entries of two blocks or more",
          "[tf_checkpoint][table]") {
  SECTION("many small entries") {
    tfc::table_builder b;
    std::vector<std::string> keys;
    for (int i = 0; i < 20000; ++i) {
      char key[16];
      std::snprintf(key, sizeof key, "key%08d", i);
      keys.emplace_back(key);
      b.add(key, std::string(20, static_cast<char>('a' + i % 26)));
    }
    const std::string file = std::move(b).finish();
    const auto blocks = data_blocks(file);
    REQUIRE(blocks.size() >= 2);
    // Every block but the last reached the limit with its last entry (and not before it: an
    // entry here is under 40 bytes).
    for (std::size_t i = 0; i + 1 < blocks.size(); ++i) {
      CHECK(blocks[i].size >= tfc::table_block_size);
      CHECK(blocks[i].size < tfc::table_block_size + 40 + 4);
    }
    const auto entries = tfc::read_table(bytes_of(file), "t");
    REQUIRE(entries.size() == keys.size());
    for (std::size_t i = 0; i < keys.size(); i += 997) CHECK(entries[i].key == keys[i]);
  }
  SECTION("an entry of at least 512 KiB starts its own block") {
    tfc::table_builder b;
    b.add("a", "1");
    b.add("b", std::string(2 * tfc::table_block_size, 'v'));
    b.add("c", "3");
    const std::string file = std::move(b).finish();
    const auto blocks = data_blocks(file);
    REQUIRE(blocks.size() == 3);
    CHECK(blocks[0].size < 100);  // only "a"
    const auto entries = tfc::read_table(bytes_of(file), "t");
    REQUIRE(entries.size() == 3);
    CHECK(entries[1].value.size() == 2 * tfc::table_block_size);
  }
  SECTION("the first entry is never flushed before") {
    tfc::table_builder b;
    b.add("big", std::string(2 * tfc::table_block_size, 'v'));
    const std::string file = std::move(b).finish();
    CHECK(data_blocks(file).size() == 1);
  }
  SECTION("keys must increase") {
    tfc::table_builder b;
    b.add("b", "");
    CHECK_THROWS_AS(b.add("a", ""), ckpt::error);
    CHECK_THROWS_AS(b.add("b", ""), ckpt::error);
  }
}

TEST_CASE("Snappy-compressed blocks are read, broken ones are refused", "[tf_checkpoint][table]") {
  // One data block holding a..z (compressed), an empty metaindex, the index, the footer.
  tfc::detail::block_builder data(tfc::data_restart_interval);
  for (char c = 'a'; c <= 'z'; ++c) data.add(std::string(1, c), std::string(50, c));
  const std::string raw = data.finish();
  const std::string packed =
      ckpt::snappy_block::compress(std::as_bytes(std::span<const char>(raw.data(), raw.size())));
  REQUIRE(packed.size() < raw.size());
  const auto build = [&](const std::string& body) {
    std::string file = body + trailer(body, 1);
    const tfc::block_handle meta{file.size(), 8};
    const std::string empty = tfc::detail::block_builder(1).finish();
    file += empty + trailer(empty, 0);
    tfc::detail::block_builder index(1);
    std::string handle;
    tfc::append_block_handle(handle, {0, body.size()});
    index.add("{", handle);
    const std::string index_block = index.finish();
    const tfc::block_handle index_handle{file.size(), index_block.size()};
    file += index_block + trailer(index_block, 0);
    std::string footer;
    tfc::append_block_handle(footer, meta);
    tfc::append_block_handle(footer, index_handle);
    footer.resize(40, '\0');
    ckpt::protobuf::append_fixed64(footer, tfc::table_magic);
    return file + footer;
  };
  const auto entries = tfc::read_table(bytes_of(build(packed)), "snappy.index");
  REQUIRE(entries.size() == 26);
  CHECK(entries[25].key == "z");
  CHECK(entries[25].value == std::string(50, 'z'));

  // A body libsnappy rejects, under a valid CRC.
  std::string broken = packed;
  broken.back() = '\x7f';
  broken += "\xff\xff\xff";
  try {
    tfc::read_table(bytes_of(build(broken)), "snappy.index");
    FAIL("a broken Snappy block was accepted");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
  }
  // A preamble claiming more than the limit is refused before allocating.
  std::string huge;
  ckpt::protobuf::append_varint(huge, 0xFFFFFFFFu);
  huge += "\x00"s;
  ckpt::load_limits small;
  small.max_header_bytes = 1 << 20;
  try {
    tfc::read_table(bytes_of(build(huge)), "snappy.index", small);
    FAIL("an oversized Snappy block was accepted");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::limit);
  }
}
