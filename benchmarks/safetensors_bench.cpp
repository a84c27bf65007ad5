// SPDX-License-Identifier: Apache-2.0
// safetensors save and load beside raw write(2), read(2) and memcpy of the same tensor bytes,
// measured in the same run. Two workloads: 1 GiB in 64 float32 tensors of 16 MiB, and 10,000
// float32 tensors of 1 KiB. Saves run with sync=false on both sides (no fsync): page-cache speed,
// until the kernel's dirty-page limits throttle both sides to the disk; TMPDIR=/dev/shm measures
// memory speed alone. Loads read files that are warm in the page cache. Files live in a fresh
// directory under $TMPDIR (or /tmp), removed at exit.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "../tests/support/scratch_dir.hpp"
#include <vector>

#include "ckpt/api.hpp"
#include "ckpt/formats/safetensors.hpp"

namespace {

namespace fs = std::filesystem;

struct Weights {
  std::vector<ckpt::tensor<float>> tensors;
};

struct workload {
  std::size_t count;
  std::size_t floats;  // per tensor
};
constexpr workload large{64, (16u << 20) / sizeof(float)};
constexpr workload small{10'000, 1024 / sizeof(float)};

std::uint64_t total_bytes(const workload& w) { return w.count * w.floats * sizeof(float); }

ckpt_test::scratch_dir& scratch() {
  static ckpt_test::scratch_dir dir("ckpt-bench");
  return dir;
}

Weights make_weights(const workload& w, bool fill) {
  Weights weights;
  weights.tensors.reserve(w.count);
  for (std::size_t i = 0; i < w.count; ++i) {
    auto& t = weights.tensors.emplace_back(ckpt::shape{w.floats});
    if (fill)
      for (std::size_t k = 0; k < t.size(); ++k) t[k] = static_cast<float>(i * 31 + k);
  }
  return weights;
}

// Per workload: the tensors saved, a same-sized destination (already allocated, as a training loop
// reloading into its model has), and the files both sides write.
struct fixture {
  Weights source;
  Weights destination;
  fs::path safetensors_file;
  fs::path raw_file;
};

fixture& fixture_for(const workload& w) {
  static std::map<std::size_t, std::unique_ptr<fixture>> fixtures;
  auto& f = fixtures[w.count];
  if (!f) {
    f = std::make_unique<fixture>();
    f->source = make_weights(w, true);
    f->destination = make_weights(w, false);  // zero-filled, so its pages are already faulted in
    const std::string tag = std::to_string(w.count);
    f->safetensors_file = scratch() / ("weights-" + tag + ".safetensors");
    f->raw_file = scratch() / ("weights-" + tag + ".raw");
  }
  return *f;
}

const ckpt::save_options no_sync = [] {
  ckpt::save_options o;
  o.sync = false;
  return o;
}();

void report(benchmark::State& state, const workload& w) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(w)));
}

// Both sides write a new file each time: freeing the old file's pages (and ext4 flushing a file
// that replaces another) would otherwise be timed too, differently for rename and O_TRUNC.
void remove_untimed(benchmark::State& state, const fs::path& path) {
  state.PauseTiming();
  std::error_code ec;
  fs::remove(path, ec);
  state.ResumeTiming();
}

void raw_write(const fs::path& path, const Weights& weights) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open failed");
  for (const auto& t : weights.tensors) {
    const auto* p = reinterpret_cast<const char*>(t.data());
    std::size_t left = t.size() * sizeof(float);
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n <= 0) throw std::runtime_error("write failed");
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
}

