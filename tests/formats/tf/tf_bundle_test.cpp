// SPDX-License-Identifier: Apache-2.0
// TensorBundle reader and writer: the worked example of the spec, and bundles written by ckpt
// (every dtype, strings, empty tensors, scalars, several shards, a multi-block index, an entry
// past TF's large-entry rule, sliced tensors) accepted by the independent checker. Every fixture
// bundle read as that checker recorded it is tests/interop/tf_fixtures_test.cpp's.
#include <catch2/catch.hpp>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../support/checkers.hpp"
#include "../../support/files.hpp"
#include "../../support/fixtures.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/codec/half.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_writer.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
using ckpt::dtype;
using nlohmann::json;

namespace {

template <class T>
ckpt::tensor_view view_of(const std::vector<T>& v, ckpt::shape s) {
  return {ckpt::dtype_of<T>, std::move(s), std::as_bytes(std::span<const T>(v)), {}};
}

void require_tfverify_ok(const fs::path& prefix) {
  if (!ckpt_test::require(ckpt_test::tfverify(), "checking the bundle ckpt wrote with tfverify"))
    return;
  const json report = ckpt_test::run_tfverify(prefix);
  INFO(report.dump(1).substr(0, 4000));
  CHECK(report["ok"] == true);
  CHECK(report["errors"].empty());
  CHECK(report["warnings"].empty());
  CHECK(report["bundle"]["index"]["leveldb_crosscheck"] == "ok");
  CHECK(report["bundle"]["index"]["tf_identical"] == true);
}

}  // namespace

TEST_CASE("the worked example of the spec reads as documented", "[tf_checkpoint][fixtures]") {
  const fs::path prefix = ckpt_test::fixtures_dir() / "tf/tf_half_plus_two_v1/variables/variables";
  if (!ckpt_test::fixture_present(tfc::index_path(prefix))) return;
  const tfc::bundle_reader r(prefix);
  CHECK(r.header().num_shards == 1);
  CHECK(r.header().version.producer == 1);
  REQUIRE(r.entries().size() == 3);
  const auto& b = r.at("b");
  CHECK(b.offset == 4);
  CHECK(b.size == 4);
  CHECK(b.crc32c == 0x4f78fd10u);
  float v = 0;
  r.read(b, {dtype::float32, {}, std::as_writable_bytes(std::span<float>(&v, 1)), {}});
  CHECK(v == 2.0f);
  CHECK(tfc::bundle_reader::is_bundle(prefix));
  CHECK(tfc::bundle_reader::is_bundle(tfc::index_path(prefix)));
  CHECK(tfc::bundle_reader::is_bundle(tfc::data_path(prefix, 0, 1)));
  CHECK(tfc::bundle_reader::bundle_prefix(tfc::index_path(prefix)) == prefix);
  CHECK(tfc::bundle_reader(tfc::index_path(prefix)).entries().size() == 3);
  CHECK(tfc::bundle_reader(tfc::data_path(prefix, 0, 1)).prefix() == prefix);
  CHECK_FALSE(tfc::bundle_reader::is_bundle(prefix.parent_path() / "nothing"));
  CHECK(r.find("d") == nullptr);
  CHECK_THROWS_AS(r.at("d"), ckpt::error);
  // Destination checks.
  double wrong = 0;
  CHECK_THROWS_AS(
      r.read(b, {dtype::float64, {}, std::as_writable_bytes(std::span<double>(&wrong, 1)), {}}),
      ckpt::error);
  CHECK_THROWS_AS(
      r.read(b, {dtype::float32, {1}, std::as_writable_bytes(std::span<float>(&v, 1)), {}}),
      ckpt::error);
}

