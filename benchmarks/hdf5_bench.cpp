// SPDX-License-Identifier: Apache-2.0
// HDF5 (generic layout) save and load beside raw write(2)/read(2) of the same tensor bytes, in the
// same run. Workloads: 1 GiB in 64 float32 tensors, and 10,000 float32 tensors of 1 KiB. Storage:
// contiguous, chunked + shuffle + zstd level 1 and 3, and chunked + Fletcher32. The weights are
// drawn from a normal distribution (sigma 0.02, like initialised layers), so the compression ratio
// (counter `ratio` = tensor bytes / file bytes) means something. Saves run with sync=false on both
// sides; loads read files warm in the page cache. Files live under $TMPDIR (or /tmp).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "../tests/support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

namespace {

namespace fs = std::filesystem;

struct Weights {
  std::vector<ckpt::tensor<float>> tensors;
};

struct h5_workload {
  std::size_t count;
  std::size_t floats;  // per tensor
};
constexpr h5_workload h5_large{64, (16u << 20) / sizeof(float)};
constexpr h5_workload h5_small{10'000, 1024 / sizeof(float)};

std::uint64_t bytes_of(const h5_workload& w) { return w.count * w.floats * sizeof(float); }

ckpt_test::scratch_dir& h5_scratch() {
  static ckpt_test::scratch_dir dir("ckpt-hdf5-bench");
  return dir;
}

struct h5_fixture {
  Weights source, destination;
};

h5_fixture& h5_fixture_for(const h5_workload& w) {
  static std::map<std::size_t, std::unique_ptr<h5_fixture>> fixtures;
  auto& f = fixtures[w.count];
  if (!f) {
    f = std::make_unique<h5_fixture>();
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (std::size_t i = 0; i < w.count; ++i) {
      auto& t = f->source.tensors.emplace_back(ckpt::shape{w.floats});
      for (std::size_t k = 0; k < t.size(); ++k) t[k] = normal(rng);
      f->destination.tensors.emplace_back(ckpt::shape{w.floats});
    }
  }
  return *f;
}

enum class h5_storage { contiguous, zstd1, zstd3, fletcher32 };

ckpt::save_options options_for(h5_storage s) {
  ckpt::save_options o;
  o.sync = false;
  if (s == h5_storage::zstd1) o.storage = {.shuffle = true, .zstd_level = 1};
  if (s == h5_storage::zstd3) o.storage = {.shuffle = true, .zstd_level = 3};
  if (s == h5_storage::fletcher32) o.storage = {.checksum = true};
  return o;
}

fs::path h5_file(const h5_workload& w, h5_storage s) {
  return h5_scratch() / ("w" + std::to_string(w.count) + "-" + std::to_string(int(s)) + ".h5");
}

void h5_raw_write(const fs::path& path, const Weights& weights) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open failed");
  for (const auto& t : weights.tensors) {
    const auto* p = reinterpret_cast<const char*>(t.data());
    std::size_t left = t.size() * sizeof(float);
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n <= 0) throw std::runtime_error("write failed");
      p += n, left -= static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
}

void h5_raw_read(const fs::path& path, Weights& weights) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open failed");
  for (auto& t : weights.tensors) {
    auto* p = reinterpret_cast<char*>(t.data());
    std::size_t left = t.size() * sizeof(float);
    while (left > 0) {
      const ssize_t n = ::read(fd, p, left);
      if (n <= 0) throw std::runtime_error("read failed");
      p += n, left -= static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
}

void h5_remove_untimed(benchmark::State& state, const fs::path& path) {
  state.PauseTiming();
  std::error_code ec;
  fs::remove(path, ec);
  state.ResumeTiming();
}

void h5_report(benchmark::State& state, const h5_workload& w, const fs::path& file) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes_of(w)));
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (!ec && size > 0) state.counters["ratio"] = static_cast<double>(bytes_of(w)) / size;
}

