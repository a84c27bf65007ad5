// SPDX-License-Identifier: Apache-2.0
// Hostile safetensors files built byte by byte: the reader refuses each with the right error
// code, naming the file; sizes, framing, JSON syntax, nesting, limits, fields, shapes, offsets,
// every single-bit flip of a header, and a header of 200,000 entries within the limits.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/files.hpp"
#include "../support/hostile_file.hpp"
#include "../support/safetensors_files.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/formats/safetensors.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

// The error that opening `bytes` as a safetensors file gives.
ckpt::error safetensors_error(const scratch_dir& dir, const std::string& bytes,
                              ckpt::load_options options = {}) {
  options.format = "safetensors";
  return open_error(dir, "hostile.safetensors", bytes, options);
}

void check_refused(const scratch_dir& dir, const std::string& what, const std::string& bytes,
                   ckpt::errc code, const ckpt::load_options& options = {}) {
  INFO(what);
  const ckpt::error e = safetensors_error(dir, bytes, options);
  INFO(e.what());
  CHECK(e.code() == code);
  CHECK(e.file() == (dir / "hostile.safetensors").string());
  CHECK(std::string(e.what()).find("hostile.safetensors") != std::string::npos);
}

}  // namespace

TEST_CASE("hostile files: sizes and framing", "[safetensors][hostile]") {
  using ckpt::errc;
  scratch_dir dir("ckpt-safetensors");
  const std::string valid = st_file(one_f32_header, eight_bytes);

  check_refused(dir, "G1: 0-byte file", "", errc::bad_format);
  check_refused(dir, "S1: 5-byte file", "\x10\0\0\0\0", errc::bad_format);
  check_refused(dir, "S1: header size only", le64(0), errc::bad_format);
  check_refused(dir, "S3: header size 2^64-1", le64(UINT64_MAX) + "{}", errc::bad_format);
  check_refused(dir, "S2: header size 200 MB", le64(200'000'000) + "{}", errc::limit);
  check_refused(dir, "S4: header size beyond the file", le64(1000) + one_f32_header,
                errc::bad_format);
  check_refused(dir, "S4: header one byte beyond the file",
                le64(one_f32_header.size() + 1) + one_f32_header, errc::bad_format);
  ckpt::load_options small;
  small.limits.max_header_bytes = 16;
  check_refused(dir, "S2: over a configured cap", valid, errc::limit, small);

  const ckpt::error e = safetensors_error(dir, le64(UINT64_MAX) + "{}");
  CHECK(e.offset() == 0u);

  // G2: every truncation of a small valid file is an error, never a shorter success.
  for (std::size_t length = 0; length < valid.size(); ++length)
    check_refused(dir, "G2: truncated to " + std::to_string(length), valid.substr(0, length),
                  errc::bad_format);
  // G4: appended bytes are a polyglot, refused as the reference does.
  check_refused(dir, "G4: trailing bytes", valid + "junk", errc::bad_format);
  check_refused(dir, "G4: one trailing byte", valid + std::string(1, '\0'), errc::bad_format);
}

TEST_CASE("hostile files: JSON syntax", "[safetensors][hostile]") {
  using ckpt::errc;
  scratch_dir dir("ckpt-safetensors");
  const auto with_header = [](const std::string& h) { return st_file(h, eight_bytes); };

  check_refused(dir, "S6: array", with_header("[1,2]"), errc::bad_format);
  check_refused(dir, "S6: string", with_header("\"abc\""), errc::bad_format);
  check_refused(dir, "S6: leading space", with_header(" " + one_f32_header), errc::bad_format);
  check_refused(dir, "S6: trailing garbage after }", with_header(one_f32_header + "x"),
                errc::bad_format);
  check_refused(dir, "S6: padded with NUL", with_header(one_f32_header + std::string(3, '\0')),
                errc::bad_format);
  check_refused(dir, "S6: two objects", with_header(one_f32_header + "{}"), errc::bad_format);
  check_refused(dir, "S6: unterminated", with_header(R"({"a":{"dtype":"F32")"), errc::bad_format);
  check_refused(dir, "S5: invalid UTF-8 in a key",
                with_header("{\"\xff\":" + one_f32_header.substr(5)), errc::bad_format);
  check_refused(dir, "S5: overlong UTF-8", with_header("{\"\xc0\xaf\":" + one_f32_header.substr(5)),
                errc::bad_format);
  check_refused(dir, "S5: raw byte outside a string", with_header("{\xe9}"), errc::bad_format);
  check_refused(dir, "S24: lone surrogate escape",
                with_header(R"({"\ud800":)" + one_f32_header.substr(5)), errc::bad_format);
  check_refused(dir, "S24: invalid escape", with_header(R"({"\q":)" + one_f32_header.substr(5)),
                errc::bad_format);
  check_refused(dir, "S24: raw control character in a name",
                with_header("{\"a\nb\":" + one_f32_header.substr(5)), errc::bad_format);
  check_refused(dir, "comments are not JSON", with_header("{/*c*/" + one_f32_header.substr(1)),
                errc::bad_format);

  // The parse error names the byte where the JSON went wrong.
  const ckpt::error e = safetensors_error(dir, with_header(R"({"a":{"dtype":"F32",})"));
  CHECK(e.offset().has_value());
  CHECK(*e.offset() > 8);
}

