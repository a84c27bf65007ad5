// SPDX-License-Identifier: Apache-2.0
// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) with run-time CPU dispatch.
//
// All CRC values crossing the public API are *finished* CRCs (LevelDB/TensorFlow `Extend`
// convention): the pre- and post-inversion happen inside, so a previous result can be fed back in
// as `crc` to continue a stream. Internally the code works on the raw shift register, which is the
// finished CRC complemented.
//
// Polynomial arithmetic notes used throughout (reflected bit order):
//   * a 32-bit register value r represents the polynomial sum r_i * x^(31-i);
//   * the crc32 instruction computes crc32_u64(r, d) = ((d ^ r) * x^32) mod P, where the 64-bit d
//     represents sum d_i * x^(63-i);
//   * a carry-less product of two 32-bit reflected values, read as a 64-bit reflected value, is
//     a(x)*b(x)*x, so crc32_u64(0, clmul(a, k)) = a*k*x^33 mod P. Multiplying by k = x^(n-33)
//     therefore shifts a register by n bits; every "- 33" below comes from this.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include "ckpt/codec/simd.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__ARM_FEATURE_CRC32) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include <arm_acle.h>
#define CKPT_CRC32C_HAVE_ARMV8 1
#endif

namespace ckpt {
namespace crc32c_impl {

inline constexpr std::uint32_t kPoly = 0x82F63B78u;

namespace detail {

// (a * b) mod P. Horner over a's coefficients from x^31 (bit 0) down to x^0 (bit 31).
constexpr std::uint32_t gf_mul(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t p = 0;
  for (int i = 0; i < 32; ++i) {
    p = (p >> 1) ^ (kPoly & (0u - (p & 1u)));
    if ((a >> i) & 1u) p ^= b;
  }
  return p;
}

// x^n mod P.
constexpr std::uint32_t x_pow(std::uint64_t n) noexcept {
  std::uint32_t result = 0x80000000u;  // 1
  std::uint32_t base = 0x40000000u;    // x
  while (n != 0) {
    if (n & 1u) result = gf_mul(result, base);
    base = gf_mul(base, base);
    n >>= 1;
  }
  return result;
}

// x^(8 * 2^k) mod P; lets a run-time shift by any byte count (even beyond 2^61 bytes, where the
// bit count would overflow) cost one multiply per set bit of the length.
inline constexpr std::array<std::uint32_t, 64> kByteShiftPow2 = [] {
  std::array<std::uint32_t, 64> t{};
  t[0] = 0x00800000u;  // x^8
  for (std::size_t k = 1; k < t.size(); ++k) t[k] = gf_mul(t[k - 1], t[k - 1]);
  return t;
}();

// reg * x^(8 * len) mod P, i.e. the register after feeding len zero bytes.
constexpr std::uint32_t shift_bytes(std::uint32_t reg, std::size_t len) noexcept {
  for (std::size_t k = 0; len != 0; ++k, len >>= 1) {
    if (len & 1u) reg = gf_mul(reg, kByteShiftPow2[k]);
  }
  return reg;
}

// kSlice[k][b]: register contribution of byte b followed by k zero bytes.
inline constexpr std::array<std::array<std::uint32_t, 256>, 8> kSlice = [] {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ (kPoly & (0u - (c & 1u)));
    t[0][b] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}();

// Byte-assembled so the scalar path is endian-independent; compilers fold it into one load.
inline std::uint32_t load_le32(const unsigned char* p) noexcept {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

inline std::uint32_t scalar_reg(std::uint32_t c, const unsigned char* p, std::size_t n) noexcept {
  const auto& t = kSlice;
  while (n >= 8) {
    const std::uint32_t lo = load_le32(p) ^ c;
    const std::uint32_t hi = load_le32(p + 4);
    c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  for (; n != 0; --n, ++p) c = t[0][(c ^ *p) & 0xFFu] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__) || defined(CKPT_CRC32C_HAVE_ARMV8)
// Only used where the CRC instructions consume little-endian words, so no byte swap is needed.
inline std::uint64_t load_u64(const unsigned char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint32_t load_u32(const unsigned char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint16_t load_u16(const unsigned char* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
#endif

#if defined(__x86_64__)

__attribute__((target("sse4.2"))) inline std::uint32_t sse42_reg(std::uint32_t c,
                                                                 const unsigned char* p,
                                                                 std::size_t n) noexcept {
  std::uint64_t r = c;
  for (; n >= 8; n -= 8, p += 8) r = _mm_crc32_u64(r, load_u64(p));
  auto c32 = static_cast<std::uint32_t>(r);
  if (n & 4u) {
    c32 = _mm_crc32_u32(c32, load_u32(p));
    p += 4;
  }
  if (n & 2u) {
    c32 = _mm_crc32_u16(c32, load_u16(p));
    p += 2;
  }
  if (n & 1u) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

// Bytes per stream for inputs of at least three times this. Long streams keep the hardware
// prefetchers ahead on cold data: with 4 KiB streams a 256 MiB pass ran at half the DRAM-bound
// rate on Zen 4, with 64 KiB at the full rate. Three streams still fit in a 1 MiB L2.
inline constexpr std::size_t kLongStream = 64 * 1024;
// Largest stream length for the remainder; its shift constants come from a table.
inline constexpr std::size_t kShortStream = 4096;

// kWordShift[w] = x^(64 * w - 33): carries a register over w 8-byte words (the -33 as in the
// header comment). Covers up to two short streams.
inline constexpr std::array<std::uint32_t, 2 * kShortStream / 8 + 1> kWordShift = [] {
  std::array<std::uint32_t, 2 * kShortStream / 8 + 1> t{};
  const std::uint32_t x64 = x_pow(64);
  t[1] = x_pow(64 - 33);
  for (std::size_t w = 2; w < t.size(); ++w) t[w] = gf_mul(t[w - 1], x64);
  return t;
}();

// Three equal streams of len bytes each (len a non-zero multiple of 8). The crc32 instruction has
// a latency of three cycles but issues every cycle, so independent streams run in its shadow. The
// registers of the first two streams are then shifted over the bytes that follow them (one
// carry-less multiply each by shift_a = x^(16 * len - 33), shift_b = x^(8 * len - 33)) and folded
// into the last word of the third stream, which costs one crc32 instead of a separate reduction.
__attribute__((target("sse4.2,pclmul"))) inline std::uint32_t block3_reg(
    std::uint32_t c, const unsigned char* p, std::size_t len, std::uint32_t shift_a,
    std::uint32_t shift_b) noexcept {
  std::uint64_t a = c;
  std::uint64_t b = 0;
  std::uint64_t d = 0;
  for (std::size_t i = 0; i < len - 8; i += 8) {
    a = _mm_crc32_u64(a, load_u64(p + i));
    b = _mm_crc32_u64(b, load_u64(p + len + i));
    d = _mm_crc32_u64(d, load_u64(p + 2 * len + i));
  }
  a = _mm_crc32_u64(a, load_u64(p + len - 8));
  b = _mm_crc32_u64(b, load_u64(p + 2 * len - 8));
  const __m128i regs = _mm_set_epi64x(static_cast<long long>(b), static_cast<long long>(a));
  const __m128i k = _mm_set_epi64x(shift_b, shift_a);
  const __m128i t =
      _mm_xor_si128(_mm_clmulepi64_si128(regs, k, 0x00), _mm_clmulepi64_si128(regs, k, 0x11));
  const auto shifted = static_cast<std::uint64_t>(_mm_cvtsi128_si64(t));
  return static_cast<std::uint32_t>(_mm_crc32_u64(d, load_u64(p + 3 * len - 8) ^ shifted));
}

inline constexpr std::uint32_t kLongShiftA = x_pow(8 * 2 * kLongStream - 33);
inline constexpr std::uint32_t kLongShiftB = x_pow(8 * kLongStream - 33);

// Below this the combine step costs more than the interleaving saves (measured on Zen 4).
inline constexpr std::size_t k3WayMin = 96;

__attribute__((target("sse4.2,pclmul"))) inline std::uint32_t sse42_3way_reg(
    std::uint32_t c, const unsigned char* p, std::size_t n) noexcept {
  for (; n >= 3 * kLongStream; p += 3 * kLongStream, n -= 3 * kLongStream) {
    c = block3_reg(c, p, kLongStream, kLongShiftA, kLongShiftB);
  }
  constexpr std::size_t kWords = kShortStream / 8;
  for (; n >= 3 * kShortStream; p += 3 * kShortStream, n -= 3 * kShortStream) {
    c = block3_reg(c, p, kShortStream, kWordShift[2 * kWords], kWordShift[kWords]);
  }
  // One block sized to what is left, so at most 23 bytes go through the single-stream loop.
  if (n >= k3WayMin) {
    const std::size_t len = n / 24 * 8;
    c = block3_reg(c, p, len, kWordShift[2 * (len / 8)], kWordShift[len / 8]);
    p += 3 * len;
    n -= 3 * len;
  }
  return sse42_reg(c, p, n);
}

// Folding constants for moving a 128-bit lane forward by Bits: the low qword carries coefficients
// x^127..x^64 of the lane, hence 64 more than the high qword (x^63..x^0); see the header comment
// for the -33. Variable templates force compile-time evaluation even at -O0.
template <std::uint64_t Bits>
inline constexpr auto kFoldLo = static_cast<long long>(x_pow(Bits + 64 - 33));
template <std::uint64_t Bits>
inline constexpr auto kFoldHi = static_cast<long long>(x_pow(Bits - 33));

__attribute__((target("sse4.2,pclmul"))) inline __m128i fold128(__m128i x, __m128i k) noexcept {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

// A 128-bit remainder is congruent to the message so far, so the crc32 instruction itself can do
// the final reduction instead of a Barrett step.
__attribute__((target("sse4.2,pclmul"))) inline std::uint32_t reduce128(__m128i x) noexcept {
  const auto lo = static_cast<std::uint64_t>(_mm_cvtsi128_si64(x));
  const auto hi = static_cast<std::uint64_t>(_mm_extract_epi64(x, 1));
  return static_cast<std::uint32_t>(_mm_crc32_u64(_mm_crc32_u64(0, lo), hi));
}

__attribute__((target("sse4.2,pclmul"))) inline __m128i loadu128(const unsigned char* p) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// Below this the set-up and final reduction of folding outweigh its loop; also at least one
// full stride is needed to start.
inline constexpr std::size_t kPclmulMin = 512;

__attribute__((target("sse4.2,pclmul"))) inline std::uint32_t pclmul_fold_reg(
    std::uint32_t c, const unsigned char* p, std::size_t n) noexcept {
  if (n < kPclmulMin) return sse42_3way_reg(c, p, n);
  // Eight accumulators: enough independent multiply chains to cover carry-less multiply latency.
  // The loops over them are fully unrolled so the accumulators live in registers, not on the
  // stack (GCC does not unroll them at -O2 by itself).
  constexpr int kAcc = 8;
  constexpr std::size_t kStride = 16 * kAcc;
  static_assert(kPclmulMin >= kStride);
  const __m128i k_stride = _mm_set_epi64x(kFoldHi<8 * kStride>, kFoldLo<8 * kStride>);
  const __m128i k_lane = _mm_set_epi64x(kFoldHi<128>, kFoldLo<128>);
  __m128i x[kAcc];
#pragma GCC unroll 8
  for (int i = 0; i < kAcc; ++i) x[i] = loadu128(p + 16 * i);
  x[0] = _mm_xor_si128(x[0], _mm_cvtsi32_si128(static_cast<int>(c)));
  p += kStride;
  n -= kStride;
  for (; n >= kStride; p += kStride, n -= kStride) {
#pragma GCC unroll 8
    for (int i = 0; i < kAcc; ++i)
      x[i] = _mm_xor_si128(fold128(x[i], k_stride), loadu128(p + 16 * i));
  }
  __m128i acc = x[0];
#pragma GCC unroll 8
  for (int i = 1; i < kAcc; ++i) acc = _mm_xor_si128(fold128(acc, k_lane), x[i]);
  for (; n >= 16; p += 16, n -= 16) acc = _mm_xor_si128(fold128(acc, k_lane), loadu128(p));
  return sse42_reg(reduce128(acc), p, n);
}

// Same scheme with four 128-bit lanes per register and 16 lanes in flight. Inputs below one
// stride go to the 3-way loop, which is as fast there.
inline constexpr std::size_t kAvx512Min = 256;

__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul"))) inline __m512i fold512(
    __m512i x, __m512i k, __m512i next) noexcept {
  // 0x96 = three-way XOR.
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                   _mm512_clmulepi64_epi128(x, k, 0x11), next, 0x96);
}

template <std::uint64_t Bits>
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul"))) inline __m512i
broadcast_fold() noexcept {
  return _mm512_set_epi64(kFoldHi<Bits>, kFoldLo<Bits>, kFoldHi<Bits>, kFoldLo<Bits>, kFoldHi<Bits>,
                          kFoldLo<Bits>, kFoldHi<Bits>, kFoldLo<Bits>);
}

__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul"))) inline std::uint32_t avx512_reg(
    std::uint32_t c, const unsigned char* p, std::size_t n) noexcept {
  if (n < kAvx512Min) return sse42_3way_reg(c, p, n);
  constexpr int kAcc = 4;
  constexpr std::size_t kStride = 64 * kAcc;
  static_assert(kAvx512Min >= kStride);
  const __m512i k_stride = broadcast_fold<8 * kStride>();
  const __m512i k_reg = broadcast_fold<512>();
  __m512i z[kAcc];
#pragma GCC unroll 8
  for (int i = 0; i < kAcc; ++i) z[i] = _mm512_loadu_si512(p + 64 * i);
  z[0] = _mm512_xor_si512(z[0], _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(c))));
  p += kStride;
  n -= kStride;
  for (; n >= kStride; p += kStride, n -= kStride) {
#pragma GCC unroll 8
    for (int i = 0; i < kAcc; ++i) z[i] = fold512(z[i], k_stride, _mm512_loadu_si512(p + 64 * i));
  }
  __m512i acc = z[0];
#pragma GCC unroll 8
  for (int i = 1; i < kAcc; ++i) acc = fold512(acc, k_reg, z[i]);
  for (; n >= 64; p += 64, n -= 64) acc = fold512(acc, k_reg, _mm512_loadu_si512(p));
  // Collapse the four lanes onto the last one: lane i moves forward by (3 - i) * 128 bits. Lane 3
  // gets a zero constant so the multiply leaves nothing there, and is added back unchanged.
  const __m512i k_lanes = _mm512_set_epi64(0, 0, kFoldHi<128>, kFoldLo<128>, kFoldHi<256>,
                                           kFoldLo<256>, kFoldHi<384>, kFoldLo<384>);
  const __m512i moved = fold512(acc, k_lanes, _mm512_setzero_si512());
  // The zero-masking extract forms sidestep a GCC 12 false -Wmaybe-uninitialized in the unmasked
  // forms and in the 512-to-256-bit cast.
  const __m256i half = _mm256_xor_si256(_mm512_maskz_extracti64x4_epi64(0xF, moved, 0),
                                        _mm512_maskz_extracti64x4_epi64(0xF, moved, 1));
  __m128i x = _mm_xor_si128(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
  x = _mm_xor_si128(x, _mm512_maskz_extracti32x4_epi32(0xF, acc, 3));
  const __m128i k_lane = _mm_set_epi64x(kFoldHi<128>, kFoldLo<128>);
  for (; n >= 16; p += 16, n -= 16) x = _mm_xor_si128(fold128(x, k_lane), loadu128(p));
  return sse42_reg(reduce128(x), p, n);
}

#endif  // __x86_64__

}  // namespace detail

enum class path { scalar, sse42, sse42_3way, pclmul_fold, avx512, armv8 };

inline constexpr std::array<path, 6> kAllPaths = {path::scalar,      path::sse42,  path::sse42_3way,
                                                  path::pclmul_fold, path::avx512, path::armv8};

// Slicing-by-8; portable, always compiled.
inline std::uint32_t scalar(const void* data, std::size_t n, std::uint32_t crc) noexcept {
  return ~detail::scalar_reg(~crc, static_cast<const unsigned char*>(data), n);
}

#if defined(__x86_64__)
// Callers must check available() first: these execute instructions the CPU may lack.
__attribute__((target("sse4.2"))) inline std::uint32_t sse42(const void* data, std::size_t n,
                                                             std::uint32_t crc) noexcept {
  return ~detail::sse42_reg(~crc, static_cast<const unsigned char*>(data), n);
}

__attribute__((target("sse4.2,pclmul"))) inline std::uint32_t sse42_3way(
    const void* data, std::size_t n, std::uint32_t crc) noexcept {
  return ~detail::sse42_3way_reg(~crc, static_cast<const unsigned char*>(data), n);
}

// Inputs shorter than detail::kPclmulMin take the 3-way path.
__attribute__((target("sse4.2,pclmul"))) inline std::uint32_t pclmul_fold(
    const void* data, std::size_t n, std::uint32_t crc) noexcept {
  return ~detail::pclmul_fold_reg(~crc, static_cast<const unsigned char*>(data), n);
}

// VPCLMULQDQ on 512-bit registers; inputs shorter than detail::kAvx512Min take the 3-way path.
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul"))) inline std::uint32_t avx512(
    const void* data, std::size_t n, std::uint32_t crc) noexcept {
  return ~detail::avx512_reg(~crc, static_cast<const unsigned char*>(data), n);
}
#endif

#if defined(CKPT_CRC32C_HAVE_ARMV8)
inline std::uint32_t armv8(const void* data, std::size_t n, std::uint32_t crc) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) c = __crc32cd(c, detail::load_u64(p));
  if (n & 4u) {
    c = __crc32cw(c, detail::load_u32(p));
    p += 4;
  }
  if (n & 2u) {
    c = __crc32ch(c, detail::load_u16(p));
    p += 2;
  }
  if (n & 1u) c = __crc32cb(c, *p);
  return ~c;
}
#endif

inline const char* name(path p) noexcept {
  switch (p) {
    case path::scalar:
      return "scalar";
    case path::sse42:
      return "sse42";
    case path::sse42_3way:
      return "sse42_3way";
    case path::pclmul_fold:
      return "pclmul_fold";
    case path::avx512:
      return "avx512";
    case path::armv8:
      return "armv8";
  }
  return "unknown";
}

inline bool available(path p) noexcept {
  [[maybe_unused]] const auto& cpu = simd::cpu();
  switch (p) {
    case path::scalar:
      return true;
#if defined(__x86_64__)
    case path::sse42:
      return cpu.sse42;
    case path::sse42_3way:
    case path::pclmul_fold:
      return cpu.sse42 && cpu.pclmul;
    case path::avx512:
      return cpu.sse42 && cpu.pclmul && cpu.avx512f && cpu.vpclmulqdq;
#endif
#if defined(CKPT_CRC32C_HAVE_ARMV8)
    case path::armv8:
      return true;
#endif
    default:
      return false;
  }
}

using fn_type = std::uint32_t (*)(const void*, std::size_t, std::uint32_t) noexcept;

// Unavailable paths map to scalar so that a stray run() can never raise SIGILL.
inline fn_type function_for(path p) noexcept {
  if (!available(p)) return &scalar;
  switch (p) {
#if defined(__x86_64__)
    case path::sse42:
      return &sse42;
    case path::sse42_3way:
      return &sse42_3way;
    case path::pclmul_fold:
      return &pclmul_fold;
    case path::avx512:
      return &avx512;
#endif
#if defined(CKPT_CRC32C_HAVE_ARMV8)
    case path::armv8:
      return &armv8;
#endif
    default:
      return &scalar;
  }
}

inline path selected() noexcept {
  static const path chosen = [] {
    if (simd::disabled()) return path::scalar;
    // Fastest first. 128-bit folding at best ties the 3-way crc32 loop (Intel issues one
    // pclmulqdq per cycle) and runs at half its speed on Zen 4, so pclmul_fold is never chosen.
    for (path p : {path::avx512, path::sse42_3way, path::sse42, path::armv8}) {
      if (available(p)) return p;
    }
    return path::scalar;
  }();
  return chosen;
}

inline std::uint32_t run(path p, const void* data, std::size_t n, std::uint32_t crc) noexcept {
  return function_for(p)(data, n, crc);
}

}  // namespace crc32c_impl

inline std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept {
  static const crc32c_impl::fn_type fn = crc32c_impl::function_for(crc32c_impl::selected());
  return fn(data, n, crc);
}

inline std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc = 0) noexcept {
  return crc32c(bytes.data(), bytes.size(), crc);
}

// Stored CRCs are masked because a CRC computed over data that itself embeds CRCs is weak.
inline constexpr std::uint32_t kCrc32cMaskDelta = 0xa282ead8u;

constexpr std::uint32_t crc32c_mask(std::uint32_t crc) noexcept {
  return std::rotr(crc, 15) + kCrc32cMaskDelta;
}

constexpr std::uint32_t crc32c_unmask(std::uint32_t masked) noexcept {
  return std::rotl(masked - kCrc32cMaskDelta, 15);
}

// Finished CRCs combine like raw registers, crc_a * x^(8*len_b) + crc_b: the complement of crc_a,
// shifted over len_b bytes, cancels the all-ones initial register hidden inside crc_b.
inline std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b,
                                    std::size_t len_b) noexcept {
  return crc32c_impl::detail::shift_bytes(crc_a, len_b) ^ crc_b;
}

}  // namespace ckpt
