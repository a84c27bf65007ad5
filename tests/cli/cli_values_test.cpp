// SPDX-License-Identifier: Apache-2.0
// `ckpt inspect --values`: every stored value stays distinguishable (NaN, infinities, -0.0, bytes
// that are not UTF-8, spelled as the JSON format spells them), and big tensors are abbreviated as
// numpy prints them unless --all-values asks for everything.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "../support/cli.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"

namespace {

namespace fs = std::filesystem;
using ckpt_test::run_ckpt;
using ckpt_test::scratch_dir;
using nlohmann::json;

template <class T>
ckpt::tensor_view raw_view(ckpt::dtype dtype, const std::vector<T>& bits, ckpt::shape shape) {
  return {dtype, std::move(shape), std::as_bytes(std::span(bits)), {}};
}

// Writes through the format contract, so any dtype and bit pattern can be stored.
void write_tensors(const fs::path& file, const std::string& format,
                   const std::vector<ckpt::named_tensor>& tensors) {
  ckpt::create_writer(ckpt::find_format(format), file, {})->write(tensors);
}

// The text after `"values": ` up to the end of its line in inspect's --json output.
std::string values_text(const std::string& out, const std::string& key) {
  const auto at = out.find("\"key\": \"" + key + "\"");
  REQUIRE(at != std::string::npos);
  const std::string marker = "\"values\": ";
  const auto start = out.find(marker, at);
  REQUIRE(start != std::string::npos);
  const auto from = start + marker.size();
  return out.substr(from, out.find('\n', from) - from);
}

// The line of a table listing that follows the row of `key`.
std::string table_values(const std::string& out, const std::string& key) {
  const auto row = out.find("\n" + key + " ");
  REQUIRE(row != std::string::npos);
  const auto start = out.find('\n', row + 1) + 1;
  return out.substr(start, out.find('\n', start) - start);
}

json entry_of(const json& doc, const std::string& key) {
  for (const auto& e : doc["entries"])
    if (e["key"] == key) return e;
  FAIL("no entry " << key);
  return {};
}

}  // namespace

TEST_CASE("inspect --values spells NaN, infinities and -0.0 as the JSON format does", "[cli]") {
  scratch_dir s("ckpt-cli-values");
  const auto file = s / "special.safetensors";
  const std::vector<std::uint32_t> f32 = {0x7fc00000, 0x7f800000, 0xff800000, 0x80000000,
                                          0x00000000, 0x3fc00000, 0x7fc00001, 0x40000000};
  const std::vector<std::uint64_t> f64 = {
      0x7ff8000000000000, 0x7ff0000000000000, 0xfff0000000000000, 0x8000000000000000,
      0x0000000000000000, 0x3ff8000000000000, 0xfff8000000000000, 0x4000000000000000};
  const std::vector<std::uint16_t> f16 = {0x7e00, 0x7c00, 0xfc00, 0x8000, 0x0000, 0x3e00};
  const std::vector<std::uint16_t> bf16 = {0x7fc0, 0x7f80, 0xff80, 0x8000, 0x0000, 0x3fc0};
  const std::vector<std::uint32_t> c64 = {0x7fc00000, 0x80000000, 0x7f800000, 0x3f800000};
  write_tensors(file, "safetensors",
                {{"f32", raw_view(ckpt::dtype::float32, f32, {8})},
                 {"f64", raw_view(ckpt::dtype::float64, f64, {2, 4})},
                 {"f16", raw_view(ckpt::dtype::float16, f16, {6})},
                 {"bf16", raw_view(ckpt::dtype::bfloat16, bf16, {6})},
                 {"c64", raw_view(ckpt::dtype::complex64, c64, {2})}});

  const auto r = run_ckpt("inspect --json --values " + file.string());
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  const std::string specials = R"("NaN", "Infinity", "-Infinity", -0.0, 0.0, )";
  CHECK(values_text(r.out, "f32") == "[" + specials + R"(1.5, "NaN:0x7fc00001", 2.0])");
  CHECK(values_text(r.out, "f64") ==
        R"([["NaN", "Infinity", "-Infinity", -0.0], [0.0, 1.5, "NaN:0xfff8000000000000", 2.0]])");
  CHECK(values_text(r.out, "f16") == "[" + specials + "1.5]");
  CHECK(values_text(r.out, "bf16") == "[" + specials + "1.5]");
  CHECK(values_text(r.out, "c64") == R"([["NaN", -0.0], ["Infinity", 1.0]])");

  // Any JSON reader keeps the two zeros apart and the specials as the JSON format's strings.
  const json doc = json::parse(r.out);
  const json values = entry_of(doc, "f32")["values"];
  REQUIRE(values.size() == 8);
  CHECK(values[0] == "NaN");
  CHECK(values[1] == "Infinity");
  CHECK(values[2] == "-Infinity");
  REQUIRE(values[3].is_number_float());
  CHECK(std::signbit(values[3].get<double>()));
  REQUIRE(values[4].is_number_float());
  CHECK_FALSE(std::signbit(values[4].get<double>()));
  CHECK(values[5] == 1.5);

  // The listing shows the same spellings.
  const auto table = run_ckpt("inspect --values " + file.string());
  REQUIRE(table.status == 0);
  CHECK(table_values(table.out, "f32") ==
        R"(  ["NaN","Infinity","-Infinity",-0.0,0.0,1.5,"NaN:0x7fc00001",2.0])");
}

