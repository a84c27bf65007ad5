// SPDX-License-Identifier: Apache-2.0
// Damaged and hostile TensorBundles: every truncation length and every single-byte change of the
// `.index` and data files of three real fixtures, and hand-built tables breaking one rule each,
// must raise ckpt::error with the expected code, never crash or read out of bounds; a corrupted
// tensor in a checkpoint ckpt wrote is reported by load, verify and conversion.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "../support/files.hpp"
#include "../support/fixtures.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/protos.hpp"
#include "ckpt/formats/tf_checkpoint/table.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
using ckpt::errc;
using ckpt_test::scratch_dir;
using ckpt_test::slurp;
using ckpt_test::spit;

namespace {

// Opens the bundle and reads every tensor with checksums on; the error code if anything failed.
std::optional<errc> load_everything(const fs::path& prefix) {
  try {
    const tfc::bundle_reader r(prefix);
    for (const auto& e : r.entries()) {
      if (e.dtype == ckpt::dtype::string) {
        std::vector<std::string> s(e.num_elements());
        r.read(e, {e.dtype, e.shape, {}, s});
      } else {
        std::vector<std::byte> b(e.size);
        r.read(e, {e.dtype, e.shape, b, {}});
      }
    }
  } catch (const ckpt::error& err) {
    return err.code();
  }
  return std::nullopt;
}

struct fixture_copy {
  fs::path prefix;
  std::vector<fs::path> files;  // .index first, then the data files
};

// Copies a fixture bundle into `dir` (the original files are never touched).
std::optional<fixture_copy> copy_fixture(const ckpt_test::scratch_dir& dir,
                                         const std::string& rel) {
  const fs::path src = ckpt_test::fixtures_dir() / rel;
  if (!ckpt_test::fixture_present(tfc::index_path(src))) return std::nullopt;
  const tfc::bundle_reader original(src);
  const fs::path sub = dir / std::to_string(std::hash<std::string>{}(rel));
  fs::create_directories(sub);
  fixture_copy c{sub / src.filename(), {}};
  c.files.push_back(tfc::index_path(c.prefix));
  fs::copy_file(tfc::index_path(src), c.files.back());
  for (std::uint32_t s = 0; s < original.num_shards(); ++s) {
    c.files.push_back(tfc::data_path(c.prefix, s, original.num_shards()));
    fs::copy_file(tfc::data_path(src, s, original.num_shards()), c.files.back());
  }
  return c;
}

bool format_or_checksum(std::optional<errc> c) {
  return c == errc::bad_format || c == errc::checksum_mismatch;
}

// A bundle from hand-made table entries and one data file.
fs::path make_bundle(const ckpt_test::scratch_dir& dir, const std::string& name,
                     const std::vector<std::pair<std::string, std::string>>& entries,
                     const std::string& data) {
  tfc::table_builder t;
  for (const auto& [k, v] : entries) t.add(k, v);
  const fs::path prefix = dir / name;
  spit(tfc::index_path(prefix), std::move(t).finish());
  spit(tfc::data_path(prefix, 0, 1), data);
  return prefix;
}

std::string header(std::int32_t shards = 1, std::int32_t endian = 0,
                   std::int32_t min_consumer = 0) {
  tfc::bundle_header_proto h;
  h.num_shards = shards;
  h.endianness = endian;
  h.version.producer = 1;
  h.version.min_consumer = min_consumer;
  return tfc::encode(h);
}

std::string entry(std::int32_t dtype, std::vector<std::int64_t> dims, std::int64_t offset,
                  std::int64_t size, std::uint32_t crc = 0, std::int32_t shard = 0) {
  tfc::bundle_entry_proto e;
  e.dtype = dtype;
  for (auto d : dims) e.shape.dims.push_back({d, {}});
  e.offset = offset;
  e.size = size;
  e.crc32c = crc;
  e.shard_id = shard;
  return tfc::encode(e);
}

std::uint32_t masked(const std::string& bytes) {
  return ckpt::crc32c_mask(ckpt::crc32c(bytes.data(), bytes.size()));
}

}  // namespace

