#pragma once
// The layouts an HDF5 file can have, and the one dispatch point between them. Each layout
// registers hooks (detect, open, create); the `hdf5` format opens a file, asks each registered
// layout in priority order whether the file is theirs, and hands it to the first that says yes,
// falling back to the generic layout (any HDF5 file's datasets, by path). Layouts live in their own
// headers and register themselves like formats do, so adding one edits no other file.

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"

namespace ckpt::hdf5 {

enum class layout {
  generic,       // ckpt's own: one group per path level, one dataset per tensor
  keras2,        // Keras 2 / tf.keras save_weights
  keras2_model,  // Keras 2 full model (.h5 with model_weights, model_config)
  keras3,        // Keras 3 .weights.h5 (layers/<name>/vars/<i>)
  keras_zip,     // Keras 3 .keras zip (not an HDF5 file itself; its member is keras3)
};

struct layout_hooks {
  hdf5::layout id = layout::generic;
  std::string name;   // the format name it answers to: "hdf5", "keras2", "keras3", "keras"
  int priority = 50;  // detection order, lowest first
  // True if the open file is in this layout. Runs under quiet_errors; may throw ckpt::error.
  std::function<bool(const file&, const group& root)> detect;
  // Reads the open file (moved in) in this layout.
  std::function<std::unique_ptr<format_reader>(file, const load_options&)> open;
  // Writes a new file in this layout.
  std::function<std::unique_ptr<format_writer>(const std::filesystem::path&, const save_options&)>
      create;
};

namespace detail {
struct layout_registry {
  std::mutex mutex;
  std::vector<layout_hooks> layouts;
};
inline layout_registry& layouts() {
  static layout_registry r;
  return r;
}
}  // namespace detail

// Adds a layout, or replaces the one with the same id. Returns true for static registration.
inline bool register_layout(layout_hooks hooks) {
  auto& r = detail::layouts();
  std::lock_guard lock(r.mutex);
  auto it = std::find_if(r.layouts.begin(), r.layouts.end(),
                         [&](const layout_hooks& h) { return h.id == hooks.id; });
  if (it != r.layouts.end())
    *it = std::move(hooks);
  else
    r.layouts.push_back(std::move(hooks));
  std::stable_sort(
      r.layouts.begin(), r.layouts.end(),
      [](const layout_hooks& a, const layout_hooks& b) { return a.priority < b.priority; });
  return true;
}

inline std::vector<layout_hooks> registered_layouts() {
  auto& r = detail::layouts();
  std::lock_guard lock(r.mutex);
  return r.layouts;
}

inline std::optional<layout_hooks> find_layout(layout id) {
  for (auto& h : registered_layouts())
    if (h.id == id) return h;
  return std::nullopt;
}

// The layout of an open file: the first registered layout whose detect() accepts it, else generic.
inline layout detect_layout(const file& f) {
  quiet_errors quiet;
  const group root = f.root();
  for (const auto& h : registered_layouts())
    if (h.detect && h.detect(f, root)) return h.id;
  return layout::generic;
}

// Opens `path`, detects its layout and reads it with that layout's reader.
inline std::unique_ptr<format_reader> open_detected(const std::filesystem::path& path,
                                                    const load_options& options) {
  quiet_errors quiet;
  file f = file::open(path);
  const layout id = detect_layout(f);
  const auto hooks = find_layout(id);
  if (!hooks || !hooks->open)
    throw error(errc::unsupported, "no reader registered for this HDF5 layout", path.string());
  return hooks->open(std::move(f), options);
}

}  // namespace ckpt::hdf5
