// SPDX-License-Identifier: Apache-2.0
// One round-trip body run over every registered format, driven by what each format declares it
// can hold (format_info::capabilities): the shared model, every dtype bit for bit, strings, empty
// tensors, ranks 0 to 8, long, unicode and punctuated keys, checksums, missing parent
// directories. A format registered anywhere, the example's user format included, is tested here
// without a line naming it; per-format test files keep only byte layout, interop and hostile
// input.

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <set>

#include "../../examples/text_format.hpp"
#include "../support/model.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"
#ifdef CKPT_TEST_WITH_HDF5
#include "ckpt/hdf5.hpp"
#endif

namespace fs = std::filesystem;

namespace {

const bool text_registered = text_format::register_format();

std::vector<ckpt::format_info> writable_formats() {
  std::vector<ckpt::format_info> out;
  for (auto& f : ckpt::registered_formats())
    if (f.create && f.open && f.capabilities.any_paths) out.push_back(f);
  return out;
}

// Writes `tensors` through the format's writer and opens what it wrote.
std::unique_ptr<ckpt::format_reader> round_trip(const ckpt::format_info& format,
                                                const fs::path& path,
                                                const std::vector<ckpt::named_tensor>& tensors) {
  ckpt::create_writer(format, path, {.sync = false})->write(tensors);
  return format.open(path, {});
}

// The stored bytes of the entry whose canonical path is `path`.
std::vector<std::byte> bytes_of(ckpt::format_reader& r, const std::string& path) {
  for (std::size_t i = 0; i < r.entries().size(); ++i) {
    const auto& e = r.entries()[i];
    if (e.path != path) continue;
    std::vector<std::byte> out(e.bytes);
    r.read(i, {e.dtype, e.shape, out, {}});
    return out;
  }
  FAIL("no entry with path " << path);
  return {};
}

std::vector<std::string> paths_of(const ckpt::format_reader& r) {
  std::vector<std::string> out;
  for (const auto& e : r.entries())
    if (!e.bookkeeping) out.push_back(e.path);
  return out;
}

// Element bytes that are valid for `t` and cover its interesting patterns: every value of a
// one-byte type (of the sub-byte integers, every value in their range), every bit set, the sign
// bit alone (-0.0), NaN payloads, and random bits.
std::vector<std::byte> pattern_for(ckpt::dtype t, std::size_t elements, std::mt19937& random) {
  const std::size_t size = ckpt::element_size(t);
  std::vector<std::byte> out(size * elements);
  for (auto& b : out) b = std::byte(random() & 0xff);
  const auto in_range = [&](int low, int count) {
    for (std::size_t i = 0; i < elements; ++i)
      out[i] = std::byte(static_cast<unsigned char>(low + static_cast<int>(i) % count));
  };
  switch (t) {
    case ckpt::dtype::bool_:
      return in_range(0, 2), out;
    case ckpt::dtype::int4:
      return in_range(-8, 16), out;
    case ckpt::dtype::uint4:
      return in_range(0, 16), out;
    case ckpt::dtype::int2:
      return in_range(-2, 4), out;
    case ckpt::dtype::uint2:
      return in_range(0, 4), out;
    default:
      break;
  }
  if (size == 1) return in_range(0, 256), out;
  if (elements >= 2) {
    std::memset(out.data(), 0xff, size);      // all ones (a NaN for floats)
    std::memset(out.data() + size, 0, size);  // then the sign bit alone
    out[2 * size - 1] = std::byte{0x80};      // little-endian: the top byte
  }
  return out;
}

}  // namespace

TEST_CASE("every format registered with this program is covered", "[roundtrip]") {
  std::set<std::string> names;
  for (const auto& f : writable_formats()) names.insert(f.name);
  for (const char* expected : {"tf", "tf1", "safetensors", "json", "text"})
    CHECK(names.count(expected) == 1);
#ifdef CKPT_TEST_WITH_HDF5
  CHECK(names.count("hdf5") == 1);
#endif
  for (const auto& f : writable_formats()) {
    INFO(f.name);
    CHECK_FALSE(f.capabilities.dtypes.empty());  // a format must say what it holds
  }
}

TEST_CASE("the shared model round-trips through every format that holds its dtypes",
          "[roundtrip]") {
  using ckpt::dtype;
  const std::vector<dtype> model_dtypes = {
      dtype::float32, dtype::float64, dtype::int8,    dtype::int16,  dtype::int32,
      dtype::int64,   dtype::uint8,   dtype::uint16,  dtype::uint32, dtype::uint64,
      dtype::bool_,   dtype::float16, dtype::bfloat16};
  for (const auto& format : writable_formats()) {
    const auto& can = format.capabilities;
    if (!std::all_of(model_dtypes.begin(), model_dtypes.end(),
                     [&](dtype t) { return can.holds(t); }) ||
        !can.empty_tensors)
      continue;
    DYNAMIC_SECTION(format.name) {
      ckpt_test::scratch_dir dir("ckpt-roundtrip");
      const auto model = ckpt_test::make_model(
          {.strings = can.holds(dtype::string),
           .complex = can.holds(dtype::complex64) && can.holds(dtype::complex128)});
      const auto path = dir / format.file_name("model");
      ckpt::save(model, path, {.format = format.name, .sync = false});
      ckpt_test::Model loaded;
      ckpt::load(loaded, path, {.format = format.name});
      CHECK(loaded == model);
      // -0.0 and the subnormals keep their bits, which operator== alone would not show.
      CHECK(ckpt_test::same_bits(loaded.blocks[0].norm.beta, model.blocks[0].norm.beta));
      CHECK(loaded.scalars.f16.bits == model.scalars.f16.bits);
      CHECK(loaded.scalars.bf16.bits == model.scalars.bf16.bits);
    }
  }
}