TEST_CASE("every truncation and single-byte change of three fixtures is an error",
          "[tf_checkpoint][corruption]") {
  ckpt_test::scratch_dir dir("ckpt-tf-corrupt");
  const char* fixtures[] = {"tf/tf_old_string_tensors/foo",
                            "tf/tf_trt_2.0_saved_model_sharded/variables/variables",
                            "savedmodel/half_plus_two_tf2_cpu/variables/variables"};
  int done = 0;
  for (const char* rel : fixtures) {
    INFO(rel);
    const auto c = copy_fixture(dir, rel);
    if (!c) continue;                           // fixture_present() said which is missing
    REQUIRE_FALSE(load_everything(c->prefix));  // the intact copy loads
    for (const auto& file : c->files) {
      INFO(file.filename().string());
      const std::string good = slurp(file);
      std::size_t failures = 0, cases = 0;
      for (std::size_t len = 0; len < good.size(); ++len) {
        spit(file, good.substr(0, len));
        const auto code = load_everything(c->prefix);
        ++cases;
        if (!format_or_checksum(code)) {
          ++failures;
          UNSCOPED_INFO("truncated to " << len);
        }
      }
      for (std::size_t pos = 0; pos < good.size(); ++pos) {
        for (unsigned char x : {0x01, 0x80, 0xff}) {
          std::string bad = good;
          bad[pos] = static_cast<char>(bad[pos] ^ x);
          spit(file, bad);
          const auto code = load_everything(c->prefix);
          ++cases;
          if (!format_or_checksum(code)) {
            ++failures;
            UNSCOPED_INFO("byte " << pos << " xor " << int(x));
          }
        }
      }
      spit(file, good);
      CHECK(failures == 0);
      CHECK(cases == 4 * good.size());
    }
    ++done;
  }
  if (done == 0) WARN("SKIPPED: no fixtures under " << ckpt_test::fixtures_dir().string());
}

TEST_CASE("hand-built bundles breaking one rule each are refused with the right code",
          "[tf_checkpoint][corruption]") {
  ckpt_test::scratch_dir dir("ckpt-tf-hostile");
  const std::string four = std::string("\0\0\x80\x3f", 4);  // 1.0f
  const auto code_of = [&](const std::string& name,
                           const std::vector<std::pair<std::string, std::string>>& entries,
                           const std::string& data = std::string("\0\0\x80\x3f", 4)) {
    return load_everything(make_bundle(dir, name, entries, data));
  };
  const std::uint32_t crc = masked(four);
  // The well-formed baseline.
  CHECK_FALSE(code_of("ok", {{"", header()}, {"a", entry(1, {1}, 0, 4, crc)}}));

  CHECK(code_of("no_header", {{"a", entry(1, {1}, 0, 4, crc)}}) == errc::bad_format);
  CHECK(code_of("zero_shards", {{"", header(0)}}) == errc::bad_format);
  CHECK(code_of("big_endian", {{"", header(1, 1)}}) == errc::unsupported);
  CHECK(code_of("odd_endian", {{"", header(1, 7)}}) == errc::bad_format);
  CHECK(code_of("newer", {{"", header(1, 0, 2)}}) == errc::unsupported);
  CHECK(code_of("dtype", {{"", header()}, {"a", entry(99, {1}, 0, 4, crc)}}) == errc::bad_format);
  CHECK(code_of("negative_dim", {{"", header()}, {"a", entry(1, {-1}, 0, 4, crc)}}) ==
        errc::bad_format);
  CHECK(code_of("overflow",
                {{"", header()}, {"a", entry(1, {1ll << 40, 1ll << 40, 0}, 0, 0, crc)}}) ==
        errc::bad_format);
  CHECK(code_of("size", {{"", header()}, {"a", entry(1, {2}, 0, 4, crc)}}) == errc::bad_format);
  CHECK(code_of("past_end", {{"", header()}, {"a", entry(1, {1}, 2, 4, crc)}}) == errc::bad_format);
  CHECK(code_of("huge_offset", {{"", header()}, {"a", entry(1, {1}, 1ll << 62, 4, crc)}}) ==
        errc::bad_format);
  CHECK(code_of("negative", {{"", header()}, {"a", entry(1, {1}, -4, 4, crc)}}) ==
        errc::bad_format);
  CHECK(code_of("shard", {{"", header()}, {"a", entry(1, {1}, 0, 4, crc, 1)}}) == errc::bad_format);
  CHECK(code_of("crc", {{"", header()}, {"a", entry(1, {1}, 0, 4, crc ^ 1)}}) ==
        errc::checksum_mismatch);
  // A billion strings claimed in four bytes: refused before anything is sized from the count.
  CHECK(code_of("strings", {{"", header()}, {"s", entry(7, {1000000000}, 0, 4, crc)}}) ==
        errc::bad_format);
  // A sliced entry listing a slice that has no entry.
  {
    tfc::bundle_entry_proto e;
    e.dtype = 1;
    e.shape.dims = {{4, {}}};
    e.slices.push_back({{{0, 2}}});
    CHECK(code_of("slice_missing", {{"", header()}, {"p", tfc::encode(e)}}) == errc::bad_format);
    e.size = 4;
    CHECK(code_of("slice_with_data", {{"", header()}, {"p", tfc::encode(e)}}) == errc::bad_format);
  }
  // Limits.
  {
    const auto prefix =
        make_bundle(dir, "limits", {{"", header()}, {"a", entry(1, {1}, 0, 4, crc)}}, four);
    ckpt::load_limits few;
    few.max_entries = 1;
    try {
      tfc::bundle_reader r(prefix, few);
      FAIL("max_entries not enforced");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == errc::limit);
    }
    ckpt::load_limits tiny;
    tiny.max_header_bytes = 10;
    try {
      tfc::bundle_reader r(prefix, tiny);
      FAIL("max_header_bytes not enforced");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == errc::limit);
    }
  }
  // A missing data file names the file.
  {
    const auto prefix =
        make_bundle(dir, "nodata", {{"", header()}, {"a", entry(1, {1}, 0, 4, crc)}}, four);
    fs::remove(tfc::data_path(prefix, 0, 1));
    try {
      tfc::bundle_reader r(prefix);
      FAIL("a missing data file must be an error");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == errc::not_found);
      CHECK(e.file() == tfc::data_path(prefix, 0, 1).string());
    }
  }
}

