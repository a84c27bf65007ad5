// SPDX-License-Identifier: Apache-2.0
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <ckpt/codec/shuffle.hpp>

namespace {

namespace si = ckpt::shuffle_impl;

// Written from the HDF5 filter's description, independently of the library's loops.
std::vector<std::byte> reference_shuffle(const std::vector<std::byte>& in, std::size_t size) {
  std::vector<std::byte> out(in.size());
  const std::size_t n = size == 0 ? 0 : in.size() / size;
  std::size_t k = 0;
  for (std::size_t plane = 0; plane < size && n > 0; ++plane) {
    for (std::size_t e = 0; e < n; ++e) out[k++] = in[e * size + plane];
  }
  for (; k < in.size(); ++k) out[k] = in[k];  // leftover bytes, or everything for size 0
  return out;
}

std::vector<std::byte> random_bytes(std::mt19937& rng, std::size_t n) {
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

// A buffer whose payload starts `misalign` bytes past a 64-byte boundary, with guard bytes around
// it that no path may touch.
struct guarded_bytes {
  static constexpr std::size_t guard = 64;
  std::vector<std::byte> storage;
  std::byte* data;
  std::size_t bytes;
  guarded_bytes(std::size_t n, std::size_t misalign)
      : storage(n + 2 * guard + 128, std::byte{0xa5}), bytes(n) {
    const auto base = reinterpret_cast<std::uintptr_t>(storage.data()) + guard;
    data = reinterpret_cast<std::byte*>(((base + 63) & ~std::uintptr_t{63}) + misalign);
  }
  bool guards_intact() const {
    for (const std::byte* p = data - guard; p < data; ++p) {
      if (*p != std::byte{0xa5}) return false;
    }
    for (const std::byte* p = data + bytes; p < data + bytes + guard; ++p) {
      if (*p != std::byte{0xa5}) return false;
    }
    return true;
  }
  std::vector<std::byte> payload() const { return {data, data + bytes}; }
};

constexpr std::size_t kElemSizes[] = {1, 2, 3, 4, 5, 7, 8, 16};

void check_all_paths(std::size_t size, std::size_t bytes, std::size_t src_misalign,
                     std::size_t dst_misalign, std::mt19937& rng, std::size_t& failures) {
  const std::vector<std::byte> input = random_bytes(rng, bytes);
  const std::vector<std::byte> expected = reference_shuffle(input, size);
  for (si::path p : si::all_paths) {
    if (!si::available(p)) continue;
    guarded_bytes src(bytes, src_misalign), shuffled(bytes, dst_misalign),
        restored(bytes, src_misalign);
    if (bytes) std::memcpy(src.data, input.data(), bytes);
    si::shuffle_with(p, src.data, shuffled.data, bytes, size);
    si::unshuffle_with(p, shuffled.data, restored.data, bytes, size);
    const bool ok = shuffled.payload() == expected && restored.payload() == input &&
                    shuffled.guards_intact() && restored.guards_intact() && src.payload() == input;
    if (!ok && failures++ == 0) {
      INFO("path " << si::name(p) << " elem_size " << size << " bytes " << bytes << " misalign "
                   << src_misalign << "," << dst_misalign);
      CHECK(ok);
    }
  }
}

}  // namespace

TEST_CASE("shuffle matches HDF5's layout on a small example", "[shuffle]") {
  // Three 4-byte elements and two leftover bytes.
  std::vector<std::byte> in;
  for (int i = 0; i < 14; ++i) in.push_back(static_cast<std::byte>(i));
  const int want[] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 13};
  for (si::path p : si::all_paths) {
    if (!si::available(p)) continue;
    INFO("path " << si::name(p));
    std::vector<std::byte> out(in.size()), back(in.size());
    si::shuffle_with(p, in.data(), out.data(), in.size(), 4);
    for (std::size_t i = 0; i < in.size(); ++i) CHECK(out[i] == static_cast<std::byte>(want[i]));
    si::unshuffle_with(p, out.data(), back.data(), out.size(), 4);
    CHECK(back == in);
  }
}

