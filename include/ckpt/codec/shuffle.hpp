// SPDX-License-Identifier: Apache-2.0
#pragma once
// Byte shuffle as HDF5's shuffle filter (H5Zshuffle.c) lays it out: the n = bytes / elem_size
// whole elements are split into elem_size planes, plane j holding byte j of every element in
// order; the bytes % elem_size trailing bytes that do not form an element are copied unchanged
// after the planes. Grouping the (often slowly varying) high bytes of numbers together is what
// makes the following compressor effective. byte_unshuffle is the exact inverse.

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include "ckpt/codec/simd.hpp"

#if defined(__x86_64__) && !defined(CKPT_DISABLE_SIMD)
#include <immintrin.h>
#define CKPT_SHUFFLE_X86_SIMD 1
#else
#define CKPT_SHUFFLE_X86_SIMD 0
#endif

namespace ckpt {

namespace shuffle_impl {

enum class path : unsigned char { scalar, avx2 };
inline constexpr path all_paths[] = {path::scalar, path::avx2};

inline constexpr const char* name(path p) noexcept {
  switch (p) {
    case path::scalar:
      return "scalar";
    case path::avx2:
      return "avx2";
  }
  return "unknown";
}

// Elements [begin, end) of n, planes n bytes apart. A compile-time Size lets the compiler turn
// the inner loop into fixed-stride code for the common widths.
template <std::size_t Size>
inline void shuffle_elements(const std::byte* src, std::byte* dst, std::size_t n, std::size_t size,
                             std::size_t begin, std::size_t end) noexcept {
  const std::size_t s = Size != 0 ? Size : size;
  for (std::size_t j = 0; j < s; ++j) {
    std::byte* plane = dst + j * n;
    for (std::size_t i = begin; i < end; ++i) plane[i] = src[i * s + j];
  }
}

template <std::size_t Size>
inline void unshuffle_elements(const std::byte* src, std::byte* dst, std::size_t n,
                               std::size_t size, std::size_t begin, std::size_t end) noexcept {
  const std::size_t s = Size != 0 ? Size : size;
  for (std::size_t j = 0; j < s; ++j) {
    const std::byte* plane = src + j * n;
    for (std::size_t i = begin; i < end; ++i) dst[i * s + j] = plane[i];
  }
}

inline void scalar_elements(bool forward, const std::byte* src, std::byte* dst, std::size_t n,
                            std::size_t size, std::size_t begin, std::size_t end) noexcept {
  auto run = [&](auto shuffle, auto unshuffle) {
    forward ? shuffle(src, dst, n, size, begin, end) : unshuffle(src, dst, n, size, begin, end);
  };
  switch (size) {
    case 2:
      return run(shuffle_elements<2>, unshuffle_elements<2>);
    case 4:
      return run(shuffle_elements<4>, unshuffle_elements<4>);
    case 8:
      return run(shuffle_elements<8>, unshuffle_elements<8>);
    default:
      return run(shuffle_elements<0>, unshuffle_elements<0>);
  }
}

// Shared framing of both directions and all paths: trivial cases, then whole elements through
// `elements(n)`, then the leftover bytes (which sit at the same offset in src and dst).
template <class Elements>
inline void frame(const std::byte* src, std::byte* dst, std::size_t bytes, std::size_t elem_size,
                  Elements elements) noexcept {
  if (bytes == 0) return;
  if (elem_size <= 1 || bytes / elem_size < 2) {
    // One element or none: every plane has at most one byte, so shuffling is a copy.
    std::memcpy(dst, src, bytes);
    return;
  }
  const std::size_t n = bytes / elem_size;
  elements(n);
  const std::size_t whole = n * elem_size;
  std::memcpy(dst + whole, src + whole, bytes - whole);
}

inline void scalar_shuffle(const std::byte* src, std::byte* dst, std::size_t bytes,
                           std::size_t elem_size) noexcept {
  frame(src, dst, bytes, elem_size,
        [&](std::size_t n) { scalar_elements(true, src, dst, n, elem_size, 0, n); });
}

inline void scalar_unshuffle(const std::byte* src, std::byte* dst, std::size_t bytes,
                             std::size_t elem_size) noexcept {
  frame(src, dst, bytes, elem_size,
        [&](std::size_t n) { scalar_elements(false, src, dst, n, elem_size, 0, n); });
}

#if CKPT_SHUFFLE_X86_SIMD

// The AVX2 kernels work on blocks of 32 elements, so every plane gets exactly one 32-byte vector
// per block; the last n % 32 elements go through the scalar element loop. In-lane byte shuffles
// do the transposition inside each 128-bit lane, then unpacks and cross-lane permutes put the
// lanes in order. The short loops over register arrays carry "#pragma GCC unroll" (clang honours
// it too) because GCC 12 at -O2 otherwise keeps the arrays on the stack, which made the 8-byte
// unshuffle three times slower.

__attribute__((target("avx2"))) inline __m256i avx2_load(const std::byte* p) noexcept {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
__attribute__((target("avx2"))) inline void avx2_store(std::byte* p, __m256i v) noexcept {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
}

__attribute__((target("avx2"))) inline void avx2_shuffle2(const std::byte* src, std::byte* dst,
                                                          std::size_t n,
                                                          std::size_t blocks) noexcept {
  // Per lane: 8 low bytes, then 8 high bytes.
  const __m256i gather = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0,
                                          2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t i = b * 32;
    // Each becomes [low bytes of 16 elements | high bytes of 16 elements].
    const __m256i x =
        _mm256_permute4x64_epi64(_mm256_shuffle_epi8(avx2_load(src + 2 * i), gather), 0xd8);
    const __m256i y =
        _mm256_permute4x64_epi64(_mm256_shuffle_epi8(avx2_load(src + 2 * i + 32), gather), 0xd8);
    avx2_store(dst + i, _mm256_permute2x128_si256(x, y, 0x20));
    avx2_store(dst + n + i, _mm256_permute2x128_si256(x, y, 0x31));
  }
}

__attribute__((target("avx2"))) inline void avx2_unshuffle2(const std::byte* src, std::byte* dst,
                                                            std::size_t n,
                                                            std::size_t blocks) noexcept {
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t i = b * 32;
    const __m256i p0 = avx2_load(src + i), p1 = avx2_load(src + n + i);
    const __m256i lo = _mm256_unpacklo_epi8(p0, p1);  // elements 0-7 | 16-23
    const __m256i hi = _mm256_unpackhi_epi8(p0, p1);  // elements 8-15 | 24-31
    avx2_store(dst + 2 * i, _mm256_permute2x128_si256(lo, hi, 0x20));
    avx2_store(dst + 2 * i + 32, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
}

__attribute__((target("avx2"))) inline void avx2_shuffle4(const std::byte* src, std::byte* dst,
                                                          std::size_t n,
                                                          std::size_t blocks) noexcept {
  // Per lane: a 4x4 byte transpose, dword j = byte j of the lane's 4 elements.
  const __m256i gather = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0,
                                          4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  // Then qword j = byte j of the vector's 8 elements.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t i = b * 32;
    __m256i v[4];
#pragma GCC unroll 8
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_permutevar8x32_epi32(
          _mm256_shuffle_epi8(avx2_load(src + 4 * i + 32 * k), gather), order);
    }
    const __m256i t0 = _mm256_unpacklo_epi64(v[0], v[1]);  // plane 0, elements 0-15 | plane 2
    const __m256i t1 = _mm256_unpackhi_epi64(v[0], v[1]);  // plane 1 | plane 3
    const __m256i t2 = _mm256_unpacklo_epi64(v[2], v[3]);  // same for elements 16-31
    const __m256i t3 = _mm256_unpackhi_epi64(v[2], v[3]);
    avx2_store(dst + i, _mm256_permute2x128_si256(t0, t2, 0x20));
    avx2_store(dst + n + i, _mm256_permute2x128_si256(t1, t3, 0x20));
    avx2_store(dst + 2 * n + i, _mm256_permute2x128_si256(t0, t2, 0x31));
    avx2_store(dst + 3 * n + i, _mm256_permute2x128_si256(t1, t3, 0x31));
  }
}

__attribute__((target("avx2"))) inline void avx2_unshuffle4(const std::byte* src, std::byte* dst,
                                                            std::size_t n,
                                                            std::size_t blocks) noexcept {
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t i = b * 32;
    const __m256i p0 = avx2_load(src + i), p1 = avx2_load(src + n + i);
    const __m256i p2 = avx2_load(src + 2 * n + i), p3 = avx2_load(src + 3 * n + i);
    const __m256i a_lo = _mm256_unpacklo_epi8(p0, p1), a_hi = _mm256_unpackhi_epi8(p0, p1);
    const __m256i b_lo = _mm256_unpacklo_epi8(p2, p3), b_hi = _mm256_unpackhi_epi8(p2, p3);
    const __m256i r0 = _mm256_unpacklo_epi16(a_lo, b_lo);  // elements 0-3 | 16-19
    const __m256i r1 = _mm256_unpackhi_epi16(a_lo, b_lo);  // 4-7 | 20-23
    const __m256i r2 = _mm256_unpacklo_epi16(a_hi, b_hi);  // 8-11 | 24-27
    const __m256i r3 = _mm256_unpackhi_epi16(a_hi, b_hi);  // 12-15 | 28-31
    std::byte* out = dst + 4 * i;
    avx2_store(out, _mm256_permute2x128_si256(r0, r1, 0x20));
    avx2_store(out + 32, _mm256_permute2x128_si256(r2, r3, 0x20));
    avx2_store(out + 64, _mm256_permute2x128_si256(r0, r1, 0x31));
    avx2_store(out + 96, _mm256_permute2x128_si256(r2, r3, 0x31));
  }
}

