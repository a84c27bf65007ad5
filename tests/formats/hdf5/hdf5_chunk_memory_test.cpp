// SPDX-License-Identifier: Apache-2.0
// Chunked data read by ckpt's own chunk decoder (include/ckpt/formats/hdf5/chunk_reader.hpp): a
// load holds the destination and at most one chunk of decoded bytes (peak RSS of a forked child
// loading a 1 GiB deflate chunk); the bytes are exactly libhdf5's H5Dread for every storage option
// ckpt writes, chunk shapes that are runs of rows and that are not, and filter pipelines other
// writers make; data libhdf5 must convert still goes through H5Dread; corrupted checksums and
// deflate or zstd streams of the wrong length are ckpt::errors naming file, dataset and chunk.
#include <hdf5.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "../../support/child_process.hpp"
#include "../../support/hdf5_test_support.hpp"
#include "../../support/sanitizers.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;
namespace h5 = ckpt::hdf5;

namespace {

// zlib's stream for `bytes` zero bytes at `level`, made a MiB at a time so that writing a huge
// chunk never holds it.
std::vector<unsigned char> deflate_zeros(std::uint64_t bytes, int level) {
  z_stream z{};
  REQUIRE(deflateInit(&z, level) == Z_OK);
  const std::vector<unsigned char> zeros(1 << 20, 0);
  std::vector<unsigned char> stream;
  unsigned char out[1 << 16];
  std::uint64_t left = bytes;
  do {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, zeros.size()));
    left -= n;
    z.next_in = const_cast<unsigned char*>(zeros.data());
    z.avail_in = static_cast<uInt>(n);
    const int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = out;
      z.avail_out = sizeof out;
      REQUIRE(deflate(&z, flush) != Z_STREAM_ERROR);
      stream.insert(stream.end(), out, out + (sizeof out - z.avail_out));
    } while (z.avail_out == 0);
  } while (left > 0);
  deflateEnd(&z);
  return stream;
}

// zlib's stream of `data`.
std::vector<unsigned char> deflate_bytes(const void* data, std::size_t size, int level = 6) {
  uLongf capacity = compressBound(static_cast<uLong>(size));
  std::vector<unsigned char> out(capacity);
  REQUIRE(compress2(out.data(), &capacity, static_cast<const Bytef*>(data),
                    static_cast<uLong>(size), level) == Z_OK);
  out.resize(capacity);
  return out;
}

// A chunked float32 dataset "w" of `dims` with chunks of `chunk`, through the filters `setup`
// puts on the creation property list, each chunk given as stored bytes (libhdf5's direct chunk
// write stores whatever it is given).
template <class Setup>
void write_raw_chunks(const fs::path& path, const std::vector<hsize_t>& dims,
                      const std::vector<hsize_t>& chunk, Setup setup,
                      const std::vector<std::vector<hsize_t>>& offsets,
                      const std::vector<std::vector<unsigned char>>& stored) {
  h5::quiet_errors quiet;
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  REQUIRE(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()) >= 0);
  setup(dcpl);
  const hid_t d = H5Dcreate2(file, "w", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  REQUIRE(d >= 0);
  for (std::size_t i = 0; i < offsets.size(); ++i)
    REQUIRE(H5Dwrite_chunk(d, H5P_DEFAULT, 0, offsets[i].data(), stored[i].size(),
                           stored[i].data()) >= 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  REQUIRE(H5Fclose(file) >= 0);
}

// Bytes of every kind: a slowly varying first half (which compresses, and which shuffle helps)
// and a pseudo-random second half (which does not: compressors' stored blocks and frames).
std::vector<std::byte> test_bytes(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> bytes(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    bytes[i] = static_cast<std::byte>(i < n / 2 ? (i / 7 + seed) % 5 : x >> 24);
  }
  return bytes;
}

// What H5Dread gives for a dataset read as `memory_type`.
std::vector<std::byte> libhdf5_read(hid_t dataset, hid_t memory_type, std::size_t bytes) {
  std::vector<std::byte> out(bytes, std::byte{0xcd});
  REQUIRE(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0);
  return out;
}

struct chunk_location {
  std::uint64_t address = 0;
  std::uint64_t size = 0;
};

chunk_location locate_chunk(const fs::path& path, const char* dataset,
                            const std::vector<hsize_t>& coord) {
  h5::quiet_errors quiet;
  h5::file_handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  REQUIRE(f.valid());
  h5::dataset_handle d(H5Dopen2(f.get(), dataset, H5P_DEFAULT));
  REQUIRE(d.valid());
  unsigned mask = 0;
  haddr_t address = 0;
  hsize_t size = 0;
  REQUIRE(H5Dget_chunk_info_by_coord(d.get(), coord.data(), &mask, &address, &size) >= 0);
  return {address, size};
}

void flip_byte(const fs::path& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  REQUIRE(f);
}

std::vector<float> ramp(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 97) * 0.25f - 3.0f;
  return v;
}

