// SPDX-License-Identifier: Apache-2.0
// JSON: round trips through real files (every dtype, every special value, every 16-bit float bit
// pattern) and the layout of the document. The documents the reader must refuse are
// tests/hostile/json_hostile_test.cpp's.
#include "ckpt/formats/json.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <complex>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../../support/files.hpp"
#include "../../support/json_documents.hpp"
#include "../../support/model.hpp"
#include "../../support/scratch_dir.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

ckpt::save_options no_sync() {
  ckpt::save_options options;
  options.sync = false;
  return options;
}

// Every leaf of two objects equal bit for bit, so NaN payloads and -0.0 count.
template <class T>
void require_same_bits(const T& a, const T& b) {
  const auto ta = ckpt::collect_tensors(a);
  const auto tb = ckpt::collect_tensors(b);
  REQUIRE(ta.size() == tb.size());
  for (std::size_t i = 0; i < ta.size(); ++i) {
    INFO(ta[i].path);
    CHECK(ta[i].path == tb[i].path);
    CHECK(ta[i].tensor.dtype == tb[i].tensor.dtype);
    CHECK(ta[i].tensor.shape == tb[i].tensor.shape);
    if (ta[i].tensor.dtype == ckpt::dtype::string) {
      CHECK(std::equal(ta[i].tensor.strings.begin(), ta[i].tensor.strings.end(),
                       tb[i].tensor.strings.begin(), tb[i].tensor.strings.end()));
    } else {
      REQUIRE(ta[i].tensor.bytes.size() == tb[i].tensor.bytes.size());
      CHECK(std::memcmp(ta[i].tensor.bytes.data(), tb[i].tensor.bytes.data(),
                        ta[i].tensor.bytes.size()) == 0);
    }
  }
}

template <class T>
T round_trip(const scratch_dir& dir, const T& original, const std::string& name = "t.json") {
  ckpt::save(original, dir / name, no_sync());
  T loaded{};
  ckpt::load(loaded, dir / name);
  return loaded;
}

template <class T>
std::uint64_t bits_of(T value) {
  if constexpr (sizeof(T) == 2)
    return std::bit_cast<std::uint16_t>(value);
  else if constexpr (sizeof(T) == 4)
    return std::bit_cast<std::uint32_t>(value);
  else
    return std::bit_cast<std::uint64_t>(value);
}

struct Inner {
  float dtype = 0;
  std::vector<float> shape;
  std::string values;
  bool operator==(const Inner&) const = default;
};

struct Awkward {
  Inner dtype;
  Inner shape;
  std::map<std::string, Inner> values;
  bool operator==(const Awkward&) const = default;
};

struct Specials {
  ckpt::tensor<float> f32;
  ckpt::tensor<double> f64;
  ckpt::tensor<std::complex<float>> c64;
  ckpt::tensor<std::complex<double>> c128;
};

struct Halves {
  ckpt::tensor<ckpt::float16> f16;
  ckpt::tensor<ckpt::bfloat16> bf16;
};

struct Integers {
  std::vector<std::int8_t> i8;
  std::vector<std::int16_t> i16;
  std::vector<std::int32_t> i32;
  std::vector<std::int64_t> i64;
  std::vector<std::uint8_t> u8;
  std::vector<std::uint16_t> u16;
  std::vector<std::uint32_t> u32;
  std::vector<std::uint64_t> u64;
  bool operator==(const Integers&) const = default;
};

template <class T>
std::vector<T> extremes() {
  using L = std::numeric_limits<T>;
  return {L::min(), static_cast<T>(L::min() + 1), T{0},
          T{1},     static_cast<T>(L::max() - 1), L::max()};
}

struct Strings {
  std::vector<std::string> valid;
  std::vector<std::string> invalid;
  std::string scalar;
  bool operator==(const Strings&) const = default;
};

