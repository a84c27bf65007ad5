// SPDX-License-Identifier: Apache-2.0
// Bounds the reader holds a file to. A compressed chunk is refused at open when its stored bytes
// cannot decode to a whole chunk through its filters, so a few bytes on disk cannot declare
// gigabytes of tensor (files built with libhdf5's direct chunk write, which stores whatever bytes
// it is given). Structures past the superblock's stored end of file are refused before libhdf5
// reads them, with nothing printed even when the process exits.
#include <hdf5.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/files.hpp"
#include "../support/hdf5_test_support.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

// A file whose dataset "w" is `rows` x 1024 float32 in one chunk, deflate-filtered, the chunk
// holding `stored` as its filtered bytes.
void write_one_chunk(const fs::path& path, hsize_t rows, const std::vector<unsigned char>& stored) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hsize_t dims[2] = {rows, 1024};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  REQUIRE(H5Pset_chunk(dcpl, 2, dims) >= 0);
  REQUIRE(H5Pset_deflate(dcpl, 6) >= 0);
  const hid_t d = H5Dcreate2(file, "w", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  REQUIRE(d >= 0);
  const hsize_t origin[2] = {0, 0};
  REQUIRE(H5Dwrite_chunk(d, H5P_DEFAULT, 0, origin, stored.size(), stored.data()) >= 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  REQUIRE(H5Fclose(file) >= 0);
}

// zlib's own stream for `n` zero bytes, made by libhdf5's deflate filter on a normal write.
std::vector<unsigned char> deflated_zeros(const fs::path& scratch, hsize_t rows) {
  const hid_t file = H5Fcreate(scratch.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[2] = {rows, 1024};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 2, dims);
  H5Pset_deflate(dcpl, 9);
  const hid_t d = H5Dcreate2(file, "w", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  const std::vector<float> zeros(static_cast<std::size_t>(rows) * 1024, 0.0f);
  REQUIRE(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data()) >= 0);
  hsize_t size = 0;
  const hsize_t origin[2] = {0, 0};
  REQUIRE(H5Dget_chunk_storage_size(d, origin, &size) >= 0);
  std::vector<unsigned char> bytes(size);
  std::uint32_t mask = 0;
  REQUIRE(H5Dread_chunk(d, H5P_DEFAULT, origin, &mask, bytes.data()) >= 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(file);
  return bytes;
}

}  // namespace

TEST_CASE("a chunk too small to decode to its declared size is refused at open", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5-bounds");
  const fs::path path = dir / "tiny.h5";
  // 64 MiB declared, 16 bytes stored: no deflate stream is that dense.
  write_one_chunk(path, 16384, std::vector<unsigned char>(16, 0x78));
  try {
    ckpt::reader reader(path);
    FAIL("opened a file whose chunk cannot back its tensor");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
    const std::string what = e.what();
    CHECK(what.find("tiny.h5") != std::string::npos);
    CHECK(what.find("/w") != std::string::npos);
    CHECK(what.find("cannot decode") != std::string::npos);
  }
}

TEST_CASE("real deflate streams at their highest ratio still load", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5-bounds");
  // 4 MiB of zeros at deflate level 9: about 4 KiB stored, near deflate's best ratio.
  const auto stream = deflated_zeros(dir / "scratch.h5", 1024);
  INFO("stored bytes: " << stream.size());
  CHECK(stream.size() * 900 < 1024u * 1024u * 4u);  // the ratio really is near the bound
  const fs::path path = dir / "zeros.h5";
  write_one_chunk(path, 1024, stream);
  ckpt::reader reader(path);
  REQUIRE(reader.entries().size() == 1);
  std::vector<std::byte> bytes(reader.entries()[0].bytes, std::byte{1});
  reader.impl().read(
      0, ckpt::mutable_tensor_view{ckpt::dtype::float32, reader.entries()[0].shape, bytes, {}});
  CHECK(std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; }));
}

TEST_CASE("structures past the superblock's end of file are refused, quietly through exit",
          "[hdf5]") {
  scratch_dir dir("ckpt-hdf5-bounds");
  struct Layer {
    std::vector<float> kernel, bias;
  };
  struct Two {
    Layer dense, out;
  };
  ckpt::save(Two{{{1, 2, 3}, {4}}, {{5, 6}, {7}}}, dir / "source.h5");
  const std::string bytes = slurp(dir / "source.h5");
  REQUIRE(bytes.substr(1, 3) == "HDF");
  std::uint64_t stored_end = 0;
  std::memcpy(&stored_end, bytes.data() + 40, 8);  // superblock v0: base, free space, end of file
  REQUIRE(stored_end == bytes.size());
  // Each end leaves a different structure outside: the root header, a child's, the last one's.
  for (const std::uint64_t end :
       {std::uint64_t{96}, std::uint64_t{bytes.size() / 2}, std::uint64_t{bytes.size() - 8}}) {
    std::string cut = bytes;
    std::memcpy(cut.data() + 40, &end, 8);
    const fs::path path = dir / "short.h5";
    spit(path, cut);
    INFO("end of file " << end);
    // exit() in the child runs libhdf5's shutdown, where a structure that failed inside libhdf5
    // used to make it print.
    const auto r = run_in_child(
        dir / "stderr.txt",
        [&] {
          Two loaded;
          ckpt::load(loaded, path);
        },
        5);
    CHECK(r.status == 1);
    CHECK(r.message.find("short.h5") != std::string::npos);
    CHECK(r.printed == "");
  }
}

// The HDF5 fuzzer's findings (tests/fuzz/regressions/hdf5/, each a mode byte and a file): files
// that passed the preflight and then failed inside libhdf5, leaking on its error path or asking
// for 4 GiB. The preflight refuses them now, before libhdf5 opens any object.
TEST_CASE("the HDF5 fuzzer's findings are refused by the preflight", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-findings");
  const fs::path findings = fs::path(CKPT_SOURCE_DIR) / "tests/fuzz/regressions/hdf5";
  for (const auto& [name, expected] :
       {std::pair<std::string, std::string>{"duplicate-link-name.bin", "two links named '1'"},
        {"duplicate-link-name-huge-chunk.bin", "two links named '1'"},
        {"dataset-without-layout.bin", "dataset has no layout message"}}) {
    INFO(name);
    const std::string input = slurp(findings / name);
    REQUIRE(input.size() > 1);
    const fs::path path = dir / "finding.h5";
    spit(path, input.substr(1));
    stderr_capture err;
    try {
      ckpt::load_options options;
      options.format = "hdf5";
      ckpt::reader reader(path, options);
      for (const auto& e : reader.entries()) {
        ckpt::entry_buffer buffer;
        (void)reader.read_stored(e.name, buffer);
      }
      FAIL("loaded");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::bad_format);
      CHECK_THAT(std::string(e.what()),
                 Catch::Contains(path.string()) && Catch::Contains(expected));
    }
    CHECK(err.finish().empty());
  }
}
