// SPDX-License-Identifier: Apache-2.0
// safetensors: round trips through real files and the exact bytes the writer lays down. The files
// built byte by byte that the reader must refuse are tests/hostile/safetensors_hostile_test.cpp's.
#include "ckpt/formats/safetensors.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <complex>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../../support/files.hpp"
#include "../../support/model.hpp"
#include "../../support/safetensors_files.hpp"
#include "../../support/scratch_dir.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

struct TinyLayer {
  std::vector<float> kernel;
  std::uint16_t count = 0;
};
struct Tiny {
  std::vector<TinyLayer> layers;
  std::int64_t step = 0;
};

}  // namespace

// The round trip itself is tests/roundtrip's; here is how the shared model lies in the file.
TEST_CASE("the shared model's header and bytes are laid out as the specification says",
          "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "model.safetensors";
  const Model original = make_model({.strings = false, .complex = false});
  ckpt::save(original, path);
  CHECK(dir.file_count() == 1);  // no temporary left behind

  // The header an independent JSON parser sees: dotted names, dtype names, tiled offsets.
  const std::string bytes = slurp(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  REQUIRE(n % 8 == 0);
  REQUIRE(8 + n <= bytes.size());
  const std::string header = bytes.substr(8, n);
  CHECK(header.front() == '{');
  CHECK(header.find_last_not_of(' ') == header.rfind('}'));
  const auto json = nlohmann::json::parse(header);
  CHECK(!json.contains("__metadata__"));
  CHECK(json.at("blocks.0.dense.kernel").at("dtype") == "F32");
  CHECK(json.at("blocks.0.dense.kernel").at("shape") == nlohmann::json::array({4, 3}));
  CHECK(json.at("blocks.2.attention.query").at("dtype") == "BF16");
  CHECK(json.at("blocks.1.attention.key").at("dtype") == "F16");
  CHECK(json.at("scalars.u64").at("shape") == nlohmann::json::array());
  CHECK(json.at("mask").at("dtype") == "BOOL");
  CHECK(json.at("empty_rows").at("shape") == nlohmann::json::array({0, 3}));
  CHECK(json.at("adapters.lora_a.kernel").at("dtype") == "F32");
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [key, value] : json.items()) {
    CHECK(key.find('/') == std::string::npos);
    ranges.emplace_back(value.at("data_offsets")[0], value.at("data_offsets")[1]);
  }
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (auto [begin, end] : ranges) {
    CHECK(begin == covered);
    covered = end;
  }
  CHECK(8 + n + covered == bytes.size());

  // The stored bytes of one tensor are the tensor's memory, little-endian.
  const auto& kernel = json.at("blocks.1.dense.kernel").at("data_offsets");
  const std::uint64_t begin = kernel[0];
  CHECK(std::memcmp(bytes.data() + 8 + n + begin, original.blocks[1].dense.kernel.data(),
                    12 * sizeof(float)) == 0);

  // Entries are reported in file order, with canonical paths.
  ckpt::reader reader(path);
  CHECK(reader.format() == "safetensors");
  const auto& entry = reader.find("blocks.0.attention.query");
  CHECK(entry.path == "blocks/0/attention/query");
  CHECK(entry.dtype == ckpt::dtype::bfloat16);
  CHECK(entry.shape == ckpt::shape{2, 3});
  CHECK(entry.bytes == 12);
  CHECK(reader.read<std::int64_t>("ids").values()[2] == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("the writer lays out bytes exactly as the specification and reference writer do",
          "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "tiny.safetensors";
  Tiny tiny{{TinyLayer{{1.0f, -2.0f}, 7}}, 42};
  ckpt::save_options options;
  options.metadata = {{"format", "pt"}};
  ckpt::save(tiny, path, options);

  // Worked out by hand: tensors sorted by dtype alignment (I64, then F32, then U16), then by name;
  // compact JSON; 222 bytes of JSON padded with 2 spaces to 224 = 0xe0.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("step":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("layers.0.kernel":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
      R"("layers.0.count":{"dtype":"U16","shape":[],"data_offsets":[16,18]}})"
      "  ";
  const std::string data(
      "\x2a\0\0\0\0\0\0\0"  // 42
      "\0\0\x80\x3f"        // 1.0f
      "\0\0\0\xc0"          // -2.0f
      "\x07\0",             // 7
      18);
  const std::string expected = std::string("\xe0\0\0\0\0\0\0\0", 8) + header + data;
  REQUIRE(header.size() == 224);
  CHECK(slurp(path) == expected);

  Tiny loaded;
  ckpt::load(loaded, path);
  CHECK(loaded.step == 42);
  REQUIRE(loaded.layers.size() == 1);
  CHECK(loaded.layers[0].kernel == std::vector<float>{1.0f, -2.0f});
  CHECK(loaded.layers[0].count == 7);
}

TEST_CASE("names are escaped as JSON strings the way serde_json escapes them", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "escaped.safetensors";
  std::map<std::string, std::uint8_t> odd{{"q\"b\\s\x01\t\xc3\xa9", 5}, {"plain", 6}};
  ckpt::save(odd, path);
  const std::string bytes = slurp(path);
  CHECK(bytes.find(R"("q\"b\\s\u0001\t)"
                   "\xc3\xa9\"") != std::string::npos);
  std::map<std::string, std::uint8_t> loaded;
  ckpt::load(loaded, path);
  CHECK(loaded == odd);
}

TEST_CASE("every safetensors dtype ckpt knows round-trips at the view level", "[safetensors]") {
  using ckpt::dtype;
  const std::vector<std::pair<dtype, std::string>> table = {
      {dtype::bool_, "BOOL"},
      {dtype::uint8, "U8"},
      {dtype::int8, "I8"},
      {dtype::float8_e5m2, "F8_E5M2"},
      {dtype::float8_e4m3fn, "F8_E4M3"},
      {dtype::float8_e4m3fnuz, "F8_E4M3FNUZ"},
      {dtype::float8_e5m2fnuz, "F8_E5M2FNUZ"},
      {dtype::int16, "I16"},
      {dtype::uint16, "U16"},
      {dtype::float16, "F16"},
      {dtype::bfloat16, "BF16"},
      {dtype::int32, "I32"},
      {dtype::uint32, "U32"},
      {dtype::float32, "F32"},
      {dtype::complex64, "C64"},
      {dtype::float64, "F64"},
      {dtype::int64, "I64"},
      {dtype::uint64, "U64"},
  };
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "dtypes.safetensors";
  std::vector<std::vector<std::byte>> storage;
  std::vector<ckpt::named_tensor> tensors;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto [type, name] = table[i];
    // Three elements: odd counts shift later tensors off alignment unless the writer sorts.
    auto& bytes = storage.emplace_back(3 * ckpt::element_size(type));
    for (std::size_t b = 0; b < bytes.size(); ++b)
      bytes[b] = std::byte(type == dtype::bool_ ? b % 2 : (b * 37 + i) & 0xff);
    tensors.push_back({"t/" + std::to_string(i), {type, {3}, bytes, {}}});
  }
  ckpt::safetensors::writer(path, {}).write(tensors);

  ckpt::safetensors::reader reader(path);
  const auto& entries = reader.entries();
  REQUIRE(entries.size() == table.size());
  const auto json = nlohmann::json::parse(slurp(path).substr(8, reader.file_offset(0) - 8));
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto [type, name] = table[i];
    INFO(name);
    CHECK(json.at("t." + std::to_string(i)).at("dtype") == name);
    CHECK(ckpt::safetensors::dtype_name(type) == name);
    CHECK(ckpt::safetensors::dtype_from_name(name) == type);
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [&](auto& e) { return e.path == "t/" + std::to_string(i); });
    REQUIRE(it != entries.end());
    const auto index = static_cast<std::size_t>(it - entries.begin());
    CHECK(it->dtype == type);
    // Sorted by alignment, every tensor is aligned in place and can be used without a copy.
    const auto view = reader.view(index);
    REQUIRE(view);
    const std::size_t alignment =
        type == dtype::complex64 ? alignof(std::complex<float>) : ckpt::element_size(type);
    CHECK(reinterpret_cast<std::uintptr_t>(view->bytes.data()) % alignment == 0);
    CHECK(std::equal(view->bytes.begin(), view->bytes.end(), storage[i].begin(), storage[i].end()));
    std::vector<std::byte> copy(storage[i].size());
    reader.read(index, {type, {3}, copy, {}});
    CHECK(copy == storage[i]);
  }
  // Descending alignment: the 8-byte types come first, the 1-byte ones last.
  CHECK(entries.front().dtype == dtype::uint64);
  CHECK(entries.back().dtype == dtype::bool_);
}