TEST_CASE("bundles ckpt writes hold every dtype and pass the independent checker",
          "[tf_checkpoint][tfverify]") {
  ckpt_test::scratch_dir dir("ckpt-tf-bundle");
  const fs::path prefix = dir / "all";
  const std::vector<float> f32 = {1.5f, -2.0f, 0.0f, 3.25f, 1e-3f, -7.0f};
  const std::vector<double> f64 = {1e300, -0.0};
  const std::vector<std::int8_t> i8 = {-128, 127, 0};
  const std::vector<std::int16_t> i16 = {-32768, 32767};
  const std::vector<std::int32_t> i32 = {-5, 6, 7, 8};
  const std::vector<std::int64_t> i64 = {std::int64_t{1} << 62, -1};
  const std::vector<std::uint8_t> u8 = {0, 255};
  const std::vector<std::uint16_t> u16 = {65535};
  const std::vector<std::uint32_t> u32 = {4000000000u};
  const std::vector<std::uint64_t> u64 = {~std::uint64_t{0} >> 1};
  const std::vector<ckpt::float16> f16 = {ckpt::float16(1.5f), ckpt::float16(-65504.0f)};
  const std::vector<ckpt::bfloat16> bf16 = {ckpt::bfloat16(0.5f), ckpt::bfloat16(-3.0f)};
  const std::vector<std::complex<float>> c64 = {{1.0f, -1.0f}};
  const std::vector<std::complex<double>> c128 = {{0.25, 4.0}, {-1.0, 0.0}};
  const std::vector<std::uint8_t> booleans = {1, 0, 1};
  const std::vector<std::string> strings = {"hello", "", std::string(1000, 'c'),
                                            std::string("a\0b", 3)};
  const std::vector<std::string> one_string = {"scalar"};
  const std::vector<float> none;
  {
    tfc::bundle_writer w(prefix, {.num_shards = 3, .sync = false});
    w.add("f32", view_of(f32, {2, 3}));
    w.add("f64", view_of(f64, {2}), 1);
    w.add("i8", view_of(i8, {3}), 2);
    w.add("i16", view_of(i16, {2}));
    w.add("i32", view_of(i32, {2, 2}), 1);
    w.add("i64", view_of(i64, {2}));
    w.add("u8", view_of(u8, {2}));
    w.add("u16", view_of(u16, {1}));
    w.add("u32", view_of(u32, {1}), 2);
    w.add("u64", view_of(u64, {}));
    w.add("f16", view_of(f16, {2}));
    w.add("bf16", view_of(bf16, {2}));
    w.add("c64", view_of(c64, {1}));
    w.add("c128", view_of(c128, {2}), 1);
    w.add("bool", {dtype::bool_, {3}, std::as_bytes(std::span(booleans)), {}});
    w.add("str", {dtype::string, {2, 2}, {}, strings}, 2);
    w.add("str_scalar", {dtype::string, {}, {}, one_string});
    w.add("str_empty", {dtype::string, {0}, {}, {}});
    w.add("empty", view_of(none, {0, 4}));
    w.add("quint8", {dtype::quint8, {2}, std::as_bytes(std::span(u8)), {}});
    w.add("qint32", {dtype::qint32, {4}, std::as_bytes(std::span(i32)), {}});
    CHECK_THROWS_AS(w.add("f32", view_of(f32, {6})), ckpt::error);       // duplicate key
    CHECK_THROWS_AS(w.add("x", view_of(f32, {5})), ckpt::error);         // bytes vs shape
    CHECK_THROWS_AS(w.add("y", view_of(f32, {6}), 3), ckpt::error);      // no shard 3
    CHECK_THROWS_AS(w.add("", view_of(f32, {6})), ckpt::error);          // header key
    CHECK_THROWS_AS(w.add({"\0z", 2}, view_of(f32, {6})), ckpt::error);  // slice keys
    CHECK_THROWS_AS(w.add("v", {dtype::variant, {}, {}, {}}), ckpt::error);
    w.finish();
  }
  // Exactly the bundle's files, no temporary left behind.
  CHECK(dir.file_count() == 4);

  const tfc::bundle_reader r(prefix);
  CHECK(r.num_shards() == 3);
  CHECK(r.entries().size() == 21);
  const auto read_bytes = [&](const std::string& key) {
    const auto& e = r.at(key);
    std::vector<std::byte> out(e.size);
    r.read(e, {e.dtype, e.shape, out, {}});
    return out;
  };
  const auto same = [&](const std::string& key, const auto& values) {
    const auto got = read_bytes(key);
    const auto want = std::as_bytes(std::span(values));
    return std::equal(got.begin(), got.end(), want.begin(), want.end());
  };
  CHECK(same("f32", f32));
  CHECK(same("f64", f64));
  CHECK(same("i8", i8));
  CHECK(same("i64", i64));
  CHECK(same("u64", u64));
  CHECK(same("f16", f16));
  CHECK(same("bf16", bf16));
  CHECK(same("c128", c128));
  CHECK(same("bool", booleans));
  CHECK(same("qint32", i32));
  CHECK(read_bytes("empty").empty());
  std::vector<std::string> s(4);
  r.read(r.at("str"), {dtype::string, {2, 2}, {}, s});
  CHECK(s == strings);
  // Shard assignment and TF's packing order inside each shard.
  CHECK(r.at("f64").shard_id == 1);
  CHECK(r.at("f64").offset == 0);
  CHECK(r.at("i32").offset == 16);
  CHECK(r.at("i16").offset == 24);  // after f32 (24 bytes) in shard 0
  for (const auto& e : r.entries()) CHECK(r.verify(e) == tfc::checksum_status::ok);
  // One empty string: 00, then the masked CRC32C of a zero u32 length, as the spec shows.
  const std::vector<std::string> one_empty = {""};
  {
    tfc::bundle_writer w(dir / "one", {.sync = false});
    w.add("s", {dtype::string, {1}, {}, one_empty});
    w.finish();
  }
  CHECK(ckpt_test::slurp(tfc::data_path(dir / "one", 0, 1)) ==
        std::string("\x00\xa6\x7b\x11\x3a", 5));

  require_tfverify_ok(prefix);
}

