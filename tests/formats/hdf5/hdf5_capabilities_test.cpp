// SPDX-License-Identifier: Apache-2.0
// What the HDF5 and Keras formats declare in format_info::capabilities holds: every declared dtype
// round-trips bit for bit (random bytes, NaN payloads, signed zeros, strings with NUL bytes and
// invalid UTF-8), shapes up to the declared rank and empty tensors come back, and a path holding a
// refused character is refused before any file appears.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../../support/hdf5_test_support.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

// The HDF5-backed formats and a file name each one takes.
struct format_case {
  const char* format;
  const char* file;
};
const format_case hdf5_formats[] = {
    {"hdf5", "all.h5"}, {"keras2", "all.h5"}, {"keras3", "all.weights.h5"}, {"keras", "all.keras"}};

// One tensor's values, owned.
struct stored {
  std::string path;
  ckpt::dtype dtype = ckpt::dtype::invalid;
  ckpt::shape shape;
  std::vector<std::byte> bytes;
  std::vector<std::string> strings;

  ckpt::named_tensor view() const { return {path, {dtype, shape, bytes, strings}}; }
};

template <class F>
void put(std::vector<std::byte>& bytes, std::size_t element, F value) {
  std::memcpy(bytes.data() + element * sizeof(F), &value, sizeof(F));
}

// Random bytes, so every bit of every element varies; floats also get the values a conversion
// would disturb (NaN with a payload, signalling NaN, -0.0, infinities, a subnormal).
stored values_of(ckpt::dtype dtype, std::mt19937& rng) {
  stored s;
  s.path = "layer_" + std::string(ckpt::name(dtype)) + "/value";
  s.dtype = dtype;
  if (dtype == ckpt::dtype::string) {
    s.shape = {7};
    s.strings = {"",
                 "a",
                 "caf\xc3\xa9",
                 "\xff\xfe not UTF-8",
                 std::string("nul\0inside", 10),
                 std::string(1000, 'x'),
                 "\xe2\x82\xac"};
    return s;
  }
  s.shape = {3, 5};
  const std::size_t size = ckpt::element_size(dtype);
  s.bytes.resize(15 * size);
  for (auto& b : s.bytes) b = static_cast<std::byte>(rng() & 0xff);
  if (dtype == ckpt::dtype::bool_)
    for (auto& b : s.bytes) b = static_cast<std::byte>(static_cast<unsigned>(b) & 1);
  if (dtype == ckpt::dtype::float32 || dtype == ckpt::dtype::complex64) {
    const std::uint32_t nan_payload = 0x7fc12345, signalling = 0x7f800001;
    put(s.bytes, 0, nan_payload);
    put(s.bytes, 1, signalling);
    put(s.bytes, 2, -0.0f);
    put(s.bytes, 3, std::numeric_limits<float>::infinity());
    put(s.bytes, 4, -std::numeric_limits<float>::infinity());
    put(s.bytes, 5, std::numeric_limits<float>::denorm_min());
  }
  if (dtype == ckpt::dtype::float64 || dtype == ckpt::dtype::complex128) {
    const std::uint64_t nan_payload = 0xfff0000000abcdefull, signalling = 0x7ff0000000000001ull;
    put(s.bytes, 0, nan_payload);
    put(s.bytes, 1, signalling);
    put(s.bytes, 2, -0.0);
    put(s.bytes, 3, std::numeric_limits<double>::denorm_min());
  }
  if (dtype == ckpt::dtype::float16 || dtype == ckpt::dtype::bfloat16) {
    put(s.bytes, 0, std::uint16_t{0x7e01});  // NaN with a payload in both
    put(s.bytes, 1, std::uint16_t{0x8000});  // -0
    put(s.bytes, 2, std::uint16_t{0x0001});  // smallest subnormal
  }
  return s;
}

void check_same(ckpt::reader& reader, const stored& expected) {
  INFO(expected.path);
  REQUIRE(reader.contains(expected.path));
  const auto& e = reader.find(expected.path);
  CHECK(e.dtype == expected.dtype);
  CHECK(e.shape == expected.shape);
  ckpt::entry_buffer buffer;
  const ckpt::tensor_view got = reader.read_stored(expected.path, buffer);
  if (expected.dtype == ckpt::dtype::string) {
    CHECK(std::vector<std::string>(got.strings.begin(), got.strings.end()) == expected.strings);
  } else {
    REQUIRE(got.bytes.size() == expected.bytes.size());
    CHECK(std::equal(got.bytes.begin(), got.bytes.end(), expected.bytes.begin()));
  }
}

}  // namespace

