// SPDX-License-Identifier: Apache-2.0
// CRC32C throughput per implementation path, with a memcpy baseline of the same size.
//
// 1 KiB, 64 KiB and 1 MiB reuse one buffer every iteration, so they measure cache-hot speed; the
// 256 MiB case is far larger than any last-level cache, so every iteration streams from DRAM.
//
// Standalone build (one line):
//   g++ -std=c++20 -O2 -Iinclude -DCKPT_BENCH_STANDALONE_MAIN benchmarks/crc32c_bench.cpp
//       -lbenchmark -lpthread -o crc32c_bench
#include "ckpt/codec/crc32c.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace {

namespace impl = ckpt::crc32c_impl;

constexpr std::size_t kMaxBytes = std::size_t{256} << 20;

// One process-wide pair of buffers: allocating and faulting in 256 MiB per benchmark would
// dominate the run time. Source content is arbitrary but non-trivial so no path sees only zeros.
struct buffers {
  std::unique_ptr<unsigned char[]> src{new unsigned char[kMaxBytes]};
  std::unique_ptr<unsigned char[]> dst{new unsigned char[kMaxBytes]};
  buffers() {
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (std::size_t i = 0; i < kMaxBytes; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      src[i] = static_cast<unsigned char>(x);
    }
    std::memset(dst.get(), 0, kMaxBytes);
  }
};

const buffers& shared_buffers() {
  static const buffers b;
  return b;
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20)->Arg(static_cast<std::int64_t>(kMaxBytes));
}

void BM_crc32c(benchmark::State& state, impl::path p) {
  if (!impl::available(p)) {
    state.SkipWithError("unavailable on this CPU");
    return;
  }
  const auto n = static_cast<std::size_t>(state.range(0));
  const unsigned char* data = shared_buffers().src.get();
  const impl::fn_type fn = impl::function_for(p);
  std::uint32_t crc = 0;
  for (auto _ : state) {
    // Feeding the result back in keeps the compiler from treating iterations as independent.
    crc = fn(data, n, crc);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
  state.SetLabel(impl::name(p));
}

void BM_crc32c_dispatched(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const unsigned char* data = shared_buffers().src.get();
  std::uint32_t crc = 0;
  for (auto _ : state) {
    crc = ckpt::crc32c(data, n, crc);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
  state.SetLabel(impl::name(impl::selected()));
}

void BM_crc32c_memcpy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const buffers& b = shared_buffers();
  for (auto _ : state) {
    std::memcpy(b.dst.get(), b.src.get(), n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
}

}  // namespace

BENCHMARK(BM_crc32c_memcpy)->Apply(sizes);
BENCHMARK(BM_crc32c_dispatched)->Apply(sizes);
BENCHMARK_CAPTURE(BM_crc32c, scalar, impl::path::scalar)->Apply(sizes);
BENCHMARK_CAPTURE(BM_crc32c, sse42, impl::path::sse42)->Apply(sizes);
BENCHMARK_CAPTURE(BM_crc32c, sse42_3way, impl::path::sse42_3way)->Apply(sizes);
BENCHMARK_CAPTURE(BM_crc32c, pclmul_fold, impl::path::pclmul_fold)->Apply(sizes);
BENCHMARK_CAPTURE(BM_crc32c, avx512, impl::path::avx512)->Apply(sizes);
BENCHMARK_CAPTURE(BM_crc32c, armv8, impl::path::armv8)->Apply(sizes);

#ifdef CKPT_BENCH_STANDALONE_MAIN
BENCHMARK_MAIN();
#endif
