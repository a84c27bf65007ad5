// SPDX-License-Identifier: Apache-2.0
// The HDF5 rows of the reliability catalog (H1..H12, section 4a of reliability_catalog.md), one
// test case per row. Each file is written by libhdf5 (or by ckpt, for the Keras layouts), changed
// through libhdf5's API or patched byte by byte, and loaded through ckpt in a forked child, so
// that a crash or a hang inside libhdf5 is observed rather than fatal. A refused file must give
// the errc the README promises, a message naming the file, nothing on stderr and no more memory
// than a clean load plus a margin.

#include <hdf5.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/files.hpp"
#include "../support/hdf5_crafting.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"
#include "ckpt/formats/hdf5/raw/lookup3.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;
namespace craft = ckpt_test::crafting;

namespace {

// Opens `path` and reads every entry; returns the number of entries.
std::size_t read_all(const fs::path& path, const ckpt::load_options& options) {
  ckpt::reader reader(path, options);
  for (const auto& e : reader.entries()) {
    if (e.dtype == ckpt::dtype::string) {
      std::vector<std::string> strings(ckpt::num_elements(e.shape));
      ckpt::mutable_tensor_view out{e.dtype, e.shape, {}, strings};
      reader.impl().read(static_cast<std::size_t>(&e - reader.entries().data()), out);
    } else {
      std::vector<std::byte> bytes(e.bytes);
      ckpt::mutable_tensor_view out{e.dtype, e.shape, bytes, {}};
      reader.impl().read(static_cast<std::size_t>(&e - reader.entries().data()), out);
    }
  }
  return reader.entries().size();
}

child_result load_in_child(const scratch_dir& dir, const fs::path& path,
                           const ckpt::load_options& options = {}) {
  // A few seconds is far more than any of these files needs; a walk that does not end is a hang.
  return ckpt_test::run_in_child(
      dir / "child-stderr.txt", [&] { read_all(path, options); }, 10);
}

// The memory a child loading a small well-formed file peaks at.
const child_result& catalog_clean_load() {
  static const child_result r = [] {
    scratch_dir dir("ckpt-hdf5-catalog");
    const fs::path path = dir / "clean.h5";
    craft::write_group_file(path, {.datasets = 2});
    return load_in_child(dir, path);
  }();
  REQUIRE(r.status == 0);
  return r;
}

void check_bounded_memory(const child_result& r) {
  const auto& clean = catalog_clean_load();
  INFO("peak RSS " << r.max_rss_kib << " KiB, virtual " << r.vm_peak_kib << " KiB; clean load "
                   << clean.max_rss_kib << " and " << clean.vm_peak_kib << " KiB");
  CHECK(r.max_rss_kib < clean.max_rss_kib + 64 * 1024);
  CHECK(r.vm_peak_kib < clean.vm_peak_kib + 64 * 1024);
}

// Loads `path` in a child: refused with `code`, naming the file (and `object` unless empty), its
// message holding `words`, nothing printed, bounded memory.
child_result expect_refused(const scratch_dir& dir, const fs::path& path, ckpt::errc code,
                            const std::string& words, const std::string& object = {},
                            const ckpt::load_options& options = {}) {
  const auto r = load_in_child(dir, path, options);
  INFO(path.filename().string() << ": status " << r.status << ", errc " << ckpt::to_string(r.code)
                                << ": " << r.message << "\nprinted: " << r.printed);
  CHECK(r.status == 1);
  CHECK(r.code == code);
  CHECK(r.file == path.string());
  CHECK(r.message.starts_with(path.string() + ": "));
  if (!object.empty()) CHECK(r.object == object);
  CHECK(r.message.find(words) != std::string::npos);
  CHECK(r.printed.empty());
  check_bounded_memory(r);
  return r;
}

// Writes `bytes` to dir/name and expects it refused.
child_result expect_refused_bytes(const scratch_dir& dir, const std::string& name,
                                  const std::string& bytes, ckpt::errc code,
                                  const std::string& words, const std::string& object = {}) {
  const fs::path path = dir / name;
  spit(path, bytes);
  return expect_refused(dir, path, code, words, object);
}

// Loads `path` in a child: it must load, nothing printed.
void expect_loads(const scratch_dir& dir, const fs::path& path,
                  const ckpt::load_options& options = {}) {
  const auto r = load_in_child(dir, path, options);
  INFO(path.filename().string() << ": status " << r.status << ": " << r.message
                                << "\nprinted: " << r.printed);
  CHECK(r.status == 0);
  CHECK(r.printed.empty());
}

// ---- files written by libhdf5 ----

struct h5_file {
  hid_t id = -1;
  h5_file(const fs::path& path, bool latest = false, hid_t fcpl = H5P_DEFAULT) {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (latest) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fapl);
    REQUIRE(id >= 0);
  }
  ~h5_file() { H5Fclose(id); }
  h5_file(const h5_file&) = delete;
  h5_file& operator=(const h5_file&) = delete;
};

