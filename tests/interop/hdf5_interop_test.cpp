// SPDX-License-Identifier: Apache-2.0
// Files ckpt writes in the generic layout, read back by two other readers and compared value by
// value with what was saved: h5py (Debian's python3-h5py over libhdf5) and h5verify (jsfive, a
// pure-JavaScript HDF5 reader sharing no code with libhdf5).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "../support/checkers.hpp"
#include "../support/cli.hpp"
#include "../support/model.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/formats/safetensors.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Entry `e`'s elements as JSON values: floats as doubles, integers exact, bool, complex as
// [re, im], dtypes HDF5 lacks as their raw integer bits (what other readers see), strings.
std::vector<json> element_values(ckpt::reader& reader, const ckpt::entry& e) {
  const std::size_t index = static_cast<std::size_t>(&e - reader.entries().data());
  const std::size_t n = ckpt::num_elements(e.shape);
  std::vector<json> values;
  if (e.dtype == ckpt::dtype::string) {
    std::vector<std::string> strings(n);
    reader.impl().read(index, {e.dtype, e.shape, {}, strings});
    for (auto& s : strings) values.push_back(s);
    return values;
  }
  std::vector<std::byte> bytes(e.bytes);
  reader.impl().read(index, {e.dtype, e.shape, bytes, {}});
  const auto* p = bytes.data();
  auto load = [&](auto sample, std::size_t i) {
    decltype(sample) v;
    std::memcpy(&v, p + i * sizeof v, sizeof v);
    return v;
  };
  for (std::size_t i = 0; i < n; ++i) {
    switch (e.dtype) {
      case ckpt::dtype::float32:
        values.push_back(static_cast<double>(load(float{}, i)));
        break;
      case ckpt::dtype::float64:
        values.push_back(load(double{}, i));
        break;
      case ckpt::dtype::float16:
        values.push_back(static_cast<double>(ckpt::float16::to_float(load(std::uint16_t{}, i))));
        break;
      case ckpt::dtype::complex64:
        values.push_back(json::array({static_cast<double>(load(float{}, 2 * i)),
                                      static_cast<double>(load(float{}, 2 * i + 1))}));
        break;
      case ckpt::dtype::complex128:
        values.push_back(json::array({load(double{}, 2 * i), load(double{}, 2 * i + 1)}));
        break;
      case ckpt::dtype::bool_:
        values.push_back(load(std::uint8_t{}, i) != 0);
        break;
      case ckpt::dtype::int8:
        values.push_back(load(std::int8_t{}, i));
        break;
      case ckpt::dtype::int16:
        values.push_back(load(std::int16_t{}, i));
        break;
      case ckpt::dtype::int32:
        values.push_back(load(std::int32_t{}, i));
        break;
      case ckpt::dtype::int64:
        values.push_back(load(std::int64_t{}, i));
        break;
      case ckpt::dtype::uint8:
        values.push_back(load(std::uint8_t{}, i));
        break;
      case ckpt::dtype::uint16:
      case ckpt::dtype::bfloat16:  // stored as its uint16 bits
        values.push_back(load(std::uint16_t{}, i));
        break;
      case ckpt::dtype::uint32:
        values.push_back(load(std::uint32_t{}, i));
        break;
      case ckpt::dtype::uint64:
        values.push_back(load(std::uint64_t{}, i));
        break;
      default:
        FAIL("dtype not covered: " << ckpt::name(e.dtype));
    }
  }
  return values;
}

bool same_double(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

double parse_number(const json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.get<std::string>();
  return std::strtod(s.c_str(), nullptr);  // python's float.hex, or "nan", "inf", "-inf"
}

// One h5py value against ours.
void check_h5py_value(const json& ours, const json& theirs, const std::string& what) {
  INFO(what << ": ours " << ours.dump() << ", h5py " << theirs.dump());
  if (ours.is_number_float()) {
    CHECK(same_double(ours.get<double>(), parse_number(theirs)));
  } else if (ours.is_array()) {
    REQUIRE(theirs.is_array());
    CHECK(same_double(ours[0].get<double>(), parse_number(theirs[0])));
    CHECK(same_double(ours[1].get<double>(), parse_number(theirs[1])));
  } else if (ours.is_string() && theirs.is_array()) {  // strings with NUL: uint8 sequences
    std::string bytes;
    for (const auto& b : theirs) bytes += static_cast<char>(b.get<int>());
    CHECK(bytes == ours.get<std::string>());
  } else {
    CHECK(ours == theirs);
  }
}

// One jsfive value against ours. jsfive reads 64-bit integers through doubles, so those beyond
// 2^53 are compared as doubles; it returns bools (h5py's int8 enum) as 0 and 1.
void check_jsfive_value(const json& ours, const json& theirs, const std::string& what) {
  INFO(what << ": ours " << ours.dump() << ", jsfive " << theirs.dump());
  if (ours.is_number_float()) {
    // JSON.stringify prints -0 as 0, so the sign of zero cannot be compared through h5verify.
    const double a = ours.get<double>(), b = parse_number(theirs);
    CHECK((a == b || (std::isnan(a) && std::isnan(b))));
  } else if (ours.is_boolean()) {
    CHECK(theirs.get<int>() == (ours.get<bool>() ? 1 : 0));
  } else if (ours.is_number_integer() || ours.is_number_unsigned()) {
    const double expected = ours.is_number_unsigned()
                                ? static_cast<double>(ours.get<std::uint64_t>())
                                : static_cast<double>(ours.get<std::int64_t>());
    CHECK(parse_number(theirs) == expected);
  } else {
    CHECK(ours == theirs);
  }
}

std::vector<std::pair<std::string, ckpt::storage_options>> interop_storages() {
  return {{"contiguous", {}},
          {"chunked + shuffle + deflate + fletcher32",
           {.shuffle = true, .deflate_level = 4, .checksum = true}}};
}

}  // namespace