TEST_CASE("every dtype a format declares comes back bit for bit", "[roundtrip]") {
  for (const auto& format : writable_formats()) {
    DYNAMIC_SECTION(format.name) {
      ckpt_test::scratch_dir dir("ckpt-roundtrip");
      std::mt19937 random(7);
      std::vector<std::vector<std::byte>> data;
      std::vector<ckpt::named_tensor> tensors;
      for (const auto t : format.capabilities.dtypes) {
        if (t == ckpt::dtype::string) continue;
        data.push_back(pattern_for(t, 256, random));
        tensors.push_back({"dtypes/" + std::string(ckpt::name(t)), {t, {16, 16}, data.back(), {}}});
      }
      REQUIRE_FALSE(tensors.empty());
      auto reader = round_trip(format, dir / format.file_name("dtypes"), tensors);
      for (const auto& t : tensors) {
        INFO(t.path);
        const auto stored = bytes_of(*reader, t.path);
        CHECK(stored.size() == t.tensor.bytes.size());
        CHECK(std::memcmp(stored.data(), t.tensor.bytes.data(), stored.size()) == 0);
      }
      for (const auto& e : reader->entries()) {
        if (e.bookkeeping) continue;
        INFO(e.path);
        CHECK(e.shape == ckpt::shape{16, 16});
        CHECK(e.dtype == *ckpt::dtype_from_name(e.path.substr(7)));
      }
    }
  }
}