// Dataset `name` of `type` and shape `dims` under `loc`, written from `data` (of `memory` type)
// unless null; returns the address of its contiguous data (undefined for other layouts).
haddr_t add_dataset(hid_t loc, const char* name, hid_t type, std::vector<hsize_t> dims,
                    hid_t dcpl = H5P_DEFAULT, const void* data = nullptr,
                    hid_t memory = H5T_NATIVE_FLOAT, const hsize_t* maxdims = nullptr) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims);
  const hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  REQUIRE(d >= 0);
  if (data) REQUIRE(H5Dwrite(d, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  const haddr_t offset = H5Dget_offset(d);
  H5Dclose(d);
  H5Sclose(space);
  return offset;
}

// A file holding float32 /w = {1, 2, 3, 4}; the address of its data.
haddr_t write_plain(const fs::path& path, bool latest = false, hid_t fcpl = H5P_DEFAULT) {
  h5_file f(path, latest, fcpl);
  const float values[4] = {1, 2, 3, 4};
  return add_dataset(f.id, "w", H5T_IEEE_F32LE, {4}, H5P_DEFAULT, values);
}

std::string le_bytes(std::uint64_t v, std::size_t width) {
  std::string s(width, '\0');
  craft::put(s, 0, width, v);
  return s;
}

// Superblock version 2 and 3: the checksum over the 44 bytes before it.
void refresh_superblock_checksum(std::string& b) {
  craft::put(b, 44, 4, craft::checksum(b, 0, 44));
}

// A v1 B-tree chunk index node of rank-1 chunks: "TREE", type, level, entries, two siblings, then
// keys (chunk size, filter mask, two offsets: 24 bytes) and child addresses, interleaved.
constexpr std::size_t tree_child0 = 24 + 24;

// ---- Keras 2 files written by ckpt, then changed through libhdf5 ----

struct CatalogLayer {
  std::vector<float> kernel, bias;
};
struct CatalogModel {
  CatalogLayer conv, dense;
};

void write_keras2(const fs::path& path) {
  CatalogModel m{{{1, 2, 3}, {4}}, {{5, 6}, {7}}};
  ckpt::save_options options;
  options.format = "keras2";
  options.sync = false;
  ckpt::save(m, path, options);
}

template <class Edit>
void edit_file(const fs::path& path, Edit edit) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(f >= 0);
  edit(f);
  REQUIRE(H5Fclose(f) >= 0);
}

// Replaces attribute `name` of `object` (a path under `file`) with `n` elements of `type`.
void put_attribute(hid_t file, const char* object, const std::string& name, hid_t type, hsize_t n,
                   const void* data) {
  const hid_t o = H5Oopen(file, object, H5P_DEFAULT);
  REQUIRE(o >= 0);
  if (H5Aexists(o, name.c_str()) > 0) REQUIRE(H5Adelete(o, name.c_str()) >= 0);
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t a = H5Acreate2(o, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(a >= 0);
  if (n > 0) REQUIRE(H5Awrite(a, type, data) >= 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Oclose(o);
}

void delete_attribute(hid_t file, const char* object, const std::string& name) {
  const hid_t o = H5Oopen(file, object, H5P_DEFAULT);
  REQUIRE(o >= 0);
  REQUIRE(H5Adelete(o, name.c_str()) >= 0);
  H5Oclose(o);
}

// Fixed-length strings of `width` bytes with padding `pad`: the bytes given, not terminated when
// a name fills its width.
void put_fixed_strings(hid_t file, const char* object, const std::string& name,
                       const std::vector<std::string>& values, std::size_t width, H5T_str_t pad) {
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, width);
  H5Tset_strpad(t, pad);
  std::string buffer(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i)
    std::memcpy(buffer.data() + i * width, values[i].data(), std::min(width, values[i].size()));
  put_attribute(file, object, name, t, values.size(), buffer.data());
  H5Tclose(t);
}

void put_vlen_strings(hid_t file, const char* object, const std::string& name,
                      const std::vector<std::string>& values) {
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  put_attribute(file, object, name, t, values.size(), pointers.data());
  H5Tclose(t);
}

void put_empty_list(hid_t file, const char* object, const std::string& name) {
  put_attribute(file, object, name, H5T_IEEE_F64LE, 0, nullptr);
}

std::vector<std::string> entry_names(const fs::path& path) {
  ckpt::reader reader(path);
  std::vector<std::string> names;
  for (const auto& e : reader.entries()) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

const std::vector<std::string> all_weights = {"conv/conv/bias:0", "conv/conv/kernel:0",
                                              "dense/dense/bias:0", "dense/dense/kernel:0"};

}  // namespace

TEST_CASE("H1: HDF5 signature placement, user blocks and truncated superblocks",
          "[hdf5][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");

  SECTION("a file with a user block (signature at 512 or 1024) loads") {
    // The README: the signature is looked for at 0, 512, 1024, ... as libhdf5 itself does.
    for (hsize_t block : {512u, 1024u}) {
      INFO("user block of " << block << " bytes");
      const fs::path path = dir / ("userblock" + std::to_string(block) + ".h5");
      const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
      REQUIRE(H5Pset_userblock(fcpl, block) >= 0);
      write_plain(path, false, fcpl);
      H5Pclose(fcpl);
      const std::string bytes = slurp(path);
      REQUIRE(craft::find_all(bytes, "\x89HDF\r\n\x1a\n") == std::vector<std::size_t>{block});
      expect_loads(dir, path);
      stderr_capture err;
      ckpt::reader reader(path);
      CHECK(reader.format() == "hdf5");
      const auto w = reader.read<float>("w");
      CHECK(std::vector<float>(w.begin(), w.end()) == std::vector<float>{1, 2, 3, 4});
      CHECK(err.finish().empty());
    }
  }

  SECTION("a signature at no allowed offset, or moved without its base address, is refused") {
    const fs::path plain = dir / "plain.h5";
    write_plain(plain);
    const std::string bytes = slurp(plain);
    // 300 bytes in front: the signature is at 300, where HDF5 never looks.
    expect_refused_bytes(dir, "at300.h5", std::string(300, 'x') + bytes, ckpt::errc::bad_format,
                         "no HDF5 signature");
    // 512 bytes in front without rewriting the base address: every address would point 512
    // bytes early.
    expect_refused_bytes(dir, "shifted512.h5", std::string(512, '\0') + bytes,
                         ckpt::errc::bad_format, "base address");
  }

  SECTION("a truncated superblock is refused") {
    const fs::path plain = dir / "plain.h5";
    write_plain(plain);
    const std::string v0 = slurp(plain);
    const fs::path latest = dir / "latest.h5";
    write_plain(latest, /*latest=*/true);
    const std::string v3 = slurp(latest);
    REQUIRE(v0[8] == 0);
    REQUIRE(v3[8] == 3);
    // Superblock 0 is 96 bytes with 8-byte addresses, 3 is 48.
    for (std::size_t cut : {8u, 9u, 12u, 16u, 23u, 40u, 56u, 88u, 95u})
      expect_refused_bytes(dir, "cut_v0_" + std::to_string(cut) + ".h5", v0.substr(0, cut),
                           ckpt::errc::bad_format, cut <= 8 ? "signature" : "");
    for (std::size_t cut : {9u, 20u, 36u, 47u})
      expect_refused_bytes(dir, "cut_v3_" + std::to_string(cut) + ".h5", v3.substr(0, cut),
                           ckpt::errc::bad_format, "");
    // A user block then a superblock cut short.
    const fs::path ub = dir / "ub.h5";
    const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    REQUIRE(H5Pset_userblock(fcpl, 512) >= 0);
    write_plain(ub, false, fcpl);
    H5Pclose(fcpl);
    expect_refused_bytes(dir, "cut_ub.h5", slurp(ub).substr(0, 512 + 30), ckpt::errc::bad_format,
                         "superblock");
  }
}