TEST_CASE("dtypes safetensors cannot hold are errors naming the key", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "refused.safetensors";

  SECTION("a string leaf in the shared model") {
    const Model model = make_model({.strings = true, .complex = false});
    try {
      ckpt::save(model, path);
      FAIL("saved a string tensor");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::unsupported);
      CHECK(e.key() == "text/name");
      CHECK(std::string(e.what()).find("string") != std::string::npos);
      CHECK(e.file() == path.string());
    }
    CHECK(!fs::exists(path));
  }
  SECTION("complex128; complex64 is C64 and round-trips") {
    struct Wide {
      std::complex<float> narrow{1.5f, -2.0f};
      ckpt::tensor<std::complex<double>> wide = ckpt::tensor<std::complex<double>>({1});
    };
    try {
      ckpt::save(Wide{}, path);
      FAIL("saved complex128");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::unsupported);
      CHECK(e.key() == "wide");
    }
    struct Narrow {
      std::complex<float> c{1.5f, -2.25f};
      ckpt::tensor<std::complex<float>> t =
          ckpt::tensor<std::complex<float>>({2}, {{0.5f, 1e-40f}, {-3.0f, 7.0f}});
    };
    const Narrow narrow;
    ckpt::save(narrow, path);
    Narrow loaded{{}, {}};
    ckpt::load(loaded, path);
    CHECK(loaded.c == narrow.c);
    CHECK(loaded.t == narrow.t);
    CHECK(ckpt::reader(path).find("t").dtype == ckpt::dtype::complex64);
  }
  SECTION("a dtype with no safetensors name at the writer interface") {
    const std::byte b[2]{};
    for (auto type :
         {ckpt::dtype::int4, ckpt::dtype::qint8, ckpt::dtype::quint16, ckpt::dtype::invalid}) {
      const std::vector<ckpt::named_tensor> tensors = {{"x", {type, {2}, {b, 2}, {}}}};
      try {
        ckpt::safetensors::writer(path, {}).write(tensors);
        FAIL("wrote " << ckpt::describe(type));
      } catch (const ckpt::error& e) {
        CHECK(e.code() == ckpt::errc::unsupported);
        CHECK(e.key() == "x");
      }
    }
  }
  CHECK(dir.file_count() <= 1);  // a refused save leaves no temporary behind
}

