// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <ckpt/codec/half.hpp>
#include <ckpt/core/float16.hpp>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace {

using ckpt::bfloat16;
using ckpt::float16;
namespace hi = ckpt::half_impl;

std::uint32_t bits_of(float f) { return std::bit_cast<std::uint32_t>(f); }
float float_of(std::uint32_t u) { return std::bit_cast<float>(u); }

// The references below work from the definitions of the formats (value = significand * 2^k, pick
// the nearer neighbour, ties to the even pattern) rather than from bit tricks, so that they cannot
// share a bug with the code under test.

// Finite half, or +-Inf for the all-ones exponent with zero mantissa.
double half_value(std::uint16_t h) {
  const int e = (h >> 10) & 0x1f;
  const int m = h & 0x3ff;
  double mag = 0;
  if (e == 0x1f) {
    mag = std::numeric_limits<double>::infinity();
  } else if (e == 0) {
    mag = std::ldexp(m, -24);
  } else {
    mag = std::ldexp(1024 + m, e - 25);
  }
  return (h & 0x8000) ? -mag : mag;
}

std::uint16_t ref_f32_to_f16(float f) {
  const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(static_cast<double>(f));
  // IEEE rounds overflow as if the exponent were unbounded: 65536 is where 0x7c00 would sit.
  if (a >= 65536.0) return sign | 0x7c00;
  std::uint16_t lo = 0, hi_bits = 0x7bff;  // positive halves sort like their bit patterns
  while (lo < hi_bits) {
    const auto mid = static_cast<std::uint16_t>((lo + hi_bits + 1) / 2);
    if (half_value(mid) <= a) {
      lo = mid;
    } else {
      hi_bits = static_cast<std::uint16_t>(mid - 1);
    }
  }
  const double below = half_value(lo);
  const double above = lo == 0x7bff ? 65536.0 : half_value(static_cast<std::uint16_t>(lo + 1));
  // Both differences are exact in double: they span at most ~25 significant bits.
  const double d_below = a - below, d_above = above - a;
  std::uint16_t r = lo;
  if (d_above < d_below || (d_above == d_below && (lo & 1u)))
    r = static_cast<std::uint16_t>(lo + 1);
  return static_cast<std::uint16_t>(sign | r);
}

double bf16_value(std::uint16_t b) {
  if ((b & 0x7fff) == 0x7f80) return std::ldexp(1.0, 128);  // unbounded-exponent stand-in for Inf
  return static_cast<double>(float_of(std::uint32_t{b} << 16));
}

std::uint16_t ref_f32_to_bf16(float f) {
  const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (std::isinf(f)) return sign | 0x7f80;
  const double a = std::fabs(static_cast<double>(f));
  const auto lo = static_cast<std::uint16_t>(bits_of(std::fabs(f)) >> 16);
  const double d_below = a - bf16_value(lo);
  const double d_above = bf16_value(static_cast<std::uint16_t>(lo + 1)) - a;
  std::uint16_t r = lo;
  if (d_above < d_below || (d_above == d_below && (lo & 1u)))
    r = static_cast<std::uint16_t>(lo + 1);
  return static_cast<std::uint16_t>(sign | r);
}

bool is_f32_nan(std::uint32_t u) { return (u & 0x7fffffffu) > 0x7f800000u; }

// The NaN rule: quiet, same sign, leading payload bits kept.
bool f16_nan_ok(std::uint32_t in, std::uint16_t out) {
  return (out & 0x7fffu) > 0x7c00u && (out & 0x0200u) != 0 && (out >> 15) == (in >> 31) &&
         (out & 0x1ffu) == ((in >> 13) & 0x1ffu);
}
bool bf16_nan_ok(std::uint32_t in, std::uint16_t out) {
  return (out & 0x7fffu) > 0x7f80u && (out & 0x0040u) != 0 && (out >> 15) == (in >> 31) &&
         (out & 0x3fu) == ((in >> 16) & 0x3fu);
}

std::uint16_t f16(float f) { return float16::from_float(f); }
std::uint16_t bf16(float f) { return bfloat16::from_float(f); }

static_assert(float16::from_float(1.0f) == 0x3c00);
static_assert(bfloat16::from_float(-2.0f) == 0xc000);
static_assert(float16::to_float(0x3555) == 0x1.554p-2f);

}  // namespace

