// SPDX-License-Identifier: Apache-2.0
#pragma once
// The model the manager tests save, and the formats they save it in. Every value of the model
// derives from the step, so a loaded checkpoint can be checked bit for bit against the step it
// claims to hold. The formats are every registered one that holds the model, so a format
// registered anywhere (the stand-in below, the example's user format, HDF5 when linked) is tested
// without a line here naming it.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "../../examples/text_format.hpp"
#include "ckpt/ckpt.hpp"
#include "fake_bundle_format.hpp"

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

inline const bool text_format_registered = text_format::register_format();

// Every registered format that can hold a step_model under its own paths.
inline std::vector<std::string> manager_formats() {
  std::vector<std::string> names;
  for (const auto& f : ckpt::registered_formats()) {
    const auto& c = f.capabilities;
    if (c.any_paths && c.holds(ckpt::dtype::float32) && c.holds(ckpt::dtype::int64) && f.create)
      names.push_back(f.name);
  }
  return names;
}

inline std::set<std::string> names_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.insert(e.path().filename().string());
  return names;
}

// The files `format` says make up the checkpoint at `checkpoint`, as they are on disk now, in
// the format's order (the one that makes the checkpoint visible first).
inline std::vector<std::string> checkpoint_files(const std::string& format,
                                                 const std::filesystem::path& checkpoint) {
  const auto present = names_in(checkpoint.parent_path());
  return ckpt::find_format(format).files_of(
      checkpoint, std::vector<std::string>(present.begin(), present.end()));
}

// Where a manager of `format` puts checkpoint `stem` ("ckpt-3") in `dir`.
inline std::filesystem::path checkpoint_in(const std::filesystem::path& dir,
                                           const std::string& format, const std::string& stem) {
  return dir / ckpt::find_format(format).file_name(stem);
}

}  // namespace ckpt_test
