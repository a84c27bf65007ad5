// SPDX-License-Identifier: Apache-2.0
// TensorBundle (TF checkpoint) save and load beside raw write(2) and read(2) of the same tensor
// bytes, measured in the same run, at two levels: the bundle (ckpt::tf_checkpoint) and a user
// struct through ckpt::save / ckpt::load as format "tf" (object graph, keys, reflection). Two
// workloads: 1 GiB in 64 float32 tensors of 16 MiB, and 10,000 float32 tensors of 1 KiB. Saves run
// with sync=false on both sides (no fsync); the bundle save includes computing every tensor's
// CRC32C and writing the `.index`. Loads read files warm in the page cache, into already allocated
// destinations, with and without the per-tensor CRC32C check. Files live in a fresh directory under
// $TMPDIR (or /tmp).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../tests/support/scratch_dir.hpp"
#include "ckpt/api.hpp"
#include "ckpt/formats/tf_checkpoint.hpp"

namespace {

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;

struct tf_workload {
  std::size_t count;
  std::size_t floats;  // per tensor
};
constexpr tf_workload tf_large{64, (16u << 20) / sizeof(float)};
constexpr tf_workload tf_small{10'000, 1024 / sizeof(float)};

std::uint64_t total_bytes(const tf_workload& w) { return w.count * w.floats * sizeof(float); }

ckpt_test::scratch_dir& tf_scratch() {
  static ckpt_test::scratch_dir dir("ckpt-tf-bench");
  return dir;
}

struct tf_weights {
  std::vector<std::vector<float>> layers;
};

struct tf_fixture {
  std::vector<std::vector<float>> source, destination;
  std::vector<std::string> keys;
  fs::path prefix, raw_file, api_prefix;
};

tf_fixture& tf_fixture_for(const tf_workload& w) {
  static std::map<std::size_t, std::unique_ptr<tf_fixture>> fixtures;
  auto& f = fixtures[w.count];
  if (!f) {
    f = std::make_unique<tf_fixture>();
    for (std::size_t i = 0; i < w.count; ++i) {
      auto& t = f->source.emplace_back(w.floats);
      for (std::size_t k = 0; k < t.size(); ++k) t[k] = static_cast<float>(i * 31 + k);
      f->destination.emplace_back(w.floats);  // zero-filled: pages already faulted in
      f->keys.push_back("layer_" + std::to_string(i) + "/kernel/.ATTRIBUTES/VARIABLE_VALUE");
    }
    const std::string tag = std::to_string(w.count);
    f->prefix = tf_scratch() / ("ckpt-" + tag);
    f->raw_file = tf_scratch() / ("weights-" + tag + ".raw");
    f->api_prefix = tf_scratch() / ("api-" + tag);
  }
  return *f;
}

void tf_report(benchmark::State& state, const tf_workload& w) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(w)));
}

void tf_save(const tf_fixture& f) {
  tfc::bundle_writer writer(f.prefix, {.num_shards = 1, .sync = false});
  for (std::size_t i = 0; i < f.source.size(); ++i)
    writer.add(
        f.keys[i],
        {ckpt::dtype::float32, {f.source[i].size()}, std::as_bytes(std::span(f.source[i])), {}});
  writer.finish();
}

// Both sides write new files each time (see safetensors_bench.cpp for why).
void remove_untimed(benchmark::State& state, const std::vector<fs::path>& paths) {
  state.PauseTiming();
  std::error_code ec;
  for (const auto& p : paths) fs::remove(p, ec);
  state.ResumeTiming();
}