TEST_CASE("every float16 survives half -> float -> half, NaNs stay NaN and become quiet",
          "[half]") {
  std::size_t mismatches = 0;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float f = float16::to_float(bits);
    const std::uint16_t back = float16::from_float(f);
    const bool nan = (bits & 0x7fffu) > 0x7c00u;
    bool ok;
    if (nan) {
      ok = std::isnan(f) && (bits_of(f) & 0x00400000u) != 0 && back == (bits | 0x0200u) &&
           std::signbit(f) == ((bits & 0x8000u) != 0);
    } else {
      ok = bits_of(f) == bits_of(static_cast<float>(half_value(bits))) && back == bits;
    }
    if (!ok && mismatches++ == 0) {
      INFO("half " << std::hex << h << " -> float " << bits_of(f) << " -> half " << back);
      CHECK(ok);
    }
  }
  REQUIRE(mismatches == 0);
}

TEST_CASE("every bfloat16 widens exactly, NaNs stay NaN and become quiet", "[half]") {
  std::size_t mismatches = 0;
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float f = static_cast<float>(bfloat16::from_bits(bits));
    const std::uint16_t back = bfloat16::from_float(f);
    bool ok;
    if ((bits & 0x7fffu) > 0x7f80u) {
      ok = bits_of(f) == ((b << 16) | 0x00400000u) && back == (bits | 0x0040u);
    } else {
      ok = bits_of(f) == (b << 16) && back == bits;
    }
    if (!ok) ++mismatches;
  }
  REQUIRE(mismatches == 0);
}