void raw_read(const fs::path& path, Weights& weights) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open failed");
  for (auto& t : weights.tensors) {
    auto* p = reinterpret_cast<char*>(t.data());
    std::size_t left = t.size() * sizeof(float);
    while (left > 0) {
      const ssize_t n = ::read(fd, p, left);
      if (n <= 0) throw std::runtime_error("read failed");
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
}

void BM_safetensors_save(benchmark::State& state, workload w) {
  auto& f = fixture_for(w);
  for (auto _ : state) {
    remove_untimed(state, f.safetensors_file);
    ckpt::save(f.source, f.safetensors_file, no_sync);
  }
  report(state, w);
}

void BM_safetensors_raw_write(benchmark::State& state, workload w) {
  auto& f = fixture_for(w);
  for (auto _ : state) {
    remove_untimed(state, f.raw_file);
    raw_write(f.raw_file, f.source);
  }
  report(state, w);
}

void BM_safetensors_load_copy(benchmark::State& state, workload w) {
  auto& f = fixture_for(w);
  if (!fs::exists(f.safetensors_file)) ckpt::save(f.source, f.safetensors_file, no_sync);
  for (auto _ : state) {
    ckpt::load(f.destination, f.safetensors_file);
    benchmark::ClobberMemory();
  }
  report(state, w);
  if (f.destination.tensors.back().values().back() != f.source.tensors.back().values().back())
    state.SkipWithError("loaded values differ");
}

void BM_safetensors_raw_read(benchmark::State& state, workload w) {
  auto& f = fixture_for(w);
  if (!fs::exists(f.raw_file)) raw_write(f.raw_file, f.source);
  for (auto _ : state) {
    raw_read(f.raw_file, f.destination);
    benchmark::ClobberMemory();
  }
  report(state, w);
}

void BM_safetensors_memcpy(benchmark::State& state, workload w) {
  auto& f = fixture_for(w);
  for (auto _ : state) {
    for (std::size_t i = 0; i < w.count; ++i)
      std::memcpy(f.destination.tensors[i].data(), f.source.tensors[i].data(),
                  w.floats * sizeof(float));
    benchmark::ClobberMemory();
  }
  report(state, w);
}

// Zero-copy: open (map and validate the header), take every tensor's view and read one float per
// 4 KiB page, so the cost of faulting the mapping in is counted, not just the header parse.
void BM_safetensors_load_view(benchmark::State& state, workload w) {
  auto& f = fixture_for(w);
  if (!fs::exists(f.safetensors_file)) ckpt::save(f.source, f.safetensors_file, no_sync);
  for (auto _ : state) {
    ckpt::safetensors::reader reader(f.safetensors_file);
    float sum = 0;
    for (std::size_t i = 0; i < reader.entries().size(); ++i) {
      const auto values = reader.view(i)->as<float>();
      for (std::size_t k = 0; k < values.size(); k += 1024) sum += values[k];
    }
    benchmark::DoNotOptimize(sum);
  }
  report(state, w);
}

// Each workload's six measurements run back to back, so ckpt and its baseline see the same page
// cache and writeback state. The 1 GiB saves run a fixed five times: one iteration can take
// seconds once the kernel starts throttling dirty pages to the disk.
#define CKPT_SAFETENSORS_WORKLOAD(name, w, save_iterations)                                    \
  BENCHMARK_CAPTURE(BM_safetensors_save, name, w)->UseRealTime()->Iterations(save_iterations); \
  BENCHMARK_CAPTURE(BM_safetensors_raw_write, name, w)                                         \
      ->UseRealTime()                                                                          \
      ->Iterations(save_iterations);                                                           \
  BENCHMARK_CAPTURE(BM_safetensors_load_copy, name, w)->UseRealTime();                         \
  BENCHMARK_CAPTURE(BM_safetensors_raw_read, name, w)->UseRealTime();                          \
  BENCHMARK_CAPTURE(BM_safetensors_memcpy, name, w)->UseRealTime();                            \
  BENCHMARK_CAPTURE(BM_safetensors_load_view, name, w)->UseRealTime()

CKPT_SAFETENSORS_WORKLOAD(64x16MiB, large, 5);
CKPT_SAFETENSORS_WORKLOAD(10000x1KiB, small, 30);

}  // namespace
