// SPDX-License-Identifier: Apache-2.0
// Truncated and corrupted HDF5 files: every one gives a ckpt::error (or, where the damage hits
// unchecked tensor bytes, loads), nothing is printed to stderr, and nothing crashes. A flipped
// byte inside a Fletcher32-protected chunk is errc::checksum_mismatch.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/files.hpp"
#include "../support/fixtures.hpp"
#include "../support/hdf5_test_support.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

struct Layer {
  ckpt::tensor<float> kernel;
  std::vector<float> bias;
};
struct Small {
  Layer dense;
  std::vector<std::string> vocab;
  std::int64_t step = 0;
};

Small make_small(bool strings = true) {
  Small s;
  s.dense.kernel = ckpt::tensor<float>({4, 4});
  for (std::size_t i = 0; i < 16; ++i) s.dense.kernel[i] = 1.0f + static_cast<float>(i) * 0.25f;
  s.dense.bias = {-1.5f, 2.5f, 3.5f, -4.5f};
  if (strings) s.vocab = {"alpha", "beta"};
  s.step = 7;
  return s;
}

enum class outcome { loaded, refused };

// Opens `path` and reads every entry; returns how it went. Any exception but ckpt::error fails.
outcome try_load(const fs::path& path, std::string* message = nullptr) {
  try {
    ckpt::reader reader(path);
    for (const auto& e : reader.entries()) {
      std::vector<std::byte> bytes;
      std::vector<std::string> strings;
      ckpt::mutable_tensor_view out{e.dtype, e.shape, {}, {}};
      if (e.dtype == ckpt::dtype::string) {
        strings.resize(ckpt::num_elements(e.shape));
        out.strings = strings;
      } else {
        bytes.resize(e.bytes);
        out.bytes = bytes;
      }
      reader.impl().read(static_cast<std::size_t>(&e - reader.entries().data()), out);
    }
    return outcome::loaded;
  } catch (const ckpt::error& e) {
    if (message) *message = e.what();
    return outcome::refused;
  }
}

std::string saved_bytes(const scratch_dir& dir, const ckpt::storage_options& storage,
                        bool strings = true) {
  const fs::path path = dir / "source.h5";
  ckpt::save_options options;
  options.storage = storage;
  ckpt::save(make_small(strings), path, options);
  return slurp(path);
}

}  // namespace

TEST_CASE("every truncation of a small HDF5 file is refused quietly", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-hostile");
  const fs::path path = dir / "cut.h5";
  for (const auto& storage :
       {ckpt::storage_options{},
        ckpt::storage_options{.shuffle = true, .deflate_level = 4, .checksum = true}}) {
    const std::string bytes = saved_bytes(dir, storage);
    REQUIRE(bytes.size() > 1000);
    // Every length through the superblock, the root group and the first objects (the first 2 KiB),
    // the last 64, and 512 spread over the rest: past the superblock every cut fails the same
    // comparison of the file's size with its stored end, so testing each of ~20,000 lengths (a
    // minute under the sanitizers) adds nothing.
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n < bytes.size(); ++n)
      if (n < 2048 || n + 64 >= bytes.size() ||
          n % std::max<std::size_t>(1, bytes.size() / 512) == 0)
        lengths.push_back(n);
    std::size_t refused = 0;
    stderr_capture err;
    for (const std::size_t n : lengths) {
      spit(path, bytes.substr(0, n));
      std::string message;
      if (try_load(path, &message) == outcome::refused) {
        ++refused;
        if (message.find("cut.h5") == std::string::npos) {
          err.finish();
          FAIL("message does not name the file: " << message);
        }
      }
    }
    const std::string printed = err.finish();
    CHECK(printed.empty());
    CHECK(refused == lengths.size());  // libhdf5 compares the file's end with the stored one
  }
}

