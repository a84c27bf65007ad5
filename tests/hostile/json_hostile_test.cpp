// SPDX-License-Identifier: Apache-2.0
// Hostile JSON documents: the reader refuses each with the exact error code, naming the file and,
// inside a tensor, its path; a file truncated at any length is refused.
#include <catch2/catch.hpp>
#include <cctype>
#include <complex>
#include <filesystem>
#include <limits>
#include <string>

#include "../support/files.hpp"
#include "../support/hostile_file.hpp"
#include "../support/json_documents.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/formats/json.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

// The error that opening `text` as a JSON checkpoint gives.
ckpt::error json_error(const scratch_dir& dir, const std::string& text,
                       ckpt::load_options options = {}) {
  if (options.format.empty()) options.format = "json";
  return open_error(dir, "hostile.json", text, options);
}

void check_error(const scratch_dir& dir, const std::string& text, ckpt::errc code,
                 const std::string& key = {}, ckpt::load_options options = {}) {
  INFO("document: " << text.substr(0, 300));
  const ckpt::error e = json_error(dir, text, options);
  INFO("error: " << e.what());
  CHECK(e.code() == code);
  if (!key.empty()) CHECK(e.key() == key);
}

}  // namespace

TEST_CASE("hostile documents give the exact error", "[json][hostile]") {
  scratch_dir dir("ckpt-json");
  using ckpt::errc;

  SECTION("depth bombs") {
    check_error(dir, std::string(100000, '['), errc::limit);
    check_error(dir, one_tensor("float32", "[1]", std::string(100000, '[')), errc::limit, "t");
    std::string objects;
    for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
    check_error(dir, objects, errc::limit);
    std::string groups;
    for (int i = 0; i < 100000; ++i) groups += "\"a\":{";
    check_error(dir, document(groups), errc::limit);
    ckpt::load_options shallow;
    shallow.limits.max_depth = 4;
    check_error(dir, document(R"("a": {"b": {"c": {}}})"), errc::limit, "a/b/c", shallow);
    CHECK_NOTHROW(read_one<float>(
        dir,
        document(
            R"("a": {"t": {"dtype": "float32", "shape": [], "values": 1}}, "t": {"dtype": "float32", "shape": [], "values": 1})")));
  }
  SECTION("duplicate keys") {
    check_error(dir,
                R"({"format": "ckpt-json", "format": "ckpt-json", "version": 1, "tensors": {}})",
                errc::bad_format);
    check_error(dir, document(R"("a": {}, "a": {})"), errc::bad_format, "a");
    check_error(
        dir,
        R"({"format": "ckpt-json", "version": 1, "metadata": {"k": "1", "k": "2"}, "tensors": {}})",
        errc::bad_format);
    check_error(dir,
                document(R"("t": {"dtype": "float32", "dtype": "int8", "shape": [], "values": 1})"),
                errc::bad_format, "t");
    check_error(dir,
                document(R"("t": {"dtype": "float32", "shape": [], "shape": [], "values": 1})"),
                errc::bad_format, "t");
    check_error(dir, document(R"("g": {"dtype": {}, "dtype": {}})"), errc::bad_format, "g/dtype");
  }
  SECTION("non-standard number tokens") {
    for (const char* token : {"NaN", "Infinity", "-Infinity", "nan", "inf", "+1", "01", ".5", "1.",
                              "0x10", "1e", "- 1", "1_000"})
      check_error(dir, one_tensor("float32", "[1]", std::string("[") + token + "]"),
                  errc::bad_format);
  }
  SECTION("numbers out of the dtype's range") {
    check_error(dir, one_tensor("float32", "[1]", "[1e400]"), errc::bad_format);
    check_error(dir, one_tensor("float64", "[1]", "[1e400]"), errc::bad_format);
    check_error(dir, one_tensor("float64", "[1]", "[-1e400]"), errc::bad_format);
    check_error(dir, one_tensor("float32", "[1]", "[1e39]"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "[]", "3.4028236e38"), errc::bad_format, "t");
    check_error(dir, one_tensor("float16", "[]", "65520"), errc::bad_format, "t");
    check_error(dir, one_tensor("bfloat16", "[]", "3.4e38"), errc::bad_format, "t");
    check_error(dir, one_tensor("complex64", "[]", "[0, 1e39]"), errc::bad_format, "t");
  }
  SECTION("integers: fractions and out-of-range values") {
    for (const char* value : {"1.5", "1.0", "1e2", "-0.0"})
      check_error(dir, one_tensor("int32", "[1]", std::string("[") + value + "]"), errc::bad_format,
                  "t");
    check_error(dir, one_tensor("int8", "[1]", "[128]"), errc::bad_format, "t");
    check_error(dir, one_tensor("int8", "[1]", "[-129]"), errc::bad_format, "t");
    check_error(dir, one_tensor("uint8", "[1]", "[-1]"), errc::bad_format, "t");
    check_error(dir, one_tensor("uint8", "[1]", "[256]"), errc::bad_format, "t");
    check_error(dir, one_tensor("int64", "[]", "9223372036854775808"), errc::bad_format, "t");
    check_error(dir, one_tensor("int64", "[]", "-9223372036854775809"), errc::bad_format, "t");
    check_error(dir, one_tensor("uint64", "[]", "18446744073709551616"), errc::bad_format, "t");
    check_error(dir, one_tensor("int4", "[]", "8"), errc::bad_format, "t");
    check_error(dir, one_tensor("uint2", "[]", "4"), errc::bad_format, "t");
    check_error(dir, one_tensor("float8_e4m3fn", "[]", "256"), errc::bad_format, "t");
    check_error(dir, one_tensor("int32", "[]", "true"), errc::bad_format, "t");
    check_error(dir, one_tensor("int32", "[]", "\"1\""), errc::bad_format, "t");
    check_error(dir, one_tensor("bool", "[]", "1"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "[]", "null"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "[]", "true"), errc::bad_format, "t");
  }
  SECTION("strings standing for floats") {
    for (const char* value :
         {"\"nan\"", "\"Inf\"", "\"1.5\"", "\"NaN:0x3f800000\"", "\"NaN:0x7fc0000\"",
          "\"NaN:0x7fc000001\"", "\"NaN:7fc00001\"", "\"NaN:0x7fc0000g\""})
      check_error(dir, one_tensor("float32", "[]", value), errc::bad_format, "t");
  }
  SECTION("invalid UTF-8 and lone surrogates") {
    check_error(dir, one_tensor("string", "[]", "\"\xff\""), errc::bad_format);
    check_error(dir, one_tensor("string", "[]", "\"\xc0\x80\""), errc::bad_format);
    check_error(dir, one_tensor("string", "[]", "\"\xed\xa0\x80\""), errc::bad_format);
    check_error(dir, document("\"k\xfe\": {}"), errc::bad_format);
    check_error(dir, document("\xff"), errc::bad_format);
    check_error(dir, one_tensor("string", "[]", R"("\ud800")"), errc::bad_format);
    check_error(dir, one_tensor("string", "[]", R"("\udc00")"), errc::bad_format);
    check_error(dir, one_tensor("string", "[]", R"("\ud800\u0041")"), errc::bad_format);
    check_error(dir, one_tensor("string", "[]", "\"raw\ncontrol\""), errc::bad_format);
  }
  SECTION("ragged arrays and counts that differ from the shape") {
    check_error(dir, one_tensor("float32", "[2, 2]", "[[1, 2], [3]]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[2, 2]", "[[1, 2], [3, 4, 5]]"), errc::shape_mismatch,
                "t");
    check_error(dir, one_tensor("float32", "[2, 2]", "[[1, 2], 3]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[2]", "[1, [2]]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[1, 1]", "[[[1]]]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[2]", "[1, 2, 3]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[2]", "[1]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[2, 3]", "[]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[]", "[1]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[1]", "1"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("float32", "[1000000]", "[]"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("string", "[2]", R"(["a", ["b"]])"), errc::shape_mismatch, "t");
    check_error(dir, one_tensor("string", "[1, 1]", R"([{"base64": ""}])"), errc::shape_mismatch,
                "t");
  }
  SECTION("complex elements are pairs") {
    for (const char* value : {"[[1]]", "[[1, 2, 3]]", "[1]", "[[1, [2]]]", "[[\"a\", 1]]"})
      check_error(dir, one_tensor("complex64", "[1]", value), errc::bad_format, "t");
    check_error(dir, one_tensor("complex64", "[]", "1"), errc::bad_format, "t");
    check_error(dir, one_tensor("complex128", "[]", "[1, 2, 3]"), errc::bad_format, "t");
  }
  SECTION("dtypes") {
    check_error(dir, one_tensor("float128", "[]", "1"), errc::unsupported, "t");
    check_error(dir, one_tensor("resource", "[]", "1"), errc::unsupported, "t");
    check_error(dir, one_tensor("Float32", "[]", "1"), errc::unsupported, "t");
    check_error(dir, document(R"("t": {"dtype": 1, "shape": [], "values": 1})"), errc::bad_format,
                "t");
  }
  SECTION("shapes") {
    check_error(dir, one_tensor("float32", "[-1]", "[]"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "[2.5]", "[]"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "[1e0]", "[1]"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "[\"2\"]", "[1, 2]"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "[[2]]", "[1, 2]"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "2", "[1, 2]"), errc::bad_format, "t");
    check_error(dir, one_tensor("float32", "[4294967296, 4294967296, 0]", "[]"), errc::bad_format,
                "t");
    check_error(dir, one_tensor("float32", "[18446744073709551615]", "[]"), errc::shape_mismatch,
                "t");
    check_error(dir, one_tensor("float32", "[18446744073709551616]", "[]"), errc::bad_format, "t");
    std::string deep = "[";
    for (int i = 0; i < 65; ++i) deep += i ? ", 1" : "1";
    check_error(dir, one_tensor("float32", deep + "]", "1"), errc::limit, "t");
  }
  SECTION("entry count and name length limits") {
    ckpt::load_options few;
    few.limits.max_entries = 2;
    const std::string scalar = R"({"dtype": "int8", "shape": [], "values": 1})";
    check_error(dir, document("\"a\": " + scalar + ", \"b\": " + scalar + ", \"c\": " + scalar),
                errc::limit, "c", few);
    ckpt::load_options short_names;
    short_names.limits.max_name_bytes = 8;
    check_error(dir, document(R"("abcd": {"efgh": )" + scalar + "}"), errc::limit, {}, short_names);
  }
  SECTION("documents that are not a ckpt-json object") {
    for (const std::string text : {"", " ", "[]", "42", "\"ckpt-json\"", "null", "{", "}", "{}"})
      check_error(dir, text, errc::bad_format);
    check_error(dir, R"({"format": "other", "version": 1, "tensors": {}})", errc::bad_format);
    check_error(dir, R"({"format": "ckpt-json", "version": 2, "tensors": {}})", errc::unsupported);
    check_error(dir, R"({"format": "ckpt-json", "version": 0, "tensors": {}})", errc::bad_format);
    check_error(dir, R"({"format": "ckpt-json", "version": "1", "tensors": {}})", errc::bad_format);
    check_error(dir, R"({"format": "ckpt-json", "version": 1.0, "tensors": {}})", errc::bad_format);
    check_error(dir, R"({"format": "ckpt-json", "tensors": {}})", errc::bad_format);
    check_error(dir, R"({"format": "ckpt-json", "version": 1})", errc::bad_format);
    check_error(dir, R"({"version": 1, "tensors": {}})", errc::bad_format);
    check_error(dir, R"({"format": "ckpt-json", "version": 1, "tensors": {}, "extra": 1})",
                errc::bad_format);
    check_error(dir, R"({"format": "ckpt-json", "version": 1, "tensors": []})", errc::bad_format);
    check_error(dir,
                R"({"format": "ckpt-json", "version": 1, "metadata": {"k": 1}, "tensors": {}})",
                errc::bad_format);
    check_error(dir, document("") + " x", errc::bad_format);
    check_error(dir, document("") + "{}", errc::bad_format);
    check_error(dir, document("/* c */"), errc::bad_format);
    check_error(dir, document(R"("a": {},)"), errc::bad_format);
    check_error(dir, document(R"('a': {})"), errc::bad_format);
  }
  SECTION("groups and tensor objects") {
    check_error(dir, document(R"("a": 5)"), errc::bad_format, "a");
    check_error(dir, document(R"("a": [1])"), errc::bad_format, "a");
    check_error(dir, document(R"("a/b": {})"), errc::bad_format);
    check_error(dir, document(R"("": {})"), errc::bad_format);
    check_error(dir, document(R"("t": {"shape": [1], "dtype": "float32", "values": [1]})"),
                errc::bad_format, "t/shape");
    check_error(dir, document(R"("t": {"dtype": "float32", "values": [1], "shape": [1]})"),
                errc::bad_format, "t");
    check_error(dir, document(R"("t": {"dtype": "float32", "shape": [1]})"), errc::bad_format, "t");
    check_error(dir, document(R"("t": {"dtype": "float32"})"), errc::bad_format, "t");
    check_error(dir, document(R"("t": {"dtype": "float32", "shape": [], "values": 1, "note": ""})"),
                errc::bad_format, "t");
    check_error(dir, document(R"("t": {"dtype": "float32", "shape": [], "values": {}})"),
                errc::bad_format, "t");
  }
  SECTION("base64 string elements") {
    for (const char* text :
         {"aGk", "aGk*", "aG=k", "a===", "=aGk", "aGl=", "aQ==aGk=", "aGk=\n", "aR=="})
      check_error(dir, one_tensor("string", "[]", std::string(R"({"base64": ")") + text + "\"}"),
                  errc::bad_format, "t");
    check_error(dir, one_tensor("string", "[]", R"({"base64": "aGk=", "x": 1})"), errc::bad_format,
                "t");
    check_error(dir, one_tensor("string", "[]", R"({"text": "aGk="})"), errc::bad_format, "t");
    check_error(dir, one_tensor("string", "[]", R"({"base64": 5})"), errc::bad_format, "t");
    check_error(dir, one_tensor("string", "[]", R"({})"), errc::bad_format, "t");
    check_error(dir, one_tensor("string", "[]", "5"), errc::bad_format, "t");
  }
  SECTION("over the size limit") {
    ckpt::load_options small;
    small.limits.max_header_bytes = 64;
    check_error(dir, one_tensor("float32", "[]", "1"), errc::limit, {}, small);
  }
  SECTION("not a regular file, or no file") {
    fs::create_directory(dir / "sub.json");
    ckpt::load_options json;
    json.format = "json";
    CHECK_THROWS_MATCHES(ckpt::open_reader(dir / "sub.json", json), ckpt::error,
                         Catch::Matchers::Predicate<ckpt::error>(
                             [](const ckpt::error& e) { return e.code() == errc::io; }));
    CHECK_THROWS_MATCHES(ckpt::open_reader(dir / "none.json", json), ckpt::error,
                         Catch::Matchers::Predicate<ckpt::error>(
                             [](const ckpt::error& e) { return e.code() == errc::not_found; }));
  }
}

TEST_CASE("a file truncated at any length is refused", "[json][hostile]") {
  scratch_dir dir("ckpt-json");
  struct Small {
    std::vector<float> w;
    std::string name;
    std::complex<double> z;
    std::int64_t step = 0;
  };
  Small small{{1.5f, -0.0f, std::numeric_limits<float>::quiet_NaN()}, "n\xff", {1, -2}, 7};
  ckpt::save_options options;
  options.sync = false;
  options.metadata["k"] = "v";
  ckpt::save(small, dir / "small.json", options);
  std::string text = slurp(dir / "small.json");
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  REQUIRE(text.size() > 100);
  std::size_t refused = 0;
  for (std::size_t length = 0; length < text.size(); ++length) {
    const ckpt::error e = json_error(dir, text.substr(0, length));
    CHECK(e.code() == ckpt::errc::bad_format);
    refused += e.code() == ckpt::errc::bad_format;
  }
  CHECK(refused == text.size());
  spit(dir / "whole.json", text);
  Small loaded;
  ckpt::load(loaded, dir / "whole.json");
  CHECK(loaded.name == small.name);
}