TEST_CASE("H2: superblock version, sizes of offsets and lengths, stored end of file",
          "[hdf5][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");
  const fs::path plain = dir / "plain.h5";
  const haddr_t data_at = write_plain(plain);
  const std::string v0 = slurp(plain);
  const fs::path latest = dir / "latest.h5";
  write_plain(latest, /*latest=*/true);
  const std::string v3 = slurp(latest);

  SECTION("an unknown superblock version is unsupported") {
    for (unsigned version : {4u, 9u, 255u}) {
      std::string b = v0;
      b[8] = static_cast<char>(version);
      expect_refused_bytes(dir, "v0_as_" + std::to_string(version) + ".h5", b,
                           ckpt::errc::unsupported,
                           "superblock version " + std::to_string(version));
      b = v3;
      b[8] = static_cast<char>(version);
      refresh_superblock_checksum(b);
      expect_refused_bytes(dir, "v3_as_" + std::to_string(version) + ".h5", b,
                           ckpt::errc::unsupported,
                           "superblock version " + std::to_string(version));
    }
  }

  SECTION("sizes of offsets and lengths outside {2, 4, 8}") {
    // Superblock 0 keeps them at bytes 13 and 14, superblocks 2 and 3 at 9 and 10.
    struct patch {
      std::size_t at_v0, at_v3;
      unsigned value;
      ckpt::errc code;
      const char* words;
    };
    for (const patch& p : {patch{13, 9, 0, ckpt::errc::bad_format, "size of offsets 0"},
                           patch{13, 9, 3, ckpt::errc::bad_format, "size of offsets 3"},
                           patch{13, 9, 255, ckpt::errc::bad_format, "size of offsets 255"},
                           patch{13, 9, 16, ckpt::errc::unsupported, "size of offsets 16"},
                           patch{14, 10, 1, ckpt::errc::bad_format, "size of lengths 1"},
                           patch{14, 10, 7, ckpt::errc::bad_format, "size of lengths 7"},
                           patch{14, 10, 32, ckpt::errc::unsupported, "size of lengths 32"}}) {
      std::string b = v0;
      b[p.at_v0] = static_cast<char>(p.value);
      expect_refused_bytes(dir, "sizes_v0.h5", b, p.code, p.words);
      b = v3;
      b[p.at_v3] = static_cast<char>(p.value);
      refresh_superblock_checksum(b);
      expect_refused_bytes(dir, "sizes_v3.h5", b, p.code, p.words);
    }
  }

  SECTION("a stored end of file below what the file uses") {
    // The data of /w lies at the file's end; an end of file before it leaves the data outside.
    REQUIRE(data_at + 16 == v0.size());
    std::string b = v0;
    REQUIRE(craft::get(b, 40, 8) == v0.size());  // superblock 0: end of file address at 40
    craft::put(b, 40, 8, data_at);
    expect_refused_bytes(dir, "eof_before_data.h5", b, ckpt::errc::bad_format, "outside", "/w");
    // Before the root group's object header: nothing of the file can be read.
    craft::put(b, 40, 8, 100);
    expect_refused_bytes(dir, "eof_before_root.h5", b, ckpt::errc::bad_format, "");
    b = v3;
    REQUIRE(craft::get(b, 28, 8) == v3.size());  // superblock 3: at 28, under the checksum
    craft::put(b, 28, 8, 60);
    refresh_superblock_checksum(b);
    expect_refused_bytes(dir, "eof_v3.h5", b, ckpt::errc::bad_format, "");
  }
}