namespace {

// The offsets of global heap collections ("GCOL"), where variable-length strings live.
std::vector<std::uint64_t> heap_collections(const std::string& bytes) {
  std::vector<std::uint64_t> found;
  for (auto at = bytes.find("GCOL"); at != std::string::npos; at = bytes.find("GCOL", at + 1))
    found.push_back(at);
  return found;
}

// Loads `path` in a child process (child_process.hpp), so that a crash inside libhdf5 is observed
// rather than fatal and libhdf5's shutdown is part of what is checked. Returns 0 loaded, 1 refused
// with ckpt::error, 2 other exception, or 128 + signal.
int load_in_child(const fs::path& path, const fs::path& stderr_file) {
  return run_in_child(
             stderr_file, [&] { return try_load(path) == outcome::loaded ? 0 : 1; }, 5)
      .status;
}

struct sweep_result {
  std::size_t refused = 0, loaded = 0, other_exceptions = 0;
  std::vector<std::size_t> crashes;  // offsets whose corruption crashed or hung the child
  std::string printed;
};

// About 600 offsets spread evenly over the file (every offset of a small one), each with all bits
// flipped; every eighth of them also zeroed and set to 0xff. Each file is loaded in a child
// process, so a crash inside libhdf5 is observed rather than fatal; the cap keeps the sweep to a
// minute or two under the sanitizers.
sweep_result sweep(const scratch_dir& dir, const std::string& bytes) {
  const std::size_t stride = std::max<std::size_t>(1, bytes.size() / 600);
  const fs::path path = dir / "bad.h5", err_file = dir / "stderr.txt";
  std::error_code ec;
  fs::remove(err_file, ec);
  sweep_result r;
  for (std::size_t i = 0; i < bytes.size(); i += stride) {
    for (int way = 0; way < ((i / stride) % 8 == 0 ? 3 : 1); ++way) {
      std::string bad = bytes;
      const auto original = static_cast<unsigned char>(bad[i]);
      const unsigned char changed = way == 0   ? static_cast<unsigned char>(~original)
                                    : way == 1 ? 0
                                               : 0xff;
      if (changed == original) continue;
      bad[i] = static_cast<char>(changed);
      spit(path, bad);
      const int result = load_in_child(path, err_file);
      // What a crashing child printed is the C library's abort message, counted as a crash.
      if (result <= 2) r.printed += slurp(err_file);
      if (result == 0)
        ++r.loaded;
      else if (result == 1)
        ++r.refused;
      else if (result == 2)
        ++r.other_exceptions;
      else
        r.crashes.push_back(i);
    }
  }
  return r;
}

}  // namespace

// Files without variable-length strings: no single-byte corruption crashes, hangs, prints or
// throws anything but ckpt::error.
TEST_CASE("byte corruptions of HDF5 files without strings never crash or print",
          "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-hostile");
  for (const auto& storage :
       {ckpt::storage_options{}, ckpt::storage_options{.shuffle = true, .zstd_level = 3},
        ckpt::storage_options{
            .layout = ckpt::storage_layout::chunked, .chunk_bytes = 16, .checksum = true}}) {
    const auto r = sweep(dir, saved_bytes(dir, storage, /*strings=*/false));
    std::string offsets;
    for (auto o : r.crashes) offsets += std::to_string(o) + " ";
    INFO("crashed or hung at offsets: " << offsets);
    CHECK(r.crashes.empty());
    CHECK(r.printed.substr(0, 2000) == "");
    CHECK(r.other_exceptions == 0);
    CHECK(r.refused > 0);
    CHECK(r.loaded > 0);  // flips in unused bytes and in unchecked tensor bytes still load
  }
}

// Variable-length strings live in libhdf5's global heap, which libhdf5 1.10 reads without bounds
// checks; ckpt's preflight (formats/hdf5/raw) checks every reference and collection first, so
// these files are held to the same standard as the others.
TEST_CASE("byte corruptions of HDF5 files with strings never crash or print", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-hostile");
  const std::string bytes = saved_bytes(dir, {}, /*strings=*/true);
  REQUIRE(!heap_collections(bytes).empty());
  const auto r = sweep(dir, bytes);
  std::string offsets;
  for (auto o : r.crashes) offsets += std::to_string(o) + " ";
  INFO("crashed or hung at offsets: " << offsets);
  CHECK(r.crashes.empty());
  CHECK(r.printed.substr(0, 2000) == "");
  CHECK(r.other_exceptions == 0);
  CHECK(r.refused > 0);
  CHECK(r.loaded > 0);
}