// Deterministic bytes for the all-dtypes test.
std::uint64_t next_random(std::uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace

// The round trip itself is tests/roundtrip's; these are the JSON reader's own promises.
TEST_CASE("entries are named by their paths and found by content under any name", "[json]") {
  scratch_dir dir("ckpt-json");
  const Model original = make_model();
  ckpt::save(original, dir / "model.json", no_sync());
  CHECK(dir.file_count() == 1);
  CHECK(ckpt::json_format::detect(dir / "model.json"));

  ckpt::reader r(dir / "model.json");
  CHECK(r.format() == "json");
  for (const auto& e : r.entries()) CHECK(e.name == e.path);
  CHECK(r.find("blocks/0/dense/kernel").shape == ckpt::shape{4, 3});
  CHECK(r.find("text/vocab").dtype == ckpt::dtype::string);
  CHECK(r.find("complex/c128").dtype == ckpt::dtype::complex128);
  CHECK(r.entries().size() == ckpt::collect_tensors(original).size());

  // Recognised by its content under any name.
  fs::copy_file(dir / "model.json", dir / "model.weights");
  Model by_content;
  ckpt::load(by_content, dir / "model.weights");
  CHECK(by_content == original);
  require_same_bits(by_content, original);
}

TEST_CASE("the document mirrors the path tree", "[json]") {
  scratch_dir dir("ckpt-json");
  const Model original = make_model();
  ckpt::save_options options = no_sync();
  options.metadata["step"] = "42";
  ckpt::save(original, dir / "model.json", options);
  const std::string text = slurp(dir / "model.json");
  CHECK(text.starts_with("{\n  \"format\": \"ckpt-json\",\n  \"version\": 1,\n"));

  const auto j = nlohmann::json::parse(text);
  CHECK(j["format"] == "ckpt-json");
  CHECK(j["version"] == 1);
  CHECK(j["metadata"]["step"] == "42");
  const auto& kernel = j["tensors"]["blocks"]["0"]["dense"]["kernel"];
  CHECK(kernel["dtype"] == "float32");
  CHECK(kernel["shape"] == nlohmann::json::array({4, 3}));
  REQUIRE(kernel["values"].size() == 4);
  CHECK(kernel["values"][1][2].get<float>() == original.blocks[0].dense.kernel(1, 2));
  CHECK(j["tensors"]["blocks"]["1"]["attention"]["scale"]["values"] == 0.25);
  CHECK(j["tensors"]["scalars"]["u64"]["values"] == std::numeric_limits<std::uint64_t>::max() - 2);
  CHECK(j["tensors"]["scalars"]["f32"]["values"] == "-Infinity");
  CHECK(j["tensors"]["complex"]["c64"]["values"] == nlohmann::json::array({1.5, -2.25}));
  CHECK(j["tensors"]["empty_rows"]["values"] == nlohmann::json::array());
  CHECK(j["tensors"]["mask"]["values"] == nlohmann::json::parse("[[true, false], [false, true]]"));
  CHECK(j["tensors"]["text"]["vocab"]["values"][2] == std::string("nul\0byte", 8));
  CHECK(!j["tensors"].contains("unused"));

  // Declaration order is kept within each group.
  CHECK(text.find("\"blocks\"") < text.find("\"heads\""));
  CHECK(text.find("\"kernel\"") < text.find("\"bias\""));
}

TEST_CASE("members named dtype, shape and values stay groups", "[json]") {
  scratch_dir dir("ckpt-json");
  Awkward original;
  original.dtype = {1.5f, {1, 2}, "a"};
  original.shape = {-2.5f, {}, "b"};
  original.values["dtype"] = {3, {4}, "c"};
  original.values["values"] = {5, {6, 7, 8}, "d"};
  const Awkward loaded = round_trip(dir, original);
  CHECK(loaded == original);

  const auto j = nlohmann::json::parse(slurp(dir / "t.json"));
  CHECK(j["tensors"]["dtype"]["dtype"]["dtype"] == "float32");
  CHECK(j["tensors"]["values"]["values"]["values"]["values"] == "d");
}

TEST_CASE("special floating-point values keep their bits", "[json]") {
  scratch_dir dir("ckpt-json");
  const std::vector<std::uint32_t> f32_bits = {
      0x7fc00000,                          // the canonical NaN
      0x7fc00001, 0xffc00000, 0x7f800001,  // payload, negative and signalling NaNs
      0x7f800000, 0xff800000, 0x80000000, 0x00000000,
      0x00000001, 0x807fffff, 0x00800000,  // subnormals and the smallest normal
      0x7f7fffff, 0xff7fffff,              // max and lowest
      0x3dcccccd, 0x3f800000, 0x4b800001};
  const std::vector<std::uint64_t> f64_bits = {
      0x7ff8000000000000, 0x7ff8000000000001, 0xfff8000000000000, 0x7ff0000000000001,
      0x7ff0000000000000, 0xfff0000000000000, 0x8000000000000000, 0x0000000000000001,
      0x000fffffffffffff, 0x0010000000000000, 0x7fefffffffffffff, 0xffefffffffffffff,
      0x3fb999999999999a, 0x4340000000000001};
  Specials original;
  original.f32 = ckpt::tensor<float>({f32_bits.size()});
  for (std::size_t i = 0; i < f32_bits.size(); ++i)
    original.f32[i] = std::bit_cast<float>(f32_bits[i]);
  original.f64 = ckpt::tensor<double>({f64_bits.size()});
  for (std::size_t i = 0; i < f64_bits.size(); ++i)
    original.f64[i] = std::bit_cast<double>(f64_bits[i]);
  original.c64 = ckpt::tensor<std::complex<float>>(
      {2}, {{std::bit_cast<float>(0x7fc00002u), -0.0f},
            {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::denorm_min()}});
  original.c128 = ckpt::tensor<std::complex<double>>(
      {}, {{-0.0, std::bit_cast<double>(std::uint64_t{0xfff0000000000001})}});

  const Specials loaded = round_trip(dir, original);
  require_same_bits(loaded, original);

  const std::string text = slurp(dir / "t.json");
  for (const char* token :
       {"\"NaN\"", "\"NaN:0x7fc00001\"", "\"NaN:0xffc00000\"", "\"NaN:0x7f800001\"", "\"Infinity\"",
        "\"-Infinity\"", "-0", "1e-45", "3.4028235e+38", "-3.4028235e+38",
        "\"NaN:0x7ff8000000000001\"", "5e-324", "1.7976931348623157e+308", "0.1",
        "[\"NaN:0x7fc00002\", -0]", "[-0, \"NaN:0xfff0000000000001\"]"})
    CHECK(text.find(token) != std::string::npos);
}

TEST_CASE("every float16 and bfloat16 bit pattern survives", "[json]") {
  scratch_dir dir("ckpt-json");
  Halves original;
  original.f16 = ckpt::tensor<ckpt::float16>({256, 256});
  original.bf16 = ckpt::tensor<ckpt::bfloat16>({65536});
  for (std::size_t i = 0; i < 65536; ++i) {
    original.f16[i] = ckpt::float16::from_bits(static_cast<std::uint16_t>(i));
    original.bf16[i] = ckpt::bfloat16::from_bits(static_cast<std::uint16_t>(i));
  }
  const Halves loaded = round_trip(dir, original);
  require_same_bits(loaded, original);
}

TEST_CASE("16-bit floats are written short and read with one rounding", "[json]") {
  scratch_dir dir("ckpt-json");
  Halves h;
  h.f16 = ckpt::tensor<ckpt::float16>({5});
  h.f16[0] = ckpt::float16(0.1f);
  h.f16[1] = ckpt::float16(65504.0f);
  h.f16[2] = ckpt::float16::from_bits(0x8000);
  h.f16[3] = ckpt::float16::from_bits(0x0001);
  h.f16[4] = ckpt::float16(10.0f);
  h.bf16 = ckpt::tensor<ckpt::bfloat16>({2});
  h.bf16[0] = ckpt::bfloat16(0.1f);
  h.bf16[1] = ckpt::bfloat16::from_bits(0x7f7f);
  ckpt::save(h, dir / "h.json", no_sync());
  const std::string text = slurp(dir / "h.json");
  CHECK(text.find("[0.1, 65504, -0, 6e-08, 10]") != std::string::npos);
  CHECK(text.find("[0.1, 3.39e+38]") != std::string::npos);

  // Hand-written decimals round once, to nearest even, even next to a tie.
  CHECK(read_one<ckpt::float16>(dir, one_tensor("float16", "[]", "0.1"))[0].bits == 0x2e66);
  CHECK(read_one<ckpt::float16>(dir, one_tensor("float16", "[]", "65519"))[0].bits == 0x7bff);
  CHECK(read_one<ckpt::bfloat16>(dir, one_tensor("bfloat16", "[]", "1.00390625"))[0].bits ==
        0x3f80);
  CHECK(read_one<ckpt::bfloat16>(dir, one_tensor("bfloat16", "[]", "1.0039062500001"))[0].bits ==
        0x3f81);
  CHECK(read_one<ckpt::bfloat16>(dir, one_tensor("bfloat16", "[]", "1.01171875"))[0].bits ==
        0x3f82);
  CHECK(read_one<ckpt::float16>(dir, one_tensor("float16", "[]", "-1e-30"))[0].bits == 0x8000);
  CHECK(read_one<ckpt::float16>(dir, one_tensor("float16", "[]", "-0"))[0].bits == 0x8000);
}

TEST_CASE("integers keep their full range", "[json]") {
  scratch_dir dir("ckpt-json");
  Integers original{extremes<std::int8_t>(),   extremes<std::int16_t>(), extremes<std::int32_t>(),
                    extremes<std::int64_t>(),  extremes<std::uint8_t>(), extremes<std::uint16_t>(),
                    extremes<std::uint32_t>(), extremes<std::uint64_t>()};
  CHECK(round_trip(dir, original) == original);
  const std::string text = slurp(dir / "t.json");
  CHECK(text.find("[-9223372036854775808, -9223372036854775807, 0, 1, 9223372036854775806, "
                  "9223372036854775807]") != std::string::npos);
  CHECK(text.find("18446744073709551615]") != std::string::npos);
}

TEST_CASE("strings that are not UTF-8 travel as base64", "[json]") {
  scratch_dir dir("ckpt-json");
  Strings original;
  original.valid = {"",
                    "plain",
                    "\"quoted\" \\ slash /",
                    "\x01\x1f\x7f\b\f\n\r\t",
                    std::string("\0", 1),
                    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                    "\xf4\x8f\xbf\xbf"};
  original.invalid = {"\xff",
                      "\xc0\x80",
                      "\xed\xa0\x80",
                      "\xe2\x82",
                      "\xf4\x90\x80\x80",
                      "abc\x80",
                      "\xf8\x88\x80\x80\x80",
                      "\xc3"};
  original.scalar = "\xfe\xff\x00\x01";
  CHECK(round_trip(dir, original) == original);
  const std::string text = slurp(dir / "t.json");
  std::size_t base64_count = 0;
  for (auto at = text.find("{\"base64\": "); at != std::string::npos;
       at = text.find("{\"base64\": ", at + 1))
    ++base64_count;
  CHECK(base64_count == original.invalid.size() + 1);
  CHECK(text.find("{\"base64\": \"/w==\"}") != std::string::npos);
  CHECK(text.find("\"\\u0001\\u001f\x7f\\b\\f\\n\\r\\t\"") != std::string::npos);

  // Readers of the format may spell any string in base64, and escape any character.
  auto t = read_one<std::string>(
      dir, one_tensor("string", "[2]", R"([{"base64": "aGk="}, "\u00e9\ud83d\ude00"])"));
  CHECK(t[0] == "hi");
  CHECK(t[1] == "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_CASE("empty tensors, zero-size dimensions and ranks 0 to 4", "[json]") {
  scratch_dir dir("ckpt-json");
  std::map<std::string, ckpt::tensor<float>> floats;
  const std::vector<ckpt::shape> shapes = {
      {}, {0}, {5}, {0, 3}, {3, 0}, {2, 3}, {2, 0, 3}, {2, 3, 4}, {2, 1, 3, 2}, {1, 1, 1, 1}};
  int seed = 0;
  for (const auto& s : shapes) {
    floats[ckpt::to_string(s)] = make_floats(s, seed++);
  }
  const auto loaded = round_trip(dir, floats);
  CHECK(loaded == floats);
  for (const auto& [key, t] : loaded) CHECK(t.shape() == floats.at(key).shape());

  std::map<std::string, ckpt::tensor<std::string>> strings;
  strings["scalar"] = ckpt::tensor<std::string>({}, {"x\xff"});
  strings["none"] = ckpt::tensor<std::string>({2, 0});
  strings["grid"] = ckpt::tensor<std::string>({2, 2}, {"a", "\xfe", "", "d"});
  CHECK(round_trip(dir, strings) == strings);

  std::map<std::string, ckpt::tensor<std::complex<float>>> complexes;
  complexes["scalar"] = ckpt::tensor<std::complex<float>>({}, {{1, -1}});
  complexes["empty"] = ckpt::tensor<std::complex<float>>({0, 2});
  complexes["cube"] = ckpt::tensor<std::complex<float>>({1, 2, 1}, {{1, 2}, {3, 4}});
  CHECK(round_trip(dir, complexes) == complexes);

  std::map<std::string, ckpt::tensor<bool>> bools;
  bools["scalar"] = ckpt::tensor<bool>({}, {true});
  bools["empty"] = ckpt::tensor<bool>({0});
  CHECK(round_trip(dir, bools) == bools);

  std::map<std::string, float> nothing;
  CHECK(round_trip(dir, nothing).empty());
  CHECK(nlohmann::json::parse(slurp(dir / "t.json"))["tensors"] == nlohmann::json::object());
}

TEST_CASE("metadata round-trips as strings", "[json]") {
  scratch_dir dir("ckpt-json");
  ckpt::save_options options = no_sync();
  options.metadata = {{"step", "100"}, {"note", "\xc3\xa9 \"q\"\n"}, {"", "empty key"}};
  ckpt::save(make_dense(2, 2, 1), dir / "m.json", options);
  ckpt::reader r(dir / "m.json");
  CHECK(r.metadata() == options.metadata);

  options.metadata["bad"] = "\xff";
  try {
    ckpt::save(make_dense(2, 2, 1), dir / "n.json", options);
    FAIL("saved metadata that is not UTF-8");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(e.file() == (dir / "n.json").string());
  }
  CHECK(!fs::exists(dir / "n.json"));
}

TEST_CASE("the writer refuses what the document cannot hold and leaves no file", "[json]") {
  scratch_dir dir("ckpt-json");
  ckpt::save(make_dense(1, 1, 1), dir / "keep.json", no_sync());
  const std::string kept = slurp(dir / "keep.json");
  const float x = 1;
  const ckpt::tensor_view scalar{ckpt::dtype::float32, {}, std::as_bytes(std::span(&x, 1)), {}};
  const std::byte big_int4{100};
  const ckpt::tensor_view int4{ckpt::dtype::int4, {1}, std::span(&big_int4, 1), {}};
  const ckpt::tensor_view resource{ckpt::dtype::resource, {}, {}, {}};
  const ckpt::tensor_view short_view{
      ckpt::dtype::float32, {2}, std::as_bytes(std::span(&x, 1)), {}};

  const auto refused = [&](std::vector<ckpt::named_tensor> tensors, ckpt::errc code,
                           const std::string& key) {
    ckpt::json_format::writer w(dir / "keep.json", no_sync());
    try {
      w.write(tensors);
      FAIL("written");
    } catch (const ckpt::error& e) {
      INFO(e.what());
      CHECK(e.code() == code);
      CHECK(e.key() == key);
    }
    CHECK(slurp(dir / "keep.json") == kept);
    CHECK(dir.file_count() == 1);
  };
  refused({{"a", scalar}, {"a/b", scalar}}, ckpt::errc::bad_format, "a/b");
  refused({{"a/b", scalar}, {"a", scalar}}, ckpt::errc::bad_format, "a");
  refused({{"a/b", scalar}, {"a/b", scalar}}, ckpt::errc::bad_format, "a/b");
  refused({{"a//b", scalar}}, ckpt::errc::bad_format, "a//b");
  refused({{"", scalar}}, ckpt::errc::bad_format, "");
  refused({{"k\xff", scalar}}, ckpt::errc::bad_format, "k\xff");
  refused({{"w", scalar}, {"r", resource}}, ckpt::errc::unsupported, "r");
  refused({{"n", int4}}, ckpt::errc::bad_format, "n");
  refused({{"s", short_view}}, ckpt::errc::shape_mismatch, "s");
}

TEST_CASE("a file copied through the reader is reproduced byte for byte", "[json]") {
  scratch_dir dir("ckpt-json");
  ckpt::save(make_model(), dir / "a.json", no_sync());
  auto from = ckpt::open_reader(dir / "a.json");
  ckpt::json_format::writer to(dir / "b.json", no_sync());
  ckpt::copy_tensors(*from, to);
  CHECK(slurp(dir / "a.json") == slurp(dir / "b.json"));
}

TEST_CASE("a million elements save and load", "[json]") {
  scratch_dir dir("ckpt-json");
  std::map<std::string, ckpt::tensor<float>> big;
  // Not make_floats: its index arithmetic overflows int beyond about 20000 elements.
  ckpt::tensor<float> w({1000, 1000});
  std::uint64_t state = 12345;
  for (float& x : w)
    x = static_cast<float>(static_cast<std::int64_t>(next_random(state) % 2000001) - 1000000) /
        997.0f;
  big["w"] = std::move(w);
  const auto start = std::chrono::steady_clock::now();
  ckpt::save(big, dir / "big.json", no_sync());
  const auto saved = std::chrono::steady_clock::now();
  std::map<std::string, ckpt::tensor<float>> loaded;
  ckpt::load(loaded, dir / "big.json");
  const auto done = std::chrono::steady_clock::now();
  CHECK(loaded == big);
  using ms = std::chrono::milliseconds;
  WARN("1e6 float32: save " << std::chrono::duration_cast<ms>(saved - start).count() << " ms, load "
                            << std::chrono::duration_cast<ms>(done - saved).count() << " ms, "
                            << fs::file_size(dir / "big.json") << " bytes");
}

TEST_CASE("detection looks for the format marker", "[json]") {
  scratch_dir dir("ckpt-json");
  const auto detects = [&](const std::string& text) {
    spit(dir / "d", text);
    return ckpt::json_format::detect(dir / "d");
  };
  CHECK(detects(document("")));
  CHECK(detects(" \n\t{ \"format\" :\"ckpt-json\", \"version\": 1}"));
  CHECK(!detects(""));
  CHECK(!detects("[]"));
  CHECK(!detects(R"({"version": 1, "format": "ckpt-json"})"));
  CHECK(!detects(R"({"format": "ckpt-jsonx"})"));
  CHECK(!detects(R"({"__metadata__": {}})"));
  CHECK(!detects(std::string("\x10\x00\x00\x00\x00\x00\x00\x00{}", 10)));
  CHECK(!ckpt::json_format::detect(dir / "missing"));
  fs::create_directory(dir / "sub");
  CHECK(!ckpt::json_format::detect(dir / "sub"));
}

TEST_CASE("the reader accepts what RFC 8259 allows", "[json]") {
  scratch_dir dir("ckpt-json");
  // Whitespace anywhere, a byte order mark, members of the document in any order, escapes.
  CHECK(read_one<float>(dir, "\xef\xbb\xbf" + one_tensor("float32", "[1]", "[2]"))[0] == 2);
  const auto t = read_one<std::int32_t>(
      dir,
      " {\"tensors\"\t:\n{\"\\u0074\" : {\"dtype\":\"int32\",\"shape\":[ 2 ],\"values\":[-0 ,"
      "7]}},\"version\":1,\"metadata\":{},\"format\":\"ckpt-json\"} \n");
  CHECK(t == ckpt::tensor<std::int32_t>({2}, {0, 7}));
  // Numbers beyond float's range underflow to a zero of their sign; -0 keeps its sign.
  CHECK(bits_of(read_one<float>(dir, one_tensor("float32", "[]", "-1e-50"))[0]) == 0x80000000);
  CHECK(bits_of(read_one<float>(dir, one_tensor("float32", "[]", "-0"))[0]) == 0x80000000);
  CHECK(bits_of(read_one<double>(dir, one_tensor("float64", "[]", "1e-400"))[0]) == 0);
  CHECK(read_one<float>(dir, one_tensor("float32", "[]", "3.4028235e38"))[0] ==
        std::numeric_limits<float>::max());
  CHECK(read_one<double>(dir, one_tensor("float64", "[]", "9007199254740993"))[0] ==
        9007199254740992.0);
  CHECK(bits_of(read_one<float>(dir, one_tensor("float32", "[]", "\"NaN:0x7FC00001\""))[0]) ==
        0x7fc00001);
  CHECK(read_one<std::uint64_t>(dir, one_tensor("uint64", "[]", "18446744073709551615"))[0] ==
        std::numeric_limits<std::uint64_t>::max());
}