void BM_hdf5_save(benchmark::State& state, h5_workload w, h5_storage s) {
  auto& f = h5_fixture_for(w);
  const auto path = h5_file(w, s);
  const auto options = options_for(s);
  for (auto _ : state) {
    h5_remove_untimed(state, path);
    ckpt::save(f.source, path, options);
  }
  h5_report(state, w, path);
}

void BM_hdf5_load(benchmark::State& state, h5_workload w, h5_storage s) {
  auto& f = h5_fixture_for(w);
  const auto path = h5_file(w, s);
  ckpt::save(f.source, path, options_for(s));
  for (auto _ : state) ckpt::load(f.destination, path);
  if (f.destination.tensors.back()[0] != f.source.tensors.back()[0])
    state.SkipWithError("loaded values differ");
  h5_report(state, w, path);
}

void BM_hdf5_raw_write(benchmark::State& state, h5_workload w) {
  auto& f = h5_fixture_for(w);
  const auto path = h5_scratch() / ("raw-" + std::to_string(w.count));
  for (auto _ : state) {
    h5_remove_untimed(state, path);
    h5_raw_write(path, f.source);
  }
  h5_report(state, w, path);
}

void BM_hdf5_raw_read(benchmark::State& state, h5_workload w) {
  auto& f = h5_fixture_for(w);
  const auto path = h5_scratch() / ("raw-" + std::to_string(w.count));
  h5_raw_write(path, f.source);
  for (auto _ : state) h5_raw_read(path, f.destination);
  h5_report(state, w, path);
}

#define CKPT_HDF5_BENCH(wl)                                                                   \
  BENCHMARK_CAPTURE(BM_hdf5_raw_write, wl, wl)->Unit(benchmark::kMillisecond)->UseRealTime(); \
  BENCHMARK_CAPTURE(BM_hdf5_save, wl##_contiguous, wl, h5_storage::contiguous)                \
      ->Unit(benchmark::kMillisecond)                                                         \
      ->UseRealTime();                                                                        \
  BENCHMARK_CAPTURE(BM_hdf5_save, wl##_shuffle_zstd1, wl, h5_storage::zstd1)                  \
      ->Unit(benchmark::kMillisecond)                                                         \
      ->UseRealTime();                                                                        \
  BENCHMARK_CAPTURE(BM_hdf5_save, wl##_shuffle_zstd3, wl, h5_storage::zstd3)                  \
      ->Unit(benchmark::kMillisecond)                                                         \
      ->UseRealTime();                                                                        \
  BENCHMARK_CAPTURE(BM_hdf5_save, wl##_fletcher32, wl, h5_storage::fletcher32)                \
      ->Unit(benchmark::kMillisecond)                                                         \
      ->UseRealTime();                                                                        \
  BENCHMARK_CAPTURE(BM_hdf5_raw_read, wl, wl)->Unit(benchmark::kMillisecond)->UseRealTime();  \
  BENCHMARK_CAPTURE(BM_hdf5_load, wl##_contiguous, wl, h5_storage::contiguous)                \
      ->Unit(benchmark::kMillisecond)                                                         \
      ->UseRealTime();                                                                        \
  BENCHMARK_CAPTURE(BM_hdf5_load, wl##_shuffle_zstd1, wl, h5_storage::zstd1)                  \
      ->Unit(benchmark::kMillisecond)                                                         \
      ->UseRealTime();                                                                        \
  BENCHMARK_CAPTURE(BM_hdf5_load, wl##_shuffle_zstd3, wl, h5_storage::zstd3)                  \
      ->Unit(benchmark::kMillisecond)                                                         \
      ->UseRealTime();                                                                        \
  BENCHMARK_CAPTURE(BM_hdf5_load, wl##_fletcher32, wl, h5_storage::fletcher32)                \
      ->Unit(benchmark::kMillisecond)                                                         \
      ->UseRealTime()

CKPT_HDF5_BENCH(h5_large);
CKPT_HDF5_BENCH(h5_small);

}  // namespace
