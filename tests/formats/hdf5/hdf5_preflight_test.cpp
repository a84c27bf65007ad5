// SPDX-License-Identifier: Apache-2.0
// ckpt's own structural check of HDF5 metadata (formats/hdf5/raw): real files pass it whole, and
// each kind of damage it exists for is errc::bad_format naming the file and the byte offset.
#include <hdf5.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "../../support/files.hpp"
#include "../../support/fixtures.hpp"
#include "../../support/hdf5_test_support.hpp"
#include "../../support/model.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/formats/hdf5/raw/preflight.hpp"
#include "ckpt/hdf5.hpp"
#include "ckpt/io/zip_archive.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;
namespace raw = ckpt::hdf5::raw;

namespace {

fs::path fixtures() { return ckpt_test::fixtures_dir() / "h5"; }

std::size_t check_file(const fs::path& path) {
  raw::preflight p(raw::source::open(path, path.string()));
  return p.check_everything();
}

// The error the preflight gives for `bytes` written to `path`; fails the test if it passes.
ckpt::error refusal(const fs::path& path, const std::string& bytes) {
  spit(path, bytes);
  try {
    check_file(path);
  } catch (const ckpt::error& e) {
    return e;
  }
  FAIL("the preflight accepted a damaged file");
  throw std::logic_error("unreachable");
}

void require_bad_format(const ckpt::error& e, const fs::path& path) {
  INFO(e.what());
  CHECK(e.code() == ckpt::errc::bad_format);
  CHECK(e.file() == path.string());
  CHECK(e.offset().has_value());
}

void put_u16(std::string& b, std::uint64_t at, std::uint16_t v) { std::memcpy(&b[at], &v, 2); }
void put_u32(std::string& b, std::uint64_t at, std::uint32_t v) { std::memcpy(&b[at], &v, 4); }
void put_u64(std::string& b, std::uint64_t at, std::uint64_t v) { std::memcpy(&b[at], &v, 8); }
std::uint64_t get_u64(const std::string& b, std::uint64_t at) {
  std::uint64_t v = 0;
  std::memcpy(&v, &b[at], 8);
  return v;
}

// A file written by libhdf5 directly: a group with `attributes` small attributes added one by one
// (so a version 1 header grows continuation chunks), one variable-length string attribute, and a
// dataset. `latest` selects the newest file format (superblock v3, "OHDR" headers, checksums).
void write_with_libhdf5(const fs::path& path, bool latest, int attributes) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (latest) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  REQUIRE(file >= 0);
  const hid_t group = H5Gcreate2(file, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  for (int i = 0; i < attributes; ++i) {
    const std::string name = "attribute_" + std::to_string(i);
    const hid_t a =
        H5Acreate2(group, name.c_str(), H5T_STD_I64LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    const std::int64_t v = i;
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
  }
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, H5T_VARIABLE);
  const hsize_t two = 2;
  const hid_t pair = H5Screate_simple(1, &two, nullptr);
  const hid_t a = H5Acreate2(group, "names", str, pair, H5P_DEFAULT, H5P_DEFAULT);
  const char* names[2] = {"first", "second one"};
  H5Awrite(a, str, names);
  H5Aclose(a);
  const hsize_t dims[2] = {3, 4};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t d =
      H5Dcreate2(group, "data", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const float values[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose(d);
  H5Sclose(space);
  H5Sclose(pair);
  H5Tclose(str);
  H5Sclose(scalar);
  H5Gclose(group);
  H5Fclose(file);
  H5Pclose(fapl);
}

// The object header of group "/g" in a file written by write_with_libhdf5.
raw::object_header group_header(const raw::source& src, std::uint64_t* address = nullptr) {
  raw::preflight p(src);
  const auto root = raw::read_object_header(src, p.super().root_address, 8, 8, "/");
  raw::message_facts facts;
  for (const auto& m : root.messages) raw::check_message(src, m, {}, "/", facts);
  std::uint64_t g = raw::undefined_address;
  if (facts.symbol_table) {
    const auto entries =
        raw::read_symbol_table(src, facts.symbol_table->first, facts.symbol_table->second, 8, 8,
                               p.super().group_leaf_k, p.super().group_internal_k, "/");
    REQUIRE(entries.size() == 1);
    g = entries[0].header;
  } else {
    REQUIRE(facts.hard_links.size() == 1);
    g = facts.hard_links[0];
  }
  if (address) *address = g;
  return raw::read_object_header(src, g, 8, 8, "/g");
}

}  // namespace

TEST_CASE("every HDF5 fixture passes the preflight whole", "[hdf5][preflight]") {
  if (!ckpt_test::fixture_present(fixtures())) return;
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(fixtures())) {
    if (entry.path().extension() != ".h5") continue;
    INFO(entry.path());
    CHECK(check_file(entry.path()) > 1);
    ++files;
  }
  CHECK(files >= 5);
  for (const auto& entry : fs::directory_iterator(fixtures())) {
    if (entry.path().extension() != ".keras") continue;
    INFO(entry.path());
    ckpt::zip_reader zip(entry.path());
    const auto bytes = zip.read("model.weights.h5", 1ull << 30);
    raw::preflight p(raw::source::image(bytes, entry.path().string() + ":model.weights.h5"));
    CHECK(p.check_everything() > 1);
  }
}

TEST_CASE("files ckpt and libhdf5 write pass the preflight", "[hdf5][preflight]") {
  scratch_dir dir("ckpt-hdf5-preflight");
  for (const auto& storage :
       {ckpt::storage_options{}, ckpt::storage_options{.shuffle = true, .deflate_level = 4},
        ckpt::storage_options{
            .layout = ckpt::storage_layout::chunked, .chunk_bytes = 64, .checksum = true}}) {
    const fs::path path = dir / "model.h5";
    ckpt::save_options options;
    options.storage = storage;
    ckpt::save(make_model(), path, options);
    CHECK(check_file(path) > 10);
  }
  for (bool latest : {false, true}) {
    INFO("latest format: " << latest);
    const fs::path path = dir / "libhdf5.h5";
    write_with_libhdf5(path, latest, 20);
    CHECK(check_file(path) == 3);  // root, /g, /g/data
    raw::source src = raw::source::open(path, path.string());
    const auto g = group_header(src);
    CHECK(g.version == (latest ? 2u : 1u));
    if (!latest) CHECK(g.chunks.size() > 1);  // grown by continuation (else dense attributes)
  }
}

TEST_CASE("damaged HDF5 structures are refused naming file and offset", "[hdf5][preflight]") {
  scratch_dir dir("ckpt-hdf5-preflight");
  const fs::path good = dir / "good.h5", path = dir / "bad.h5";
  write_with_libhdf5(good, false, 20);
  const std::string bytes = slurp(good);
  raw::source src = raw::source::open(good, good.string());
  std::uint64_t g_address = 0;
  const auto g = group_header(src, &g_address);

  SECTION("bad signatures") {
    for (const char* signature : {"TREE", "SNOD", "HEAP", "GCOL"}) {
      INFO(signature);
      std::string bad = bytes;
      const auto at = bad.find(signature);
      REQUIRE(at != std::string::npos);
      bad[at] = 'X';
      const auto e = refusal(path, bad);
      require_bad_format(e, path);
    }
    std::string bad = bytes;
    bad[g_address] = 7;  // object header version
    const auto e = refusal(path, bad);
    require_bad_format(e, path);
    CHECK(e.offset() == g_address);
  }
  SECTION("a message overrunning its chunk") {
    const auto& m = g.messages.front();
    std::string bad = bytes;
    put_u16(bad, m.address - 6, static_cast<std::uint16_t>(m.body.size() + 4096));
    const auto e = refusal(path, bad);
    require_bad_format(e, path);
    CHECK(std::string(e.what()).find("overruns") != std::string::npos);
  }
  SECTION("attribute data longer than its message") {
    for (const auto& m : g.messages) {
      if (m.type != raw::message_type::attribute) continue;
      // Version 1: 8 bytes of sizes, the padded name, then the datatype, whose size field
      // (bytes 4..7) grows past the message.
      const std::uint64_t name_size = static_cast<std::uint8_t>(bytes[m.address + 2]) |
                                      (static_cast<std::uint8_t>(bytes[m.address + 3]) << 8);
      REQUIRE(bytes[m.address] == 1);
      const std::uint64_t type_at = m.address + 8 + ((name_size + 7) & ~std::uint64_t{7});
      REQUIRE(bytes[type_at] == 0x10);  // version 1, class 0 (the int64 attributes)
      std::string bad = bytes;
      put_u32(bad, type_at + 4, 4096);
      put_u16(bad, type_at + 10, 64);  // precision within the new size
      const auto e = refusal(path, bad);
      require_bad_format(e, path);
      CHECK(std::string(e.what()).find("more than the") != std::string::npos);
      break;
    }
  }
  SECTION("an attribute name without its NUL") {
    for (const auto& m : g.messages) {
      if (m.type != raw::message_type::attribute) continue;
      const std::uint64_t name_size = static_cast<std::uint8_t>(bytes[m.address + 2]);
      std::string bad = bytes;
      for (std::uint64_t i = 0; i < ((name_size + 7) & ~std::uint64_t{7}); ++i)
        bad[m.address + 8 + i] = 'a';
      const auto e = refusal(path, bad);
      require_bad_format(e, path);
      CHECK(e.offset() >= m.address);
      break;
    }
  }
  SECTION("a continuation loop") {
    // The first message of the continued chunk becomes a continuation back to that chunk.
    bool found = false;
    for (const auto& m : g.messages) {
      if (m.type != raw::message_type::continuation) continue;
      const std::uint64_t target = get_u64(bytes, m.address),
                          length = get_u64(bytes, m.address + 8);
      for (const auto& first : g.messages) {
        if (first.address != target + 8 || first.body.size() < 16) continue;
        std::string bad = bytes;
        put_u16(bad, first.address - 8, raw::message_type::continuation);
        put_u64(bad, first.address, target);
        put_u64(bad, first.address + 8, length);
        const auto e = refusal(path, bad);
        require_bad_format(e, path);
        CHECK(std::string(e.what()).find("loops") != std::string::npos);
        CHECK(e.offset() == target);
        found = true;
      }
      break;
    }
    CHECK(found);
  }
  SECTION("variable-length references and the global heap") {
    const auto collection = bytes.find("GCOL");
    REQUIRE(collection != std::string::npos);
    // The attribute's first element: length, collection address, index.
    std::uint64_t element = std::string::npos;
    for (std::uint64_t i = 4; i + 12 <= bytes.size(); ++i)
      if (get_u64(bytes, i) == collection) {
        element = i - 4;
        break;
      }
    REQUIRE(element != std::string::npos);
    {
      std::string bad = bytes;
      put_u32(bad, element + 12, 999);
      const auto e = refusal(path, bad);
      require_bad_format(e, path);
      CHECK(e.offset() == element);
      CHECK(std::string(e.what()).find("999") != std::string::npos);
    }
    {
      std::string bad = bytes;
      put_u32(bad, element, 400);  // "first" is 5 bytes
      const auto e = refusal(path, bad);
      require_bad_format(e, path);
      CHECK(e.offset() == element);
    }
    {
      // The free-space object follows the two strings; its size 0 would walk forever.
      std::uint64_t at = collection + 16;
      while (bytes[at] != 0 || bytes[at + 1] != 0)
        at += 16 + ((get_u64(bytes, at + 8) + 7) & ~7ull);
      std::string bad = bytes;
      put_u64(bad, at + 8, 0);
      const auto e = refusal(path, bad);
      require_bad_format(e, path);
      CHECK(e.offset() == at);
    }
  }
  SECTION("a symbol table node claiming more symbols than it holds") {
    const auto at = bytes.find("SNOD");
    std::string bad = bytes;
    put_u16(bad, at + 6, 1000);
    const auto e = refusal(path, bad);
    require_bad_format(e, path);
    CHECK(e.offset() == at + 6);
  }
}

TEST_CASE("a damaged checksummed header is refused even with a valid checksum",
          "[hdf5][preflight]") {
  scratch_dir dir("ckpt-hdf5-preflight");
  const fs::path good = dir / "latest.h5", path = dir / "bad.h5";
  write_with_libhdf5(good, true, 3);
  const std::string bytes = slurp(good);
  raw::source src = raw::source::open(good, good.string());
  std::uint64_t g_address = 0;
  const auto g = group_header(src, &g_address);
  // Flip a byte inside the first chunk: the checksum no longer matches.
  std::string bad = bytes;
  const auto& m = g.messages.front();
  bad[m.address] = static_cast<char>(bad[m.address] ^ 0x01);
  spit(path, bad);
  try {
    check_file(path);
    FAIL("accepted");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::checksum_mismatch);
  }
  // Recompute the checksum after making the message overrun: the content check still refuses.
  bad = bytes;
  put_u16(bad, m.address - 3, 60000);
  const auto& chunk = g.chunks.front();
  const std::uint32_t sum = raw::lookup3(
      std::span(reinterpret_cast<const std::byte*>(bad.data()) + g_address, chunk.size() - 4));
  put_u32(bad, g_address + chunk.size() - 4, sum);
  const auto e = refusal(path, bad);
  require_bad_format(e, path);
}

