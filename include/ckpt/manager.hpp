// SPDX-License-Identifier: Apache-2.0
#pragma once
// A directory of numbered checkpoints (`dir/ckpt-1`, `dir/ckpt-2.safetensors`, ...) in any
// registered format, with a `checkpoint` state file, kept the way tf.train.CheckpointManager keeps
// one: the newest max_to_keep are listed, older ones are deleted unless
// keep_checkpoint_every_n_hours preserves them or they are among the keep_best best by a metric,
// and TensorFlow's tf.train.latest_checkpoint finds the newest. Which files make up one
// checkpoint is the format's to say (format_info::files). docs/MANAGER.md states the rules and
// the crash-safety guarantees.
//
// Differences from TensorFlow, each for safety:
// * Numbering continues after the highest number the state lists (or that a checkpoint file in
//   the directory already uses), since a user struct has no save_counter.
// * The state file is written once per save, after the new checkpoint is complete and before any
//   old one is deleted; deletion happens only once the new state is durable.
// * Files are deleted only for checkpoints the state lists that lie directly in the directory,
//   and for the remains of interrupted saves of this manager's naming. A complete checkpoint that
//   exists on disk but is not listed is never deleted or overwritten.
// * An existing state file that cannot be read is an error at construction, not a fresh start
//   that could overwrite the checkpoints it listed.
// * One manager per directory: a lock file makes a second one fail (or wait) at construction.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ckpt/api.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/formats/registry.hpp"
#include "ckpt/formats/tf_checkpoint/checkpoint_state.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/directory_lock.hpp"
#include "ckpt/io/read_file.hpp"
#include "ckpt/manager/metrics_record.hpp"
#include "ckpt/manager/name_template.hpp"

namespace ckpt {

enum class metric_mode { min, max };  // which end of a metric is best (a loss: min)

inline constexpr std::string_view manager_lock_file_name = "checkpoint.lock";

struct manager_options {
  // How many checkpoints stay listed; unset keeps (and lists) every one. Must be positive.
  std::optional<std::size_t> max_to_keep = 5;
  // Of the checkpoints pushed out by max_to_keep, keep one every this many hours (never deleted
  // and no longer listed), as TensorFlow does.
  std::optional<double> keep_checkpoint_every_n_hours = std::nullopt;
  // When set, save(model, step) skips the save (returns nullopt) unless `step` is at least this
  // many steps past the last saved one; save(model) without a step is then an error.
  std::optional<std::int64_t> checkpoint_interval = std::nullopt;
  // Also keep the best this many by the metric passed to save(model, step, metric), as Keras'
  // ModelCheckpoint(save_best_only=True) and Orbax's best_fn do; `best_mode` says which end is
  // best. Metrics are recorded beside the state, so a restart keeps the ranking.
  std::optional<std::size_t> keep_best = std::nullopt;
  metric_mode best_mode = metric_mode::min;
  std::string prefix = "ckpt";  // checkpoints are named `<prefix>-<N>` unless `name` is set
  // The name template, e.g. "weights.{step:04d}" (`{step}` or `{step:0Nd}` once); the format adds
  // its own ending ("weights.0005.safetensors"). Empty: "<prefix>-{step}".
  std::string name = {};
  std::string format = "tf";  // the registered format each checkpoint is written in
  bool sync = true;           // fsync every file and the directory (off only for scratch runs)
  // Wait for another manager of the same directory to go, instead of failing at construction.
  bool wait_for_lock = false;
  // Seconds since the epoch, for timestamps and keep_checkpoint_every_n_hours; empty: the system
  // clock. Tests inject their own.
  std::function<double()> now = {};
};

class manager {
 public:
  explicit manager(std::filesystem::path dir, manager_options options = {})
      : dir_(std::move(dir)),
        options_(std::move(options)),
        format_(find_format(options_.format)),
        names_(checked_name(options_)),
        lock_(locked(dir_, options_.wait_for_lock)) {
    if (options_.max_to_keep && *options_.max_to_keep == 0)
      throw error(errc::unsupported, "max_to_keep must be positive, or unset to keep everything",
                  dir_.string());
    if (options_.keep_best && *options_.keep_best == 0)
      throw error(errc::unsupported, "keep_best must be positive, or unset", dir_.string());
    std::error_code ec;
    const auto absolute_dir = std::filesystem::absolute(dir_, ec).lexically_normal();
    if (ec) throw error(errc::io, "cannot resolve the directory: " + ec.message(), dir_.string());
    normal_dir_ = absolute_dir.filename().empty() ? absolute_dir.parent_path() : absolute_dir;
    recover();
  }

