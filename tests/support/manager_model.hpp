#pragma once
// The model the manager tests save: a weight vector whose every value derives from the step, so a
// loaded checkpoint can be checked bit for bit against the step it claims to hold.

#include <cstdint>
#include <string>
#include <vector>

#include "ckpt/api.hpp"
#include "ckpt/formats/registry.hpp"
#include "fake_bundle_format.hpp"

#if __has_include("ckpt/formats/tf_checkpoint.hpp")
#include "ckpt/formats/tf_checkpoint.hpp"
#endif

namespace ckpt_test {

struct step_model {
  ckpt::tensor<float> weights;
  std::int64_t step = 0;
};

inline float weight_at(std::int64_t step, std::size_t i) {
  return static_cast<float>(step % 100003) * 0.5f + static_cast<float>(i % 1009) * 0.25f;
}

inline step_model make_step_model(std::int64_t step, std::uint64_t size) {
  step_model m;
  m.step = step;
  m.weights = ckpt::tensor<float>({size});
  for (std::size_t i = 0; i < size; ++i) m.weights[i] = weight_at(step, i);
  return m;
}

// True if `m` is exactly what make_step_model(m.step, ...) saved.
inline bool consistent(const step_model& m) {
  for (std::size_t i = 0; i < m.weights.size(); ++i)
    if (m.weights[i] != weight_at(m.step, i)) return false;
  return m.weights.size() > 0;
}

// The formats the manager is tested with: the stand-in always, TensorFlow's when it is built in.
inline std::vector<std::string> manager_formats() {
  std::vector<std::string> names = {"fake_bundle"};
  for (const auto& f : ckpt::registered_formats())
    if (f.name == "tf") names.push_back("tf");
  return names;
}

}  // namespace ckpt_test