void raw_write(const fs::path& path, const std::vector<std::vector<float>>& tensors) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open failed");
  for (const auto& t : tensors) {
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

void raw_read(const fs::path& path, std::vector<std::vector<float>>& tensors) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open failed");
  for (auto& t : tensors) {
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

void BM_tf_save(benchmark::State& state, tf_workload w) {
  auto& f = tf_fixture_for(w);
  for (auto _ : state) {
    remove_untimed(state, {tfc::index_path(f.prefix), tfc::data_path(f.prefix, 0, 1)});
    tf_save(f);
  }
  tf_report(state, w);
}

void BM_tf_raw_write(benchmark::State& state, tf_workload w) {
  auto& f = tf_fixture_for(w);
  for (auto _ : state) {
    remove_untimed(state, {f.raw_file});
    raw_write(f.raw_file, f.source);
  }
  tf_report(state, w);
}

void tf_load(benchmark::State& state, tf_workload w, bool verify) {
  auto& f = tf_fixture_for(w);
  if (!fs::exists(tfc::index_path(f.prefix))) tf_save(f);
  for (auto _ : state) {
    const tfc::bundle_reader reader(f.prefix);
    for (std::size_t i = 0; i < f.destination.size(); ++i) {
      auto& d = f.destination[i];
      reader.read(reader.at(f.keys[i]),
                  {ckpt::dtype::float32, {d.size()}, std::as_writable_bytes(std::span(d)), {}},
                  verify);
    }
    benchmark::ClobberMemory();
  }
  tf_report(state, w);
  if (f.destination.back().back() != f.source.back().back())
    state.SkipWithError("loaded values differ");
}

void BM_tf_load_verified(benchmark::State& state, tf_workload w) { tf_load(state, w, true); }
void BM_tf_load_unverified(benchmark::State& state, tf_workload w) { tf_load(state, w, false); }

// Through the API: the struct's tensors become TF2 keys with an object graph, and loads bind
// entries to fields before reading into the already allocated vectors.
void tf_api_save(tf_fixture& f) {
  // The struct borrows the source vectors for the call and gives them back on every path out.
  tf_weights weights{std::move(f.source)};
  struct give_back {
    tf_fixture& f;
    tf_weights& w;
    ~give_back() { f.source = std::move(w.layers); }
  } guard{f, weights};
  ckpt::save(weights, f.api_prefix, {.format = "tf", .sync = false});
}

void BM_tf_api_save(benchmark::State& state, tf_workload w) {
  auto& f = tf_fixture_for(w);
  for (auto _ : state) {
    remove_untimed(state, {tfc::index_path(f.api_prefix), tfc::data_path(f.api_prefix, 0, 1)});
    tf_api_save(f);
  }
  tf_report(state, w);
}

void tf_api_load(benchmark::State& state, tf_workload w, bool verify) {
  auto& f = tf_fixture_for(w);
  if (!fs::exists(tfc::index_path(f.api_prefix))) tf_api_save(f);
  tf_weights into{std::move(f.destination)};
  for (auto _ : state) {
    ckpt::load(into, f.api_prefix, {.verify_checksums = verify});
    benchmark::ClobberMemory();
  }
  f.destination = std::move(into.layers);
  tf_report(state, w);
  if (f.destination.back().back() != f.source.back().back())
    state.SkipWithError("loaded values differ");
}

void BM_tf_api_load_verified(benchmark::State& state, tf_workload w) {
  tf_api_load(state, w, true);
}
void BM_tf_api_load_unverified(benchmark::State& state, tf_workload w) {
  tf_api_load(state, w, false);
}

void BM_tf_raw_read(benchmark::State& state, tf_workload w) {
  auto& f = tf_fixture_for(w);
  if (!fs::exists(f.raw_file)) raw_write(f.raw_file, f.source);
  for (auto _ : state) {
    raw_read(f.raw_file, f.destination);
    benchmark::ClobberMemory();
  }
  tf_report(state, w);
}

// Each workload's measurements run back to back so ckpt and its baseline see the same page cache
// and writeback state; the 1 GiB saves run a fixed five times.
#define CKPT_TF_WORKLOAD(name, w, save_iterations)                                         \
  BENCHMARK_CAPTURE(BM_tf_save, name, w)->UseRealTime()->Iterations(save_iterations);      \
  BENCHMARK_CAPTURE(BM_tf_raw_write, name, w)->UseRealTime()->Iterations(save_iterations); \
  BENCHMARK_CAPTURE(BM_tf_load_verified, name, w)->UseRealTime();                          \
  BENCHMARK_CAPTURE(BM_tf_load_unverified, name, w)->UseRealTime();                        \
  BENCHMARK_CAPTURE(BM_tf_api_save, name, w)->UseRealTime()->Iterations(save_iterations);  \
  BENCHMARK_CAPTURE(BM_tf_api_load_verified, name, w)->UseRealTime();                      \
  BENCHMARK_CAPTURE(BM_tf_api_load_unverified, name, w)->UseRealTime();                    \
  BENCHMARK_CAPTURE(BM_tf_raw_read, name, w)->UseRealTime()

CKPT_TF_WORKLOAD(64x16MiB, tf_large, 5);
CKPT_TF_WORKLOAD(10000x1KiB, tf_small, 30);

}  // namespace

#ifdef CKPT_BENCH_STANDALONE_MAIN
BENCHMARK_MAIN();
#endif