TEST_CASE("hostile files: nesting and limits", "[safetensors][hostile]") {
  using ckpt::errc;
  scratch_dir dir("ckpt-safetensors");
  // S7: a million '[' is refused at the first level the schema does not allow, without recursion.
  const std::string bomb = "{\"a\":" + std::string(1'000'000, '[');
  const auto start = std::chrono::steady_clock::now();
  check_refused(dir, "S7: nesting bomb as an entry", st_file(bomb), errc::bad_format);
  check_refused(dir, "S7: nesting bomb in a shape",
                st_file("{\"a\":{\"dtype\":\"F32\",\"shape\":" + std::string(1'000'000, '[')),
                errc::bad_format);
  check_refused(dir, "S7: nesting bomb of objects", st_file(std::string(1'000'000, '{')),
                errc::bad_format);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));

  const std::string valid = st_file(one_f32_header, eight_bytes);
  ckpt::load_options shallow;
  shallow.limits.max_depth = 2;  // a valid header nests 3 deep: file, entry, shape
  check_refused(dir, "max_depth", valid, errc::limit, shallow);
  ckpt::load_options one_entry;
  one_entry.limits.max_entries = 1;
  check_refused(dir, "S21: max_entries",
                st_file("{" + entry_json("a", "U8", "[1]", 0, 1) + "," +
                            entry_json("b", "U8", "[1]", 1, 2) + "}",
                        "xy"),
                errc::limit, one_entry);
  ckpt::load_options short_names;
  short_names.limits.max_name_bytes = 4;
  check_refused(dir, "S24: name over max_name_bytes",
                st_file("{" + entry_json("abcde", "U8", "[1]", 0, 1) + "}", "x"), errc::limit,
                short_names);
  check_refused(dir, "S24: a 1 MB name",
                st_file("{" + entry_json(std::string(1 << 20, 'n'), "U8", "[1]", 0, 1) + "}", "x"),
                errc::limit);
  ckpt::load_options low_rank;
  low_rank.limits.max_rank = 1;
  check_refused(dir, "T15: rank over max_rank",
                st_file("{" + entry_json("a", "U8", "[1,1]", 0, 1) + "}", "x"), errc::limit,
                low_rank);
  std::string rank65 = "[1";
  for (int i = 0; i < 64; ++i) rank65 += ",1";
  check_refused(dir, "rank 65 over the default 64",
                st_file("{" + entry_json("a", "U8", rank65 + "]", 0, 1) + "}", "x"), errc::limit);
}