TEST_CASE("H4: dataspace rank over 32 and maximum dims below dims", "[hdf5][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");

  SECTION("rank 33") {
    // A rank-32 dataspace with maximum dims has room for 64 dimensions: rank 33 without maximum
    // dims fits in the message, so only the rank is wrong.
    const fs::path path = dir / "rank32.h5";
    {
      h5_file f(path);
      const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      std::vector<hsize_t> dims(32, 1), maxdims(32, H5S_UNLIMITED);
      REQUIRE(H5Pset_chunk(dcpl, 32, dims.data()) >= 0);
      const float one = 1;
      add_dataset(f.id, "w", H5T_IEEE_F32LE, dims, dcpl, &one, H5T_NATIVE_FLOAT, maxdims.data());
      H5Pclose(dcpl);
    }
    expect_loads(dir, path);
    std::string b = slurp(path);
    // Dataspace message version 1: version, rank, flags (1: maximum dims), reserved (5).
    const std::size_t at =
        craft::find_one(b, std::string("\x01\x20\x01\x00\x00\x00\x00\x00", 8) + le_bytes(1, 8));
    b[at + 1] = 33;
    b[at + 2] = 0;
    expect_refused_bytes(dir, "rank33.h5", b, ckpt::errc::bad_format, "rank");
  }

  SECTION("maximum dims below dims") {
    const fs::path path = dir / "maxdims.h5";
    {
      h5_file f(path);
      const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      const hsize_t chunk = 2, maxdims = 8;
      REQUIRE(H5Pset_chunk(dcpl, 1, &chunk) >= 0);
      const float values[6] = {1, 2, 3, 4, 5, 6};
      add_dataset(f.id, "w", H5T_IEEE_F32LE, {6}, dcpl, values, H5T_NATIVE_FLOAT, &maxdims);
      H5Pclose(dcpl);
    }
    expect_loads(dir, path);
    std::string b = slurp(path);
    const std::size_t at = craft::find_one(
        b, std::string("\x01\x01\x01\x00\x00\x00\x00\x00", 8) + le_bytes(6, 8) + le_bytes(8, 8));
    for (std::uint64_t maxdims : {5ull, 0ull}) {
      craft::put(b, at + 16, 8, maxdims);
      expect_refused_bytes(dir, "maxdims" + std::to_string(maxdims) + ".h5", b,
                           ckpt::errc::bad_format, "dim");
    }
  }
}

TEST_CASE("H5: a datatype of size 0, and types ckpt has no dtype for", "[hdf5][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");

  SECTION("datatype size 0") {
    const fs::path path = dir / "int32.h5";
    {
      h5_file f(path);
      const std::int32_t values[3] = {1, 2, 3};
      add_dataset(f.id, "w", H5T_STD_I32LE, {3}, H5P_DEFAULT, values, H5T_NATIVE_INT32);
    }
    std::string b = slurp(path);
    // Integer class, version 1, signed, size 4, bit offset 0, precision 32.
    const std::size_t at =
        craft::find_one(b, std::string("\x10\x08\x00\x00\x04\x00\x00\x00\x00\x00\x20\x00", 12));
    craft::put(b, at + 4, 4, 0);
    expect_refused_bytes(dir, "size0.h5", b, ckpt::errc::bad_format, "size 0");
  }

  SECTION("compound, variable-length, reference and opaque datasets are refused") {
    // The README: a dataset's HDF5 type must map to a ckpt dtype, else the file is refused with
    // `unsupported` naming the dataset (the generic reader lists every dataset; none is skipped).
    const fs::path path = dir / "types.h5";
    const auto write = [&](const char* name, auto make) {
      h5_file f(path);
      const float ok[2] = {1, 2};
      add_dataset(f.id, "a_plain", H5T_IEEE_F32LE, {2}, H5P_DEFAULT, ok);
      make(f.id, name);
    };
    SECTION("compound") {
      write("record", [](hid_t file, const char* name) {
        struct record {
          std::int32_t a;
          double b;
        } values[2] = {{1, 2.0}, {3, 4.0}};
        const hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(record));
        H5Tinsert(t, "a", HOFFSET(record, a), H5T_NATIVE_INT32);
        H5Tinsert(t, "b", HOFFSET(record, b), H5T_NATIVE_DOUBLE);
        add_dataset(file, name, t, {2}, H5P_DEFAULT, values, t);
        H5Tclose(t);
      });
      expect_refused(dir, path, ckpt::errc::unsupported, "no dtype", "/record");
    }
    SECTION("variable-length") {
      write("ragged", [](hid_t file, const char* name) {
        std::int32_t first[1] = {1}, second[3] = {2, 3, 4};
        hvl_t values[2] = {{1, first}, {3, second}};
        const hid_t t = H5Tvlen_create(H5T_NATIVE_INT32);
        add_dataset(file, name, t, {2}, H5P_DEFAULT, values, t);
        H5Tclose(t);
      });
      expect_refused(dir, path, ckpt::errc::unsupported, "no dtype", "/ragged");
    }
    SECTION("object reference") {
      write("refs", [](hid_t file, const char* name) {
        hobj_ref_t refs[2];
        REQUIRE(H5Rcreate(&refs[0], file, "/a_plain", H5R_OBJECT, -1) >= 0);
        REQUIRE(H5Rcreate(&refs[1], file, "/", H5R_OBJECT, -1) >= 0);
        add_dataset(file, name, H5T_STD_REF_OBJ, {2}, H5P_DEFAULT, refs, H5T_STD_REF_OBJ);
      });
      expect_refused(dir, path, ckpt::errc::unsupported, "no dtype", "/refs");
    }
    SECTION("opaque") {
      write("blob", [](hid_t file, const char* name) {
        const hid_t t = H5Tcreate(H5T_OPAQUE, 4);
        H5Tset_tag(t, "four bytes");
        const char values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        add_dataset(file, name, t, {2}, H5P_DEFAULT, values, t);
        H5Tclose(t);
      });
      expect_refused(dir, path, ckpt::errc::unsupported, "no dtype", "/blob");
    }
  }
}

