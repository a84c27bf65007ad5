// SPDX-License-Identifier: Apache-2.0
// Bulk float <-> float16 / bfloat16 conversion throughput per implementation path, with a memcpy
// baseline that copies the same number of input bytes.
//
// The argument is the input size in bytes and bytes_per_second counts input bytes, so a narrowing
// conversion moves 1.5x its figure through memory (read 4, write 2) and a widening one 3x (read 2,
// write 4), against memcpy's 2x. 256 KiB reuses one buffer and stays cache-hot; 256 MiB is far
// larger than any last-level cache, so every iteration streams from DRAM.
//
// Standalone build (one line):
//   g++ -std=c++20 -O2 -Iinclude -DCKPT_BENCH_STANDALONE_MAIN benchmarks/convert_bench.cpp
//       -lbenchmark -lpthread -o convert_bench
#include "ckpt/codec/half.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace {

namespace hi = ckpt::half_impl;

constexpr std::size_t kHotBytes = std::size_t{256} << 10;
constexpr std::size_t kColdBytes = std::size_t{256} << 20;

// Weight-like values in [-8, 8): every path sees finite, mostly normal numbers, as in a real
// checkpoint. The scalar half->float code branches on subnormals, so all-zero input would flatter
// it.
float value_at(std::uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<float>(state >> 40) * 0x1p-24f * 16.0f - 8.0f;
}

// Buffers are allocated and faulted in once per process, on first use, so page faults stay out of
// the timings and a filtered run only builds what it needs.
template <class T>
struct buffer {
  std::unique_ptr<T[]> data;
  explicit buffer(std::size_t n) : data(new T[n]()) {}
};

template <class T>
const T* input() {
  static const buffer<T> in = [] {
    const std::size_t n = kColdBytes / sizeof(T);
    buffer<T> b(n);
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    for (std::size_t i = 0; i < n; ++i) b.data[i] = T(value_at(state));
    return b;
  }();
  return in.data.get();
}

// Output sized for the largest conversion into T from a kColdBytes input.
template <class T>
T* output() {
  static buffer<T> out(sizeof(T) == sizeof(float) ? kColdBytes * 2 / sizeof(T)
                                                  : kColdBytes / sizeof(float));
  return out.data.get();
}

template <class Src, class Dst>
void run(benchmark::State& state, hi::path p) {
  if (!hi::available(p)) {
    state.SkipWithError("unavailable on this CPU or in this build");
    return;
  }
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const std::size_t n = bytes / sizeof(Src);
  const Src* src = input<Src>();
  Dst* dst = output<Dst>();
  for (auto _ : state) {
    hi::convert_with(p, src, dst, n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes));
  state.SetLabel(hi::name(p));
}

void BM_f32_to_f16(benchmark::State& state, hi::path p) { run<float, ckpt::float16>(state, p); }
void BM_f16_to_f32(benchmark::State& state, hi::path p) { run<ckpt::float16, float>(state, p); }
void BM_f32_to_bf16(benchmark::State& state, hi::path p) { run<float, ckpt::bfloat16>(state, p); }
void BM_bf16_to_f32(benchmark::State& state, hi::path p) { run<ckpt::bfloat16, float>(state, p); }

void BM_convert_memcpy(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const float* src = input<float>();
  float* dst = output<float>();
  for (auto _ : state) {
    std::memcpy(dst, src, bytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes));
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(static_cast<std::int64_t>(kHotBytes))->Arg(static_cast<std::int64_t>(kColdBytes));
}

}  // namespace

BENCHMARK(BM_convert_memcpy)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f32_to_f16, scalar, hi::path::scalar)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f32_to_f16, f16c_avx2, hi::path::f16c_avx2)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f32_to_f16, avx512, hi::path::avx512)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f16_to_f32, scalar, hi::path::scalar)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f16_to_f32, f16c_avx2, hi::path::f16c_avx2)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f16_to_f32, avx512, hi::path::avx512)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f32_to_bf16, scalar, hi::path::scalar)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f32_to_bf16, f16c_avx2, hi::path::f16c_avx2)->Apply(sizes);
BENCHMARK_CAPTURE(BM_f32_to_bf16, avx512, hi::path::avx512)->Apply(sizes);
BENCHMARK_CAPTURE(BM_bf16_to_f32, scalar, hi::path::scalar)->Apply(sizes);
BENCHMARK_CAPTURE(BM_bf16_to_f32, f16c_avx2, hi::path::f16c_avx2)->Apply(sizes);
BENCHMARK_CAPTURE(BM_bf16_to_f32, avx512, hi::path::avx512)->Apply(sizes);

#ifdef CKPT_BENCH_STANDALONE_MAIN
BENCHMARK_MAIN();
#endif