// The ckpt::error `load` throws; fails the test if it throws nothing.
template <class Load>
ckpt::error error_of(Load load) {
  try {
    load();
  } catch (const ckpt::error& e) {
    return e;
  }
  FAIL("no ckpt::error");
  return ckpt::error(ckpt::errc::io, "unreachable");
}

bool mentions(const ckpt::error& e, const std::string& what) {
  return std::string(e.what()).find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("a 1 GiB deflate chunk loads within 1.25 times the tensor's memory", "[hdf5][memory]") {
  // Under AddressSanitizer a quarter of it: the bound is the same, the run four times shorter.
  const hsize_t rows = address_sanitizer ? 65536 : 262144;
  const std::uint64_t tensor_bytes = rows * 1024 * sizeof(float);
  scratch_dir dir("ckpt-hdf5-rss");
  const fs::path path = dir / "zeros.h5";
  {
    const auto stream = deflate_zeros(tensor_bytes, 9);
    INFO("stored bytes: " << stream.size());
    write_raw_chunks(path, {rows, 1024}, {rows, 1024},
                     [](hid_t dcpl) { REQUIRE(H5Pset_deflate(dcpl, 9) >= 0); }, {{0, 0}}, {stream});
  }
  const auto baseline = run_in_child(
      dir / "stderr.txt", [] {}, 600);
  const auto loaded = run_in_child(
      dir / "stderr.txt",
      [&] {
        ckpt::reader reader(path);
        const auto t = reader.read<float>("w");
        if (t.shape() != ckpt::shape{rows, 1024}) return 10;
        const auto values = t.values();
        if (values.size() != rows * 1024) return 11;
        if (!std::all_of(values.begin(), values.end(), [](float v) { return v == 0.0f; }))
          return 12;
        return 0;
      },
      600);
  REQUIRE(baseline.status == 0);
  INFO(loaded.message);
  REQUIRE(loaded.status == 0);  // 12: not all zeros
  CHECK(loaded.printed == "");
  const double grown = static_cast<double>(loaded.max_rss_kib - baseline.max_rss_kib) * 1024.0;
  INFO("baseline peak RSS " << baseline.max_rss_kib << " KiB, loading peak " << loaded.max_rss_kib
                            << " KiB, tensor " << tensor_bytes / 1024 << " KiB, ratio "
                            << grown / static_cast<double>(tensor_bytes));
  CHECK(grown >= static_cast<double>(tensor_bytes));  // the measurement sees the destination
  CHECK(grown < 1.25 * static_cast<double>(tensor_bytes));
  std::error_code ec;
  fs::remove(path, ec);
}

// Not run by default: what libhdf5's own H5Dread of the same chunk costs, for comparison.
TEST_CASE("libhdf5's H5Dread of a 1 GiB deflate chunk (for comparison)", "[.][hdf5][memory]") {
  const hsize_t rows = 262144;
  const std::uint64_t tensor_bytes = rows * 1024 * sizeof(float);
  scratch_dir dir("ckpt-hdf5-rss");
  const fs::path path = dir / "zeros.h5";
  write_raw_chunks(path, {rows, 1024}, {rows, 1024},
                   [](hid_t dcpl) { REQUIRE(H5Pset_deflate(dcpl, 9) >= 0); }, {{0, 0}},
                   {deflate_zeros(tensor_bytes, 9)});
  const auto baseline = run_in_child(
      dir / "stderr.txt", [] {}, 600);
  const auto loaded = run_in_child(
      dir / "stderr.txt",
      [&] {
        h5::quiet_errors quiet;
        std::vector<float> values(rows * 1024);
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        const hid_t d = H5Dopen2(f, "w", H5P_DEFAULT);
        const herr_t rc =
            H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
        H5Dclose(d);
        H5Fclose(f);
        return rc >= 0 ? 0 : 1;
      },
      600);
  REQUIRE(loaded.status == 0);
  WARN("H5Dread: baseline " << baseline.max_rss_kib << " KiB, peak " << loaded.max_rss_kib
                            << " KiB, ratio "
                            << static_cast<double>(loaded.max_rss_kib - baseline.max_rss_kib) *
                                   1024.0 / static_cast<double>(tensor_bytes));
}

TEST_CASE("ckpt's chunk decoder gives exactly H5Dread's bytes for every storage option ckpt writes",
          "[hdf5]") {
  struct filters {
    const char* name;
    ckpt::storage_options storage;
  };
  std::vector<filters> pipelines;
  auto add = [&](const char* name, bool shuffle, int deflate, int zstd, bool checksum) {
    ckpt::storage_options s;
    s.layout = ckpt::storage_layout::chunked;
    s.shuffle = shuffle, s.deflate_level = deflate, s.zstd_level = zstd, s.checksum = checksum;
    pipelines.push_back({name, s});
  };
  add("no filter", false, -1, 0, false);
  add("shuffle", true, -1, 0, false);
  add("deflate 0", false, 0, 0, false);
  add("deflate 1", false, 1, 0, false);
  add("deflate 9", false, 9, 0, false);
  add("shuffle + deflate 6", true, 6, 0, false);
  add("zstd 1", false, -1, 1, false);
  add("shuffle + zstd 3", true, -1, 3, false);
  add("fletcher32", false, -1, 0, true);
  add("shuffle + fletcher32", true, -1, 0, true);
  add("deflate 4 + fletcher32", false, 4, 0, true);
  add("shuffle + deflate 6 + fletcher32", true, 6, 0, true);
  add("shuffle + zstd 1 + fletcher32", true, -1, 1, true);

  const std::vector<ckpt::dtype> dtypes = {ckpt::dtype::float32, ckpt::dtype::float64,
                                           ckpt::dtype::int8, ckpt::dtype::uint16,
                                           ckpt::dtype::float16};
  const std::vector<ckpt::shape> shapes = {{37, 50}, {5, 6, 7}, {1001}};
  // Chunk targets: a few elements (chunks narrower than the last dimension: not runs of rows,
  // partial at the ends of dimensions), runs of rows (the last one partial), and one chunk.
  const std::vector<std::pair<const char*, std::uint64_t>> chunk_targets = {
      {"small chunks", 24}, {"row chunks", 0}, {"one chunk", 1 << 20}};

  int datasets = 0;
  for (const auto& p : pipelines) {
    for (const auto& [chunk_name, target] : chunk_targets) {
      DYNAMIC_SECTION(p.name << ", " << chunk_name) {
        scratch_dir dir("ckpt-hdf5-chunks");
        const fs::path path = dir / "chunks.h5";
        std::vector<std::vector<std::byte>> buffers;
        std::vector<ckpt::named_tensor> tensors;
        std::uint32_t seed = 1;
        for (const auto t : dtypes)
          for (std::size_t s = 0; s < shapes.size(); ++s) {
            const auto bytes = *ckpt::checked_byte_size(t, shapes[s]);
            buffers.push_back(test_bytes(static_cast<std::size_t>(bytes), seed++));
            tensors.push_back({std::string(ckpt::name(t)) + "_" + std::to_string(s),
                               ckpt::tensor_view{t, shapes[s], buffers.back(), {}}});
          }
        ckpt::save_options options;
        options.storage = p.storage;
        // "row chunks": 3200 bytes, whole rows of every shape (a partial last run where the rows
        // do not divide), one chunk where the tensor is smaller.
        options.storage.chunk_bytes = target ? target : 8 * 50 * 8;
        ckpt::format_for_save(path, "").create(path, options)->write(tensors);

        stderr_capture err;
        ckpt::reader reader(path);
        auto& impl = dynamic_cast<h5::tensor_reader&>(reader.impl());
        REQUIRE(reader.entries().size() == tensors.size());
        for (std::size_t i = 0; i < tensors.size(); ++i) {
          const auto& e = reader.find(tensors[i].path);
          const auto index = static_cast<std::size_t>(&e - reader.entries().data());
          INFO(tensors[i].path);
          const h5::dataset_info& info = impl.info(index);
          REQUIRE(info.layout == H5D_CHUNKED);
          CHECK(info.direct_chunks);
          std::vector<std::byte> ours(buffers[i].size(), std::byte{0xab});
          reader.impl().read(index, {e.dtype, e.shape, ours, {}});
          h5::quiet_errors quiet;
          const auto d = h5::open_dataset(impl.h5().root(), impl.dataset_path(index));
          const auto memory = h5::type_of(e.dtype, d.site);
          const auto theirs = libhdf5_read(d.id(), memory.get(), ours.size());
          CHECK(ours == theirs);
          CHECK(ours == buffers[i]);
          ++datasets;
        }
        CHECK(err.finish().empty());
      }
    }
  }
  CHECK(datasets > 0);
}

TEST_CASE("pipelines other writers make decode as libhdf5 decodes them", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5-chunks");
  const auto values = ramp(10 * 8);
  struct pipeline {
    const char* name;
    std::vector<hsize_t> dims, maxdims, chunk;
    void (*setup)(hid_t);
  };
  const std::vector<pipeline> cases = {
      // The checksum first, so the compressor's output holds it.
      {"fletcher32 then deflate",
       {10, 8},
       {10, 8},
       {4, 8},
       [](hid_t dcpl) {
         REQUIRE(H5Pset_fletcher32(dcpl) >= 0);
         REQUIRE(H5Pset_deflate(dcpl, 5) >= 0);
       }},
      {"shuffle, fletcher32, zstd",
       {10, 8},
       {10, 8},
       {3, 5},
       [](hid_t dcpl) {
         REQUIRE(h5::register_zstd_filter());
         const unsigned level = 2;
         REQUIRE(H5Pset_shuffle(dcpl) >= 0);
         REQUIRE(H5Pset_fletcher32(dcpl) >= 0);
         REQUIRE(H5Pset_filter(dcpl, h5::zstd_filter_id, H5Z_FLAG_MANDATORY, 1, &level) >= 0);
       }},
      // An extendible dataset whose one chunk reaches past its rows.
      {"chunk longer than the dataset",
       {10, 8},
       {H5S_UNLIMITED, 8},
       {16, 8},
       [](hid_t dcpl) {
         REQUIRE(H5Pset_shuffle(dcpl) >= 0);
         REQUIRE(H5Pset_deflate(dcpl, 1) >= 0);
       }},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const fs::path path = dir / "other.h5";
      {
        h5::quiet_errors quiet;
        h5::file_handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        REQUIRE(f.valid());
        h5::dataspace_handle space(H5Screate_simple(2, c.dims.data(), c.maxdims.data()));
        h5::plist_handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        REQUIRE(H5Pset_chunk(dcpl.get(), 2, c.chunk.data()) >= 0);
        c.setup(dcpl.get());
        h5::dataset_handle d(H5Dcreate2(f.get(), "w", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                                        dcpl.get(), H5P_DEFAULT));
        REQUIRE(d.valid());
        REQUIRE(H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >=
                0);
      }
      stderr_capture err;
      ckpt::reader reader(path);
      auto& impl = dynamic_cast<h5::tensor_reader&>(reader.impl());
      CHECK(impl.info(0).direct_chunks);
      const auto t = reader.read<float>("w");
      const auto span = t.values();
      CHECK(std::vector<float>(span.begin(), span.end()) == values);
      CHECK(err.finish().empty());
    }
  }
}