TEST_CASE("H6: storage outside the file, chunk dimension 0, chunk B-tree cycles and depth",
          "[hdf5][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");

  SECTION("contiguous data whose address + size runs past the end of file") {
    const fs::path path = dir / "plain.h5";
    const haddr_t data_at = write_plain(path);
    const std::string b = slurp(path);
    // Layout message version 3, contiguous: address, then size.
    const std::size_t at = craft::find_one(b, std::string("\x03\x01", 2) + le_bytes(data_at, 8));
    REQUIRE(craft::get(b, at + 10, 8) == 16);
    for (std::uint64_t address : {std::uint64_t{b.size() - 8}, std::uint64_t{b.size()},
                                  std::uint64_t{1} << 40, ~std::uint64_t{0} - 8}) {
      std::string patched = b;
      craft::put(patched, at + 2, 8, address);
      expect_refused_bytes(dir, "past_eof.h5", patched, ckpt::errc::bad_format, "", "/w");
    }
    // The size grown past the file, address kept.
    std::string patched = b;
    craft::put(patched, at + 10, 8, 1 << 20);
    expect_refused_bytes(dir, "size_past_eof.h5", patched, ckpt::errc::bad_format, "");
  }

  // 9 float32 in chunks of 3, or 200 in chunks of 1 (a chunk B-tree of depth 1).
  const auto write_chunked = [&](const fs::path& path, hsize_t n, hsize_t chunk) {
    h5_file f(path);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    REQUIRE(H5Pset_chunk(dcpl, 1, &chunk) >= 0);
    std::vector<float> values(n);
    for (hsize_t i = 0; i < n; ++i) values[i] = static_cast<float>(i);
    add_dataset(f.id, "w", H5T_IEEE_F32LE, {n}, dcpl, values.data());
    H5Pclose(dcpl);
  };

  SECTION("a chunk dimension of 0") {
    const fs::path path = dir / "chunked.h5";
    write_chunked(path, 9, 3);
    expect_loads(dir, path);
    std::string b = slurp(path);
    // Layout version 3, chunked, rank + 1 = 2, B-tree address, chunk dims (3, element size 4).
    std::size_t found = 0, at = 0;
    for (auto candidate : craft::find_all(b, std::string("\x03\x02\x02", 3)))
      if (craft::inside(b, candidate, 19) && craft::get(b, candidate + 11, 4) == 3 &&
          craft::get(b, candidate + 15, 4) == 4)
        ++found, at = candidate;
    REQUIRE(found == 1);
    craft::put(b, at + 11, 4, 0);
    expect_refused_bytes(dir, "chunk0.h5", b, ckpt::errc::bad_format, "chunk");
  }

  SECTION("a chunk B-tree that points back to itself, or claims a great depth") {
    const fs::path path = dir / "many_chunks.h5";
    write_chunked(path, 200, 1);
    expect_loads(dir, path);
    const std::string b = slurp(path);
    std::size_t root = 0, roots = 0;
    for (auto at : craft::find_all(b, "TREE"))
      if (b[at + 4] == 1 && b[at + 5] == 1) root = at, ++roots;  // chunk index, level 1
    REQUIRE(roots == 1);
    const auto leaf = static_cast<std::size_t>(craft::get(b, root + tree_child0, 8));
    REQUIRE(b.compare(leaf, 4, "TREE") == 0);
    const auto refused = [&](const std::string& name, const std::string& bytes) {
      const fs::path p = dir / name;
      spit(p, bytes);
      const auto r = load_in_child(dir, p);
      INFO(name << ": status " << r.status << ": " << r.message << "\nprinted: " << r.printed);
      CHECK(r.status == 1);
      CHECK(r.code == ckpt::errc::bad_format);
      CHECK(r.file == p.string());
      CHECK(r.printed.empty());
      check_bounded_memory(r);
    };
    std::string cycle = b;
    craft::put(cycle, root + tree_child0, 8, root);  // the root's first child is the root
    refused("btree_self.h5", cycle);
    cycle = b;
    craft::put(cycle, leaf + 5, 1, 1);  // a leaf that says it has children: its chunks
    refused("btree_leaf_as_node.h5", cycle);
    std::string deep = b;
    deep[root + 5] = static_cast<char>(200);  // depth 200 over leaves of level 0
    refused("btree_deep.h5", deep);
    deep[root + 5] = 1;
    craft::put(deep, leaf + 5, 1, 1);
    craft::put(deep, leaf + tree_child0, 8, root);  // root -> leaf -> root
    refused("btree_loop2.h5", deep);
  }
}

