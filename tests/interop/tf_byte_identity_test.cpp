// SPDX-License-Identifier: Apache-2.0
// Re-writing every real TensorFlow bundle of the shared fixtures through ckpt's reader and writer
// gives TF's exact bytes: the `.index` table (blocks, restarts, separators, footer, canonical
// protos) and every data file (TF's packing order). Bundles whose table TF stored with Snappy are
// read, and come out uncompressed with the same entries.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "../support/files.hpp"
#include "../support/fixtures.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/copy.hpp"
#include "ckpt/formats/tf_checkpoint/table.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
using ckpt_test::slurp;

namespace {

std::vector<fs::path> fixture_indexes() {
  std::vector<fs::path> out;
  for (const char* dir : {"tf", "savedmodel"}) {
    const fs::path root = ckpt_test::fixtures_dir() / dir;
    if (!fs::exists(root)) continue;
    for (const auto& f : fs::recursive_directory_iterator(root))
      if (f.is_regular_file() && f.path().extension() == ".index") out.push_back(f.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Compression type bytes of the data blocks, found by walking the footer and the index block
// directly (independently of read_table's checks).
std::vector<int> data_block_types(const std::string& file) {
  const auto bytes = std::as_bytes(std::span<const char>(file.data(), file.size()));
  const auto footer = bytes.subspan(bytes.size() - tfc::footer_size);
  std::size_t pos = 0;
  tfc::block_handle meta, index;
  REQUIRE(ckpt::protobuf::parse_varint(footer, pos, meta.offset));
  REQUIRE(ckpt::protobuf::parse_varint(footer, pos, meta.size));
  REQUIRE(ckpt::protobuf::parse_varint(footer, pos, index.offset));
  REQUIRE(ckpt::protobuf::parse_varint(footer, pos, index.size));
  const auto entries = tfc::detail::parse_block(
      std::string_view(file.data() + index.offset, index.size), "index", index.offset, 1000);
  std::vector<int> types;
  for (const auto& e : entries) {
    const auto v = std::as_bytes(std::span<const char>(e.value.data(), e.value.size()));
    std::size_t p = 0;
    tfc::block_handle h;
    REQUIRE(ckpt::protobuf::parse_varint(v, p, h.offset));
    REQUIRE(ckpt::protobuf::parse_varint(v, p, h.size));
    types.push_back(static_cast<unsigned char>(file.at(h.offset + h.size)));
  }
  return types;
}

// Same keys, entry metadata and values in two bundles.
void check_same_contents(const tfc::bundle_reader& a, const tfc::bundle_reader& b) {
  REQUIRE(a.entries().size() == b.entries().size());
  for (std::size_t i = 0; i < a.entries().size(); ++i) {
    const auto& x = a.entries()[i];
    const auto& y = b.entries()[i];
    INFO(x.key);
    CHECK(x.key == y.key);
    CHECK(x.proto == y.proto);
    CHECK(std::equal(a.stored_bytes(x).begin(), a.stored_bytes(x).end(), b.stored_bytes(y).begin(),
                     b.stored_bytes(y).end()));
  }
}

}  // namespace

TEST_CASE("every uncompressed fixture .index and data file is re-written byte for byte",
          "[tf_checkpoint][conformance]") {
  const auto indexes = fixture_indexes();
  if (indexes.empty()) {
    WARN("SKIPPED: no fixtures under " << ckpt_test::fixtures_dir().string()
                                       << " (tf/, savedmodel/)");
    return;
  }
  ckpt_test::scratch_dir scratch("ckpt-tf-identity");
  int identical = 0, snappy = 0, n = 0;
  for (const auto& index : indexes) {
    const std::string name = fs::relative(index, ckpt_test::fixtures_dir()).string();
    INFO(name);
    const std::string in_index = slurp(index);
    const auto types = data_block_types(in_index);
    const bool compressed = std::count(types.begin(), types.end(), 1) > 0;
    const fs::path in_prefix = index.parent_path() / index.stem();
    const fs::path out_prefix = scratch / ("out" + std::to_string(n++)) / index.stem();
    fs::create_directories(out_prefix.parent_path());

    const tfc::bundle_reader in(in_prefix);
    tfc::copy_bundle(in, out_prefix, {.sync = false});
    const std::string out_index = slurp(tfc::index_path(out_prefix));
    for (std::uint32_t s = 0; s < in.num_shards(); ++s) {
      INFO("shard " << s);
      CHECK(slurp(tfc::data_path(out_prefix, s, in.num_shards())) ==
            slurp(tfc::data_path(in_prefix, s, in.num_shards())));
    }
    if (!compressed) {
      CHECK(out_index == in_index);
      identical += out_index == in_index;
    } else {
      ++snappy;
      CHECK(out_index != in_index);
      const auto out_types = data_block_types(out_index);
      CHECK(std::count(out_types.begin(), out_types.end(), 0) ==
            static_cast<std::ptrdiff_t>(out_types.size()));
      check_same_contents(in, tfc::bundle_reader(out_prefix));
    }
  }
  // specs/tf_checkpoint.md: 27 .index files, 4 of them with a Snappy block.
  CHECK(indexes.size() == 27);
  CHECK(snappy == 4);
  CHECK(identical == 23);
}