TEST_CASE("the writer interface refuses two tensors with one path", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const float values[2] = {1.0f, 2.0f};
  const ckpt::tensor_view view{ckpt::dtype::float32, {2}, std::as_bytes(std::span(values)), {}};
  try {
    ckpt::safetensors::writer(dir / "dup.safetensors", {}).write({{"a/b", view}, {"a/b", view}});
    FAIL("wrote a duplicate");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(e.key() == "a/b");
  }
  CHECK(dir.file_count() == 0);
}

TEST_CASE("a path component with a dot cannot be a safetensors name", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "dots.safetensors";
  std::map<std::string, std::map<std::string, std::vector<float>>> model{
      {"layer", {{"w.1", {1.0f}}}}};
  try {
    ckpt::save(model, path);
    FAIL("saved a dotted component");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::unsupported);
    CHECK(e.key() == "layer/w.1");
    CHECK(std::string(e.what()).find("'w.1'") != std::string::npos);
  }
  CHECK(dir.file_count() == 0);
  CHECK(ckpt::safetensors::name_of_path("a/b/0") == "a.b.0");
  CHECK(ckpt::safetensors::path_of_name("a.b.0") == "a/b/0");
  CHECK_THROWS_AS(ckpt::safetensors::name_of_path("__metadata__"), ckpt::error);
}