namespace {

// A dataset of variable-length strings in 2-element chunks (the last one partial), filtered by
// deflate or not, written by libhdf5 directly.
void write_chunked_strings(const fs::path& path, bool deflate) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, H5T_VARIABLE);
  const hsize_t count = 5, chunk = 2;
  const hid_t space = H5Screate_simple(1, &count, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, &chunk);
  if (deflate) H5Pset_deflate(dcpl, 4);
  const hid_t d = H5Dcreate2(file, "words", str, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  const char* words[5] = {"one", "two", "three", "four", "five"};
  H5Dwrite(d, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, words);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(str);
  H5Fclose(file);
}

}  // namespace

TEST_CASE("variable-length strings in chunks are checked before libhdf5 reads them",
          "[hdf5][preflight]") {
  scratch_dir dir("ckpt-hdf5-preflight");
  const fs::path path = dir / "words.h5";
  stderr_capture err;
  write_chunked_strings(path, false);
  {
    ckpt::reader reader(path);
    REQUIRE(reader.entries().size() == 1);
    const auto words = reader.read<std::string>("words");
    CHECK(words.size() == 5);
  }
  // Each element refers to its own heap object; the fourth one's index points nowhere now.
  std::string bytes = slurp(path);
  const auto collection = bytes.find("GCOL");
  REQUIRE(collection != std::string::npos);
  std::vector<std::uint64_t> elements;
  for (std::uint64_t i = 4; i + 12 <= bytes.size(); ++i)
    if (get_u64(bytes, i) == collection) elements.push_back(i - 4);
  REQUIRE(elements.size() == 5);
  put_u32(bytes, elements[3] + 12, 4242);
  spit(path, bytes);
  try {
    ckpt::reader reader(path);
    (void)reader.read<std::string>("words");
    FAIL("read a dangling heap reference");
  } catch (const ckpt::error& e) {
    INFO(e.what());
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(e.offset() == elements[3]);
    CHECK(std::string(e.what()).find("words") != std::string::npos);
  }
  // Filtered chunks hide their references from ckpt until libhdf5 decodes them.
  write_chunked_strings(path, true);
  try {
    ckpt::reader reader(path);
    (void)reader.read<std::string>("words");
    FAIL("read variable-length strings from filtered chunks");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::unsupported);
    CHECK(std::string(e.what()).find("words") != std::string::npos);
  }
  CHECK(err.finish().empty());
}