TEST_CASE("chunks whose filter mask skips filters decode as libhdf5 decodes them", "[hdf5]") {
  // shuffle -> deflate -> Fletcher32, three chunks of 16 x 64 float32: every filter applied,
  // deflate skipped (mask 0b010), every filter skipped (0b111, stored as the chunk's plain bytes).
  scratch_dir dir("ckpt-hdf5-chunks");
  const fs::path path = dir / "masked.h5";
  const auto values = ramp(48 * 64);
  const std::size_t chunk = 16 * 64 * sizeof(float);
  auto shuffled = [&](std::size_t c) {
    std::vector<unsigned char> out(chunk);
    ckpt::byte_shuffle(reinterpret_cast<const std::byte*>(values.data() + c * 16 * 64),
                       reinterpret_cast<std::byte*>(out.data()), chunk, sizeof(float));
    return out;
  };
  auto with_checksum = [](std::vector<unsigned char> bytes) {
    const std::uint32_t sum =
        h5::detail::hdf5_fletcher32(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<unsigned char>(sum >> (8 * k)));
    return bytes;
  };
  const auto first = with_checksum(deflate_bytes(shuffled(0).data(), chunk));
  const auto second = with_checksum(shuffled(1));
  std::vector<unsigned char> third(chunk);
  std::memcpy(third.data(), values.data() + 2 * 16 * 64, chunk);
  {
    h5::quiet_errors quiet;
    h5::file_handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    const hsize_t dims[2] = {48, 64}, chunk_dims[2] = {16, 64};
    h5::dataspace_handle space(H5Screate_simple(2, dims, nullptr));
    h5::plist_handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    REQUIRE(H5Pset_chunk(dcpl.get(), 2, chunk_dims) >= 0);
    REQUIRE(H5Pset_shuffle(dcpl.get()) >= 0);
    REQUIRE(H5Pset_deflate(dcpl.get(), 6) >= 0);
    REQUIRE(H5Pset_fletcher32(dcpl.get()) >= 0);
    h5::dataset_handle d(H5Dcreate2(f.get(), "w", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                                    dcpl.get(), H5P_DEFAULT));
    REQUIRE(d.valid());
    const hsize_t at0[2] = {0, 0}, at1[2] = {16, 0}, at2[2] = {32, 0};
    REQUIRE(H5Dwrite_chunk(d.get(), H5P_DEFAULT, 0, at0, first.size(), first.data()) >= 0);
    REQUIRE(H5Dwrite_chunk(d.get(), H5P_DEFAULT, 0b010, at1, second.size(), second.data()) >= 0);
    REQUIRE(H5Dwrite_chunk(d.get(), H5P_DEFAULT, 0b111, at2, third.size(), third.data()) >= 0);
  }
  stderr_capture err;
  ckpt::reader reader(path);
  auto& impl = dynamic_cast<h5::tensor_reader&>(reader.impl());
  CHECK(impl.info(0).direct_chunks);
  const auto t = reader.read<float>("w");
  const std::vector<float> ours(t.values().begin(), t.values().end());
  CHECK(ours == values);
  h5::quiet_errors quiet;
  const auto d = h5::open_dataset(impl.h5().root(), "/w");
  std::vector<float> theirs(values.size(), -1.0f);
  REQUIRE(H5Dread(d.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, theirs.data()) >= 0);
  CHECK(theirs == values);
  CHECK(err.finish().empty());
}