TEST_CASE("float -> float16 rounding: ties, overflow, subnormals, signs, NaN", "[half]") {
  // Ties go to the even neighbour.
  CHECK(f16(1.0f + 0x1p-11f) == 0x3c00);
  CHECK(f16(1.0f + 3 * 0x1p-11f) == 0x3c02);
  CHECK(f16(1.0f + 0x1p-11f + 0x1p-23f) == 0x3c01);  // just above the tie
  CHECK(f16(2048.0f + 1.0f) == 0x6800);              // 2049 ties to 2048
  CHECK(f16(2048.0f + 3.0f) == 0x6802);              // 2051 ties to 2052
  // Largest finite, and the overflow threshold 65520 (the tie between 65504 and 2^16).
  CHECK(f16(65504.0f) == 0x7bff);
  CHECK(f16(65519.99f) == 0x7bff);
  CHECK(f16(std::nextafter(65520.0f, 0.0f)) == 0x7bff);
  CHECK(f16(65520.0f) == 0x7c00);
  CHECK(f16(-65520.0f) == 0xfc00);
  CHECK(f16(1e10f) == 0x7c00);
  CHECK(f16(std::numeric_limits<float>::max()) == 0x7c00);
  CHECK(f16(std::numeric_limits<float>::infinity()) == 0x7c00);
  CHECK(f16(-std::numeric_limits<float>::infinity()) == 0xfc00);
  // Subnormals: 2^-24 is the smallest, 2^-25 ties down to zero, 3*2^-25 ties up to 2*2^-24.
  CHECK(f16(0x1p-24f) == 0x0001);
  CHECK(f16(0x1p-25f) == 0x0000);
  CHECK(f16(-0x1p-25f) == 0x8000);
  CHECK(f16(std::nextafter(0x1p-25f, 1.0f)) == 0x0001);
  CHECK(f16(3 * 0x1p-25f) == 0x0002);
  CHECK(f16(5 * 0x1p-25f) == 0x0002);
  CHECK(f16(1023 * 0x1p-24f) == 0x03ff);
  CHECK(f16(1023.5f * 0x1p-24f) == 0x0400);  // largest subnormal ties up into the smallest normal
  CHECK(f16(0x1p-14f) == 0x0400);
  CHECK(f16(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(f16(-std::numeric_limits<float>::denorm_min()) == 0x8000);
  // Signed zero.
  CHECK(f16(0.0f) == 0x0000);
  CHECK(f16(-0.0f) == 0x8000);
  CHECK(float16(-0.0f) == float16(0.0f));
  // NaN stays NaN, quiet, payload head kept, never collapses into Inf.
  for (std::uint32_t u : {0x7f800001u, 0x7fc00000u, 0xff800001u, 0x7fbfffffu, 0x7f802000u}) {
    INFO(std::hex << u);
    CHECK(f16_nan_ok(u, f16(float_of(u))));
  }
  CHECK(f16(float_of(0x7f800001u)) == 0x7e00);
  CHECK(f16(float_of(0xffffe000u)) == 0xffff);
  CHECK_FALSE(float16::from_bits(0x7e00) == float16::from_bits(0x7e00));
}

TEST_CASE("float -> bfloat16 rounding: ties, overflow, subnormals, signs, NaN", "[half]") {
  CHECK(bf16(1.00390625f) == 0x3f80);  // 1 + 2^-8 ties to 1
  CHECK(bf16(1.01171875f) == 0x3f82);  // 1 + 3*2^-8 ties up to 1 + 2^-6
  CHECK(bf16(std::nextafter(1.00390625f, 2.0f)) == 0x3f81);
  CHECK(bf16(float_of(0x7f7f7fffu)) == 0x7f7f);
  CHECK(bf16(float_of(0x7f7f8000u)) == 0x7f80);  // tie above the largest finite goes to Inf
  CHECK(bf16(std::numeric_limits<float>::max()) == 0x7f80);
  CHECK(bf16(-std::numeric_limits<float>::max()) == 0xff80);
  CHECK(bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(bf16(float_of(0x00008000u)) == 0x0000);  // subnormal tie to even (zero)
  CHECK(bf16(float_of(0x00018000u)) == 0x0002);
  CHECK(bf16(float_of(0x807f8000u)) == 0x8080);  // largest subnormal tie rounds into a normal
  CHECK(bf16(-0.0f) == 0x8000);
  CHECK(bf16(float_of(0x7f800001u)) == 0x7fc0);
  CHECK(bf16(float_of(0xff800001u)) == 0xffc0);
  CHECK(bf16(float_of(0x7fffffffu)) == 0x7fff);
  for (std::uint32_t u : {0x7f800001u, 0x7fc00000u, 0xff8fffffu, 0x7fbfffffu}) {
    INFO(std::hex << u);
    CHECK(bf16_nan_ok(u, bf16(float_of(u))));
  }
}

TEST_CASE("float -> float16 matches the reference at and around every half and every tie",
          "[half]") {
  std::size_t mismatches = 0;
  auto check = [&](float f) {
    const std::uint16_t got = float16::from_float(f), want = ref_f32_to_f16(f);
    if (got != want && mismatches++ == 0) {
      INFO("float " << std::hex << bits_of(f) << " got " << got << " want " << want);
      CHECK(got == want);
    }
  };
  for (std::uint16_t h = 0; h <= 0x7bff; ++h) {
    const auto v = static_cast<float>(half_value(h));
    const auto next =
        static_cast<float>(h == 0x7bff ? 65536.0 : half_value(static_cast<std::uint16_t>(h + 1)));
    const float mid = v + (next - v) / 2;  // 12 significant bits: exact in float
    for (float f : {v, std::nextafter(v, 0.0f), std::nextafter(v, 1e30f), mid,
                    std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f)}) {
      check(f);
      check(-f);
    }
  }
  std::mt19937 rng(12345);
  for (int i = 0; i < 200000; ++i) {
    const std::uint32_t u = rng();
    if (!is_f32_nan(u)) check(float_of(u));
  }
  // A coarse sweep over the whole pattern space, so every exponent is visited.
  for (std::uint64_t u = 0; u < (std::uint64_t{1} << 32); u += 40009) {
    if (!is_f32_nan(static_cast<std::uint32_t>(u))) check(float_of(static_cast<std::uint32_t>(u)));
  }
  REQUIRE(mismatches == 0);
}

TEST_CASE("float -> bfloat16 matches the reference at and around every bfloat16 and every tie",
          "[half]") {
  std::size_t mismatches = 0;
  auto check = [&](std::uint32_t u) {
    if (is_f32_nan(u)) return;
    const float f = float_of(u);
    const std::uint16_t got = bfloat16::from_float(f), want = ref_f32_to_bf16(f);
    if (got != want && mismatches++ == 0) {
      INFO("float " << std::hex << u << " got " << got << " want " << want);
      CHECK(got == want);
    }
  };
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const std::uint32_t base = b << 16;
    for (std::uint32_t low : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      check(base | low);
    }
  }
  std::mt19937 rng(777);
  for (int i = 0; i < 200000; ++i) check(rng());
  REQUIRE(mismatches == 0);
}

namespace {

// Random bit patterns biased towards the interesting classes of each format.
std::uint32_t random_f32_bits(std::mt19937& rng) {
  const std::uint32_t r = rng(), sign = rng() & 0x80000000u;
  switch (rng() % 8) {
    case 0:
      return sign | 0x7f800000u | ((r & 0x7fffffu) | 1u);  // NaN, either kind
    case 1:
      return sign | 0x7f800000u;  // Inf
    case 2:
      return sign | (r & 0x7fffffu);  // float subnormal or zero
    case 3:
      return sign | (r % (0x38800000u - 0x33000000u) + 0x33000000u);  // half-subnormal range
    case 4:
      return sign | (r % 0x2000u + 0x477fe000u - 0x1000u);  // near the float16 overflow edge
    case 5:
      return sign | ((r & 0x7fff0000u) | 0x8000u);  // exact bfloat16 ties
    case 6:
      return sign | ((r & 0x7fffe000u) | 0x1000u);  // exact float16 ties (in normal range)
    default:
      return r;
  }
}

std::uint16_t random_16_bits(std::mt19937& rng, bool is_bf16) {
  const auto r = static_cast<std::uint16_t>(rng());
  const std::uint16_t sign = r & 0x8000u;
  const std::uint16_t exp_mask = is_bf16 ? 0x7f80u : 0x7c00u;
  switch (rng() % 5) {
    case 0:
      return static_cast<std::uint16_t>(sign | exp_mask | ((r & ~exp_mask & 0x7fffu) | 1u));
    case 1:
      return static_cast<std::uint16_t>(sign | exp_mask);
    case 2:
      return static_cast<std::uint16_t>(r & ~exp_mask);  // subnormal or zero
    default:
      return r;
  }
}

// Storage with guard bytes on both sides and a chosen misalignment from a 64-byte boundary.
template <class T>
struct guarded {
  static constexpr std::size_t guard = 64;
  std::vector<unsigned char> storage;
  T* data;
  guarded(std::size_t n, std::size_t misalign_elems, unsigned char fill)
      : storage(n * sizeof(T) + 2 * guard + 128, fill) {
    const auto base = reinterpret_cast<std::uintptr_t>(storage.data()) + guard;
    const std::uintptr_t aligned = (base + 63) & ~std::uintptr_t{63};
    data = reinterpret_cast<T*>(aligned + misalign_elems * sizeof(T));
  }
  // The n elements plus the guard bytes on either side.
  const unsigned char* window() const {
    return reinterpret_cast<const unsigned char*>(data) - guard;
  }
  static std::size_t window_size(std::size_t n) { return n * sizeof(T) + 2 * guard; }
};

template <class Src, class Dst, class MakeSrc>
void compare_paths(const char* direction, MakeSrc make_src) {
  std::mt19937 rng(2024);
  const std::size_t misalign[][2] = {{0, 0}, {1, 3}, {3, 1}, {5, 7}, {2, 2}};
  for (hi::path p : hi::all_paths) {
    if (!hi::available(p)) continue;
    std::size_t mismatches = 0;
    for (std::size_t n = 0; n <= 300; ++n) {
      for (const auto& m : misalign) {
        guarded<Src> src(n, m[0], 0);
        for (std::size_t i = 0; i < n; ++i) src.data[i] = make_src(rng);
        guarded<Dst> want(n, m[1], 0xa5), got(n, m[1], 0xa5);
        hi::convert_with(hi::path::scalar, src.data, want.data, n);
        hi::convert_with(p, src.data, got.data, n);
        // Whole buffers, guards included: nothing may be written outside [0, n).
        const std::size_t size = guarded<Dst>::window_size(n);
        if (std::memcmp(got.window(), want.window(), size) != 0 && mismatches++ == 0) {
          INFO(direction << " path " << hi::name(p) << " n=" << n << " misalign " << m[0] << ","
                         << m[1]);
          CHECK(std::memcmp(got.window(), want.window(), size) == 0);
        }
      }
    }
    INFO(direction << " path " << hi::name(p));
    CHECK(mismatches == 0);
  }
}

}  // namespace

TEST_CASE("the core value types convert at compile time, without the codec's kernels", "[half]") {
  STATIC_REQUIRE(float16::to_float(0x3c00) == 1.0f);
  STATIC_REQUIRE(float16::from_float(65504.0f) == 0x7bff);
  STATIC_REQUIRE(float16::from_float(65520.0f) == 0x7c00);
  STATIC_REQUIRE(bfloat16::from_float(1.0f) == 0x3f80);
  STATIC_REQUIRE(bfloat16::to_float(0xc000) == -2.0f);
  STATIC_REQUIRE(float16::from_bits(0x8000) == float16::from_bits(0x0000));
}

TEST_CASE("every SIMD path equals the scalar twin byte for byte", "[half]") {
  INFO("selected path: " << hi::name(hi::selected()));
  compare_paths<float, float16>("f32->f16",
                                [](std::mt19937& rng) { return float_of(random_f32_bits(rng)); });
  compare_paths<float, bfloat16>("f32->bf16",
                                 [](std::mt19937& rng) { return float_of(random_f32_bits(rng)); });
  compare_paths<float16, float>(
      "f16->f32", [](std::mt19937& rng) { return float16::from_bits(random_16_bits(rng, false)); });
  compare_paths<bfloat16, float>("bf16->f32", [](std::mt19937& rng) {
    return bfloat16::from_bits(random_16_bits(rng, true));
  });
}

#if defined(__x86_64__)
TEST_CASE("SIMD results ignore MXCSR flush-to-zero, denormals-are-zero and rounding mode",
          "[half]") {
  // Programs built with -ffast-math start with FTZ/DAZ set; the integer scalar code never sees
  // MXCSR, so the vector instructions must not either.
  std::vector<float> src;
  for (std::uint32_t u = 0; u < 0x48000000u; u += 997) {
    src.push_back(float_of(u));
    src.push_back(float_of(u | 0x80000000u));
  }
  std::vector<float16> h(0x10000);
  for (std::uint32_t i = 0; i < 0x10000; ++i)
    h[i] = float16::from_bits(static_cast<std::uint16_t>(i));
  std::vector<float16> h_want(src.size()), h_got(src.size());
  std::vector<bfloat16> b_want(src.size()), b_got(src.size());
  std::vector<float> f_want(h.size()), f_got(h.size());
  hi::scalar_f32_to_f16(src.data(), h_want.data(), src.size());
  hi::scalar_f32_to_bf16(src.data(), b_want.data(), src.size());
  hi::scalar_f16_to_f32(h.data(), f_want.data(), h.size());

  const unsigned saved = _mm_getcsr();
  for (hi::path p : hi::all_paths) {
    if (!hi::available(p)) continue;
    _mm_setcsr(saved | 0x8040u | 0x6000u);  // FTZ, DAZ, round toward zero
    hi::convert_with(p, src.data(), h_got.data(), src.size());
    hi::convert_with(p, src.data(), b_got.data(), src.size());
    hi::convert_with(p, h.data(), f_got.data(), h.size());
    _mm_setcsr(saved);
    INFO("path " << hi::name(p));
    CHECK(std::memcmp(h_want.data(), h_got.data(), h_got.size() * sizeof(float16)) == 0);
    CHECK(std::memcmp(b_want.data(), b_got.data(), b_got.size() * sizeof(bfloat16)) == 0);
    CHECK(std::memcmp(f_want.data(), f_got.data(), f_got.size() * sizeof(float)) == 0);
  }
}
#endif

TEST_CASE("every path converts all 65536 16-bit patterns like the scalar code", "[half]") {
  std::vector<float16> h(0x10000);
  std::vector<bfloat16> b(0x10000);
  for (std::uint32_t i = 0; i < 0x10000; ++i) {
    h[i] = float16::from_bits(static_cast<std::uint16_t>(i));
    b[i] = bfloat16::from_bits(static_cast<std::uint16_t>(i));
  }
  std::vector<float> want(0x10000), got(0x10000);
  for (hi::path p : hi::all_paths) {
    if (!hi::available(p)) continue;
    INFO("path " << hi::name(p));
    hi::convert_with(hi::path::scalar, h.data(), want.data(), h.size());
    hi::convert_with(p, h.data(), got.data(), h.size());
    CHECK(std::memcmp(want.data(), got.data(), got.size() * sizeof(float)) == 0);
    hi::convert_with(hi::path::scalar, b.data(), want.data(), b.size());
    hi::convert_with(p, b.data(), got.data(), b.size());
    CHECK(std::memcmp(want.data(), got.data(), got.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("public convert overloads use a working path", "[half]") {
  std::mt19937 rng(99);
  std::vector<float> src(1000);
  for (auto& f : src) f = float_of(random_f32_bits(rng));
  std::vector<float16> h(src.size()), h_ref(src.size());
  std::vector<bfloat16> b(src.size()), b_ref(src.size());
  ckpt::convert(src.data(), h.data(), src.size());
  ckpt::convert(src.data(), b.data(), src.size());
  hi::scalar_f32_to_f16(src.data(), h_ref.data(), src.size());
  hi::scalar_f32_to_bf16(src.data(), b_ref.data(), src.size());
  CHECK(std::memcmp(h.data(), h_ref.data(), h.size() * sizeof(float16)) == 0);
  CHECK(std::memcmp(b.data(), b_ref.data(), b.size() * sizeof(bfloat16)) == 0);

  std::vector<float> back(src.size()), back_ref(src.size());
  ckpt::convert(h.data(), back.data(), h.size());
  hi::scalar_f16_to_f32(h.data(), back_ref.data(), h.size());
  CHECK(std::memcmp(back.data(), back_ref.data(), back.size() * sizeof(float)) == 0);
  ckpt::convert(b.data(), back.data(), b.size());
  hi::scalar_bf16_to_f32(b.data(), back_ref.data(), b.size());
  CHECK(std::memcmp(back.data(), back_ref.data(), back.size() * sizeof(float)) == 0);

  ckpt::convert(static_cast<const float*>(nullptr), static_cast<float16*>(nullptr), 0);
  ckpt::convert(static_cast<const bfloat16*>(nullptr), static_cast<float*>(nullptr), 0);
}

TEST_CASE("dispatch: selection, names and the CKPT_DISABLE_SIMD switch", "[half]") {
  CHECK(hi::available(hi::path::scalar));
  CHECK(hi::available(hi::selected()));
  CHECK(std::string(hi::name(hi::path::scalar)) == "scalar");
  CHECK(std::string(hi::name(hi::path::f16c_avx2)) != std::string(hi::name(hi::path::avx512)));

  CHECK_FALSE(ckpt::simd::env_value_disables(nullptr));
  CHECK_FALSE(ckpt::simd::env_value_disables(""));
  CHECK_FALSE(ckpt::simd::env_value_disables("0"));
  CHECK(ckpt::simd::env_value_disables("1"));
  CHECK(ckpt::simd::env_value_disables("00"));
  CHECK(ckpt::simd::env_value_disables("yes"));

#if defined(CKPT_DISABLE_SIMD)
  CHECK(hi::selected() == hi::path::scalar);
  CHECK_FALSE(hi::available(hi::path::f16c_avx2));
  CHECK_FALSE(hi::available(hi::path::avx512));
#else
  if (ckpt::simd::disabled()) {
    CHECK(hi::selected() == hi::path::scalar);
  }
#endif
#if !defined(__x86_64__)
  CHECK(hi::selected() == hi::path::scalar);
#endif
}

// Hidden (run with "[exhaustive]"): all 2^32 float patterns through every path, compared with the
// scalar code. For float16 the F16C/AVX-512 instructions are an independent hardware reference.
TEST_CASE("every float bit pattern converts identically on every path", "[.][exhaustive]") {
  constexpr std::size_t chunk = 1 << 16;
  std::vector<float> src(chunk);
  std::vector<float16> h_want(chunk), h_got(chunk);
  std::vector<bfloat16> b_want(chunk), b_got(chunk);
  std::size_t mismatches = 0;
  for (std::uint64_t base = 0; base < (std::uint64_t{1} << 32); base += chunk) {
    for (std::size_t i = 0; i < chunk; ++i) src[i] = float_of(static_cast<std::uint32_t>(base + i));
    hi::scalar_f32_to_f16(src.data(), h_want.data(), chunk);
    hi::scalar_f32_to_bf16(src.data(), b_want.data(), chunk);
    for (hi::path p : hi::all_paths) {
      if (p == hi::path::scalar || !hi::available(p)) continue;
      hi::convert_with(p, src.data(), h_got.data(), chunk);
      hi::convert_with(p, src.data(), b_got.data(), chunk);
      if (std::memcmp(h_want.data(), h_got.data(), chunk * sizeof(float16)) != 0) ++mismatches;
      if (std::memcmp(b_want.data(), b_got.data(), chunk * sizeof(bfloat16)) != 0) ++mismatches;
    }
  }
  REQUIRE(mismatches == 0);
}