TEST_CASE("inspect --values spells integers exactly and strings that are not UTF-8 as base64",
          "[cli]") {
  scratch_dir s("ckpt-cli-values");
  const auto file = s / "mixed";
  const std::vector<std::string> strings = {"plain", std::string("\xff\xfe", 2),
                                            std::string("a\0b", 3), "\xc3\xa9t\xc3\xa9"};
  const std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), -1, 0,
                                         std::numeric_limits<std::int64_t>::max()};
  const std::vector<std::uint64_t> u64 = {std::numeric_limits<std::uint64_t>::max()};
  const std::vector<std::uint8_t> flags = {1, 0};
  write_tensors(file, "tf1",
                {{"text", {ckpt::dtype::string, {2, 2}, {}, strings}},
                 {"i64", raw_view(ckpt::dtype::int64, i64, {4})},
                 {"u64", raw_view(ckpt::dtype::uint64, u64, {})},
                 {"flags", raw_view(ckpt::dtype::bool_, flags, {2})}});

  const auto r = run_ckpt("inspect --json --values " + file.string());
  REQUIRE(r.status == 0);
  CHECK(values_text(r.out, "text") == R"([["plain", {"base64": "//4="}], ["a\u0000b", "été"]])");
  CHECK(values_text(r.out, "i64") == "[-9223372036854775808, -1, 0, 9223372036854775807]");
  CHECK(values_text(r.out, "u64") == "18446744073709551615");
  const json doc = json::parse(r.out);
  CHECK(entry_of(doc, "flags")["values"] == json::array({true, false}));
  const json text = entry_of(doc, "text")["values"];
  std::string decoded;
  CHECK(ckpt::json_format::decode_base64(text[0][1]["base64"].get<std::string>(), decoded).empty());
  CHECK(decoded == strings[1]);
  CHECK(text[1][0].get<std::string>() == strings[2]);

  // TensorFlow's own listing style keeps the spelling: the key, then the values.
  const auto one = run_ckpt("inspect --tensor text " + file.string());
  REQUIRE(one.status == 0);
  CHECK(one.out ==
        "tensor_name:  text\n"
        R"([["plain",{"base64": "//4="}],["a\u0000b","été"]])"
        "\n");
}