TEST_CASE("a multi-block index and an entry past the large-entry rule pass the checker",
          "[tf_checkpoint][tfverify]") {
  ckpt_test::scratch_dir dir("ckpt-tf-big-index");
  const fs::path prefix = dir / "big";
  const std::vector<float> one = {1.0f};
  {
    tfc::bundle_writer w(prefix, {.sync = false});
    // ~5000 entries of ~100-byte keys: about 600 KiB of index, so three data blocks.
    for (int i = 0; i < 5000; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "%06d/", i);
      w.add(std::string(key) + std::string(90, 'k'), view_of(one, {1}));
    }
    // A key of 600 KiB: key + value >= 2 x 256 KiB, which TF flushes before.
    w.add(std::string("3") + std::string(600 * 1024, 'x'), view_of(one, {}));
    w.finish();
  }
  const tfc::bundle_reader r(prefix);
  CHECK(r.entries().size() == 5001);
  CHECK(fs::file_size(tfc::index_path(prefix)) > 3 * tfc::table_block_size);
  for (const auto& e : r.entries()) CHECK(r.verify(e) == tfc::checksum_status::ok);
  require_tfverify_ok(prefix);
}

TEST_CASE("sliced tensors are assembled from their slices", "[tf_checkpoint][tfverify]") {
  ckpt_test::scratch_dir dir("ckpt-tf-slices");
  const fs::path prefix = dir / "sliced";
  // A 4x3 tensor stored as rows [0,1) + [1,4), and columns [0,2) x rows [1,4) as another.
  const std::vector<float> full = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  const std::vector<float> top = {0, 1, 2};
  const std::vector<float> bottom = {3, 4, 5, 6, 7, 8, 9, 10, 11};
  const std::vector<float> left = {0, 1, 3, 4, 6, 7, 9, 10};
  const std::vector<float> right = {2, 5, 8, 11};
  using ext = tfc::tensor_slice_proto::extent;
  {
    tfc::bundle_writer w(prefix, {.num_shards = 2, .sync = false});
    w.add_slice("rows", {4, 3}, {{ext{0, 1}, ext{}}}, view_of(top, {1, 3}));
    w.add_slice("rows", {4, 3}, {{ext{1, 3}, ext{}}}, view_of(bottom, {3, 3}), 1);
    w.add_slice("cols", {4, 3}, {{ext{}, ext{0, 2}}}, view_of(left, {4, 2}));
    w.add_slice("cols", {4, 3}, {{ext{}, ext{2, 1}}}, view_of(right, {4, 1}));
    // A slice covering everything is a plain entry.
    w.add_slice("whole", {2}, {{ext{0, 2}}},
                view_of(top.size() ? std::vector<float>{1, 2} : std::vector<float>{}, {2}));
    CHECK_THROWS_AS(w.add_slice("rows", {4, 3}, {{ext{3, 2}, ext{}}}, view_of(top, {2, 3})),
                    ckpt::error);  // outside the tensor
    CHECK_THROWS_AS(w.add_slice("rows", {4, 4}, {{ext{0, 1}, ext{}}}, view_of(full, {1, 4})),
                    ckpt::error);  // disagrees with the earlier slices' shape
    w.finish();
  }
  const tfc::bundle_reader r(prefix);
  REQUIRE(r.entries().size() == 3);  // slice entries hidden
  CHECK(r.slice_entries().size() == 4);
  for (const char* key : {"rows", "cols"}) {
    INFO(key);
    const auto& e = r.at(key);
    CHECK(e.is_sliced());
    CHECK(e.shape == ckpt::shape{4, 3});
    std::vector<float> out(12, -1.0f);
    r.read(e, {dtype::float32, {4, 3}, std::as_writable_bytes(std::span(out)), {}});
    CHECK(out == full);
    CHECK(r.verify(e) == tfc::checksum_status::ok);
  }
  CHECK_FALSE(r.at("whole").is_sliced());
  // The slice key encoding of TF's OrderedCode (spec §4): 0, name, 00 01, rank, start/length.
  CHECK(tfc::encode_slice_key("rows", {{ext{1, 3}, ext{}}}) ==
        std::string("\x00rows\x00\x01\x01\x02\x81\x83\x80\x7f", 13));
  require_tfverify_ok(prefix);
}