TEST_CASE("data libhdf5 must convert still loads through H5Dread", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5-chunks");
  SECTION("bool, h5py's enum") {
    const fs::path path = dir / "bool.h5";
    std::vector<std::byte> flags(300);
    for (std::size_t i = 0; i < flags.size(); ++i) flags[i] = std::byte(i % 3 == 0);
    ckpt::save_options options;
    options.storage.shuffle = true, options.storage.deflate_level = 6;
    options.storage.chunk_bytes = 64;
    ckpt::format_for_save(path, "")
        .create(path, options)
        ->write({{"flags", ckpt::tensor_view{ckpt::dtype::bool_, {300}, flags, {}}}});
    ckpt::reader reader(path);
    auto& impl = dynamic_cast<h5::tensor_reader&>(reader.impl());
    REQUIRE(impl.info(0).layout == H5D_CHUNKED);
    CHECK_FALSE(impl.info(0).direct_chunks);
    std::vector<std::byte> back(300, std::byte{7});
    reader.impl().read(0, {ckpt::dtype::bool_, {300}, back, {}});
    CHECK(back == flags);
  }
  SECTION("big-endian float32 and uint16") {
    const fs::path path = dir / "big_endian.h5";
    const auto values = ramp(12 * 10);
    std::vector<std::uint16_t> counts(12 * 10);
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<std::uint16_t>(i * 517);
    {
      h5::quiet_errors quiet;
      h5::file_handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
      const hsize_t dims[2] = {12, 10}, chunk[2] = {5, 10};
      h5::dataspace_handle space(H5Screate_simple(2, dims, nullptr));
      h5::plist_handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
      REQUIRE(H5Pset_chunk(dcpl.get(), 2, chunk) >= 0);
      REQUIRE(H5Pset_shuffle(dcpl.get()) >= 0);
      REQUIRE(H5Pset_deflate(dcpl.get(), 6) >= 0);
      REQUIRE(H5Pset_fletcher32(dcpl.get()) >= 0);
      h5::dataset_handle a(H5Dcreate2(f.get(), "f", H5T_IEEE_F32BE, space.get(), H5P_DEFAULT,
                                      dcpl.get(), H5P_DEFAULT));
      h5::dataset_handle b(H5Dcreate2(f.get(), "u", H5T_STD_U16BE, space.get(), H5P_DEFAULT,
                                      dcpl.get(), H5P_DEFAULT));
      REQUIRE(H5Dwrite(a.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >=
              0);
      REQUIRE(H5Dwrite(b.get(), H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, counts.data()) >=
              0);
    }
    stderr_capture err;
    ckpt::reader reader(path);
    auto& impl = dynamic_cast<h5::tensor_reader&>(reader.impl());
    for (std::size_t i = 0; i < 2; ++i) CHECK_FALSE(impl.info(i).direct_chunks);
    const auto f = reader.read<float>("f");
    const auto u = reader.read<std::uint16_t>("u");
    CHECK(std::vector<float>(f.values().begin(), f.values().end()) == values);
    CHECK(std::vector<std::uint16_t>(u.values().begin(), u.values().end()) == counts);
    CHECK(err.finish().empty());
  }
}

TEST_CASE("a chunk that fails its Fletcher32 checksum is refused unless checks are off", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5-chunks");
  const fs::path path = dir / "checked.h5";
  const auto values = ramp(64 * 16);
  struct Weights {
    std::vector<float> w;
  };
  const bool compressed = GENERATE(false, true);
  INFO((compressed ? "shuffle + deflate + fletcher32" : "fletcher32 only"));
  ckpt::save_options options;
  options.storage.checksum = true;
  options.storage.chunk_bytes = 256 * 4;  // four chunks of 256 floats
  if (compressed) options.storage.shuffle = true, options.storage.deflate_level = 6;
  ckpt::save(Weights{values}, path, options);

  // Chunk 2 (floats 512..767): a data byte when the chunk is stored plain, the stored checksum (its
  // last 4 bytes) when it is compressed, so that unchecked it still decodes.
  const auto chunk = locate_chunk(path, "/w", {512});
  REQUIRE(chunk.size == (compressed ? chunk.size : 256 * 4 + 4));
  const std::uint64_t flipped = compressed ? chunk.address + chunk.size - 2 : chunk.address + 4 * 5;
  flip_byte(path, flipped);

  stderr_capture err;
  {
    ckpt::reader reader(path);
    auto& impl = dynamic_cast<h5::tensor_reader&>(reader.impl());
    CHECK(impl.info(0).direct_chunks);
    const auto e = error_of([&] { reader.read<float>("w"); });
    CHECK(e.code() == ckpt::errc::checksum_mismatch);
    CHECK(mentions(e, "checked.h5"));
    CHECK(mentions(e, "/w"));
    CHECK(mentions(e, "chunk 2 at (512)"));
    CHECK(e.offset() == chunk.address);
    CHECK(reader.verify("w") == ckpt::checksum_status::mismatch);
    Weights loaded;
    CHECK(error_of([&] { ckpt::load(loaded, path); }).code() == ckpt::errc::checksum_mismatch);
  }
  ckpt::load_options unchecked;
  unchecked.verify_checksums = false;
  Weights loaded;
  ckpt::load(loaded, path, unchecked);
  REQUIRE(loaded.w.size() == values.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    differing += std::memcmp(&loaded.w[i], &values[i], sizeof(float)) != 0;
  // The flipped byte is float 5 of chunk 2, element 512 + 5.
  CHECK(differing == (compressed ? 0u : 1u));
  if (!compressed) CHECK(std::memcmp(&loaded.w[512 + 5], &values[512 + 5], 4) != 0);
  CHECK(err.finish().empty());
}

TEST_CASE("a compressed chunk that decodes to more or fewer bytes than a chunk is refused",
          "[hdf5]") {
  scratch_dir dir("ckpt-hdf5-chunks");
  const fs::path path = dir / "lengths.h5";
  // Two chunks of 16 x 64 float32 (4096 bytes); chunk 0 good, chunk 1 as each case makes it.
  const auto values = ramp(16 * 64);
  const auto good = deflate_bytes(values.data(), 4096);
  const auto longer = ramp(16 * 64 + 8);
  const auto full = deflate_bytes(longer.data(), longer.size() * 4);
  const auto truncated = std::vector<unsigned char>(good.begin(), good.end() - 6);
  auto garbage = good;
  garbage[garbage.size() / 2] ^= 0xff;
  garbage[garbage.size() / 2 + 1] ^= 0x55;
  struct bad_chunk {
    const char* name;
    std::vector<unsigned char> stored;
    const char* says;
  };
  const std::vector<bad_chunk> cases = {
      {"fewer bytes", deflate_bytes(values.data(), 4096 - 12), "inflates to 4084 bytes"},
      {"more bytes", full, "inflates to more than"},
      {"stream cut short", truncated, "ends early"},
      {"damaged stream", garbage, "chunk 1 at (16, 0)"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      write_raw_chunks(path, {32, 64}, {16, 64},
                       [](hid_t dcpl) { REQUIRE(H5Pset_deflate(dcpl, 6) >= 0); }, {{0, 0}, {16, 0}},
                       {good, c.stored});
      stderr_capture err;
      ckpt::reader reader(path);
      CHECK(dynamic_cast<h5::tensor_reader&>(reader.impl()).info(0).direct_chunks);
      const auto e = error_of([&] { reader.read<float>("w"); });
      INFO(e.what());
      CHECK(e.code() == ckpt::errc::bad_format);
      CHECK(mentions(e, "lengths.h5"));
      CHECK(mentions(e, "/w"));
      CHECK(mentions(e, "chunk 1 at (16, 0)"));
      CHECK(mentions(e, c.says));
      CHECK(e.offset() == locate_chunk(path, "/w", {16, 0}).address);
      CHECK(err.finish().empty());
    }
  }
  SECTION("zstd frames of the wrong size") {
    REQUIRE(h5::register_zstd_filter());
    const auto frame = [](const void* data, std::size_t size) {
      std::vector<unsigned char> out(ZSTD_compressBound(size));
      out.resize(ZSTD_compress(out.data(), out.size(), data, size, 3));
      return out;
    };
    for (const std::size_t size : {std::size_t{4096 - 8}, std::size_t{4096 + 8}}) {
      write_raw_chunks(
          path, {32, 64}, {16, 64},
          [](hid_t dcpl) {
            const unsigned level = 3;
            REQUIRE(H5Pset_filter(dcpl, h5::zstd_filter_id, H5Z_FLAG_MANDATORY, 1, &level) >= 0);
          },
          {{0, 0}, {16, 0}}, {frame(values.data(), 4096), frame(longer.data(), size)});
      stderr_capture err;
      ckpt::reader reader(path);
      const auto e = error_of([&] { reader.read<float>("w"); });
      INFO(e.what());
      CHECK(e.code() == ckpt::errc::bad_format);
      CHECK(mentions(e, "chunk 1 at (16, 0)"));
      CHECK(mentions(e, "zstd frame of " + std::to_string(size) + " bytes"));
      CHECK(err.finish().empty());
    }
  }
}