TEST_CASE("inspect names stored keys that are not UTF-8 losslessly in --json", "[cli]") {
  scratch_dir s("ckpt-cli-values");
  const auto file = s / "keys";
  const std::string key("w\xff", 2);
  const std::vector<float> w = {1};
  write_tensors(file, "tf1", {{key, raw_view(ckpt::dtype::float32, w, {1})}});
  REQUIRE(ckpt::reader(file).contains(key));
  const auto r = run_ckpt("inspect --json " + file.string());
  REQUIRE(r.status == 0);
  const json doc = json::parse(r.out);
  REQUIRE(doc["entries"].size() == 1);
  CHECK(doc["entries"][0]["key"] == json{{"base64", "d/8="}});
}

TEST_CASE("inspect --values abbreviates big tensors with ... and --all-values prints them",
          "[cli]") {
  scratch_dir s("ckpt-cli-values");
  const auto file = s / "big.safetensors";
  std::vector<std::int32_t> big(40 * 50), edge(1000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::int32_t>(i);
  for (std::size_t i = 0; i < edge.size(); ++i) edge[i] = static_cast<std::int32_t>(i);
  const std::vector<std::int32_t> none;
  write_tensors(file, "safetensors",
                {{"big", raw_view(ckpt::dtype::int32, big, {40, 50})},
                 {"edge", raw_view(ckpt::dtype::int32, edge, {1000})},
                 {"empty", raw_view(ckpt::dtype::int32, none, {2000, 0})}});

  // As numpy prints a 40x50 array: the first and last three rows, each its first and last three.
  const std::string rows =
      "[[0,1,2,...,47,48,49],[50,51,52,...,97,98,99],[100,101,102,...,147,"
      "148,149],...,[1850,1851,1852,...,1897,1898,1899],[1900,1901,1902,...,"
      "1947,1948,1949],[1950,1951,1952,...,1997,1998,1999]]";
  const auto table = run_ckpt("inspect --values " + file.string());
  REQUIRE(table.status == 0);
  CHECK(table_values(table.out, "big") == "  " + rows);
  // 1000 elements are not "more than 1000": printed whole.
  CHECK(table_values(table.out, "edge").find("...") == std::string::npos);
  CHECK(table_values(table.out, "empty") == "  [[],[],[],...,[],[],[]]");
  CHECK(table.out.size() < 8000);

  const auto r = run_ckpt("inspect --json --values " + file.string());
  REQUIRE(r.status == 0);
  const json doc = json::parse(r.out);
  const json shown = entry_of(doc, "big");
  CHECK(shown["abbreviated"] == true);
  REQUIRE(shown["values"].size() == 7);
  CHECK(shown["values"][3] == "...");
  CHECK(shown["values"][6] == json::array({1950, 1951, 1952, "...", 1997, 1998, 1999}));
  CHECK_FALSE(entry_of(doc, "edge").contains("abbreviated"));
  CHECK(entry_of(doc, "edge")["values"].size() == 1000);

  for (const std::string flags : {"--all-values", "--json --all-values"}) {
    INFO(flags);
    const auto all = run_ckpt("inspect " + flags + " " + file.string());
    REQUIRE(all.status == 0);
    if (flags == "--all-values") {
      const json values = json::parse(table_values(all.out, "big"));
      REQUIRE(values.size() == 40);
      CHECK(values[39][49] == 1999);
      // No values to hide in an empty tensor: its brackets stay abbreviated.
      CHECK(table_values(all.out, "empty") == "  [[],[],[],...,[],[],[]]");
    } else {
      const json everything = json::parse(all.out);
      CHECK_FALSE(entry_of(everything, "big").contains("abbreviated"));
      json expected = json::array();
      for (int row = 0; row < 40; ++row) {
        json r50 = json::array();
        for (int col = 0; col < 50; ++col) r50.push_back(row * 50 + col);
        expected.push_back(r50);
      }
      CHECK(entry_of(everything, "big")["values"] == expected);
    }
  }

  // --tensor prints one entry's values, abbreviated the same way.
  const auto one = run_ckpt("inspect --tensor big " + file.string());
  REQUIRE(one.status == 0);
  CHECK(one.out.find(rows) != std::string::npos);
  CHECK(run_ckpt("inspect --tensor big --all-values " + file.string()).out.find("...") ==
        std::string::npos);
}