TEST_CASE("a writer that does not finish leaves no files", "[tf_checkpoint]") {
  ckpt_test::scratch_dir dir("ckpt-tf-abandon");
  const std::vector<float> v = {1, 2};
  {
    tfc::bundle_writer w(dir / "x", {.num_shards = 2, .sync = false});
    w.add("a", view_of(v, {2}));
  }
  CHECK(dir.file_count() == 0);
}

namespace {
int fault_countdown = -1;  // operations left before the injected failure; -1: count only
int fault_ops_seen = 0;
int inject_enospc(ckpt::file_op, const std::filesystem::path&, std::size_t) {
  ++fault_ops_seen;
  if (fault_countdown < 0) return 0;
  return fault_countdown-- == 0 ? ENOSPC : 0;
}
void write_two_shard_bundle(const fs::path& prefix) {
  const std::vector<float> big(300000, 1.5f);  // past the writer's 1 MiB buffer
  const std::vector<std::string> s = {"x", "yz"};
  tfc::bundle_writer w(prefix, {.num_shards = 2, .sync = true});
  w.add("big", view_of(big, {big.size()}));
  w.add("s", {dtype::string, {2}, {}, s}, 1);
  w.finish();
}
}  // namespace

TEST_CASE("a failure at any file operation leaves no temporary file", "[tf_checkpoint]") {
  ckpt_test::scratch_dir dir("ckpt-tf-faults");
  ckpt::file_fault_hook = inject_enospc;
  fault_countdown = -1;
  fault_ops_seen = 0;
  write_two_shard_bundle(dir / "count");
  const int ops = fault_ops_seen;
  REQUIRE(ops > 8);
  for (int k = 0; k < ops; ++k) {
    INFO("failing operation " << k << " of " << ops);
    const fs::path sub = dir / ("k" + std::to_string(k));
    fs::create_directories(sub);
    fault_countdown = k;
    try {
      write_two_shard_bundle(sub / "ckpt");
      FAIL("the injected failure was not reported");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::io);
    }
    for (const auto& f : fs::directory_iterator(sub)) {
      const std::string name = f.path().filename().string();
      CHECK(name.find("tmp") == std::string::npos);
      CHECK(name.rfind(".", 0) != 0);
    }
    // The index is renamed last: if it is there, the bundle is complete.
    fault_countdown = -1;
    if (fs::exists(tfc::index_path(sub / "ckpt"))) {
      const tfc::bundle_reader r(sub / "ckpt");
      for (const auto& e : r.entries()) CHECK(r.verify(e) == tfc::checksum_status::ok);
    }
  }
  ckpt::file_fault_hook = nullptr;
}