__attribute__((target("avx2"))) inline void avx2_shuffle8(const std::byte* src, std::byte* dst,
                                                          std::size_t n,
                                                          std::size_t blocks) noexcept {
  // Per lane (2 elements): word j = byte j of both elements.
  const __m256i gather = _mm256_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0,
                                          8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::byte* in = src + 8 * b * 32;
    // x[k] holds elements 2k, 2k+1 in lane 0 and 16+2k, 17+2k in lane 1, so that after the
    // transpose each lane of a plane is 16 consecutive elements and no cross-lane fix-up is needed.
    __m256i x[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 16 * k));
      const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 128 + 16 * k));
      x[k] =
          _mm256_shuffle_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1), gather);
    }
    // 8x8 transpose of 16-bit words within each lane: word k of plane j comes from x[k].
    __m256i t[8], u[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k += 2) {
      t[k] = _mm256_unpacklo_epi16(x[k], x[k + 1]);
      t[k + 1] = _mm256_unpackhi_epi16(x[k], x[k + 1]);
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; k += 4) {
      u[k] = _mm256_unpacklo_epi32(t[k], t[k + 2]);
      u[k + 1] = _mm256_unpackhi_epi32(t[k], t[k + 2]);
      u[k + 2] = _mm256_unpacklo_epi32(t[k + 1], t[k + 3]);
      u[k + 3] = _mm256_unpackhi_epi32(t[k + 1], t[k + 3]);
    }