TEST_CASE("every dtype an HDF5 or Keras format declares round-trips bit for bit",
          "[hdf5][keras][capabilities]") {
  scratch_dir dir("ckpt-hdf5-capabilities");
  for (const auto& c : hdf5_formats) {
    SECTION(c.format) {
      const ckpt::format_info format = ckpt::find_format(c.format);
      const auto& declared = format.capabilities.dtypes;
      // Everything with values: resource and variant handles are the only dtypes left out.
      CHECK(declared.size() == 30);
      CHECK(format.capabilities.holds(ckpt::dtype::string));
      CHECK(format.capabilities.holds(ckpt::dtype::complex128));
      CHECK_FALSE(format.capabilities.holds(ckpt::dtype::resource));
      std::mt19937 rng(12345);
      std::vector<stored> tensors;
      for (const auto dtype : declared) tensors.push_back(values_of(dtype, rng));
      std::vector<ckpt::named_tensor> views;
      for (const auto& t : tensors) views.push_back(t.view());
      const fs::path path = dir / c.format / c.file;
      stderr_capture err;
      ckpt::create_writer(format, path, {.format = c.format})->write(views);
      ckpt::reader reader(path, {.format = c.format});
      CHECK(reader.format() == c.format);
      CHECK(reader.entries().size() == tensors.size());
      for (const auto& t : tensors) check_same(reader, t);
      CHECK(err.finish().empty());
    }
  }
}

TEST_CASE("the generic hdf5 format holds every rank up to its max_rank and empty tensors",
          "[hdf5][capabilities]") {
  const ckpt::format_info format = ckpt::find_format("hdf5");
  REQUIRE(format.capabilities.max_rank == 32);
  REQUIRE(format.capabilities.empty_tensors);
  std::vector<stored> tensors;
  for (std::uint32_t rank : {0u, 1u, 2u, 8u, 32u}) {
    stored s;
    s.path = "rank_" + std::to_string(rank) + "/value";
    s.dtype = ckpt::dtype::int16;
    s.shape.assign(rank, 1);
    if (rank > 0) s.shape[0] = 3;
    s.bytes.resize(ckpt::num_elements(s.shape) * 2, std::byte{0x5a});
    tensors.push_back(std::move(s));
  }
  tensors.push_back({"empty/value", ckpt::dtype::float32, {4, 0, 2}, {}, {}});
  tensors.push_back({"empty/strings", ckpt::dtype::string, {0}, {}, {}});
  // Characters the format does not refuse stay in the names, and so do long and deep paths.
  std::string punctuation;
  for (char c = 0x20; c < 0x7f; ++c)
    if (c != '/') punctuation += c;
  std::string deep;
  for (int level = 0; level < 40; ++level) deep += "n" + std::to_string(level) + "/";
  for (const std::string& path : {std::string("caf\xc3\xa9 a.b:0/x y"), "p/" + punctuation,
                                  "a/" + std::string(1000, 'k') + "/b", deep + "leaf"})
    tensors.push_back({path, ckpt::dtype::uint8, {1}, {std::byte{7}}, {}});
  std::vector<ckpt::named_tensor> views;
  for (const auto& t : tensors) views.push_back(t.view());
  scratch_dir dir("ckpt-hdf5-capabilities");
  const fs::path path = dir / "ranks.h5";
  ckpt::create_writer(format, path, {})->write(views);
  ckpt::reader reader(path);
  for (const auto& t : tensors) check_same(reader, t);

  stored too_deep{"deep/value", ckpt::dtype::int8, ckpt::shape(33, 1), {std::byte{1}}, {}};
  CHECK_THROWS_AS(ckpt::create_writer(format, dir / "deep.h5", {})->write({too_deep.view()}),
                  ckpt::error);
  CHECK_FALSE(fs::exists(dir / "deep.h5"));
}

TEST_CASE("a path holding a refused character is refused before a file appears",
          "[hdf5][keras][capabilities]") {
  scratch_dir dir("ckpt-hdf5-capabilities");
  for (const auto& c : hdf5_formats) {
    const ckpt::format_info format = ckpt::find_format(c.format);
    INFO(c.format);
    REQUIRE_FALSE(format.capabilities.refused_key_characters.empty());
    for (const char refused : format.capabilities.refused_key_characters) {
      const stored t{
          std::string("layer/bad") + refused + "name", ckpt::dtype::uint8, {1}, {std::byte{1}}, {}};
      const fs::path path = dir / c.format / c.file;
      try {
        ckpt::create_writer(format, path, {.format = c.format})->write({t.view()});
        FAIL("wrote a path with a refused character");
      } catch (const ckpt::error& e) {
        CHECK(e.code() == ckpt::errc::unsupported);
      }
      CHECK_FALSE(fs::exists(path));
    }
  }
}

TEST_CASE("the Keras layouts declare that they impose their own structure on paths",
          "[keras][capabilities]") {
  CHECK(ckpt::find_format("hdf5").capabilities.any_paths);
  for (const char* name : {"keras2", "keras3", "keras"}) {
    INFO(name);
    const auto caps = ckpt::find_format(name).capabilities;
    CHECK_FALSE(caps.any_paths);
    CHECK_FALSE(caps.keeps_order);
    CHECK_FALSE(caps.checksums);
  }
}
