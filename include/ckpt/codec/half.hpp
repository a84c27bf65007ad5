// SPDX-License-Identifier: Apache-2.0
#pragma once
// Bulk float <-> float16/bfloat16 conversion: SIMD kernels with the scalar twins of
// core/float16.hpp as their reference. Every path gives the same bits (see the NaN rule there).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ckpt/codec/simd.hpp"
#include "ckpt/core/float16.hpp"

#if defined(__x86_64__) && !defined(CKPT_DISABLE_SIMD)
#include <immintrin.h>
#define CKPT_HALF_X86_SIMD 1
#else
#define CKPT_HALF_X86_SIMD 0
#endif

namespace ckpt {

namespace half_impl {

// f16c_avx2 needs F16C, AVX and AVX2; avx512 needs AVX-512 F, BW and VL (BW/VL only for masked
// 16-bit tail loads and stores). There is deliberately no AVX512-BF16 path: VCVTNEPS2BF16 always
// flushes float subnormals to zero, which would disagree with the scalar rounding.
enum class path : unsigned char { scalar, f16c_avx2, avx512 };
inline constexpr path all_paths[] = {path::scalar, path::f16c_avx2, path::avx512};

inline constexpr const char* name(path p) noexcept {
  switch (p) {
    case path::scalar:
      return "scalar";
    case path::f16c_avx2:
      return "f16c_avx2";
    case path::avx512:
      return "avx512";
  }
  return "unknown";
}

// ---- scalar twins: always compiled, the reference every other path must match bit for bit ----

inline void scalar_f32_to_f16(const float* src, float16* dst, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dst[i].bits = float16::from_float(src[i]);
}
inline void scalar_f16_to_f32(const float16* src, float* dst, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dst[i] = float16::to_float(src[i].bits);
}
inline void scalar_f32_to_bf16(const float* src, bfloat16* dst, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dst[i].bits = bfloat16::from_float(src[i]);
}
inline void scalar_bf16_to_f32(const bfloat16* src, float* dst, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dst[i] = bfloat16::to_float(src[i].bits);
}

#if CKPT_HALF_X86_SIMD

// ---- F16C (float16) and AVX2 (bfloat16), 8 lanes ----

// Tails go through a zero-padded stack buffer so that short arrays still take the vector
// instruction; the scalar twin is only the reference, never a silent fallback.
__attribute__((target("f16c,avx"))) inline void f16c_f32_to_f16(const float* src, float16* dst,
                                                                std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    const __m128i b = _mm256_cvtps_ph(_mm256_loadu_ps(src + i + 8), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), a);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 8), b);
  }
  for (; i + 8 <= n; i += 8) {
    const __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), a);
  }
  if (i < n) {
    float in[8] = {};
    std::uint16_t out[8];
    std::memcpy(in, src + i, (n - i) * sizeof(float));
    const __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(in), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), a);
    std::memcpy(dst + i, out, (n - i) * sizeof(float16));
  }
}

__attribute__((target("f16c,avx"))) inline void f16c_f16_to_f32(const float16* src, float* dst,
                                                                std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 8));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(a));
    _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(b));
  }
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  }
  if (i < n) {
    std::uint16_t in[8] = {};
    float out[8];
    std::memcpy(in, src + i, (n - i) * sizeof(float16));
    _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in))));
    std::memcpy(dst + i, out, (n - i) * sizeof(float));
  }
}

// Same arithmetic as bfloat16::from_float, on 8 lanes; the result sits in the low half of each
// 32-bit lane.
__attribute__((target("avx2"))) inline __m256i avx2_bf16_round(__m256i u) noexcept {
  const __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
  const __m256i is_nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000));
  const __m256i high = _mm256_srli_epi32(u, 16);
  const __m256i bias =
      _mm256_add_epi32(_mm256_and_si256(high, _mm256_set1_epi32(1)), _mm256_set1_epi32(0x7fff));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, bias), 16);
  const __m256i quiet = _mm256_or_si256(high, _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

// 16 floats -> 16 bfloat16. packus works per 128-bit lane, so the qwords come out as
// a0-3 b0-3 a4-7 b4-7 and need one cross-lane permute.
__attribute__((target("avx2"))) inline __m256i avx2_bf16_round16(const float* src) noexcept {
  const __m256i a = avx2_bf16_round(_mm256_castps_si256(_mm256_loadu_ps(src)));
  const __m256i b = avx2_bf16_round(_mm256_castps_si256(_mm256_loadu_ps(src + 8)));
  return _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
}

__attribute__((target("avx2"))) inline void avx2_f32_to_bf16(const float* src, bfloat16* dst,
                                                             std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), avx2_bf16_round16(src + i));
  }
  if (i < n) {
    float in[16] = {};
    std::uint16_t out[16];
    std::memcpy(in, src + i, (n - i) * sizeof(float));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), avx2_bf16_round16(in));
    std::memcpy(dst + i, out, (n - i) * sizeof(bfloat16));
  }
}