TEST_CASE("metadata round-trips and is omitted when empty", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "meta.safetensors";
  const Tiny tiny{{TinyLayer{{1.0f}, 1}}, 2};
  ckpt::save_options options;
  options.metadata = {{"format", "pt"}, {"quote \"\\", "\xc3\xa9\nline"}, {"empty", ""}};
  ckpt::save(tiny, path, options);
  CHECK(ckpt::reader(path).metadata() == options.metadata);

  ckpt::save(tiny, path);
  CHECK(ckpt::reader(path).metadata().empty());
  CHECK(slurp(path).find("__metadata__") == std::string::npos);

  options.metadata = {{"bad", "\xff"}};
  CHECK_THROWS_MATCHES(ckpt::save(tiny, path, options), ckpt::error,
                       Catch::Matchers::Predicate<ckpt::error>([](const ckpt::error& e) {
                         return e.code() == ckpt::errc::unsupported;
                       }));
}

TEST_CASE("view() gives the tensor in the mapping without a copy", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "view.safetensors";
  const Model original = make_model({.strings = false, .complex = false});
  ckpt::save(original, path);
  ckpt::reader reader(path);
  const auto& entries = reader.entries();
  const auto& impl = dynamic_cast<ckpt::safetensors::reader&>(reader.impl());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto view = reader.impl().view(i);
    REQUIRE(view);
    CHECK(view->dtype == entries[i].dtype);
    CHECK(view->shape == entries[i].shape);
    CHECK(view->bytes.size() == entries[i].bytes);
    if (i > 0)
      CHECK(view->bytes.data() == reader.impl().view(i - 1)->bytes.data() + entries[i - 1].bytes);
  }
  const auto index =
      static_cast<std::size_t>(&reader.find("blocks/2/dense/kernel") - entries.data());
  const auto view = reader.impl().view(index);
  const auto values = view->as<float>();
  CHECK(std::equal(values.begin(), values.end(), original.blocks[2].dense.kernel.begin(),
                   original.blocks[2].dense.kernel.end()));
  CHECK(impl.file_offset(index) % 4 == 0);
}