TEST_CASE("h5py reads every value of files ckpt writes", "[hdf5][interop]") {
  scratch_dir dir("ckpt-hdf5-interop");
  if (!ckpt_test::require(h5py(), "reading ckpt's HDF5 files with h5py")) return;
  const std::string python = h5py().command;
  const std::string script = std::string(CKPT_SOURCE_DIR) + "/tests/interop/hdf5_h5py_dump.py";
  for (const auto& [name, storage] : interop_storages()) {
    SECTION(name) {
      const fs::path path = dir / "model.h5";
      ckpt::save_options options;
      options.storage = storage;
      ckpt::save(make_model(), path, options);
      const auto r = run_command(python + " " + script + " " + path.string());
      REQUIRE(r.status == 0);
      const json dump = json::parse(r.out);
      CHECK(dump.at("@root").at("ckpt_layout") == "generic");
      CHECK(dump.at("@root").at("ckpt_layout_version") == 1);

      ckpt::reader reader(path);
      CHECK(dump.size() == reader.entries().size() + 1);
      const std::map<ckpt::dtype, std::string> numpy_dtype = {
          {ckpt::dtype::float16, "<f2"},   {ckpt::dtype::float32, "<f4"},
          {ckpt::dtype::float64, "<f8"},   {ckpt::dtype::bool_, "|b1"},
          {ckpt::dtype::complex64, "<c8"}, {ckpt::dtype::complex128, "<c16"},
          {ckpt::dtype::bfloat16, "<u2"},  {ckpt::dtype::int64, "<i8"},
          {ckpt::dtype::uint64, "<u8"},    {ckpt::dtype::int8, "|i1"},
          {ckpt::dtype::string, "object"}};
      for (const auto& e : reader.entries()) {
        const json& theirs = dump.at("/" + e.path);
        CHECK(theirs.at("shape") == json(e.shape));
        if (auto it = numpy_dtype.find(e.dtype); it != numpy_dtype.end())
          CHECK(theirs.at("dtype") == it->second);
        if (e.dtype == ckpt::dtype::bfloat16)
          CHECK(theirs.at("attrs").at("ckpt_dtype") == "bfloat16");
        const auto ours = element_values(reader, e);
        REQUIRE(theirs.at("values").size() == ours.size());
        for (std::size_t i = 0; i < ours.size(); ++i)
          check_h5py_value(ours[i], theirs.at("values")[i], e.path + "[" + std::to_string(i) + "]");
      }
    }
  }
}

TEST_CASE("h5verify (jsfive, not libhdf5) reads every value of files ckpt writes",
          "[hdf5][interop]") {
  scratch_dir dir("ckpt-hdf5-interop");
  if (!ckpt_test::require(h5verify(), "reading ckpt's HDF5 files with jsfive")) return;
  for (const auto& [name, storage] : interop_storages()) {
    SECTION(name) {
      const fs::path path = dir / "model.h5";
      ckpt::save_options options;
      options.storage = storage;
      // jsfive has no compound types (complex) and no variable-length sequences (strings with
      // a NUL byte); formats/hdf5/README.md lists this.
      Model model = make_model({.strings = false, .complex = false});
      ckpt::save(model, path, options);
      const auto r =
          run_command(h5verify().command + " " + path.string() + " --all-values --compact");
      INFO(r.err);
      REQUIRE(r.status == 0);
      const json doc = json::parse(r.out);
      CHECK(doc.at("ok") == true);
      std::map<std::string, json> datasets;
      for (const auto& o : doc.at("objects"))
        if (o.at("kind") == "dataset") datasets[o.at("path")] = o;
      ckpt::reader reader(path);
      CHECK(datasets.size() == reader.entries().size());
      for (const auto& e : reader.entries()) {
        const json& theirs = datasets.at("/" + e.path);
        CHECK(theirs.at("shape") == json(e.shape));
        if (storage.checksum && !e.shape.empty() && ckpt::num_elements(e.shape) > 0) {
          std::vector<int> ids;
          for (const auto& f : theirs.at("filters")) ids.push_back(f.at("id").get<int>());
          CHECK(ids == std::vector<int>{2, 1, 3});  // shuffle, deflate, fletcher32
        }
        const auto ours = element_values(reader, e);
        if (ours.empty()) continue;
        REQUIRE(theirs.at("values").size() == ours.size());
        for (std::size_t i = 0; i < ours.size(); ++i)
          check_jsfive_value(ours[i], theirs.at("values")[i],
                             e.path + "[" + std::to_string(i) + "]");
      }
    }
  }
}