TEST_CASE("H7: unknown filters, nbit and scale-offset", "[hdf5][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");
  const float values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto write_filtered = [&](const fs::path& path, auto set_filters,
                                  hid_t type = H5T_IEEE_F32LE) {
    h5_file f(path);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hsize_t chunk = 4;
    REQUIRE(H5Pset_chunk(dcpl, 1, &chunk) >= 0);
    set_filters(dcpl);
    add_dataset(f.id, "w", type, {8}, dcpl, values);
    H5Pclose(dcpl);
  };

  SECTION("an optional filter libhdf5 does not have") {
    // libhdf5 writes the chunks with the filter skipped (filter mask set); ckpt still refuses a
    // pipeline naming a filter that is not available.
    const fs::path path = dir / "optional.h5";
    write_filtered(path, [](hid_t dcpl) {
      REQUIRE(H5Pset_filter(dcpl, 40000, H5Z_FLAG_OPTIONAL, 0, nullptr) >= 0);
    });
    expect_refused(dir, path, ckpt::errc::unsupported, "filter 40000", "/w");
  }

  SECTION("a mandatory filter patched to an unknown id") {
    const fs::path path = dir / "deflate.h5";
    write_filtered(path, [](hid_t dcpl) { REQUIRE(H5Pset_deflate(dcpl, 4) >= 0); });
    expect_loads(dir, path);
    std::string b = slurp(path);
    // Filter pipeline version 1: id, name length, flags, parameter count, then the name.
    const std::size_t name = craft::find_one(b, std::string("deflate\0", 8));
    REQUIRE(craft::get(b, name - 8, 2) == 1);
    for (std::uint64_t id : {40000u, 255u, 65535u}) {
      craft::put(b, name - 8, 2, id);
      craft::put(b, name - 4, 2, 0);  // mandatory
      expect_refused_bytes(dir, "unknown" + std::to_string(id) + ".h5", b, ckpt::errc::unsupported,
                           "filter " + std::to_string(id), "/w");
    }
  }

  SECTION("nbit and scale-offset datasets load through libhdf5") {
    const fs::path nbit = dir / "nbit.h5";
    write_filtered(nbit, [](hid_t dcpl) { REQUIRE(H5Pset_nbit(dcpl) >= 0); });
    const fs::path so = dir / "scaleoffset.h5";
    write_filtered(
        so, [](hid_t dcpl) { REQUIRE(H5Pset_scaleoffset(dcpl, H5Z_SO_FLOAT_DSCALE, 2) >= 0); });
    for (const auto& path : {nbit, so}) {
      INFO(path.filename());
      expect_loads(dir, path);
      stderr_capture err;
      ckpt::reader reader(path);
      const auto w = reader.read<float>("w");
      CHECK(std::vector<float>(w.begin(), w.end()) == std::vector<float>(values, values + 8));
      CHECK(err.finish().empty());
    }
  }
}

TEST_CASE("H8: Keras name lists of the wrong type or with unterminated strings",
          "[keras][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");
  const fs::path path = dir / "w.h5";
  const std::int32_t numbers[2] = {1, 2};

  SECTION("layer_names as integers") {
    write_keras2(path);
    edit_file(path,
              [&](hid_t f) { put_attribute(f, "/", "layer_names", H5T_STD_I32LE, 2, numbers); });
    expect_refused(dir, path, ckpt::errc::bad_format, "neither a list of names nor empty",
                   "/@layer_names");
  }

  SECTION("weight_names as integers") {
    write_keras2(path);
    edit_file(path, [&](hid_t f) {
      put_attribute(f, "/dense", "weight_names", H5T_STD_I32LE, 2, numbers);
    });
    expect_refused(dir, path, ckpt::errc::bad_format, "neither a list of names nor empty",
                   "/dense@weight_names");
  }

  SECTION("fixed-length and variable-length lists mixed load alike") {
    // The README: both string kinds are read, in any list.
    write_keras2(path);
    edit_file(path, [&](hid_t f) {
      put_fixed_strings(f, "/", "layer_names", {"conv", "dense"}, 5, H5T_STR_NULLPAD);
      put_vlen_strings(f, "/conv", "weight_names", {"conv/kernel:0", "conv/bias:0"});
      put_fixed_strings(f, "/dense", "weight_names", {"dense/kernel:0", "dense/bias:0"}, 20,
                        H5T_STR_SPACEPAD);
    });
    expect_loads(dir, path);
    CHECK(entry_names(path) == all_weights);
  }

  SECTION("unterminated fixed-length strings end at their width") {
    write_keras2(path);
    edit_file(path, [&](hid_t f) {
      // "dense" fills its 5 bytes: no NUL, though the type says NULLTERM.
      put_fixed_strings(f, "/", "layer_names", {"conv", "dense"}, 5, H5T_STR_NULLTERM);
      put_fixed_strings(f, "/dense", "weight_names", {"dense/kernel:0", "dense/bias:0"}, 12,
                        H5T_STR_NULLTERM);
    });
    // Cut at 12 bytes, the weight names name datasets that do not exist: the layer is refused
    // naming what it looked for, never a name read past its width.
    const auto r = expect_refused(dir, path, ckpt::errc::bad_format, "dense/kernel");
    CHECK(r.message.find("dense/kernel:0") == std::string::npos);
    edit_file(path, [&](hid_t f) {
      put_fixed_strings(f, "/dense", "weight_names", {"dense/kernel:0", "dense/bias:0"}, 14,
                        H5T_STR_NULLTERM);
    });
    expect_loads(dir, path);
    CHECK(entry_names(path) == all_weights);
  }
}

