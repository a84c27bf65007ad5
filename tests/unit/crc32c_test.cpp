// SPDX-License-Identifier: Apache-2.0
#include "ckpt/codec/crc32c.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace {

using ckpt::crc32c;
namespace impl = ckpt::crc32c_impl;

// Own generator rather than <random> so the data is identical on every standard library.
struct splitmix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }
};

std::vector<unsigned char> random_bytes(std::size_t n, std::uint64_t seed) {
  splitmix64 rng{seed};
  std::vector<unsigned char> v(n);
  for (auto& b : v) b = static_cast<unsigned char>(rng.next() >> 56);
  return v;
}

std::vector<impl::path> available_paths() {
  std::vector<impl::path> out;
  for (impl::path p : impl::kAllPaths) {
    if (impl::available(p)) out.push_back(p);
  }
  return out;
}

std::uint32_t crc_of(impl::path p, std::string_view s, std::uint32_t crc = 0) {
  return impl::run(p, s.data(), s.size(), crc);
}

}  // namespace

TEST_CASE("crc32c check value on every available path", "[crc32c]") {
  constexpr std::string_view kCheck = "123456789";
  for (impl::path p : available_paths()) {
    INFO("path " << impl::name(p));
    CHECK(crc_of(p, kCheck) == 0xE3069283u);
    CHECK(crc_of(p, "") == 0u);
  }
  CHECK(crc32c(kCheck.data(), kCheck.size()) == 0xE3069283u);
  CHECK(crc32c(nullptr, 0) == 0u);
  CHECK(impl::scalar(kCheck.data(), kCheck.size(), 0) == 0xE3069283u);
#if defined(__x86_64__)
  // The named entry points, not just run(), must be usable directly.
  if (impl::available(impl::path::sse42)) {
    CHECK(impl::sse42(kCheck.data(), kCheck.size(), 0) == 0xE3069283u);
  }
  if (impl::available(impl::path::sse42_3way)) {
    CHECK(impl::sse42_3way(kCheck.data(), kCheck.size(), 0) == 0xE3069283u);
  }
  if (impl::available(impl::path::pclmul_fold)) {
    CHECK(impl::pclmul_fold(kCheck.data(), kCheck.size(), 0) == 0xE3069283u);
  }
  if (impl::available(impl::path::avx512)) {
    CHECK(impl::avx512(kCheck.data(), kCheck.size(), 0) == 0xE3069283u);
  }
#endif
}

TEST_CASE("crc32c RFC 3720 B.4 vectors", "[crc32c]") {
  std::vector<unsigned char> zeros(32, 0x00);
  std::vector<unsigned char> ones(32, 0xFF);
  std::vector<unsigned char> ascending(32);
  std::vector<unsigned char> descending(32);
  for (std::size_t i = 0; i < 32; ++i) {
    ascending[i] = static_cast<unsigned char>(i);
    descending[i] = static_cast<unsigned char>(31 - i);
  }
  // iSCSI SCSI Read (10) command PDU.
  const std::vector<unsigned char> pdu = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  for (impl::path p : available_paths()) {
    INFO("path " << impl::name(p));
    CHECK(impl::run(p, zeros.data(), zeros.size(), 0) == 0x8A9136AAu);
    CHECK(impl::run(p, ones.data(), ones.size(), 0) == 0x62A8AB43u);
    CHECK(impl::run(p, ascending.data(), ascending.size(), 0) == 0x46DD794Eu);
    CHECK(impl::run(p, descending.data(), descending.size(), 0) == 0x113FDB5Cu);
    CHECK(impl::run(p, pdu.data(), pdu.size(), 0) == 0xD9963A56u);
  }
  CHECK(crc32c(std::as_bytes(std::span(ascending))) == 0x46DD794Eu);
}

