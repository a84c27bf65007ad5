// SPDX-License-Identifier: Apache-2.0
// Your own container: specialize ckpt::container_traits once and its children are saved and loaded
// in every format, like those of std::vector or std::map, with no change to the library. Here a
// fixed-capacity ring buffer keeps the last few snapshots of a layer; its children are stored as
// "0" (oldest) to "N-1" (newest), so the file does not depend on where the ring happens to start.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

#include <ckpt/ckpt.hpp>

namespace my {

template <class T, std::size_t Capacity>
class ring_buffer {
 public:
  void push(T value) {
    slots_[(first_ + size_) % Capacity] = std::move(value);
    if (size_ < Capacity)
      ++size_;
    else
      first_ = (first_ + 1) % Capacity;
  }
  std::size_t size() const { return size_; }
  T& operator[](std::size_t i) { return slots_[(first_ + i) % Capacity]; }
  const T& operator[](std::size_t i) const { return slots_[(first_ + i) % Capacity]; }
  // Keeps the newest `n` items, or adds default ones after them.
  void resize(std::size_t n) {
    while (size_ > n) {
      first_ = (first_ + 1) % Capacity;
      --size_;
    }
    while (size_ < n) push(T{});
  }

 private:
  std::array<T, Capacity> slots_{};
  std::size_t first_ = 0, size_ = 0;
};

}  // namespace my

// Children "0", "1", ... in index order; on load the ring holds as many as the file has.
template <class T, std::size_t Capacity>
struct ckpt::container_traits<my::ring_buffer<T, Capacity>> {
  static constexpr auto kind = ckpt::container_kind::sequence;
  static void for_each(auto& ring, auto&& visit) {
    for (std::size_t i = 0; i < ring.size(); ++i) visit(ring[i]);
  }
  static void rebuild(my::ring_buffer<T, Capacity>& ring, std::size_t count) {
    if (count > Capacity)
      throw ckpt::error(ckpt::errc::shape_mismatch, "the file holds " + std::to_string(count) +
                                                        " snapshots, the ring has room for " +
                                                        std::to_string(Capacity));
    ring.resize(count);
  }
};

struct Snapshot {
  ckpt::tensor<float> kernel;
  std::int64_t step = 0;
};

struct Trainer {
  ckpt::tensor<float> kernel;
  my::ring_buffer<Snapshot, 3> recent;  // children "recent/0/kernel", "recent/0/step", ...
};

int main() {
  Trainer trainer{ckpt::tensor<float>({2, 2}), {}};
  for (std::int64_t step = 1; step <= 5; ++step) {  // the ring keeps steps 3, 4 and 5
    for (std::size_t i = 0; i < trainer.kernel.size(); ++i)
      trainer.kernel[i] = float(step) + 0.25f * float(i);
    trainer.recent.push({trainer.kernel, step});
  }
  const auto path = std::filesystem::temp_directory_path() / "ckpt_custom_container.safetensors";
  ckpt::save(trainer, path);

  ckpt::reader file(path);
  for (const ckpt::entry& e : file.entries()) std::printf("%s\n", e.name.c_str());

  Trainer loaded;
  ckpt::load(loaded, path);
  std::filesystem::remove(path);
  bool same = loaded.kernel == trainer.kernel && loaded.recent.size() == trainer.recent.size();
  for (std::size_t i = 0; same && i < loaded.recent.size(); ++i)
    same = loaded.recent[i].step == trainer.recent[i].step &&
           loaded.recent[i].kernel == trainer.recent[i].kernel;
  std::printf("%zu snapshots loaded, oldest step %lld, newest step %lld\n", loaded.recent.size(),
              static_cast<long long>(loaded.recent[0].step),
              static_cast<long long>(loaded.recent[loaded.recent.size() - 1].step));
  return same && loaded.recent[0].step == 3 ? 0 : 1;
}