TEST_CASE("H9: Keras split name lists with a piece missing or too many pieces",
          "[keras][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");
  const fs::path path = dir / "w.h5";

  SECTION("pieces 0 and 1 load as one list") {
    write_keras2(path);
    edit_file(path, [&](hid_t f) {
      delete_attribute(f, "/", "layer_names");
      put_fixed_strings(f, "/", "layer_names0", {"conv"}, 5, H5T_STR_NULLPAD);
      put_fixed_strings(f, "/", "layer_names1", {"dense"}, 5, H5T_STR_NULLPAD);
    });
    expect_loads(dir, path);
    CHECK(entry_names(path) == all_weights);
  }

  SECTION("a missing piece") {
    write_keras2(path);
    edit_file(path, [&](hid_t f) {
      delete_attribute(f, "/", "layer_names");
      put_fixed_strings(f, "/", "layer_names0", {"conv"}, 5, H5T_STR_NULLPAD);
      put_fixed_strings(f, "/", "layer_names2", {"dense"}, 5, H5T_STR_NULLPAD);
    });
    // Stopping at the gap would drop the layers listed after it without a word.
    expect_refused(dir, path, ckpt::errc::bad_format, "layer_names1");
    edit_file(path, [&](hid_t f) {
      put_fixed_strings(f, "/", "layer_names1", {"dense"}, 5, H5T_STR_NULLPAD);
      put_empty_list(f, "/", "layer_names2");
      put_vlen_strings(f, "/conv", "weight_names0", {"conv/kernel:0"});
      put_vlen_strings(f, "/conv", "weight_names7", {"conv/bias:0"});
    });
    // weight_names itself is there: the pieces beside it are not read.
    expect_loads(dir, path);
    edit_file(path, [&](hid_t f) { delete_attribute(f, "/conv", "weight_names"); });
    expect_refused(dir, path, ckpt::errc::bad_format, "weight_names1", "/conv@weight_names");
  }

  SECTION("more pieces than load_limits::max_entries") {
    write_keras2(path);
    edit_file(path, [&](hid_t f) {
      delete_attribute(f, "/", "layer_names");
      put_fixed_strings(f, "/", "layer_names0", {"conv"}, 5, H5T_STR_NULLPAD);
      put_fixed_strings(f, "/", "layer_names1", {"dense"}, 5, H5T_STR_NULLPAD);
      // Empty pieces list no names: only their number can be held to a bound.
      for (int i = 2; i < 300; ++i) put_empty_list(f, "/", "layer_names" + std::to_string(i));
    });
    expect_loads(dir, path);
    ckpt::load_options options;
    options.limits.max_entries = 100;
    expect_refused(dir, path, ckpt::errc::limit, "max_entries", "", options);
  }

  SECTION("a piece claiming a huge number of names") {
    write_keras2(path);
    edit_file(path, [&](hid_t f) {
      delete_attribute(f, "/", "layer_names");
      put_fixed_strings(f, "/", "layer_names0", {"conv", "dense"}, 5, H5T_STR_NULLPAD);
    });
    std::string b = slurp(path);
    // Attribute message version 1: name size, datatype size, dataspace size, then each padded
    // to 8 bytes; the dataspace (version 1) has its first dimension 8 bytes in.
    const std::size_t name = craft::find_one(b, std::string("layer_names0\0", 13));
    const std::size_t type_size = craft::get(b, name - 4, 2);
    const std::size_t space = name + 16 + (type_size + 7) / 8 * 8;
    REQUIRE(craft::get(b, space + 8, 8) == 2);
    craft::put(b, space + 8, 8, std::uint64_t{1} << 40);
    expect_refused_bytes(dir, "huge_piece.h5", b, ckpt::errc::bad_format, "dataspace");
  }
}

TEST_CASE("H10: Keras layers and weights listed but missing", "[keras][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");
  const fs::path path = dir / "w.h5";
  write_keras2(path);
  expect_loads(dir, path);
  CHECK(entry_names(path) == all_weights);

  SECTION("a layer without its group") {
    edit_file(path, [](hid_t f) { REQUIRE(H5Ldelete(f, "/dense", H5P_DEFAULT) >= 0); });
    expect_refused(dir, path, ckpt::errc::bad_format, "layer 'dense' of layer_names has no group");
  }

  SECTION("a weight without its dataset") {
    edit_file(path,
              [](hid_t f) { REQUIRE(H5Ldelete(f, "/dense/dense/bias:0", H5P_DEFAULT) >= 0); });
    expect_refused(dir, path, ckpt::errc::bad_format, "dense/bias:0");
  }
}