#pragma GCC unroll 8
    for (int k = 0; k < 4; ++k) {
      std::byte* out = dst + static_cast<std::size_t>(2 * k) * n + b * 32;
      avx2_store(out, _mm256_unpacklo_epi64(u[k], u[k + 4]));
      avx2_store(out + n, _mm256_unpackhi_epi64(u[k], u[k + 4]));
    }
  }
}

__attribute__((target("avx2"))) inline void avx2_unshuffle8(const std::byte* src, std::byte* dst,
                                                            std::size_t n,
                                                            std::size_t blocks) noexcept {
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t i = b * 32;
    __m256i p[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) p[j] = avx2_load(src + static_cast<std::size_t>(j) * n + i);
    // Bytes -> 2-byte pairs -> 4-byte groups -> 8-byte elements. Lane 0 ends up with elements
    // 0-15 and lane 1 with 16-31, so r[k] holds elements 2k, 2k+1 | 16+2k, 17+2k.
    __m256i q[8], w[8], r[8];
#pragma GCC unroll 8
    for (int k = 0; k < 4; ++k) {
      q[2 * k] = _mm256_unpacklo_epi8(p[2 * k], p[2 * k + 1]);      // elements 0-7 | 16-23
      q[2 * k + 1] = _mm256_unpackhi_epi8(p[2 * k], p[2 * k + 1]);  // 8-15 | 24-31
    }
#pragma GCC unroll 8
    for (int k = 0; k < 2; ++k) {
      // Byte pairs (0,1) with (2,3), and (4,5) with (6,7).
      w[4 * k] = _mm256_unpacklo_epi16(q[4 * k], q[4 * k + 2]);          // 0-3 | 16-19
      w[4 * k + 1] = _mm256_unpackhi_epi16(q[4 * k], q[4 * k + 2]);      // 4-7 | 20-23
      w[4 * k + 2] = _mm256_unpacklo_epi16(q[4 * k + 1], q[4 * k + 3]);  // 8-11 | 24-27
      w[4 * k + 3] = _mm256_unpackhi_epi16(q[4 * k + 1], q[4 * k + 3]);  // 12-15 | 28-31
    }
#pragma GCC unroll 8
    for (int k = 0; k < 4; ++k) {
      r[2 * k] = _mm256_unpacklo_epi32(w[k], w[k + 4]);
      r[2 * k + 1] = _mm256_unpackhi_epi32(w[k], w[k + 4]);
    }
    std::byte* out = dst + 8 * i;
#pragma GCC unroll 8
    for (int k = 0; k < 4; ++k) {
      avx2_store(out + 32 * k, _mm256_permute2x128_si256(r[2 * k], r[2 * k + 1], 0x20));
      avx2_store(out + 128 + 32 * k, _mm256_permute2x128_si256(r[2 * k], r[2 * k + 1], 0x31));
    }
  }
}