// 16 bfloat16 -> 16 floats. Quieting NaNs while still 16 bits wide handles 16 lanes per compare;
// interleaving with zero words then is the shift by 16, and the in-lane unpacks leave elements
// 0-3|8-11 and 4-7|12-15, which one cross-lane permute each puts back in order.
__attribute__((target("avx2"))) inline void avx2_bf16_widen16(const void* src,
                                                              float* dst) noexcept {
  __m256i h = _mm256_loadu_si256(static_cast<const __m256i*>(src));
  const __m256i is_nan =
      _mm256_cmpgt_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7fff)), _mm256_set1_epi16(0x7f80));
  h = _mm256_or_si256(h, _mm256_and_si256(is_nan, _mm256_set1_epi16(0x0040)));
  const __m256i lo = _mm256_unpacklo_epi16(_mm256_setzero_si256(), h);
  const __m256i hi = _mm256_unpackhi_epi16(_mm256_setzero_si256(), h);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(lo, hi, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
}

__attribute__((target("avx2"))) inline void avx2_bf16_to_f32(const bfloat16* src, float* dst,
                                                             std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) avx2_bf16_widen16(src + i, dst + i);
  if (i < n) {
    std::uint16_t in[16] = {};
    float out[16];
    std::memcpy(in, src + i, (n - i) * sizeof(bfloat16));
    avx2_bf16_widen16(in, out);
    std::memcpy(dst + i, out, (n - i) * sizeof(float));
  }
}

// ---- AVX-512, 16 lanes; tails use masked loads/stores, which never touch masked-off memory ----

// GCC 12's own AVX-512 intrinsics start from _mm512_undefined_*() and, once inlined, trip false
// -W(maybe-)uninitialized warnings (GCC PR 105593). A diagnostic pragma around the kernels does not
// hold when this header comes from a precompiled header, so the kernels call the zero-masking
// forms with every lane selected instead: they start from zero and compile to the same unmasked
// instructions.
inline constexpr __mmask16 all_lanes = 0xffff;

