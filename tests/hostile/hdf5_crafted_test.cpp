// SPDX-License-Identifier: Apache-2.0
// Crafted HDF5 files aimed at what libhdf5 1.10 decodes unchecked: link messages (an external
// link's value, in an object header or in dense storage), dense link and attribute storage
// (fractal heaps, version 2 B-trees) and the superblock extension's messages (file space info,
// metadata cache image, shared message table, driver info). Each file is written by libhdf5,
// patched, its checksums recomputed, and loaded through ckpt in a forked child: it must be
// refused with the expected errc, a message naming the file and the object, nothing printed, and
// bounded memory. Well-formed files of the same kinds still load.

#include <catch2/catch.hpp>
#include <cstring>

#include "../support/files.hpp"
#include "../support/hdf5_crafting.hpp"
#include "../support/sanitizers.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/formats/hdf5/raw/preflight.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;
namespace craft = ckpt_test::crafting;
namespace raw = ckpt::hdf5::raw;

namespace {

// A child that loads a small well-formed file: the peak memory every refused file is held to.
const child_result& clean_load() {
  static const child_result r = [] {
    scratch_dir dir("ckpt-hdf5-crafted");
    const fs::path path = dir / "clean.h5";
    craft::write_group_file(path, {.datasets = 2});
    return craft::run_in_child(dir.path(), [&] { craft::read_everything(path); });
  }();
  REQUIRE(r.status == 0);
  return r;
}

// Loads `bytes` (written to dir/name) in a child and checks that it was refused with `code`,
// naming the file, `object` (unless empty) and an offset, its message containing `words`, with
// nothing printed and no more than 64 MiB of memory beyond what a clean load takes.
child_result expect_refused(const scratch_dir& dir, const std::string& name,
                            const std::string& bytes, ckpt::errc code, const std::string& object,
                            const std::string& words, bool with_offset = true) {
  const fs::path path = dir / name;
  spit(path, bytes);
  const auto r = craft::run_in_child(dir.path(), [&] { craft::read_everything(path); });
  INFO(name << ": status " << r.status << ", " << r.message << "\nprinted: " << r.printed);
  CHECK(r.status == 1);
  CHECK(r.code == code);
  CHECK(r.file == path.string());
  CHECK(r.message.starts_with(path.string() + ": "));
  if (!object.empty()) CHECK(r.object == object);
  if (with_offset) CHECK(r.offset.has_value());
  CHECK(r.message.find(words) != std::string::npos);
  CHECK(r.printed.empty());
  const auto& clean = clean_load();
  INFO("peak RSS " << r.max_rss_kib << " KiB, peak virtual memory " << r.vm_peak_kib
                   << " KiB; clean load " << clean.max_rss_kib << " and " << clean.vm_peak_kib
                   << " KiB");
  CHECK(r.max_rss_kib < clean.max_rss_kib + 64 * 1024);
  CHECK(r.vm_peak_kib < clean.vm_peak_kib + 64 * 1024);
  return r;
}

std::size_t preflight_everything(const fs::path& path) {
  raw::preflight p(raw::source::open(path, path.string()));
  return p.check_everything();
}

// A group /g holding an external and a soft link besides `datasets` datasets: in the group's
// header with 2, in dense storage with 20.
std::string links_file(const scratch_dir& dir, unsigned datasets) {
  const fs::path path = dir / "links.h5";
  craft::write_group_file(path,
                          {.datasets = static_cast<int>(datasets), .external = true, .soft = true});
  return slurp(path);
}

constexpr unsigned compact = 2, dense = 20;

}  // namespace