// Files Keras wrote: h5py 3 (variable-length string attributes in the global heap), h5py 2
// (fixed-length string attributes) and Keras 3 (vars groups of numbered datasets).
TEST_CASE("byte corruptions of Keras files never crash or print", "[hdf5][hostile][keras]") {
  const fs::path fixtures = ckpt_test::fixtures_dir() / "h5";
  if (!ckpt_test::fixture_present(fixtures)) return;
  scratch_dir dir("ckpt-hdf5-hostile");
  for (const char* name :
       {"keras2_tf2.11_conv2d_save_weights.h5", "keras2_2.0.0_dense3layer_save_weights.h5",
        "keras3_nested_container.weights.h5"}) {
    INFO(name);
    const std::string bytes = slurp(fixtures / name);
    REQUIRE(bytes.size() > 1000);
    REQUIRE(try_load(fixtures / name) == outcome::loaded);
    const auto r = sweep(dir, bytes);
    std::string offsets;
    for (auto o : r.crashes) offsets += std::to_string(o) + " ";
    INFO("crashed or hung at offsets: " << offsets);
    CHECK(r.crashes.empty());
    CHECK(r.printed.substr(0, 2000) == "");
    CHECK(r.other_exceptions == 0);
    CHECK(r.refused > 0);
    CHECK(r.loaded > 0);
  }
}

TEST_CASE("a corrupted Fletcher32 chunk is a checksum mismatch", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-hostile");
  const fs::path path = dir / "sum.h5";
  const Small original = make_small();
  ckpt::save_options options;
  options.storage.checksum = true;
  ckpt::save(original, path, options);
  std::string bytes = slurp(path);
  // Unfiltered but for the checksum, the kernel's bytes lie in the file as they are in memory.
  const std::string kernel(reinterpret_cast<const char*>(original.dense.kernel.data()),
                           16 * sizeof(float));
  const auto at = bytes.find(kernel);
  REQUIRE(at != std::string::npos);
  bytes[at + 5] = static_cast<char>(bytes[at + 5] ^ 0x10);
  spit(path, bytes);

  stderr_capture err;
  Small loaded;
  try {
    ckpt::load(loaded, path);
    FAIL("loaded a corrupted chunk");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::checksum_mismatch);
    CHECK(e.file() == path.string());
    CHECK(std::string(e.what()).find("dense/kernel") != std::string::npos);
  }
  ckpt::reader reader(path);
  CHECK(reader.verify("dense/kernel") == ckpt::checksum_status::mismatch);
  CHECK(reader.verify("dense/bias") == ckpt::checksum_status::ok);

  // Asked not to verify, the damaged value comes through.
  ckpt::load_options unchecked;
  unchecked.verify_checksums = false;
  ckpt::load(loaded, path, unchecked);
  CHECK(loaded.dense.bias == original.dense.bias);
  CHECK(std::memcmp(loaded.dense.kernel.data(), original.dense.kernel.data(), 64) != 0);
  CHECK(err.finish().empty());
}

TEST_CASE("files that are not HDF5 are refused before libhdf5 sees them", "[hdf5][hostile]") {
  scratch_dir dir("ckpt-hdf5-hostile");
  stderr_capture err;
  const fs::path path = dir / "plain.h5";
  spit(path, "this is not an HDF5 file at all, just text");
  try {
    ckpt::reader reader(path, {.format = "hdf5"});
    FAIL("opened a text file");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(std::string(e.what()).find("signature") != std::string::npos);
  }
  try {
    ckpt::reader reader(dir / "missing.h5", {.format = "hdf5"});
    FAIL("opened a missing file");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::not_found);
  }
  CHECK(err.finish().empty());
}