  const std::filesystem::path& directory() const noexcept { return dir_; }

  // The newest checkpoint this manager knows of (from its state; not checked on disk).
  std::optional<std::filesystem::path> latest() const {
    if (!latest_) return std::nullopt;
    return std::filesystem::path(*latest_);
  }

  // The listed checkpoints, oldest first.
  std::vector<std::filesystem::path> checkpoints() const {
    std::vector<std::filesystem::path> out;
    for (const auto& c : kept_) out.emplace_back(c.path);
    return out;
  }

  // The listed checkpoint with the best metric (the newest of equals), if any has one.
  std::optional<std::filesystem::path> best() const {
    const auto ranked = ranking(kept_, metrics_);
    if (ranked.empty()) return std::nullopt;
    return std::filesystem::path(kept_[ranked.front()].path);
  }

  // The metric a listed checkpoint was saved with.
  std::optional<double> metric(const std::filesystem::path& checkpoint) const {
    if (auto it = metrics_.find(relative(checkpoint.string())); it != metrics_.end())
      return it->second;
    return std::nullopt;
  }

  // The number save(model) will use next.
  std::int64_t next_number() const noexcept { return next_number_; }

  // Saves as the next number. Returns the checkpoint written.
  template <class T>
  std::optional<std::filesystem::path> save(const T& model) {
    if (options_.checkpoint_interval)
      throw error(errc::unsupported, "checkpoint_interval needs the step: call save(model, step)",
                  dir_.string());
    return save_numbered(model, next_number_, std::nullopt);
  }

  // Saves as number `step` (replacing a listed checkpoint of that number), with the metric that
  // ranks it for keep_best when given. With checkpoint_interval set, returns nullopt without
  // saving when `step` is the last saved step or less than checkpoint_interval past it.
  template <class T>
  std::optional<std::filesystem::path> save(const T& model, std::int64_t step,
                                            std::optional<double> metric = std::nullopt) {
    if (step < 0)
      throw error(errc::unsupported, "checkpoint numbers are non-negative", dir_.string());
    if (metric && !std::isfinite(*metric))
      throw error(errc::unsupported, "the metric must be a finite number", dir_.string());
    if (options_.checkpoint_interval && last_step_) {
      if (step == *last_step_ || step < *last_step_ + *options_.checkpoint_interval)
        return std::nullopt;
    }
    return save_numbered(model, step, metric);
  }

  // Loads the newest checkpoint tf.train.latest_checkpoint finds into `model`; false when there
  // is none. The manager's format is used unless `options` names one.
  template <class T>
  bool restore_latest(T& model, load_options options = {}) const {
    const auto path = latest_checkpoint(dir_);
    if (!path) return false;
    if (options.format.empty()) options.format = options_.format;
    load(model, *path, options);
    return true;
  }

  // Loads the checkpoint best() names; false when no listed checkpoint has a metric.
  template <class T>
  bool restore_best(T& model, load_options options = {}) const {
    const auto path = best();
    if (!path) return false;
    if (options.format.empty()) options.format = options_.format;
    load(model, *path, options);
    return true;
  }

 private:
  struct kept_checkpoint {
    std::string path;  // as recovered or written: relative paths joined to the directory
    double timestamp;
  };
  using metric_map = std::map<std::string, double>;  // relative path -> metric

  static name_template checked_name(const manager_options& o) {
    if (!o.name.empty()) return name_template(o.name);
    const auto& p = o.prefix;
    if (p.empty() || p == "." || p == ".." || p.find('/') != std::string::npos ||
        p.find('\0') != std::string::npos || p.find('{') != std::string::npos)
      throw error(errc::unsupported, "the prefix '" + p + "' is not a plain file name");
    return name_template(p + "-{step}");
  }

  static directory_lock locked(const std::filesystem::path& dir, bool wait) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      throw error(errc::io, "cannot create the checkpoint directory: " + ec.message(),
                  dir.string());
    return directory_lock(dir / manager_lock_file_name, wait);
  }

  double now() const {
    if (options_.now) return options_.now();
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
  }

  std::filesystem::path state_file() const { return dir_ / checkpoint_state_file_name; }
  std::filesystem::path metrics_file() const { return dir_ / metrics_record_file_name; }

  std::filesystem::path normal(const std::string& p) const {
    std::error_code ec;
    auto a = std::filesystem::absolute(std::filesystem::path(p), ec).lexically_normal();
    if (ec) return std::filesystem::path(p).lexically_normal();
    return a;
  }