TEST_CASE("well-formed links and dense storage written by libhdf5 load", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const fs::path path = dir / "good.h5";
  for (bool track_order : {false, true}) {
    INFO("creation order tracked: " << track_order);
    craft::write_group_file(path,
                            {.datasets = static_cast<int>(dense), .track_order = track_order});
    const std::string bytes = slurp(path);
    REQUIRE(!craft::find_all(bytes, "FRHP").empty());  // the links are in dense storage
    REQUIRE(craft::find_all(bytes, "BTHD").size() == (track_order ? 2u : 1u));
    CHECK(preflight_everything(path) == 2u + dense);  // /, /g and its datasets
    const auto r = craft::run_in_child(dir.path(), [&] {
      if (craft::read_everything(path) != dense) throw std::runtime_error("entries");
    });
    INFO(r.message << r.printed);
    CHECK(r.status == 0);
    CHECK(r.printed.empty());
    ckpt::reader reader(path);
    CHECK(reader.entries().size() == std::size_t{dense});
    const auto d17 = reader.read<float>("g/d17");
    CHECK(std::vector<float>(d17.begin(), d17.end()) == std::vector<float>{17.0f, 17.5f});
  }
  {
    INFO("dense attributes");
    craft::write_group_file(path, {.datasets = 2, .attributes = 20});
    REQUIRE(!craft::find_all(slurp(path), "FRHP").empty());
    CHECK(preflight_everything(path) == 4);
    const auto r = craft::run_in_child(dir.path(), [&] { craft::read_everything(path); });
    CHECK(r.status == 0);
    CHECK(r.printed.empty());
  }
  for (const auto strategy :
       {H5F_FSPACE_STRATEGY_AGGR, H5F_FSPACE_STRATEGY_PAGE, H5F_FSPACE_STRATEGY_NONE}) {
    INFO("file space info, strategy " << strategy);
    craft::write_extension_file(
        path, [&](hid_t fcpl) { REQUIRE(H5Pset_file_space_strategy(fcpl, strategy, 0, 1) >= 0); });
    const std::string bytes = slurp(path);
    const auto extension = craft::parse_v2_header(bytes, craft::superblock_extension(bytes));
    (void)craft::message_of_type(extension, raw::message_type::fsinfo);
    const auto r = craft::run_in_child(dir.path(), [&] {
      if (craft::read_everything(path) != 1) throw std::runtime_error("entries");
    });
    INFO(r.message);
    CHECK(r.status == 0);
    CHECK(r.printed.empty());
  }
  // External links are never followed; a well-formed one passes the preflight, and the reader
  // refuses the link itself.
  for (unsigned datasets : {compact, dense}) {
    INFO(datasets << " datasets");
    const std::string bytes = links_file(dir, datasets);
    CHECK(craft::find_all(bytes, "FRHP").empty() == (datasets == compact));
    spit(path, bytes);
    CHECK(preflight_everything(path) == 2u + datasets);
    const auto r = expect_refused(dir, "links.h5", bytes, ckpt::errc::unsupported,
                                  "/g/external_link_1", "soft or external link",
                                  /*with_offset=*/false);
    (void)r;
  }
}

TEST_CASE("external link values are checked before libhdf5 reads them", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  for (unsigned datasets : {compact, dense}) {
    INFO(datasets << " datasets");
    const std::string good = links_file(dir, datasets);
    const auto link = craft::find_link(good, "external_link_1");
    REQUIRE(good[link.type_at] == 64);
    const std::size_t length = craft::get(good, link.value_length_at, 2);
    REQUIRE(length == 1 + sizeof "other.h5" + sizeof "/target");
    REQUIRE(good[link.value_at] == 0);  // version 0, no flags
    {
      std::string bad = good;  // what crashed libhdf5 in H5L__extern_query
      craft::put(bad, link.value_length_at, 2, 0);
      craft::refresh_checksums(bad);
      expect_refused(dir, "empty.h5", bad, ckpt::errc::bad_format, "/g", "empty value");
    }
    {
      std::string bad = good;
      bad[link.value_at] = 0x10;
      craft::refresh_checksums(bad);
      expect_refused(dir, "version.h5", bad, ckpt::errc::bad_format, "/g", "version 1");
    }
    {
      std::string bad = good;
      bad[link.value_at] = 0x02;
      craft::refresh_checksums(bad);
      expect_refused(dir, "flags.h5", bad, ckpt::errc::bad_format, "/g", "unknown flags");
    }
    {
      std::string bad = good;  // no NUL after the file name nor after the object name
      for (std::size_t i = 1; i < length; ++i) bad[link.value_at + i] = 'x';
      craft::refresh_checksums(bad);
      expect_refused(dir, "names.h5", bad, ckpt::errc::bad_format, "/g", "file name");
    }
    {
      std::string bad = good;  // the object name runs to the end of the value
      bad[link.value_at + length - 1] = 'x';
      craft::refresh_checksums(bad);
      expect_refused(dir, "object.h5", bad, ckpt::errc::bad_format, "/g", "object name");
    }
  }
}

TEST_CASE("soft link values and link types are checked", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  for (unsigned datasets : {compact, dense}) {
    INFO(datasets << " datasets");
    const std::string good = links_file(dir, datasets);
    const auto soft = craft::find_link(good, "soft_link_1");
    REQUIRE(good[soft.type_at] == 1);
    {
      std::string bad = good;
      craft::put(bad, soft.value_length_at, 2, 0);
      craft::refresh_checksums(bad);
      expect_refused(dir, "soft.h5", bad, ckpt::errc::bad_format, "/g", "empty value");
    }
    {
      std::string bad = good;
      craft::put(bad, soft.value_length_at, 2, 5000);
      craft::refresh_checksums(bad);
      expect_refused(dir, "long.h5", bad, ckpt::errc::bad_format, "/g", "soft link value");
    }
    const auto external = craft::find_link(good, "external_link_1");
    for (unsigned type : {2u, 7u, 63u}) {
      std::string bad = good;
      bad[external.type_at] = static_cast<char>(type);
      craft::refresh_checksums(bad);
      const auto r = expect_refused(dir, "type.h5", bad, ckpt::errc::bad_format, "/g",
                                    "unknown link type " + std::to_string(type));
      CHECK(r.offset == external.type_at);
    }
    for (unsigned type : {65u, 200u, 255u}) {
      std::string bad = good;
      bad[external.type_at] = static_cast<char>(type);
      craft::refresh_checksums(bad);
      const auto r =
          expect_refused(dir, "user.h5", bad, ckpt::errc::unsupported, "/g",
                         "'external_link_1' has user-defined link type " + std::to_string(type));
      CHECK(r.offset == external.type_at);
    }
  }
}