TEST_CASE("crc32c every length and alignment matches scalar", "[crc32c]") {
  constexpr std::size_t kMaxLen = 4096;
  constexpr std::size_t kAligns = 16;
  const auto src = random_bytes(kMaxLen, 0xC0FFEE);
  std::vector<std::uint32_t> expected(kMaxLen + 1);
  for (std::size_t n = 0; n <= kMaxLen; ++n) expected[n] = impl::scalar(src.data(), n, 0);
  // A non-zero seed CRC must also flow through every path's initial register handling.
  std::vector<std::uint32_t> expected_seeded(kMaxLen + 1);
  for (std::size_t n = 0; n <= kMaxLen; ++n) {
    expected_seeded[n] = impl::scalar(src.data(), n, 0x12345678u);
  }

  const auto paths = available_paths();
  std::size_t mismatches = 0;
  for (std::size_t align = 0; align < kAligns; ++align) {
    for (std::size_t n = 0; n <= kMaxLen; ++n) {
      // Exactly sized heap block so AddressSanitizer flags any read past the end; the bytes in
      // front of the data are junk that would change the result if a path read them.
      std::unique_ptr<unsigned char[]> block(new unsigned char[align + n]);
      std::memset(block.get(), 0xA5, align);
      if (n != 0) std::memcpy(block.get() + align, src.data(), n);
      const unsigned char* data = block.get() + align;
      for (impl::path p : paths) {
        const bool ok = impl::run(p, data, n, 0) == expected[n] &&
                        impl::run(p, data, n, 0x12345678u) == expected_seeded[n];
        if (!ok && ++mismatches <= 10) {
          FAIL_CHECK("path " << impl::name(p) << " len " << n << " align " << align);
        }
      }
      if (crc32c(data, n) != expected[n] && ++mismatches <= 10) {
        FAIL_CHECK("crc32c() len " << n << " align " << align);
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("crc32c extend in pieces equals one-shot", "[crc32c]") {
  constexpr std::size_t kLen = 20000;
  const auto data = random_bytes(kLen, 42);
  for (impl::path p : available_paths()) {
    INFO("path " << impl::name(p));
    const std::uint32_t whole = impl::run(p, data.data(), kLen, 0);
    CHECK(whole == impl::scalar(data.data(), kLen, 0));

    for (std::size_t split :
         {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9},
          std::size_t{15}, std::size_t{16}, std::size_t{63}, std::size_t{64}, std::size_t{65},
          std::size_t{1000}, kLen / 2, kLen - 1, kLen}) {
      INFO("split " << split);
      const std::uint32_t a = impl::run(p, data.data(), split, 0);
      CHECK(impl::run(p, data.data() + split, kLen - split, a) == whole);
    }

    splitmix64 rng{7};
    for (int trial = 0; trial < 200; ++trial) {
      std::uint32_t crc = 0;
      std::size_t pos = 0;
      while (pos < kLen) {
        // Mostly short pieces with the occasional long one, so every internal loop gets entered
        // from an arbitrary register state.
        const std::size_t max_piece = rng.below(4) == 0 ? 8192 : 64;
        const std::size_t piece = std::min(kLen - pos, rng.below(max_piece + 1));
        crc = impl::run(p, data.data() + pos, piece, crc);
        pos += piece;
      }
      if (crc != whole) {
        FAIL_CHECK("random split trial " << trial);
        break;
      }
    }
  }
  // Public overloads extend the same way.
  const auto bytes = std::as_bytes(std::span(data));
  CHECK(crc32c(bytes.subspan(1234), crc32c(bytes.first(1234))) == crc32c(bytes));
}

TEST_CASE("crc32c_combine", "[crc32c]") {
  const auto data = random_bytes(1 << 20, 99);
  const std::uint32_t whole = crc32c(data.data(), data.size());
  splitmix64 rng{1234};
  std::vector<std::size_t> splits = {0, 1, 2, 3, 4, 5, 8, 100, 4096, data.size() - 1, data.size()};
  for (int i = 0; i < 100; ++i) splits.push_back(rng.below(data.size() + 1));
  for (std::size_t split : splits) {
    INFO("split " << split);
    const std::uint32_t a = crc32c(data.data(), split);
    const std::uint32_t b = crc32c(data.data() + split, data.size() - split);
    CHECK(ckpt::crc32c_combine(a, b, data.size() - split) == whole);
  }
  CHECK(ckpt::crc32c_combine(0xE3069283u, 0, 0) == 0xE3069283u);

  // Lengths far beyond anything that could be hashed directly: combining is associative, so three
  // pieces merged in either order must agree.
  const std::uint32_t a = 0x01234567u;
  const std::uint32_t b = 0x89ABCDEFu;
  const std::uint32_t c = 0xDEADBEEFu;
  const std::size_t len_b = (std::size_t{1} << 40) + 12345;
  const std::size_t len_c = (std::size_t{1} << 62) + 999;
  const std::uint32_t left = ckpt::crc32c_combine(ckpt::crc32c_combine(a, b, len_b), c, len_c);
  const std::uint32_t right =
      ckpt::crc32c_combine(a, ckpt::crc32c_combine(b, c, len_c), len_b + len_c);
  CHECK(left == right);

  // Appending n zero bytes through combine equals hashing them.
  const std::vector<unsigned char> zeros(100000, 0);
  const std::uint32_t crc_zeros = crc32c(zeros.data(), zeros.size());
  CHECK(ckpt::crc32c_combine(whole, crc_zeros, zeros.size()) ==
        crc32c(zeros.data(), zeros.size(), whole));
}

TEST_CASE("crc32c mask and unmask", "[crc32c]") {
  static_assert(ckpt::crc32c_mask(0) == 0xA282EAD8u);
  static_assert(ckpt::crc32c_unmask(ckpt::crc32c_mask(0xE3069283u)) == 0xE3069283u);
  // By hand: 0xE3069283 rotated right by 15 is 0x2507C60D; plus 0xA282EAD8 is 0xC78AB0E5.
  CHECK(ckpt::crc32c_mask(0xE3069283u) == 0xC78AB0E5u);
  CHECK(ckpt::crc32c_unmask(0xC78AB0E5u) == 0xE3069283u);
  // Rotate right by 15 moves bit 15 to bit 0: 0x8000 -> 1, plus the delta.
  CHECK(ckpt::crc32c_mask(0x00008000u) == 0xA282EAD9u);
  CHECK(ckpt::crc32c_mask(0xFFFFFFFFu) == 0xA282EAD7u);  // wraps modulo 2^32
  CHECK(ckpt::crc32c_mask(ckpt::crc32c_mask(0x12345678u)) != ckpt::crc32c_mask(0x12345678u));
  splitmix64 rng{5};
  for (int i = 0; i < 10000; ++i) {
    const auto v = static_cast<std::uint32_t>(rng.next());
    if (ckpt::crc32c_unmask(ckpt::crc32c_mask(v)) != v) FAIL("round trip " << v);
  }
}

TEST_CASE("crc32c large buffer on every path", "[crc32c]") {
  constexpr std::size_t kLen = (3u << 20) + 7;
  const auto data = random_bytes(kLen + 1, 3);
  const std::uint32_t expected = impl::scalar(data.data(), kLen, 0);
  const std::uint32_t expected_misaligned = impl::scalar(data.data() + 1, kLen, 0);
  const std::uint32_t expected_seeded = impl::scalar(data.data(), kLen, 0xCAFEF00Du);
  for (impl::path p : available_paths()) {
    INFO("path " << impl::name(p));
    CHECK(impl::run(p, data.data(), kLen, 0) == expected);
    CHECK(impl::run(p, data.data() + 1, kLen, 0) == expected_misaligned);
    CHECK(impl::run(p, data.data(), kLen, 0xCAFEF00Du) == expected_seeded);
  }
  CHECK(crc32c(data.data(), kLen) == expected);
}

TEST_CASE("crc32c dispatch", "[crc32c]") {
  const impl::path chosen = impl::selected();
  CHECK(impl::available(chosen));
  CHECK(impl::available(impl::path::scalar));
  const char* env = std::getenv("CKPT_DISABLE_SIMD");
  const bool env_disables =
      env != nullptr && env[0] != '\0' && std::string_view(env) != std::string_view("0");
#if defined(CKPT_DISABLE_SIMD)
  CHECK(chosen == impl::path::scalar);
#else
  if (env_disables) CHECK(chosen == impl::path::scalar);
#endif
#if defined(__x86_64__)
  if (!env_disables && impl::available(impl::path::sse42)) {
#if !defined(CKPT_DISABLE_SIMD)
    CHECK(chosen != impl::path::scalar);
#endif
  }
  CHECK_FALSE(impl::available(impl::path::armv8));
#endif
  for (impl::path p : impl::kAllPaths) {
    INFO("path " << static_cast<int>(p));
    CHECK(std::string_view(impl::name(p)) != "unknown");
    // run() on an unavailable path must still produce the right answer rather than fault.
    CHECK(crc_of(p, "123456789") == 0xE3069283u);
  }
  INFO("selected path: " << impl::name(chosen));
  SUCCEED();
}
