// SPDX-License-Identifier: Apache-2.0
#include "ckpt/codec/protobuf.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace pb = ckpt::protobuf;
using namespace std::string_literals;

namespace {

std::string varint(std::uint64_t v) {
  std::string s;
  pb::append_varint(s, v);
  return s;
}

ckpt::errc error_code_of(const std::string& bytes) {
  try {
    pb::reader r{bytes, "msg.bin"};
    while (r.next()) r.skip();
  } catch (const ckpt::error& e) {
    return e.code();
  }
  return ckpt::errc::io;  // stands for "no error", which the callers never expect
}

}  // namespace

TEST_CASE("varints have the LEB128 bytes protobuf documents") {
  CHECK(varint(0) == "\x00"s);
  CHECK(varint(1) == "\x01"s);
  CHECK(varint(127) == "\x7f"s);
  CHECK(varint(128) == "\x80\x01"s);
  CHECK(varint(300) == "\xac\x02"s);
  CHECK(varint(~std::uint64_t{0}) == "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s);
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 16383ull, 16384ull, 1ull << 35, ~0ull})
    CHECK(pb::varint_size(v) == varint(v).size());
}

TEST_CASE("writer and reader round-trip every wire type") {
  pb::writer w;
  w.write_varint_field(1, 150);
  w.write_int32_field(2, -1);
  w.write_int64_field(3, std::numeric_limits<std::int64_t>::min());
  w.write_fixed32_field(4, 0xdeadbeefu);
  w.write_fixed64_field(5, 0x0123456789abcdefull);
  w.write_bytes_field(6, "hello"s);
  pb::writer inner;
  inner.write_varint_field(1, 7);
  w.write_message_field(7, inner.str());
  w.write_double_field(8, 1619766278.4836671);
  w.write_bool_field(9, true);
  w.write_packed_varint_field(10, std::vector<int>{1, 2, 300});

  // The first field is the protobuf documentation's own example: 08 96 01.
  CHECK(w.str().substr(0, 3) == "\x08\x96\x01"s);
  // Negative int32 is sign-extended to ten bytes.
  CHECK(w.str().substr(3, 11) == "\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s);

  pb::reader r{w.str()};
  std::vector<std::uint32_t> seen;
  while (r.next()) {
    seen.push_back(r.field());
    switch (r.field()) {
      case 1:
        CHECK(r.read_uint64() == 150);
        break;
      case 2:
        CHECK(r.read_int32() == -1);
        break;
      case 3:
        CHECK(r.read_int64() == std::numeric_limits<std::int64_t>::min());
        break;
      case 4:
        CHECK(r.read_fixed32() == 0xdeadbeefu);
        break;
      case 5:
        CHECK(r.read_fixed64() == 0x0123456789abcdefull);
        break;
      case 6:
        CHECK(r.read_string() == "hello");
        break;
      case 7: {
        auto sub = r.read_message();
        REQUIRE(sub.next());
        CHECK(sub.field() == 1);
        CHECK(sub.read_uint64() == 7);
        CHECK_FALSE(sub.next());
        break;
      }
      case 8:
        CHECK(r.read_double() == 1619766278.4836671);
        break;
      case 9:
        CHECK(r.read_bool());
        break;
      case 10: {
        std::vector<std::uint64_t> values;
        r.read_repeated_varint([&](std::uint64_t v) { values.push_back(v); });
        CHECK(values == std::vector<std::uint64_t>{1, 2, 300});
        break;
      }
      default:
        FAIL("unexpected field");
    }
  }
  CHECK(seen == std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
}

TEST_CASE("repeated varints are accepted unpacked too") {
  pb::writer w;
  w.write_varint_field(3, 4);
  w.write_varint_field(3, 5);
  pb::reader r{w.str()};
  std::vector<std::uint64_t> values;
  while (r.next()) r.read_repeated_varint([&](std::uint64_t v) { values.push_back(v); });
  CHECK(values == std::vector<std::uint64_t>{4, 5});
}

TEST_CASE("unknown fields of every wire type, groups included, are skipped") {
  std::string bytes =
      "\x08\x01"s  // 1: varint
      "\x11" +
      std::string(8, 'x') +  // 2: fixed64
      "\x1a\x03"
      "abc"s               // 3: bytes
      "\x23\x08\x05\x24"s  // 4: group { 1: 5 } end
      "\x2d" +
      std::string(4, 'y') +  // 5: fixed32
      "\x30\x2a"s;           // 6: varint 42
  pb::reader r{bytes};
  std::uint64_t last = 0;
  while (r.next()) {
    if (r.field() == 6)
      last = r.read_uint64();
    else
      r.skip();
  }
  CHECK(last == 42);
}

TEST_CASE("nested message offsets are absolute") {
  pb::writer inner;
  inner.write_varint_field(1, 1);
  pb::writer outer;
  outer.write_varint_field(1, 1);
  outer.write_message_field(2, inner.str() + "\x80"s);  // inner message ends in a cut varint
  pb::reader r{outer.str(), "f", 100};
  REQUIRE(r.next());
  r.skip();
  REQUIRE(r.next());
  auto sub = r.read_message();
  REQUIRE(sub.next());
  sub.skip();
  try {
    sub.next();
    FAIL("a truncated tag must throw");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
    // outer: 08 01 12 03 | inner: 08 01 80 -> the cut tag starts at byte 6.
    CHECK(e.offset() == 106u);
    CHECK(e.file() == "f");
  }
}

TEST_CASE("malformed input raises bad_format, never reads outside the span") {
  CHECK(error_code_of("\x08"s) == ckpt::errc::bad_format);      // value missing
  CHECK(error_code_of("\x08\x80"s) == ckpt::errc::bad_format);  // cut varint
  CHECK(error_code_of("\x00\x01"s) == ckpt::errc::bad_format);  // field 0
  CHECK(error_code_of("\x0e\x01"s) == ckpt::errc::bad_format);  // wire type 6
  CHECK(error_code_of("\x0f\x01"s) == ckpt::errc::bad_format);  // wire type 7
  CHECK(error_code_of("\x0a\x05"
                      "abc"s) == ckpt::errc::bad_format);               // length past end
  CHECK(error_code_of("\x0d\x01\x02"s) == ckpt::errc::bad_format);      // cut fixed32
  CHECK(error_code_of("\x09\x01\x02\x03"s) == ckpt::errc::bad_format);  // cut fixed64
  CHECK(error_code_of("\x0b\x08\x01"s) == ckpt::errc::bad_format);      // unterminated group
  CHECK(error_code_of("\x0b\x14"s) == ckpt::errc::bad_format);          // group end mismatch
  CHECK(error_code_of("\x0c"s) == ckpt::errc::bad_format);              // stray group end
  CHECK(error_code_of("\x08" + std::string(10, '\xff') + "\x01"s) ==
        ckpt::errc::bad_format);  // 11-byte varint
  CHECK(error_code_of("\x08" + std::string(9, '\xff') + "\x02"s) ==
        ckpt::errc::bad_format);  // > 64 bits
  CHECK(error_code_of("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s) ==
        ckpt::errc::bad_format);  // huge length
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "\x0b";
  CHECK(error_code_of(deep) == ckpt::errc::bad_format);  // group depth

  const std::string varint_field = "\x08\x01"s;
  pb::reader wrong{varint_field};
  REQUIRE(wrong.next());
  CHECK_THROWS_AS(wrong.read_string(), ckpt::error);  // varint field read as bytes
}