namespace {

// A file whose superblock extension holds a file space info message (version 1, 29 bytes with
// 8-byte offsets and lengths), and where that message lies.
struct fsinfo_file {
  std::string bytes;
  craft::v2_header extension;
  craft::v2_message message;
};

fsinfo_file file_space_file(const scratch_dir& dir, bool persist = false) {
  const fs::path path = dir / "fsinfo-source.h5";
  craft::write_extension_file(path, [&](hid_t fcpl) {
    REQUIRE(H5Pset_file_space_strategy(
                fcpl, persist ? H5F_FSPACE_STRATEGY_FSM_AGGR : H5F_FSPACE_STRATEGY_AGGR, persist,
                1) >= 0);
  });
  fsinfo_file f;
  f.bytes = slurp(path);
  f.extension = craft::parse_v2_header(f.bytes, craft::superblock_extension(f.bytes));
  f.message = craft::message_of_type(f.extension, raw::message_type::fsinfo);
  REQUIRE(f.bytes[f.message.body_at] == 1);  // version 1
  REQUIRE(f.message.size == (persist ? 29u + 12 * 8 : 29u));
  return f;
}

// Rewrites the file space info message of `f` as a message of `type` with `body`.
std::string replace_fsinfo(const fsinfo_file& f, unsigned type, const std::string& body) {
  std::string b = f.bytes;
  b[f.message.header_at] = static_cast<char>(type);
  b[f.message.header_at + 3] = 0;  // message flags
  std::memcpy(&b[f.message.body_at], body.data(), body.size());
  if (body.size() < f.message.size) craft::shrink_message(b, f.extension, f.message, body.size());
  craft::refresh_checksums(b);
  return b;
}

std::string cache_image_body(std::uint64_t address, std::uint64_t size) {
  std::string body(17, '\0');
  craft::put(body, 1, 8, address);
  craft::put(body, 9, 8, size);
  return body;
}

}  // namespace