TEST_CASE("hostile files: entries and fields", "[safetensors][hostile]") {
  using ckpt::errc;
  scratch_dir dir("ckpt-safetensors");
  const auto file = [](const std::string& entries, const std::string& data = "12345678") {
    return st_file("{" + entries + "}", data);
  };
  const std::string a = entry_json("a", "F32", "[2]", 0, 8);

  check_refused(dir, "S8: duplicate tensor key", file(a + "," + a), errc::bad_format);
  check_refused(dir, "S8: duplicate dtype in an entry",
                file(R"("a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]})"),
                errc::bad_format);
  check_refused(dir, "S8: duplicate __metadata__",
                file(R"("__metadata__":{},"__metadata__":{},)" + a), errc::bad_format);
  check_refused(dir, "S8: duplicate metadata key", file(R"("__metadata__":{"k":"1","k":"2"},)" + a),
                errc::bad_format);
  check_refused(dir, "S9: __metadata__ with a number", file(R"("__metadata__":{"k":1},)" + a),
                errc::bad_format);
  check_refused(dir, "S9: __metadata__ with an object", file(R"("__metadata__":{"k":{}},)" + a),
                errc::bad_format);
  check_refused(dir, "S9: __metadata__ as an array", file(R"("__metadata__":["k"],)" + a),
                errc::bad_format);
  check_refused(dir, "S22: unknown extra field",
                file(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1})"),
                errc::bad_format);
  check_refused(dir, "S22: missing shape", file(R"("a":{"dtype":"F32","data_offsets":[0,8]})"),
                errc::bad_format);
  check_refused(dir, "S22: missing dtype", file(R"("a":{"shape":[2],"data_offsets":[0,8]})"),
                errc::bad_format);
  check_refused(dir, "S22: missing data_offsets", file(R"("a":{"dtype":"F32","shape":[2]})"),
                errc::bad_format);
  check_refused(dir, "S22: data_offsets of length 1",
                file(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8]})"), errc::bad_format);
  check_refused(dir, "S22: data_offsets of length 3",
                file(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]})"),
                errc::bad_format);
  check_refused(dir, "S22: data_offsets as an object",
                file(R"("a":{"dtype":"F32","shape":[2],"data_offsets":{"0":8}})"),
                errc::bad_format);
  check_refused(dir, "entry is not an object", file(R"("a":[0,8])"), errc::bad_format);
  check_refused(dir, "entry is a string", file(R"("a":"F32")"), errc::bad_format);
  check_refused(dir, "dtype is a number",
                file(R"("a":{"dtype":5,"shape":[2],"data_offsets":[0,8]})"), errc::bad_format);

  // S10: dtype names are exact and case-sensitive.
  for (const char* dtype : {"F33", "f32", "", "float32", "F8_E8M0", "F4", "F6_E2M3"})
    check_refused(dir, std::string("S10: dtype ") + dtype,
                  file(entry_json("a", dtype, "[2]", 0, 8)), errc::unsupported);
  const ckpt::error e = safetensors_error(dir, file(entry_json("weights", "F33", "[2]", 0, 8)));
  CHECK(e.key() == "weights");
  CHECK(std::string(e.what()).find("F33") != std::string::npos);
}