TEST_CASE("read() checks the destination and normalizes bools", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "read.safetensors";
  spit(path, st_file(R"({"b":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                     std::string("\x00\x01\x02", 3)));
  ckpt::safetensors::reader reader(path);
  std::byte out[3];
  reader.read(0, {ckpt::dtype::bool_, {3}, out, {}});
  CHECK(out[0] == std::byte{0});
  CHECK(out[1] == std::byte{1});
  CHECK(out[2] == std::byte{1});
  CHECK(!reader.view(0));  // a byte 2 is no C++ bool

  std::byte small[2];
  try {
    reader.read(0, {ckpt::dtype::bool_, {2}, small, {}});
    FAIL("read into a short buffer");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::shape_mismatch);
    CHECK(e.key() == "b");
    CHECK(e.file() == path.string());
  }
  CHECK_THROWS_MATCHES(reader.read(0, {ckpt::dtype::uint8, {3}, out, {}}), ckpt::error,
                       Catch::Matchers::Predicate<ckpt::error>([](const ckpt::error& e) {
                         return e.code() == ckpt::errc::dtype_mismatch;
                       }));
  CHECK_THROWS_AS(reader.read(1, {ckpt::dtype::bool_, {3}, out, {}}), ckpt::error);
}

TEST_CASE("another writer's unaligned layout reads by copy, not by view", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "unaligned.safetensors";
  // A 1-byte tensor first, then an F32 at data offset 1: valid, but no float can live there.
  std::string header =
      "{" + entry_json("a", "U8", "[1]", 0, 1) + "," + entry_json("b", "F32", "[1]", 1, 5) + "}";
  const float value = 3.5f;
  std::string data = "x" + std::string(reinterpret_cast<const char*>(&value), 4);
  spit(path, st_file(header, data));
  ckpt::reader reader(path);
  const auto index = static_cast<std::size_t>(&reader.find("b") - reader.entries().data());
  CHECK(!reader.impl().view(index));
  CHECK(reader.read<float>("b").values()[0] == 3.5f);
}

TEST_CASE("partial and lenient loads", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "partial.safetensors";
  const Model original = make_model({.strings = false, .complex = false});
  ckpt::save(original, path);

  struct HeadsOnly {
    std::array<Dense, 2> heads;
  };
  HeadsOnly heads;
  try {
    ckpt::load(heads, path);
    FAIL("strict load ignored extra entries");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::unexpected_key);
    CHECK(e.file() == path.string());
  }
  ckpt::load_options lenient;
  lenient.allow_unexpected = true;
  ckpt::load(heads, path, lenient);
  CHECK(heads.heads == original.heads);

  struct MoreThanStored {
    Dense projection;
    Dense extra;
  };
  MoreThanStored more;
  more.extra = make_dense(1, 1, 9);
  lenient.allow_missing = true;
  ckpt::load(more, path, lenient);
  CHECK(more.projection == *original.projection);
  CHECK(more.extra == make_dense(1, 1, 9));  // untouched

  struct Renamed {
    Dense head_a;
  };
  Renamed renamed;
  lenient.rename_prefix = {{"heads/0", "head_a"}};
  ckpt::load(renamed, path, lenient);
  CHECK(renamed.head_a == original.heads[0]);

  // Loading into tensors that already have the right size reuses their storage.
  Model into = make_model({.strings = false, .complex = false});
  const float* before = into.blocks[0].dense.kernel.data();
  into.blocks[0].dense.kernel[0] = 1234.0f;
  ckpt::load(into, path);
  CHECK(into.blocks[0].dense.kernel.data() == before);
  CHECK(into == original);
}

TEST_CASE("detect() recognizes safetensors files cheaply and never throws", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path good = dir / "no_extension";
  spit(good, st_file(one_f32_header, eight_bytes));
  CHECK(ckpt::safetensors::detect(good));
  CHECK(ckpt::open_reader(good)->format() == "safetensors");

  const fs::path json = dir / "weights.json";
  spit(json, R"({"a": [1, 2, 3], "padding": "..........."})");
  CHECK(!ckpt::safetensors::detect(json));
  spit(json, "");
  CHECK(!ckpt::safetensors::detect(json));
  spit(json, le64(100) + "{}");
  CHECK(!ckpt::safetensors::detect(json));
  CHECK(!ckpt::safetensors::detect(dir / "absent"));
  CHECK(!ckpt::safetensors::detect(dir.path()));

  CHECK(ckpt::format_for_save(dir / "m.safetensors", {}).name == "safetensors");
}

TEST_CASE("zero-size tensors may share an offset, as in the reference", "[safetensors]") {
  scratch_dir dir("ckpt-safetensors");
  const fs::path path = dir / "empty.safetensors";
  const std::string header =
      "{" + entry_json("z0", "F32", "[0]", 0, 0) + "," + entry_json("a", "F32", "[2]", 0, 8) + "," +
      entry_json("z1", "I64", "[4,0]", 8, 8) + "," + entry_json("", "U8", "[0]", 8, 8) + "}";
  spit(path, st_file(header, eight_bytes));
  ckpt::safetensors::reader reader(path);
  REQUIRE(reader.entries().size() == 4);
  CHECK(reader.entries()[0].name == "z0");
  CHECK(reader.entries()[1].name == "a");
  CHECK(reader.entries()[2].bytes == 0);

  const std::string empty_file = st_file("{}");
  spit(path, empty_file);
  CHECK(ckpt::safetensors::reader(path).entries().empty());
  std::map<std::string, float> nothing;
  ckpt::save(nothing, path);
  CHECK(slurp(path) == st_file("{}      "));
}