inline __mmask16 tail_mask(std::size_t count) noexcept {
  return static_cast<__mmask16>((1u << count) - 1u);  // count < 16
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void avx512_f32_to_f16(
    const float* src, float16* dst, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h =
        _mm512_maskz_cvtps_ph(all_lanes, _mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), h);
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    const __m256i h = _mm512_maskz_cvtps_ph(all_lanes, _mm512_maskz_loadu_ps(m, src + i),
                                            _MM_FROUND_TO_NEAREST_INT);
    _mm256_mask_storeu_epi16(dst + i, m, h);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void avx512_f16_to_f32(
    const float16* src, float* dst, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm512_storeu_ps(dst + i, _mm512_maskz_cvtph_ps(all_lanes, h));
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(dst + i, m,
                          _mm512_maskz_cvtph_ps(all_lanes, _mm256_maskz_loadu_epi16(m, src + i)));
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512i avx512_bf16_round(
    __m512i u) noexcept {
  const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(abs, _mm512_set1_epi32(0x7f800000));
  const __m512i high = _mm512_maskz_srli_epi32(all_lanes, u, 16);
  const __m512i bias =
      _mm512_add_epi32(_mm512_and_si512(high, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x7fff));
  const __m512i rounded = _mm512_maskz_srli_epi32(all_lanes, _mm512_add_epi32(u, bias), 16);
  return _mm512_mask_or_epi32(rounded, is_nan, high, _mm512_set1_epi32(0x40));
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void avx512_f32_to_bf16(
    const float* src, bfloat16* dst, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i r = avx512_bf16_round(_mm512_loadu_si512(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm512_maskz_cvtepi32_epi16(all_lanes, r));
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i r = avx512_bf16_round(_mm512_maskz_loadu_epi32(m, src + i));
    _mm512_mask_cvtepi32_storeu_epi16(dst + i, m, r);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 avx512_bf16_widen(
    __m256i h) noexcept {
  const __m512i w =
      _mm512_maskz_slli_epi32(all_lanes, _mm512_maskz_cvtepu16_epi32(all_lanes, h), 16);
  const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(
      _mm512_and_si512(w, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_castsi512_ps(_mm512_mask_or_epi32(w, is_nan, w, _mm512_set1_epi32(0x00400000)));
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) inline void avx512_bf16_to_f32(
    const bfloat16* src, float* dst, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm512_storeu_ps(dst + i, avx512_bf16_widen(h));
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(dst + i, m, avx512_bf16_widen(_mm256_maskz_loadu_epi16(m, src + i)));
  }
}

#endif  // CKPT_HALF_X86_SIMD

// Whether this build contains path p and this CPU can run it (ignores CKPT_DISABLE_SIMD in the
// environment, so tests can still compare every path the machine has).
inline bool available(path p) noexcept {
#if CKPT_HALF_X86_SIMD
  const auto& cpu = simd::cpu();
  const bool has_avx2 = cpu.avx2 && cpu.f16c;
  const bool has_avx512 = cpu.avx512f && cpu.avx512bw && cpu.avx512vl;
  switch (p) {
    case path::scalar:
      return true;
    case path::f16c_avx2:
      return has_avx2;
    case path::avx512:
      return has_avx512;
  }
  return false;
#else
  return p == path::scalar;
#endif
}

// The path the public ckpt::convert overloads use, fixed at first call. AVX2 comes first: on the
// machine measured (AMD Zen 4) the 512-bit kernels were no faster, hot or cold, since both widths
// saturate the caches or DRAM, and 256-bit code never costs clock speed on older Intel parts.
// AVX-512 is therefore picked only on a CPU without F16C/AVX2, which no AVX-512 CPU is; tests
// and benchmarks call it through convert_with.
inline path selected() noexcept {
  static const path chosen = [] {
    if (simd::disabled()) return path::scalar;
    if (available(path::f16c_avx2)) return path::f16c_avx2;
    if (available(path::avx512)) return path::avx512;
    return path::scalar;
  }();
  return chosen;
}

// Run one particular path. Precondition: available(p).
inline void convert_with(path p, const float* src, float16* dst, std::size_t n) noexcept {
  switch (p) {
#if CKPT_HALF_X86_SIMD
    case path::f16c_avx2:
      return f16c_f32_to_f16(src, dst, n);
    case path::avx512:
      return avx512_f32_to_f16(src, dst, n);
#endif
    default:
      return scalar_f32_to_f16(src, dst, n);
  }
}
inline void convert_with(path p, const float16* src, float* dst, std::size_t n) noexcept {
  switch (p) {
#if CKPT_HALF_X86_SIMD
    case path::f16c_avx2:
      return f16c_f16_to_f32(src, dst, n);
    case path::avx512:
      return avx512_f16_to_f32(src, dst, n);
#endif
    default:
      return scalar_f16_to_f32(src, dst, n);
  }
}
inline void convert_with(path p, const float* src, bfloat16* dst, std::size_t n) noexcept {
  switch (p) {
#if CKPT_HALF_X86_SIMD
    case path::f16c_avx2:
      return avx2_f32_to_bf16(src, dst, n);
    case path::avx512:
      return avx512_f32_to_bf16(src, dst, n);
#endif
    default:
      return scalar_f32_to_bf16(src, dst, n);
  }
}
inline void convert_with(path p, const bfloat16* src, float* dst, std::size_t n) noexcept {
  switch (p) {
#if CKPT_HALF_X86_SIMD
    case path::f16c_avx2:
      return avx2_bf16_to_f32(src, dst, n);
    case path::avx512:
      return avx512_bf16_to_f32(src, dst, n);
#endif
    default:
      return scalar_bf16_to_f32(src, dst, n);
  }
}

}  // namespace half_impl

// Bulk conversions; src and dst must not overlap. Results are identical whichever path runs.
inline void convert(const float* src, float16* dst, std::size_t n) noexcept {
  half_impl::convert_with(half_impl::selected(), src, dst, n);
}
inline void convert(const float16* src, float* dst, std::size_t n) noexcept {
  half_impl::convert_with(half_impl::selected(), src, dst, n);
}
inline void convert(const float* src, bfloat16* dst, std::size_t n) noexcept {
  half_impl::convert_with(half_impl::selected(), src, dst, n);
}
inline void convert(const bfloat16* src, float* dst, std::size_t n) noexcept {
  half_impl::convert_with(half_impl::selected(), src, dst, n);
}

}  // namespace ckpt