  // Whether `p` names a file directly in the managed directory (so deleting it is ours to do).
  bool directly_inside(const std::string& p) const {
    const auto a = normal(p);
    const auto name = a.filename().string();
    return !name.empty() && name != "." && name != ".." && a.parent_path() == normal_dir_;
  }

  bool same_path(const std::string& a, const std::string& b) const {
    return normal(a) == normal(b);
  }

  std::string relative(const std::string& p) const {
    const auto r = normal(p).lexically_relative(normal_dir_);
    return r.empty() ? p : r.string();
  }

  std::vector<std::string> directory_names() const {
    std::vector<std::string> names;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir_, ec), end;
    for (; !ec && it != end; it.increment(ec)) names.push_back(it->path().filename().string());
    return names;
  }

  // Where the checkpoint of `step` goes: the name template's stem plus the format's ending.
  std::filesystem::path checkpoint_path(std::int64_t step) const {
    return dir_ / format_.file_name(names_(step));
  }

  // The checkpoint a directory entry belongs to, if it is a file (or the target of a temporary)
  // of a checkpoint this manager names.
  std::optional<std::int64_t> step_of_file(const std::string& name) const {
    const auto match = names_.parse(name);
    if (!match) return std::nullopt;
    if (format_.files_of(dir_ / format_.file_name(match->stem), {name}).empty())
      return std::nullopt;
    return match->step;
  }

  // The files of the checkpoint at `path` in the directory, in the format's deletion order; none
  // for a path outside the directory.
  std::vector<std::filesystem::path> files_of(const std::string& path) const {
    if (!directly_inside(path)) return {};
    std::vector<std::filesystem::path> files;
    for (const auto& n : format_.files_of(normal(path), directory_names()))
      files.push_back(dir_ / n);
    return files;
  }

  void delete_files(const std::string& path) const {
    for (const auto& f : files_of(path)) ::unlink(f.c_str());
  }

  bool listed(const std::string& path) const {
    return (latest_ && same_path(*latest_, path)) ||
           std::any_of(kept_.begin(), kept_.end(),
                       [&](const kept_checkpoint& c) { return same_path(c.path, path); });
  }

  // tf.train.latest_checkpoint's test of a checkpoint's existence: `<path>.index` or `<path>`.
  static bool visible(const std::filesystem::path& checkpoint) {
    std::error_code ec;
    auto index = checkpoint;
    index += ".index";
    return std::filesystem::is_regular_file(index, ec) ||
           std::filesystem::is_regular_file(checkpoint, ec);
  }

  // The remains of saves that were killed, under this manager's naming: temporaries of the state,
  // the metrics record and checkpoint files (atomic_file's and the state writer's naming), and
  // the files of an unlisted checkpoint that readers cannot see (data files whose index was never
  // written). Complete checkpoints are left alone, listed or not.
  void remove_interrupted_saves() {
    std::vector<std::string> doomed;
    const auto names = directory_names();
    for (const auto& name : names) {
      if (is_checkpoint_state_temporary(name)) {
        doomed.push_back(name);
      } else if (const auto target = atomic_file::target_of_temporary(name)) {
        if (*target == checkpoint_state_file_name || *target == metrics_record_file_name ||
            step_of_file(*target))
          doomed.push_back(name);
      } else if (const auto step = step_of_file(name)) {
        const auto checkpoint = checkpoint_path(*step);
        if (!listed(checkpoint.string()) && !visible(checkpoint)) doomed.push_back(name);
      }
    }
    for (const auto& name : doomed) ::unlink((dir_ / name).c_str());
  }

  // Picks up the state a previous run left, as TensorFlow's manager does on construction.
  void recover() {
    const double clock = now();
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(state_file(), ec))) {
      last_preserved_ = clock - 1;  // a quick re-creation must not preserve the first save
      remove_interrupted_saves();
      next_number_ = std::max<std::int64_t>(1, highest_on_disk() + 1);
      return;
    }
    const checkpoint_state state = read_checkpoint_state(state_file());
    if (state.model_checkpoint_path.empty())
      throw error(errc::bad_format, "the checkpoint state has no model_checkpoint_path",
                  state_file().string());
    latest_ = detail::joined_to(dir_, state.model_checkpoint_path);
    last_preserved_ = std::min(state.last_preserved_timestamp, clock);
    const auto& paths = state.all_model_checkpoint_paths;
    auto stamps = state.all_model_checkpoint_timestamps;
    if (stamps.empty()) stamps.assign(paths.size(), last_preserved_);
    for (std::size_t i = 0; i < paths.size() && i < stamps.size(); ++i) {
      const double stamp = std::min(stamps[i], clock);
      if (stamp > last_preserved_) track(detail::joined_to(dir_, paths[i]), stamp);
    }
    if (std::filesystem::exists(std::filesystem::symlink_status(metrics_file(), ec))) {
      const auto record = read_metrics_record(metrics_file());
      for (const auto& c : kept_)
        if (auto it = record.metrics.find(relative(c.path)); it != record.metrics.end())
          metrics_.insert(*it);
    }
    remove_interrupted_saves();
    std::int64_t highest = highest_on_disk();
    const auto consider = [&](const std::string& p) {
      if (!directly_inside(p)) return;
      const auto name = normal(p).filename().string();
      if (auto match = names_.parse(name); match && format_.file_name(match->stem) == name)
        highest = std::max(highest, match->step);
    };
    consider(*latest_);
    for (const auto& p : paths) consider(detail::joined_to(dir_, p));
    next_number_ = highest + 1;
  }

  std::int64_t highest_on_disk() const {
    std::int64_t highest = 0;
    for (const auto& name : directory_names())
      if (auto step = step_of_file(name)) highest = std::max(highest, *step);
    return highest;
  }

  // Appends, moving an entry of the same path to the end (a re-saved checkpoint is the newest).
  void track(const std::string& path, double timestamp) {
    std::erase_if(kept_, [&](const kept_checkpoint& c) { return same_path(c.path, path); });
    kept_.push_back({path, timestamp});
  }

  // Indices of `kept` that have a metric, best first (the newer of equals first).
  std::vector<std::size_t> ranking(const std::vector<kept_checkpoint>& kept,
                                   const metric_map& metrics) const {
    std::vector<std::pair<double, std::size_t>> scored;
    for (std::size_t i = 0; i < kept.size(); ++i)
      if (auto it = metrics.find(relative(kept[i].path)); it != metrics.end())
        scored.emplace_back(options_.best_mode == metric_mode::min ? it->second : -it->second, i);
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
      return a.first < b.first || (a.first == b.first && a.second > b.second);
    });
    std::vector<std::size_t> out;
    for (const auto& s : scored) out.push_back(s.second);
    return out;
  }

  checkpoint_state state_for(const std::optional<std::string>& latest,
                             const std::vector<kept_checkpoint>& kept,
                             double last_preserved) const {
    checkpoint_state state;
    if (latest) state.model_checkpoint_path = relative(*latest);
    for (const auto& c : kept) {
      state.all_model_checkpoint_paths.push_back(relative(c.path));
      state.all_model_checkpoint_timestamps.push_back(c.timestamp);
    }
    // TensorFlow's writer appends the latest when the list does not end with it.
    if (latest && (kept.empty() || !same_path(kept.back().path, *latest))) {
      state.all_model_checkpoint_paths.push_back(state.model_checkpoint_path);
      if (!state.all_model_checkpoint_timestamps.empty())
        state.all_model_checkpoint_timestamps.push_back(last_preserved);
    }
    state.last_preserved_timestamp = last_preserved;
    return state;
  }

  void write_state(const checkpoint_state& state) const {
    write_checkpoint_state(state_file(), state, {options_.sync});
  }

  // Metrics are written before the state that lists their checkpoints, so no listed checkpoint
  // ever lacks the metric it was saved with; entries for unlisted paths are ignored on reading.
  void write_metrics(const metric_map& metrics) const {
    write_metrics_record(
        metrics_file(),
        {names_.text(), options_.best_mode == metric_mode::min ? "min" : "max", metrics},
        options_.sync);
  }
  bool records_metrics(const metric_map& metrics) const {
    std::error_code ec;
    return options_.keep_best || !metrics.empty() ||
           std::filesystem::exists(std::filesystem::symlink_status(metrics_file(), ec));
  }

  // Makes a listed checkpoint of this number disappear before it is written again, so that no
  // state ever lists a checkpoint whose files are half old and half new.
  void unlist_for_overwrite(const std::string& path) {
    auto kept = kept_;
    std::erase_if(kept, [&](const kept_checkpoint& c) { return same_path(c.path, path); });
    std::optional<std::string> latest = latest_;
    if (latest && same_path(*latest, path))
      latest = kept.empty() ? std::nullopt : std::optional<std::string>(kept.back().path);
    if (latest) {
      write_state(state_for(latest, kept, last_preserved_));
    } else if (::unlink(state_file().c_str()) == 0) {
      if (options_.sync) atomic_file::sync_directory(dir_);
    } else if (errno != ENOENT) {
      detail::throw_errno("cannot remove the state file", state_file().string(), errno);
    }
    kept_ = std::move(kept);
    latest_ = std::move(latest);
    metrics_.erase(relative(path));
    delete_files(path);
  }

  template <class T>
  std::filesystem::path save_numbered(const T& model, std::int64_t number,
                                      std::optional<double> metric) {
    const auto checkpoint = checkpoint_path(number);
    const std::string path = checkpoint.string();
    if (listed(path)) {
      unlist_for_overwrite(path);
    } else if (const auto existing = files_of(path); !existing.empty()) {
      throw error(errc::io,
                  "a checkpoint file of this number exists but the state does not list it; "
                  "not overwriting it",
                  existing.front().string());
    }

    save_options save_opts;
    save_opts.format = options_.format;
    save_opts.sync = options_.sync;
    save_opts.step = number;  // TensorFlow's save_counter: the checkpoint's number
    try {
      ckpt::save(model, checkpoint, save_opts);
    } catch (...) {
      delete_files(path);
      throw;
    }

    // The list after this save, and what the sweep takes out of it.
    auto kept = kept_;
    std::erase_if(kept, [&](const kept_checkpoint& c) { return same_path(c.path, path); });
    kept.push_back({path, now()});
    auto metrics = metrics_;
    if (metric) metrics[relative(path)] = *metric;
    double last_preserved = last_preserved_;
    std::vector<std::string> doomed;
    if (options_.max_to_keep) {
      std::vector<bool> retained(kept.size(), false);
      const std::size_t window = std::min(kept.size(), *options_.max_to_keep);
      std::fill(retained.end() - static_cast<std::ptrdiff_t>(window), retained.end(), true);
      if (options_.keep_best) {
        const auto ranked = ranking(kept, metrics);
        for (std::size_t r = 0; r < ranked.size() && r < *options_.keep_best; ++r)
          retained[ranked[r]] = true;
      }
      std::vector<kept_checkpoint> survivors;
      for (std::size_t i = 0; i < kept.size(); ++i) {
        if (retained[i]) {
          survivors.push_back(kept[i]);
        } else if (options_.keep_checkpoint_every_n_hours &&
                   kept[i].timestamp - *options_.keep_checkpoint_every_n_hours * 3600.0 >=
                       last_preserved) {
          last_preserved = kept[i].timestamp;  // preserved: never deleted, no longer listed
        } else {
          doomed.push_back(kept[i].path);
        }
      }
      kept = std::move(survivors);
    }
    std::erase_if(metrics, [&](const auto& m) {
      return std::none_of(kept.begin(), kept.end(),
                          [&](const kept_checkpoint& c) { return relative(c.path) == m.first; });
    });

    const auto new_state = state_for(path, kept, last_preserved);
    try {
      if (records_metrics(metrics)) write_metrics(metrics);
      write_state(new_state);
    } catch (const error&) {
      // Did the state reach the disk? Then the new checkpoint is listed and must stay.
      bool visible = false;
      try {
        visible = read_whole_file(state_file(), max_checkpoint_state_bytes) == to_text(new_state);
      } catch (const error&) {
      }
      if (visible) {
        commit(path, number, std::move(kept), std::move(metrics), last_preserved);
      } else {
        delete_files(path);
      }
      throw;
    }
    commit(path, number, std::move(kept), std::move(metrics), last_preserved);
    for (const auto& p : doomed) delete_files(p);
    return checkpoint;
  }

  void commit(const std::string& path, std::int64_t number, std::vector<kept_checkpoint> kept,
              metric_map metrics, double last_preserved) {
    kept_ = std::move(kept);
    metrics_ = std::move(metrics);
    latest_ = path;
    last_preserved_ = last_preserved;
    last_step_ = number;
    next_number_ = std::max(next_number_, number + 1);
  }

  std::filesystem::path dir_;
  std::filesystem::path normal_dir_;
  manager_options options_;
  format_info format_;
  name_template names_;
  directory_lock lock_;
  std::vector<kept_checkpoint> kept_;  // oldest first
  metric_map metrics_;
  std::optional<std::string> latest_;
  double last_preserved_ = 0;
  std::int64_t next_number_ = 1;
  std::optional<std::int64_t> last_step_;
};

}  // namespace ckpt