TEST_CASE("H11: external raw storage, virtual datasets and external links are refused",
          "[hdf5][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");
  const fs::path path = dir / "main.h5";
  const float values[4] = {1, 2, 3, 4};

  SECTION("external raw storage") {
    const fs::path raw = dir / "raw.bin";
    {
      h5_file f(path);
      const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      REQUIRE(H5Pset_external(dcpl, raw.c_str(), 0, sizeof values) >= 0);
      add_dataset(f.id, "w", H5T_IEEE_F32LE, {4}, dcpl, values);
      H5Pclose(dcpl);
    }
    REQUIRE(fs::file_size(raw) == sizeof values);  // the data lies in the other file
    expect_refused(dir, path, ckpt::errc::unsupported, "external files", "/w");
  }

  SECTION("a virtual dataset over another file") {
    const fs::path source = dir / "source.h5";
    write_plain(source);
    {
      h5_file f(path);
      const hsize_t n = 4;
      const hid_t vspace = H5Screate_simple(1, &n, nullptr);
      const hid_t sspace = H5Screate_simple(1, &n, nullptr);
      const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      REQUIRE(H5Pset_virtual(dcpl, vspace, source.c_str(), "/w", sspace) >= 0);
      const hid_t d = H5Dcreate2(f.id, "v", H5T_IEEE_F32LE, vspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
      REQUIRE(d >= 0);
      H5Dclose(d);
      H5Pclose(dcpl);
      H5Sclose(sspace);
      H5Sclose(vspace);
    }
    expect_refused(dir, path, ckpt::errc::unsupported, "virtual storage", "/v");
  }

  SECTION("an external link") {
    write_plain(dir / "other.h5");
    craft::write_group_file(path, {.datasets = 1, .external = true});
    expect_refused(dir, path, ckpt::errc::unsupported, "soft or external link",
                   "/g/external_link_1");
  }
}

TEST_CASE("H12: cycles of hard links between groups", "[hdf5][hostile][catalog]") {
  // The README: group nesting is held to load_limits::max_depth and objects visited to
  // max_entries, which bounds hard-link cycles: the walk ends with errc::limit.
  scratch_dir dir("ckpt-hdf5-catalog");
  const fs::path path = dir / "cycle.h5";
  const float values[2] = {1, 2};

  SECTION("a group linked inside its child (generic)") {
    {
      h5_file f(path);
      const hid_t a = H5Gcreate2(f.id, "a", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      add_dataset(a, "w", H5T_IEEE_F32LE, {2}, H5P_DEFAULT, values);
      const hid_t b = H5Gcreate2(a, "b", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      REQUIRE(H5Lcreate_hard(f.id, "/a", b, "up", H5P_DEFAULT, H5P_DEFAULT) >= 0);
      H5Gclose(b);
      H5Gclose(a);
    }
    expect_refused(dir, path, ckpt::errc::limit, "max_depth");
    ckpt::load_options options;
    options.limits.max_entries = 20;  // reached before the depth
    expect_refused(dir, path, ckpt::errc::limit, "max_entries", "", options);
  }

  SECTION("a group linked inside itself") {
    {
      h5_file f(path, /*latest=*/true);
      const hid_t g = H5Gcreate2(f.id, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      add_dataset(g, "w", H5T_IEEE_F32LE, {2}, H5P_DEFAULT, values);
      REQUIRE(H5Lcreate_hard(g, ".", g, "self", H5P_DEFAULT, H5P_DEFAULT) >= 0);
      H5Gclose(g);
    }
    expect_refused(dir, path, ckpt::errc::limit, "max_depth");
  }

  SECTION("a cycle in a Keras 3 file") {
    const fs::path keras = dir / "cycle.weights.h5";
    CatalogModel m{{{1, 2, 3}, {4}}, {{5, 6}, {7}}};
    ckpt::save_options options;
    options.format = "keras3";
    options.sync = false;
    ckpt::save(m, keras, options);
    expect_loads(dir, keras);
    edit_file(keras, [](hid_t f) {
      REQUIRE(H5Lcreate_hard(f, "/layers", f, "/layers/conv/loop", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    });
    expect_refused(dir, keras, ckpt::errc::limit, "max_");
  }
}

// libhdf5 and h5py read a file longer than its superblock's end of file (an HDF5 file inside a
// larger one), and so does ckpt: bytes after the end are not part of the file.
TEST_CASE("G4: bytes appended after an HDF5 file are ignored", "[hdf5][hostile][catalog]") {
  scratch_dir dir("ckpt-hdf5-catalog");
  for (const char* format : {"hdf5", "keras2", "keras3"}) {
    INFO(format);
    const fs::path path = dir / (std::string(format) + ".h5");
    const CatalogModel saved{{{1, 2, 3}, {4}}, {{5, 6}, {7}}};
    ckpt::save_options options;
    options.format = format;
    options.sync = false;
    ckpt::save(saved, path, options);
    spit(path, slurp(path) + std::string(4096, '\xa5') + "trailing bytes");
    const auto r = run_in_child(dir / "stderr.txt", [&] {
      CatalogModel loaded;
      ckpt::load_options load;
      load.format = format;
      ckpt::load(loaded, path, load);
      return loaded.conv.kernel == saved.conv.kernel && loaded.conv.bias == saved.conv.bias &&
                     loaded.dense.kernel == saved.dense.kernel &&
                     loaded.dense.bias == saved.dense.bias
                 ? 0
                 : 10;
    });
    INFO(r.message);
    CHECK(r.status == 0);  // 10: other values
    CHECK(r.printed == "");
  }
}