TEST_CASE("strings of any bytes round-trip where a format holds strings", "[roundtrip]") {
  const std::vector<std::string> strings = {"",
                                            "a",
                                            std::string("nul\0byte", 8),
                                            "\xff\xfe not UTF-8",
                                            "\xe2\x82\xac \xf0\x9f\x98\x80",
                                            std::string(100'000, 'x'),
                                            "quote \" backslash \\ newline \n"};
  for (const auto& format : writable_formats()) {
    if (!format.capabilities.holds(ckpt::dtype::string)) continue;
    DYNAMIC_SECTION(format.name) {
      ckpt_test::scratch_dir dir("ckpt-roundtrip");
      const std::string scalar = "scalar";
      auto reader = round_trip(format, dir / format.file_name("strings"),
                               {{"vector", {ckpt::dtype::string, {strings.size()}, {}, strings}},
                                {"scalar", {ckpt::dtype::string, {}, {}, {&scalar, 1}}}});
      for (std::size_t i = 0; i < reader->entries().size(); ++i) {
        const auto& e = reader->entries()[i];
        if (e.bookkeeping) continue;
        std::vector<std::string> back(ckpt::num_elements(e.shape));
        reader->read(i, {e.dtype, e.shape, {}, back});
        if (e.path == "vector") {
          CHECK(back == strings);
        } else {
          CHECK(e.path == "scalar");
          CHECK(e.shape.empty());
          CHECK(back == std::vector<std::string>{scalar});
        }
      }
    }
  }
}

TEST_CASE("empty tensors and every rank up to 8 keep their shapes", "[roundtrip]") {
  for (const auto& format : writable_formats()) {
    DYNAMIC_SECTION(format.name) {
      const auto& can = format.capabilities;
      const auto t = can.holds(ckpt::dtype::float32) ? ckpt::dtype::float32 : can.dtypes.front();
      std::vector<ckpt::shape> shapes;
      for (std::size_t rank = 0; rank <= std::min<std::size_t>(8, can.max_rank); ++rank) {
        ckpt::shape s;
        for (std::size_t d = 0; d < rank; ++d) s.push_back(d % 2 + 1);
        shapes.push_back(s);
      }
      if (can.empty_tensors) shapes.insert(shapes.end(), {{0}, {2, 0, 3}, {0, 0}});
      std::mt19937 random(3);
      std::vector<std::vector<std::byte>> data;
      std::vector<ckpt::named_tensor> tensors;
      for (std::size_t i = 0; i < shapes.size(); ++i) {
        data.push_back(pattern_for(t, ckpt::num_elements(shapes[i]), random));
        tensors.push_back({"shape_" + std::to_string(i), {t, shapes[i], data.back(), {}}});
      }
      ckpt_test::scratch_dir dir("ckpt-roundtrip");
      auto reader = round_trip(format, dir / format.file_name("shapes"), tensors);
      for (std::size_t i = 0; i < shapes.size(); ++i) {
        INFO(tensors[i].path << " " << ckpt::to_string(shapes[i]));
        const auto& entries = reader->entries();
        const auto e = std::find_if(entries.begin(), entries.end(),
                                    [&](const ckpt::entry& x) { return x.path == tensors[i].path; });
        REQUIRE(e != entries.end());
        CHECK(e->shape == shapes[i]);
        CHECK(bytes_of(*reader, tensors[i].path) == data[i]);
      }
    }
  }
}

TEST_CASE("long, unicode and punctuated keys come back as written", "[roundtrip]") {
  std::string punctuation;
  for (char c = 0x20; c < 0x7f; ++c)
    if (c != '/') punctuation += c;
  for (const auto& format : writable_formats()) {
    DYNAMIC_SECTION(format.name) {
      const auto& can = format.capabilities;
      std::string own = punctuation;
      std::erase_if(
          own, [&](char c) { return can.refused_key_characters.find(c) != std::string::npos; });
      const std::vector<std::string> paths = {
          "a/" + std::string(1000, 'k') + "/b",
          "\xe5\x90\x8d\xe5\x89\x8d/\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87/\xf0\x9f\x98\x80",
          "p/" + own,
          "deep/" +
              [] {
                std::string s;
                for (int i = 0; i < 40; ++i) s.append("n").append(std::to_string(i)).append("/");
                return s + "leaf";
              }(),
          "z_last",
          "a_first"};
      const float value = 1.5f;
      std::vector<ckpt::named_tensor> tensors;
      for (const auto& p : paths)
        tensors.push_back({p, {ckpt::dtype::float32, {}, std::as_bytes(std::span(&value, 1)), {}}});
      if (!can.holds(ckpt::dtype::float32)) continue;
      ckpt_test::scratch_dir dir("ckpt-roundtrip");
      auto reader = round_trip(format, dir / format.file_name("keys"), tensors);
      auto back = paths_of(*reader);
      if (can.keeps_order) {
        CHECK(back == paths);
      } else {
        auto sorted = paths;
        std::sort(sorted.begin(), sorted.end());
        std::sort(back.begin(), back.end());
        CHECK(back == sorted);
      }
    }
  }
}

TEST_CASE("formats with checksums verify every entry they wrote", "[roundtrip]") {
  for (const auto& format : writable_formats()) {
    if (!format.capabilities.checksums) continue;
    DYNAMIC_SECTION(format.name) {
      ckpt_test::scratch_dir dir("ckpt-roundtrip");
      const std::vector<float> values = {1, 2, 3};
      auto reader =
          round_trip(format, dir / format.file_name("sums"),
                     {{"w", {ckpt::dtype::float32, {3}, std::as_bytes(std::span(values)), {}}}});
      for (std::size_t i = 0; i < reader->entries().size(); ++i)
        CHECK(reader->verify(i) == ckpt::checksum_status::ok);
    }
  }
}

TEST_CASE("saving creates the directories above the file", "[roundtrip]") {
  for (const auto& format : writable_formats()) {
    DYNAMIC_SECTION(format.name) {
      ckpt_test::scratch_dir dir("ckpt-roundtrip");
      const auto path = dir / "a" / "b" / "c" / format.file_name("model");
      struct {
        std::vector<std::int64_t> ids = {1, 2, 3};
      } model;
      const auto t = format.capabilities.holds(ckpt::dtype::int64);
      if (!t) continue;
      ckpt::save(model, path, {.format = format.name, .sync = false});
      decltype(model) loaded;
      loaded.ids.clear();
      ckpt::load(loaded, path, {.format = format.name});
      CHECK(loaded.ids == model.ids);
    }
  }
}

TEST_CASE("a dtype a format does not declare is refused with the key, leaving no file",
          "[roundtrip]") {
  for (const auto& format : writable_formats()) {
    const auto& can = format.capabilities;
    std::vector<ckpt::dtype> missing;
    for (auto t :
         {ckpt::dtype::float16, ckpt::dtype::complex128, ckpt::dtype::string, ckpt::dtype::uint64})
      if (!can.holds(t)) missing.push_back(t);
    if (missing.empty()) continue;
    DYNAMIC_SECTION(format.name) {
      ckpt_test::scratch_dir dir("ckpt-roundtrip");
      for (const auto t : missing) {
        INFO(ckpt::name(t));
        std::vector<std::byte> bytes(ckpt::element_size(t) * 2);
        const std::vector<std::string> strings(2);
        ckpt::tensor_view view{t, {2}, bytes, {}};
        if (t == ckpt::dtype::string) view = {t, {2}, {}, strings};
        try {
          ckpt::create_writer(format, dir / format.file_name("refused"), {.sync = false})
              ->write({{"the_key", view}});
          FAIL("written");
        } catch (const ckpt::error& e) {
          CHECK(e.key() == "the_key");
        }
        CHECK(dir.file_count() == 0);
      }
    }
  }
}