TEST_CASE("a metadata cache image is refused before libhdf5 allocates it", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const auto f = file_space_file(dir);
  const auto baseline = craft::run_in_child(dir.path(), [&] {
    spit(dir / "baseline.h5", f.bytes);
    craft::read_everything(dir / "baseline.h5");
  });
  REQUIRE(baseline.status == 0);
  {
    // A small file declaring a 256 MiB image past its end: libhdf5 allocates the image's size as
    // it opens the file, and keeps it.
    const std::string bad =
        replace_fsinfo(f, raw::message_type::cache_image, cache_image_body(1 << 20, 256u << 20));
    REQUIRE(bad.size() < 8192);
    const auto r = expect_refused(dir, "image-past-end.h5", bad, ckpt::errc::bad_format,
                                  "superblock extension", "lies outside the");
    CHECK(r.offset == f.message.body_at + 1);
    INFO("peak RSS " << r.max_rss_kib << " KiB, baseline " << baseline.max_rss_kib
                     << " KiB; peak virtual memory " << r.vm_peak_kib << " KiB, baseline "
                     << baseline.vm_peak_kib << " KiB");
    CHECK(r.max_rss_kib < baseline.max_rss_kib + 64 * 1024);
    CHECK(r.vm_peak_kib < baseline.vm_peak_kib + 64 * 1024);
    // The control: libhdf5 1.10 on its own reserves the image as it opens the file (untouched
    // memory, which only the virtual peak shows), so the measure above can see it.
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    if (major == 1 && minor == 10) {
      const auto control = craft::run_in_child(dir.path(), [&] {
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        const hid_t file =
            H5Fopen((dir / "image-past-end.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        if (file >= 0) H5Dclose(H5Dopen2(file, "w", H5P_DEFAULT));
      });
      INFO("libhdf5 alone: peak virtual memory " << control.vm_peak_kib << " KiB");
      CHECK(control.vm_peak_kib > baseline.vm_peak_kib + 200 * 1024);
    }
  }
  {
    // Inside the file: its entries would stand in for metadata the preflight checked.
    const std::string bad =
        replace_fsinfo(f, raw::message_type::cache_image, cache_image_body(0, 64));
    const auto r = expect_refused(dir, "image-inside.h5", bad, ckpt::errc::unsupported,
                                  "superblock extension", "metadata cache image");
    CHECK(r.offset == f.message.body_at);
  }
  {
    const std::string bad =
        replace_fsinfo(f, raw::message_type::cache_image, cache_image_body(0, 0));
    expect_refused(dir, "image-empty.h5", bad, ckpt::errc::bad_format, "superblock extension",
                   "empty metadata cache image");
  }
}

TEST_CASE("driver info messages and shared message tables are refused", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const auto f = file_space_file(dir);
  {
    std::string body(29, '\0');
    std::memcpy(&body[1], "NCSAmult", 8);
    craft::put(body, 9, 2, 18);
    const std::string bad = replace_fsinfo(f, raw::message_type::driver_info, body);
    const auto r = expect_refused(dir, "driver.h5", bad, ckpt::errc::unsupported,
                                  "superblock extension", "'NCSAmult', driver info message");
    CHECK(r.offset == f.message.body_at);
  }
  {
    std::string body(29, '\0');
    std::memcpy(&body[1], "NCSAmult", 8);
    craft::put(body, 9, 2, 40);  // more than the message holds
    const std::string bad = replace_fsinfo(f, raw::message_type::driver_info, body);
    expect_refused(dir, "driver-long.h5", bad, ckpt::errc::bad_format, "superblock extension",
                   "driver info");
  }
  {
    const fs::path path = dir / "shared.h5";
    craft::write_extension_file(path, [](hid_t fcpl) {
      REQUIRE(H5Pset_shared_mesg_nindexes(fcpl, 1) >= 0);
      REQUIRE(H5Pset_shared_mesg_index(fcpl, 0, H5O_SHMESG_ALL_FLAG, 8) >= 0);
    });
    std::string bytes = slurp(path);
    REQUIRE(!craft::find_all(bytes, "SMTB").empty());
    const auto ext = craft::parse_v2_header(bytes, craft::superblock_extension(bytes));
    const auto& table = craft::message_of_type(ext, raw::message_type::shared_table);
    expect_refused(dir, "shared.h5", bytes, ckpt::errc::unsupported, "superblock extension",
                   "shared message table");
    // libhdf5 sizes an 8-entry array by this count; any count is refused the same way.
    bytes[table.body_at + 9] = static_cast<char>(200);
    craft::refresh_checksums(bytes);
    expect_refused(dir, "shared-200.h5", bytes, ckpt::errc::unsupported, "superblock extension",
                   "shared message table");
  }
}

TEST_CASE("file space info messages are checked field by field", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const auto f = file_space_file(dir);
  const std::size_t body = f.message.body_at;
  {
    std::string bad = f.bytes;  // ends inside the page size
    craft::shrink_message(bad, f.extension, f.message, 15);
    craft::refresh_checksums(bad);
    expect_refused(dir, "short.h5", bad, ckpt::errc::bad_format, "superblock extension",
                   "file space page size");
  }
  {
    std::string bad = f.bytes;
    bad[body + 1] = 9;  // strategy
    craft::refresh_checksums(bad);
    const auto r = expect_refused(dir, "strategy.h5", bad, ckpt::errc::bad_format,
                                  "superblock extension", "unknown file space strategy 9");
    CHECK(r.offset == body + 1);
  }
  {
    std::string bad = f.bytes;
    craft::put(bad, body + 11, 8, 256);  // page size
    craft::refresh_checksums(bad);
    const auto r = expect_refused(dir, "page.h5", bad, ckpt::errc::bad_format,
                                  "superblock extension", "page size 256");
    CHECK(r.offset == body + 11);
  }
  {
    std::string bad = f.bytes;  // persistent, without the managers' addresses
    bad[body + 2] = 1;
    craft::refresh_checksums(bad);
    expect_refused(dir, "persist-short.h5", bad, ckpt::errc::bad_format, "superblock extension",
                   "free-space manager addresses");
  }
  {
    std::string bad = f.bytes;
    bad[body] = 2;
    craft::refresh_checksums(bad);
    expect_refused(dir, "version.h5", bad, ckpt::errc::bad_format, "superblock extension",
                   "file space info version 2");
  }
  {
    const auto persist = file_space_file(dir, true);
    const auto r = expect_refused(dir, "persist.h5", persist.bytes, ckpt::errc::unsupported,
                                  "superblock extension", "persistent free-space managers");
    CHECK(r.offset == persist.message.body_at + 2);
  }
}

TEST_CASE("dense attribute messages are checked as compact ones are", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const fs::path source = dir / "attributes.h5";
  craft::write_group_file(source, {.datasets = 2, .attributes = 20});
  const std::string good = slurp(source);
  REQUIRE(craft::find_all(good, "FRHP").size() == 1);
  // Version 3 attribute message: version, flags, sizes of name, datatype and dataspace, charset,
  // name, datatype (here version 1 fixed-point, size at byte 4), dataspace, data.
  const std::size_t name_at = craft::find_one(good, "attribute_05");
  const std::size_t message = name_at - 9;
  REQUIRE(good[message] == 3);
  const std::size_t name_size = craft::get(good, message + 2, 2);
  const std::size_t type_at = name_at + name_size;
  REQUIRE(good[type_at] == 0x10);
  {
    std::string bad = good;  // 4096-byte elements in a message of a few dozen bytes
    craft::put(bad, type_at + 4, 4, 4096);
    craft::refresh_checksums(bad);
    expect_refused(dir, "overrun.h5", bad, ckpt::errc::bad_format, "/g/d00", "more than the");
  }
  {
    std::string bad = good;
    for (std::size_t i = 0; i < name_size; ++i) bad[name_at + i] = 'a';
    craft::refresh_checksums(bad);
    expect_refused(dir, "name.h5", bad, ckpt::errc::bad_format, "/g/d00", "NUL-terminated");
  }
}

TEST_CASE("variable-length attributes in dense storage are checked against the global heap",
          "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const fs::path path = dir / "strings.h5";
  craft::write_group_file(path, {.datasets = 1, .attributes = 20, .strings = true});
  const std::string good = slurp(path);
  REQUIRE(craft::find_all(good, "FRHP").size() == 1);
  CHECK(preflight_everything(path) == 3);
  // The attribute's two elements (length, collection address, index) live in its heap object.
  const std::size_t collection = craft::find_one(good, "GCOL");
  std::string address(8, '\0');
  craft::put(address, 0, 8, collection);
  std::size_t element = 0;
  for (auto at : craft::find_all(good, address))
    if (at >= 4 && craft::get(good, at - 4, 4) == 5) element = at - 4;  // "first"
  REQUIRE(element != 0);
  std::string bad = good;
  craft::put(bad, element + 12, 4, 999);
  craft::refresh_checksums(bad);
  spit(path, bad);
  try {
    preflight_everything(path);
    FAIL("a dangling heap reference passed");
  } catch (const ckpt::error& e) {
    INFO(e.what());
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(e.file() == path.string());
    CHECK(e.key() == "/g/d00@names");
    CHECK(e.offset() == element);
    CHECK(std::string(e.what()).find("999") != std::string::npos);
  }
}

TEST_CASE("corrupted fractal heap and v2 B-tree blocks are refused", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const fs::path source = dir / "dense.h5";
  craft::write_group_file(source, {.datasets = static_cast<int>(dense)});
  const std::string good = slurp(source);
  const std::size_t heap = craft::find_one(good, "FRHP");
  const std::size_t tree = craft::find_one(good, "BTHD");
  const auto blocks = craft::heap_direct_blocks(good, heap);
  REQUIRE(blocks.size() == 1);
  const std::size_t block = blocks[0].first;
  const std::size_t leaf = craft::get(good, tree + 16, 8);
  const std::size_t records = craft::get(good, tree + 24, 2);
  REQUIRE(records == std::size_t{dense});
  REQUIRE(good.compare(leaf, 4, "BTLF") == 0);
  REQUIRE(craft::get(good, tree + 10, 2) == 11);  // name hash and a 7-byte heap ID

  {
    std::string bad = good;  // a link name changed, checksum left alone
    bad[craft::find_one(good, "d07")] = 'e';
    const auto r = expect_refused(dir, "block-sum.h5", bad, ckpt::errc::checksum_mismatch, "/g",
                                  "direct block does not match its checksum");
    CHECK(*r.offset > block);
  }
  {
    std::string bad = good;  // a block claiming another place in the heap
    bad[block + 13] = 0x40;
    craft::refresh_checksums(bad);
    const auto r = expect_refused(dir, "block-offset.h5", bad, ckpt::errc::bad_format, "/g",
                                  "claims heap offset");
    CHECK(r.offset == block + 13);
  }
  {
    std::string bad = good;
    bad[block] = 'X';
    craft::refresh_checksums(bad);
    expect_refused(dir, "block-signature.h5", bad, ckpt::errc::bad_format, "/g", "FHDB");
  }
  {
    std::string bad = good;  // doubling table width 3
    craft::put(bad, heap + 110, 2, 3);
    craft::refresh_checksums(bad);
    expect_refused(dir, "heap-width.h5", bad, ckpt::errc::bad_format, "/g", "width 3");
  }
  {
    std::string bad = good;  // root indirect block of more rows than the heap can have
    craft::put(bad, heap + 140, 2, 60);
    craft::refresh_checksums(bad);
    expect_refused(dir, "heap-rows.h5", bad, ckpt::errc::bad_format, "/g", "rows where at most");
  }
  {
    std::string bad = good;  // a damaged filter length: the checksum is then looked for later
    craft::put(bad, heap + 7, 2, 8);
    craft::refresh_checksums(bad);
    expect_refused(dir, "heap-filter-length.h5", bad, ckpt::errc::checksum_mismatch, "/g",
                   "fractal heap header does not match");
  }
  {
    std::string bad = good;  // a filtered heap: 8 bytes of root block size, mask, 8 of pipeline
    craft::put(bad, heap + 7, 2, 8);
    const std::size_t filtered = 146 + 8 + 4 + 8;
    craft::put(bad, heap + filtered - 4, 4, craft::checksum(bad, heap, filtered - 4));
    const auto r =
        expect_refused(dir, "heap-filtered.h5", bad, ckpt::errc::unsupported, "/g", "I/O filters");
    CHECK(r.offset == heap + 7);
  }
  {
    std::string bad = good;
    bad[heap + 20] ^= 1;  // inside the header, checksum left alone
    expect_refused(dir, "heap-sum.h5", bad, ckpt::errc::checksum_mismatch, "/g",
                   "fractal heap header");
  }
  {
    std::string bad = good;
    bad[leaf + 10] ^= 1;  // a record's heap ID, checksum left alone
    expect_refused(dir, "leaf-sum.h5", bad, ckpt::errc::checksum_mismatch, "/g", "leaf");
  }
  {
    std::string bad = good;  // more records in the root leaf than a 512-byte node holds
    craft::put(bad, tree + 24, 2, 1000);
    craft::refresh_checksums(bad);
    expect_refused(dir, "leaf-count.h5", bad, ckpt::errc::bad_format, "/g",
                   "records where at most");
  }
  {
    std::string bad = good;
    craft::put(bad, tree + 26, 8, 21);  // total differs from the root's count
    craft::refresh_checksums(bad);
    expect_refused(dir, "leaf-total.h5", bad, ckpt::errc::bad_format, "/g", "record total");
  }
  {
    std::string bad = good;
    bad[tree + 5] = 8;  // an attribute index where the link name index belongs
    craft::refresh_checksums(bad);
    expect_refused(dir, "tree-type.h5", bad, ckpt::errc::bad_format, "/g", "type 8");
  }
  {
    std::string bad = good;
    craft::put(bad, tree + 12, 2, 3);  // depth 3 with a leaf as root
    craft::refresh_checksums(bad);
    expect_refused(dir, "tree-depth.h5", bad, ckpt::errc::bad_format, "/g", "BTIN");
  }
  const std::size_t id = leaf + 6 + 4;  // the first record's heap ID, after the name hash
  REQUIRE(good[id] == 0);               // a managed object
  {
    std::string bad = good;  // an offset past the heap's one direct block
    craft::put(bad, id + 1, 4, 0x00ffff00);
    craft::refresh_checksums(bad);
    const auto r =
        expect_refused(dir, "id-offset.h5", bad, ckpt::errc::bad_format, "/g", "direct block");
    CHECK(r.offset == id);
  }
  {
    std::string bad = good;  // an offset inside the block's prefix
    craft::put(bad, id + 1, 4, 3);
    craft::refresh_checksums(bad);
    expect_refused(dir, "id-prefix.h5", bad, ckpt::errc::bad_format, "/g", "lies outside its");
  }
  {
    std::string bad = good;
    bad[id] = 0x10;  // a huge object, stored outside the heap's blocks
    craft::refresh_checksums(bad);
    expect_refused(dir, "id-huge.h5", bad, ckpt::errc::unsupported, "/g", "huge object");
  }
  {
    std::string bad = good;
    bad[id] = 0x2f;  // a tiny object of 16 bytes in a 7-byte ID
    craft::refresh_checksums(bad);
    expect_refused(dir, "id-tiny.h5", bad, ckpt::errc::bad_format, "/g", "tiny heap object");
  }
}

// Enough links for a root indirect block over several direct blocks and a B-tree of depth 1.
TEST_CASE("large dense groups load and their inner blocks are checked", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const fs::path source = dir / "large.h5";
  constexpr int links = 600;
  craft::write_group_file(source, {.datasets = links});
  const std::string good = slurp(source);
  const std::size_t heap = craft::find_one(good, "FRHP");
  const std::size_t tree = craft::find_one(good, "BTHD");
  REQUIRE(craft::get(good, heap + 140, 2) > 0);  // the heap's root is an indirect block
  const std::size_t iblock = craft::get(good, heap + 132, 8);
  REQUIRE(good.compare(iblock, 4, "FHIB") == 0);
  REQUIRE(craft::heap_direct_blocks(good, heap).size() > 4);
  REQUIRE(craft::get(good, tree + 12, 2) == 1);  // depth 1: a root internal node over leaves
  const std::size_t root = craft::get(good, tree + 16, 8);
  REQUIRE(good.compare(root, 4, "BTIN") == 0);

  CHECK(preflight_everything(source) == 2u + links);
  const auto r = craft::run_in_child(dir.path(), [&] {
    if (craft::read_everything(source) != links) throw std::runtime_error("entries");
  });
  INFO(r.message << r.printed);
  CHECK(r.status == 0);
  CHECK(r.printed.empty());
  {
    std::string copy = good;  // recomputing every checksum changes nothing in a good file
    craft::refresh_checksums(copy);
    CHECK(copy == good);
  }
  {
    std::string bad = good;
    bad[iblock + 20] ^= 1;
    expect_refused(dir, "iblock-sum.h5", bad, ckpt::errc::checksum_mismatch, "/g",
                   "indirect block does not match");
  }
  {
    std::string bad = good;  // the first direct block's entry points back at the indirect block
    const std::size_t entry = iblock + 5 + 8 + 4;
    craft::put(bad, entry, 8, iblock);
    craft::refresh_checksums(bad);
    const auto e =
        expect_refused(dir, "iblock-loop.h5", bad, ckpt::errc::bad_format, "/g", "reached twice");
    CHECK(e.offset == entry);
  }
  {
    std::string bad = good;  // the second entry points at the first entry's block
    const std::size_t entry = iblock + 5 + 8 + 4;
    craft::put(bad, entry + 8, 8, craft::get(good, entry, 8));
    craft::refresh_checksums(bad);
    expect_refused(dir, "iblock-twice.h5", bad, ckpt::errc::bad_format, "/g", "reached twice");
  }
  {
    std::string bad = good;
    bad[root + 20] ^= 1;
    expect_refused(dir, "internal-sum.h5", bad, ckpt::errc::checksum_mismatch, "/g",
                   "internal node does not match");
  }
  {
    // The first child's record count one lower: the counts no longer add up to the total.
    std::string bad = good;
    const std::size_t records = craft::get(good, tree + 24, 2);
    const std::size_t pointer = root + 6 + records * 11;
    const std::size_t first = craft::get(good, pointer + 8, 1);
    craft::put(bad, pointer + 8, 1, first - 1);
    craft::refresh_checksums(bad);
    expect_refused(dir, "internal-count.h5", bad, ckpt::errc::bad_format, "/g", "add up");
  }
  {
    std::string bad = good;  // two children sharing one leaf
    const std::size_t records = craft::get(good, tree + 24, 2);
    const std::size_t pointer = root + 6 + records * 11;
    craft::put(bad, pointer + 9, 8, craft::get(good, pointer, 8));
    craft::put(bad, pointer + 17, 1, craft::get(good, pointer + 8, 1));
    craft::refresh_checksums(bad);
    expect_refused(dir, "internal-twice.h5", bad, ckpt::errc::bad_format, "/g", "reached twice");
  }
}

TEST_CASE("dense storage walks stop at their caps", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  const fs::path path = dir / "caps.h5";
  craft::write_group_file(path, {.datasets = static_cast<int>(dense)});
  const std::string bytes = slurp(path);
  const std::size_t heap = craft::find_one(bytes, "FRHP");
  const std::size_t tree = craft::find_one(bytes, "BTHD");
  const auto src = raw::source::open(path, path.string());
  const auto limit_of = [&](auto walk) -> ckpt::errc {
    try {
      walk();
    } catch (const ckpt::error& e) {
      INFO(e.what());
      CHECK(e.file() == path.string());
      CHECK(e.key() == "/g");
      CHECK(e.offset().has_value());
      return e.code();
    }
    FAIL("the walk went past its cap");
    return ckpt::errc::io;
  };
  std::uint64_t read = 0;
  // The header (146 bytes) fits, the 512-byte direct block does not.
  CHECK(limit_of([&] {
          raw::read_fractal_heap(src, heap, 7, 8, 8, "/g", {.max_bytes = 400}, read);
        }) == ckpt::errc::limit);
  const auto visit = [](std::span<const std::byte>, std::uint64_t) {};
  read = 0;
  CHECK(limit_of([&] {
          raw::walk_btree2(src, tree, raw::btree2_type::link_name, 11, 8, 8, "/g",
                           {.max_records = 19}, read, visit);
        }) == ckpt::errc::limit);
  read = 0;
  CHECK(limit_of([&] {
          raw::walk_btree2(src, tree, raw::btree2_type::link_name, 11, 8, 8, "/g",
                           {.max_bytes = 100}, read, visit);
        }) == ckpt::errc::limit);
  // Within the caps, the same walks see every record.
  read = 0;
  std::size_t records = 0;
  const auto heap_found = raw::read_fractal_heap(src, heap, 7, 8, 8, "/g", {}, read);
  raw::walk_btree2(src, tree, raw::btree2_type::link_name, 11, 8, 8, "/g", {}, read,
                   [&](std::span<const std::byte> r, std::uint64_t at) {
                     const auto m =
                         raw::read_heap_object(src, heap_found, r.subspan(4, 7), at + 4, "/g");
                     raw::cursor c(src, m.bytes, m.address, "/g");
                     CHECK(raw::read_link(c, 8).type == raw::link_type::hard);
                     ++records;
                   });
  CHECK(records == dense);
}

namespace {

struct sweep_outcome {
  std::size_t loaded = 0, refused = 0;
  std::string problems;  // crashes, hangs, other exceptions, foreign errors, anything printed
};

// Changes every byte of `ranges` ({offset, length}) of `good` in turn, to its complement and, for
// every eighth byte, to 0 and 0xff too; recomputes the checksums and loads the file in a child.
// Under AddressSanitizer every fourth byte (a child costs ~45 ms there: all of them took 4
// minutes).
sweep_outcome sweep_bytes(const scratch_dir& dir, const std::string& good,
                          const std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  const fs::path path = dir / "swept.h5";
  const std::size_t stride = address_sanitizer ? 4 : 1;
  sweep_outcome out;
  for (const auto& [begin, length] : ranges) {
    REQUIRE(begin + length <= good.size());
    for (std::size_t at = begin; at < begin + length; at += stride) {
      for (int way = 0; way < (at % 8 == 0 ? 3 : 1); ++way) {
        std::string bad = good;
        const char changed = way == 0 ? static_cast<char>(~bad[at]) : way == 1 ? '\0' : '\xff';
        if (changed == good[at]) continue;
        bad[at] = changed;
        craft::refresh_checksums(bad);
        spit(path, bad);
        const auto r = craft::run_in_child(dir.path(), [&] { craft::read_everything(path); });
        const bool known = r.code == ckpt::errc::bad_format ||
                           r.code == ckpt::errc::checksum_mismatch ||
                           r.code == ckpt::errc::unsupported || r.code == ckpt::errc::limit;
        const bool refused = r.status == 1 && known && r.file == path.string();
        if (r.status == 0) ++out.loaded;
        if (refused) ++out.refused;
        if ((r.status != 0 && !refused) || !r.printed.empty())
          out.problems += "byte " + std::to_string(at) + " = " +
                          std::to_string(static_cast<unsigned char>(changed)) + ": status " +
                          std::to_string(r.status) + " " + r.message + " " +
                          r.printed.substr(0, 300) + "\n";
      }
    }
  }
  return out;
}

// The fractal heap header, direct blocks and root indirect block, and the v2 B-tree header and
// root node (all of its bytes) of a file holding one heap and one B-tree.
std::vector<std::pair<std::size_t, std::size_t>> dense_ranges(const std::string& b) {
  const std::size_t heap = craft::find_one(b, "FRHP");
  const std::size_t tree = craft::find_one(b, "BTHD");
  std::vector<std::pair<std::size_t, std::size_t>> ranges = {{heap, 146}, {tree, 38}};
  for (const auto& block : craft::heap_direct_blocks(b, heap)) ranges.push_back(block);
  const std::size_t table = heap + 110;
  const std::size_t root = craft::get(b, table + 22, 8), rows = craft::get(b, table + 30, 2);
  if (rows > 0) ranges.emplace_back(root, 5 + 8 + 4 + rows * craft::get(b, table, 2) * 8 + 4);
  ranges.emplace_back(craft::get(b, tree + 16, 8), craft::get(b, tree + 6, 4));
  return ranges;
}

}  // namespace

// Every byte of dense storage (fractal heap header, indirect and direct blocks, v2 B-tree header
// and root node) and of the headers pointing at it changed, with the checksums made valid again
// so that the damage reaches what lies behind them: each file loads or is refused with a
// ckpt::error naming it, and nothing crashes, hangs or prints.
TEST_CASE("byte corruptions of dense storage behind valid checksums never crash or print",
          "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-crafted");
  {
    INFO("dense links, an external and a soft one among them");
    const std::string good = links_file(dir, dense);
    auto ranges = dense_ranges(good);
    // The root's one link message, a hard link "g": version, flags 0, name length, name, address.
    const auto root = craft::parse_v2_header(good, craft::get(good, 36, 8));
    const auto& link = craft::message_of_type(root, raw::message_type::link);
    REQUIRE(good.compare(link.body_at, 4, std::string("\x01\x00\x01g", 4)) == 0);
    const auto g = craft::parse_v2_header(good, craft::get(good, link.body_at + 4, 8));
    ranges.emplace_back(g.address, g.checksum_at - g.address);
    const auto r = sweep_bytes(dir, good, ranges);
    INFO(r.problems.substr(0, 4000));
    CHECK(r.problems.empty());
    CHECK(r.refused > 0);
    CHECK(r.loaded == 0);  // the reader refuses the links ckpt never follows
  }
  {
    INFO("links in a group's header");
    const std::string good = links_file(dir, compact);
    const auto root = craft::parse_v2_header(good, craft::get(good, 36, 8));
    const auto& link = craft::message_of_type(root, raw::message_type::link);
    const auto g = craft::parse_v2_header(good, craft::get(good, link.body_at + 4, 8));
    const auto r = sweep_bytes(dir, good, {{g.address, g.checksum_at - g.address}});
    INFO(r.problems.substr(0, 4000));
    CHECK(r.problems.empty());
    CHECK(r.refused > 0);
  }
  {
    INFO("dense attributes");
    const fs::path source = dir / "attributes.h5";
    craft::write_group_file(source, {.datasets = 1, .attributes = 20, .strings = true});
    const std::string good = slurp(source);
    const auto r = sweep_bytes(dir, good, dense_ranges(good));
    INFO(r.problems.substr(0, 4000));
    CHECK(r.problems.empty());
    CHECK(r.refused > 0);
    CHECK(r.loaded > 0);  // changes to unused bytes, hashes and attribute values still load
  }
  {
    INFO("a root indirect block and a B-tree internal node");
    const fs::path source = dir / "large.h5";
    craft::write_group_file(source, {.datasets = 100});
    const std::string good = slurp(source);
    auto ranges = dense_ranges(good);
    REQUIRE(ranges.size() > 5);
    ranges.erase(ranges.begin() + 3, ranges.end() - 2);  // the first direct block only
    const auto r = sweep_bytes(dir, good, ranges);
    INFO(r.problems.substr(0, 4000));
    CHECK(r.problems.empty());
    CHECK(r.refused > 0);
    CHECK(r.loaded > 0);
  }
  {
    INFO("a superblock extension with file space info");
    const auto f = file_space_file(dir);
    const auto r = sweep_bytes(
        dir, f.bytes, {{f.extension.address, f.extension.checksum_at - f.extension.address}});
    INFO(r.problems.substr(0, 4000));
    CHECK(r.problems.empty());
    CHECK(r.refused > 0);
    CHECK(r.loaded > 0);
  }
}