TEST_CASE("hostile files: shapes and numbers", "[safetensors][hostile]") {
  using ckpt::errc;
  scratch_dir dir("ckpt-safetensors");
  const auto shaped = [](const std::string& shape, const std::string& offsets = "[0,8]") {
    return st_file(
        R"({"a":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}",
        "12345678");
  };
  // S11 and S23: only canonical non-negative integers below 2^64.
  for (const char* shape :
       {"[-2]", "[2.0]", "[1.5]", "[2e0]", "[1e3]", "[\"2\"]", "[true]", "[null]",
        "[18446744073709551616]", "[-0]", "[02]", "[[2]]", "[{}]", "2", "\"[2]\"", "{}"})
    check_refused(dir, std::string("S11: shape ") + shape, shaped(shape), errc::bad_format);
  for (const char* offsets :
       {"[0,8.0]", "[-0,8]", "[0,1e1]", "[0,\"8\"]", "[00,8]", "[0,18446744073709551616]"})
    check_refused(dir, std::string("S23: offsets ") + offsets, shaped("[2]", offsets),
                  errc::bad_format);

  // S12: the product wraps to 4 elements (16 bytes) in 64-bit arithmetic.
  const std::string wrap =
      R"({"a":{"dtype":"F32","shape":[4194305,4194305,211106198978564],"data_offsets":[0,16]}})";
  check_refused(dir, "S12: shape product overflow", st_file(wrap, std::string(16, 'x')),
                errc::bad_format);
  check_refused(
      dir, "S12: overflow before a zero dimension",
      st_file(
          R"({"a":{"dtype":"U8","shape":[1099511627776,1099511627776,0],"data_offsets":[0,0]}})"),
      errc::bad_format);
  check_refused(
      dir, "S12: bytes overflow after elements fit",
      st_file(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
      errc::bad_format);

  // Integers are parsed exactly as u64: 2^53+1 is not rounded to the nearest double.
  const fs::path path = dir / "exact.safetensors";
  spit(path, st_file(R"({"a":{"dtype":"U8","shape":[9007199254740993,0],"data_offsets":[0,0]}})"));
  CHECK(ckpt::safetensors::reader(path).entries()[0].shape == ckpt::shape{9007199254740993u, 0});
}

TEST_CASE("hostile files: offsets and the data buffer", "[safetensors][hostile]") {
  using ckpt::errc;
  scratch_dir dir("ckpt-safetensors");
  const auto file = [](std::initializer_list<std::string> entries, std::size_t data) {
    std::string h = "{";
    for (const auto& e : entries) {
      if (h.size() > 1) h += ',';
      h += e;
    }
    return st_file(h + "}", std::string(data, 'd'));
  };
  check_refused(dir, "S13: begin > end", file({entry_json("a", "U8", "[0]", 8, 0)}, 8),
                errc::bad_format);
  check_refused(dir, "S14: leading hole", file({entry_json("a", "F32", "[2]", 4, 12)}, 12),
                errc::bad_format);
  check_refused(
      dir, "S15: gap",
      file({entry_json("a", "F32", "[2]", 0, 8), entry_json("b", "F32", "[2]", 12, 20)}, 20),
      errc::bad_format);
  check_refused(
      dir, "S16: overlap",
      file({entry_json("a", "F32", "[2]", 0, 8), entry_json("b", "F32", "[2]", 4, 12)}, 12),
      errc::bad_format);
  std::vector<std::string> aliases;
  for (int i = 0; i < 100; ++i)
    aliases.push_back(entry_json(std::to_string(i), "F32", "[2]", 0, 8));
  std::string aliased = "{";
  for (const auto& e : aliases) {
    if (aliased.size() > 1) aliased += ',';
    aliased += e;
  }
  check_refused(dir, "S16: 100 tensors aliasing one range", st_file(aliased + "}", "12345678"),
                errc::bad_format);
  check_refused(dir, "S16: a zero-size tensor inside another",
                file({entry_json("a", "F32", "[2]", 0, 8), entry_json("z", "F32", "[0]", 4, 4)}, 8),
                errc::bad_format);
  check_refused(dir, "S17: end beyond the buffer", file({entry_json("a", "F32", "[2]", 0, 8)}, 4),
                errc::bad_format);
  check_refused(
      dir, "S17: end far beyond the buffer",
      file({entry_json("a", "U8", "[18446744073709551615]", 0, 18446744073709551615u)}, 4),
      errc::bad_format);
  check_refused(dir, "S18: byte length mismatch", file({entry_json("a", "F32", "[3]", 0, 8)}, 8),
                errc::bad_format);
  check_refused(dir, "S18: dtype size mismatch", file({entry_json("a", "F64", "[2]", 0, 8)}, 8),
                errc::bad_format);
  check_refused(dir, "G4: trailing bytes in the data buffer",
                file({entry_json("a", "F32", "[2]", 0, 8)}, 9), errc::bad_format);
  check_refused(dir, "no tensors but data", file({}, 1), errc::bad_format);

  const ckpt::error gap = safetensors_error(
      dir, file({entry_json("a", "F32", "[2]", 0, 8), entry_json("b", "F32", "[2]", 12, 20)}, 20));
  CHECK(gap.key() == "b");
  CHECK(gap.offset().has_value());
}

TEST_CASE("hostile files: every single-bit flip in a header is an error or a valid parse",
          "[safetensors][hostile]") {
  scratch_dir dir("ckpt-safetensors");
  const std::string valid =
      st_file(R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
              "12345678");
  const fs::path path = dir / "flipped.safetensors";
  std::size_t refused = 0, opened = 0;
  for (std::size_t byte = 0; byte < valid.size() - 8; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = valid;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      spit(path, flipped);
      try {
        ckpt::safetensors::reader reader(path);
        for (std::size_t i = 0; i < reader.entries().size(); ++i) (void)reader.view(i);
        ++opened;
      } catch (const ckpt::error& e) {
        ++refused;
        CHECK(e.file() == path.string());
      }
    }
  }
  CHECK(refused > opened);
}

TEST_CASE("header bloat: 200,000 entries parse within the limits", "[safetensors][hostile]") {
  scratch_dir dir("ckpt-safetensors");
  std::string header = "{";
  for (int i = 0; i < 200'000; ++i) {
    if (i) header += ',';
    header += entry_json("tensor." + std::to_string(i), "U8", "[0]", 0, 0);
  }
  header += "}";
  const fs::path path = dir / "bloat.safetensors";
  spit(path, st_file(header));
  const auto start = std::chrono::steady_clock::now();
  ckpt::safetensors::reader reader(path);
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(reader.entries().size() == 200'000);
  WARN("parsed a " << header.size() / 1'000'000.0 << " MB header of 200,000 entries in " << seconds
                   << " s");
}