inline void avx2_elements(bool forward, const std::byte* src, std::byte* dst, std::size_t n,
                          std::size_t elem_size) noexcept {
  const std::size_t blocks = n / 32;
  switch (elem_size) {
    case 2:
      forward ? avx2_shuffle2(src, dst, n, blocks) : avx2_unshuffle2(src, dst, n, blocks);
      break;
    case 4:
      forward ? avx2_shuffle4(src, dst, n, blocks) : avx2_unshuffle4(src, dst, n, blocks);
      break;
    case 8:
      forward ? avx2_shuffle8(src, dst, n, blocks) : avx2_unshuffle8(src, dst, n, blocks);
      break;
    default:
      return scalar_elements(forward, src, dst, n, elem_size, 0, n);
  }
  scalar_elements(forward, src, dst, n, elem_size, blocks * 32, n);
}

inline void avx2_shuffle(const std::byte* src, std::byte* dst, std::size_t bytes,
                         std::size_t elem_size) noexcept {
  frame(src, dst, bytes, elem_size,
        [&](std::size_t n) { avx2_elements(true, src, dst, n, elem_size); });
}

inline void avx2_unshuffle(const std::byte* src, std::byte* dst, std::size_t bytes,
                           std::size_t elem_size) noexcept {
  frame(src, dst, bytes, elem_size,
        [&](std::size_t n) { avx2_elements(false, src, dst, n, elem_size); });
}

#endif  // CKPT_SHUFFLE_X86_SIMD

// Whether this build contains path p and this CPU can run it (ignores the environment switch).
inline bool available(path p) noexcept {
#if CKPT_SHUFFLE_X86_SIMD
  return p == path::scalar || (p == path::avx2 && simd::cpu().avx2);
#else
  return p == path::scalar;
#endif
}

// The path byte_shuffle/byte_unshuffle use, fixed at first call.
inline path selected() noexcept {
  static const path chosen = [] {
    if (simd::disabled()) return path::scalar;
    return available(path::avx2) ? path::avx2 : path::scalar;
  }();
  return chosen;
}

// Run one particular path. Precondition: available(p).
inline void shuffle_with(path p, const std::byte* src, std::byte* dst, std::size_t bytes,
                         std::size_t elem_size) noexcept {
#if CKPT_SHUFFLE_X86_SIMD
  if (p == path::avx2) return avx2_shuffle(src, dst, bytes, elem_size);
#endif
  (void)p;
  scalar_shuffle(src, dst, bytes, elem_size);
}

inline void unshuffle_with(path p, const std::byte* src, std::byte* dst, std::size_t bytes,
                           std::size_t elem_size) noexcept {
#if CKPT_SHUFFLE_X86_SIMD
  if (p == path::avx2) return avx2_unshuffle(src, dst, bytes, elem_size);
#endif
  (void)p;
  scalar_unshuffle(src, dst, bytes, elem_size);
}

}  // namespace shuffle_impl

// src and dst must not overlap. elem_size 0 or 1 copies.
inline void byte_shuffle(const std::byte* src, std::byte* dst, std::size_t bytes,
                         std::size_t elem_size) noexcept {
  shuffle_impl::shuffle_with(shuffle_impl::selected(), src, dst, bytes, elem_size);
}

inline void byte_unshuffle(const std::byte* src, std::byte* dst, std::size_t bytes,
                           std::size_t elem_size) noexcept {
  shuffle_impl::unshuffle_with(shuffle_impl::selected(), src, dst, bytes, elem_size);
}

}  // namespace ckpt