TEST_CASE("table format errors name the file and offset", "[tf_checkpoint][corruption]") {
  tfc::table_builder t;
  t.add("", header());
  std::string file = std::move(t).finish();
  const auto as_bytes = [](const std::string& s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
  };
  CHECK(tfc::read_table(as_bytes(file), "t.index").size() == 1);
  file[0] ^= 1;  // inside the data block: its CRC no longer matches
  try {
    tfc::read_table(as_bytes(file), "t.index");
    FAIL("corruption not detected");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == errc::checksum_mismatch);
    CHECK(e.file() == "t.index");
    CHECK(e.offset() == 0u);
  }
}

TEST_CASE("a corrupted tensor is reported by load, verify and conversion", "[tf]") {
  struct W {
    std::vector<float> w = std::vector<float>(64, 1.0f);
  };
  scratch_dir dir("ckpt-tf");
  ckpt::save(W{}, dir / "w.ckpt");
  const fs::path data = dir / "w.ckpt.data-00000-of-00001";
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  W loaded;
  try {
    ckpt::load(loaded, dir / "w.ckpt");
    FAIL("a corrupted tensor loaded");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::checksum_mismatch);
    CHECK(e.key() == "w/.ATTRIBUTES/VARIABLE_VALUE");
  }
  ckpt::reader r(dir / "w.ckpt");
  CHECK(r.verify("w/.ATTRIBUTES/VARIABLE_VALUE") == ckpt::checksum_status::mismatch);
  auto in = ckpt::open_reader(dir / "w.ckpt");
  auto out =
      ckpt::format_for_save(dir / "copy.safetensors", "").create(dir / "copy.safetensors", {});
  CHECK_THROWS_AS(ckpt::copy_tensors(*in, *out), ckpt::error);
  CHECK(!fs::exists(dir / "copy.safetensors"));
  ckpt::load(loaded, dir / "w.ckpt", {.verify_checksums = false});
  CHECK(loaded.w[10] != 1.0f);
}