TEST_CASE("shuffle round trips and equals the reference for every length up to 300 bytes",
          "[shuffle]") {
  std::mt19937 rng(4242);
  std::size_t failures = 0;
  for (std::size_t size : kElemSizes) {
    for (std::size_t bytes = 0; bytes <= 300; ++bytes) {
      check_all_paths(size, bytes, 0, 0, rng, failures);
      check_all_paths(size, bytes, 1, 3, rng, failures);
    }
  }
  REQUIRE(failures == 0);
}

TEST_CASE("shuffle round trips for 0..300 elements plus leftovers at several misalignments",
          "[shuffle]") {
  // Counting elements rather than bytes drives the 32-element SIMD blocks for wide elements too.
  std::mt19937 rng(99);
  std::size_t failures = 0;
  const std::size_t misalign[][2] = {{0, 0}, {1, 0}, {0, 5}, {3, 7}, {32, 17}};
  for (std::size_t size : kElemSizes) {
    for (std::size_t n = 0; n <= 300; ++n) {
      const std::size_t bytes = n * size + (n % size);  // vary the leftover count as well
      for (const auto& m : misalign) check_all_paths(size, bytes, m[0], m[1], rng, failures);
    }
  }
  REQUIRE(failures == 0);
}

TEST_CASE("every SIMD shuffle path equals the scalar twin on large buffers", "[shuffle]") {
  std::mt19937 rng(7);
  for (std::size_t size : {2u, 4u, 8u, 3u, 16u}) {
    for (std::size_t bytes :
         {std::size_t{1} << 16, (std::size_t{1} << 16) + 5, std::size_t{100003}}) {
      const std::vector<std::byte> in = random_bytes(rng, bytes);
      std::vector<std::byte> want(bytes), got(bytes), back(bytes);
      si::scalar_shuffle(in.data(), want.data(), bytes, size);
      for (si::path p : si::all_paths) {
        if (!si::available(p)) continue;
        INFO("path " << si::name(p) << " elem_size " << size << " bytes " << bytes);
        si::shuffle_with(p, in.data(), got.data(), bytes, size);
        CHECK(got == want);
        si::unshuffle_with(p, got.data(), back.data(), bytes, size);
        CHECK(back == in);
      }
    }
  }
}

TEST_CASE("public shuffle entry points, elem_size 0 and empty input", "[shuffle]") {
  std::mt19937 rng(5);
  const std::vector<std::byte> in = random_bytes(rng, 1000);
  std::vector<std::byte> out(in.size()), back(in.size());
  ckpt::byte_shuffle(in.data(), out.data(), in.size(), 4);
  CHECK(out == reference_shuffle(in, 4));
  ckpt::byte_unshuffle(out.data(), back.data(), out.size(), 4);
  CHECK(back == in);

  ckpt::byte_shuffle(in.data(), out.data(), in.size(), 0);
  CHECK(out == in);
  ckpt::byte_unshuffle(in.data(), out.data(), in.size(), 0);
  CHECK(out == in);
  // An element wider than the buffer (even absurdly so) leaves only leftover bytes: a copy.
  ckpt::byte_shuffle(in.data(), out.data(), in.size(), ~std::size_t{0} / 2 + 2);
  CHECK(out == in);
  ckpt::byte_shuffle(nullptr, nullptr, 0, 4);
  ckpt::byte_unshuffle(nullptr, nullptr, 0, 8);
}

TEST_CASE("shuffle dispatch and the CKPT_DISABLE_SIMD switch", "[shuffle]") {
  CHECK(si::available(si::path::scalar));
  CHECK(si::available(si::selected()));
  CHECK(std::string(si::name(si::path::avx2)) == "avx2");
  CHECK_FALSE(ckpt::simd::env_value_disables(nullptr));
  CHECK_FALSE(ckpt::simd::env_value_disables("0"));
  CHECK(ckpt::simd::env_value_disables("1"));
#if defined(CKPT_DISABLE_SIMD) || !defined(__x86_64__)
  CHECK(si::selected() == si::path::scalar);
  CHECK_FALSE(si::available(si::path::avx2));
#else
  if (ckpt::simd::disabled()) {
    CHECK(si::selected() == si::path::scalar);
  }
#endif
}
