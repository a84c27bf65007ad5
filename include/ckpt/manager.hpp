#pragma once
// A directory of numbered checkpoints (`dir/ckpt-1`, `dir/ckpt-2`, ...) with a `checkpoint` state
// file, kept the way tf.train.CheckpointManager keeps one: the newest max_to_keep are listed,
// older ones are deleted unless keep_checkpoint_every_n_hours preserves them, and TensorFlow's
// tf.train.latest_checkpoint finds the newest. formats/tf_checkpoint/MANAGER.md states the rules
// and the crash-safety guarantees.
//
// Differences from TensorFlow, each for safety:
// * Numbering continues after the highest number the state lists (or that a `<prefix>-N.index`
//   or data file in the directory already uses), since a user struct has no save_counter.
// * The state file is written once per save, after the new checkpoint is complete and before any
//   old one is deleted; deletion happens only once the new state is durable.
// * Files are deleted only for checkpoints the state lists, that lie directly in the directory,
//   and only `<path>.index` and `<path>.data-NNNNN-of-NNNNN`. A checkpoint that exists on disk but
//   is not listed is never overwritten either.
// * An existing state file that cannot be read is an error at construction, not a fresh start
//   that could overwrite the checkpoints it listed.

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ckpt/api.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/formats/tf_checkpoint/checkpoint_state.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"

namespace ckpt {

struct manager_options {
  // How many checkpoints stay listed; unset keeps (and lists) every one. Must be positive.
  std::optional<std::size_t> max_to_keep = 5;
  // Of the checkpoints pushed out by max_to_keep, keep one every this many hours (never deleted
  // and no longer listed), as TensorFlow does.
  std::optional<double> keep_checkpoint_every_n_hours = std::nullopt;
  // When set, save(model, step) skips the save (returns nullopt) unless `step` is at least this
  // many steps past the last saved one; save(model) without a step is then an error.
  std::optional<std::int64_t> checkpoint_interval = std::nullopt;
  std::string prefix = "ckpt";  // files are `<dir>/<prefix>-<N>.index` and `.data-*`
  std::string format = "tf";    // the registered format each checkpoint is written in
  bool sync = true;             // fsync every file and the directory (off only for scratch runs)
  // Seconds since the epoch, for timestamps and keep_checkpoint_every_n_hours; empty: the system
  // clock. Tests inject their own.
  std::function<double()> now = {};
};

class manager {
 public:
  explicit manager(std::filesystem::path dir, manager_options options = {})
      : dir_(std::move(dir)), options_(std::move(options)) {
    if (options_.max_to_keep && *options_.max_to_keep == 0)
      throw error(errc::unsupported, "max_to_keep must be positive, or unset to keep everything",
                  dir_.string());
    const auto& p = options_.prefix;
    if (p.empty() || p == "." || p == ".." || p.find('/') != std::string::npos ||
        p.find('\0') != std::string::npos)
      throw error(errc::unsupported, "the prefix '" + p + "' is not a plain file name",
                  dir_.string());
    std::error_code ec;
    const auto absolute_dir = std::filesystem::absolute(dir_, ec).lexically_normal();
    if (ec) throw error(errc::io, "cannot resolve the directory: " + ec.message(), dir_.string());
    normal_dir_ = absolute_dir.filename().empty() ? absolute_dir.parent_path() : absolute_dir;
    remove_stale_temporaries();
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

  // The number save(model) will use next.
  std::int64_t next_number() const noexcept { return next_number_; }

  // Saves as the next number. Returns the prefix written.
  template <class T>
  std::optional<std::filesystem::path> save(const T& model) {
    if (options_.checkpoint_interval)
      throw error(errc::unsupported, "checkpoint_interval needs the step: call save(model, step)",
                  dir_.string());
    return save_numbered(model, next_number_);
  }

  // Saves as number `step` (replacing a listed checkpoint of that number). With
  // checkpoint_interval set, returns nullopt without saving when `step` is the last saved step or
  // less than checkpoint_interval past it.
  template <class T>
  std::optional<std::filesystem::path> save(const T& model, std::int64_t step) {
    if (step < 0)
      throw error(errc::unsupported, "checkpoint numbers are non-negative", dir_.string());
    if (options_.checkpoint_interval && last_step_) {
      if (step == *last_step_ || step < *last_step_ + *options_.checkpoint_interval)
        return std::nullopt;
    }
    return save_numbered(model, step);
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

 private:
  struct kept_checkpoint {
    std::string path;  // as recovered or written: relative paths joined to the directory
    double timestamp;
  };

  double now() const {
    if (options_.now) return options_.now();
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
  }

  std::filesystem::path state_file() const { return dir_ / checkpoint_state_file_name; }

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

  static bool all_digits(std::string_view s, std::size_t count) {
    if (s.size() != count) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  // `rest` is ".data-NNNNN-of-NNNNN".
  static bool is_data_suffix(std::string_view rest) {
    return rest.size() == 20 && rest.starts_with(".data-") && all_digits(rest.substr(6, 5), 5) &&
           rest.substr(11, 4) == "-of-" && all_digits(rest.substr(15, 5), 5);
  }

  // N if `name` is `<prefix>-N` followed by `suffix_rule`-accepted text.
  template <class SuffixRule>
  std::optional<std::int64_t> number_in(std::string_view name, SuffixRule&& suffix_rule) const {
    const std::string head = options_.prefix + "-";
    if (!name.starts_with(head)) return std::nullopt;
    name.remove_prefix(head.size());
    std::size_t digits = 0;
    while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') ++digits;
    if (digits == 0 || !suffix_rule(name.substr(digits))) return std::nullopt;
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + digits, n);
    if (ec != std::errc() || end != name.data() + digits) return std::nullopt;
    return n;
  }

  std::optional<std::int64_t> checkpoint_file_number(std::string_view name) const {
    return number_in(
        name, [](std::string_view rest) { return rest == ".index" || is_data_suffix(rest); });
  }

  // Debris of an interrupted save by a manager of this prefix: temporaries of the state file
  // and of `<prefix>-N.index` / `.data-*` under atomic_file's naming. Nothing else is touched.
  void remove_stale_temporaries() {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir_, ec), end;
    std::vector<std::filesystem::path> stale;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const auto target = atomic_file::target_of_temporary(name);
      if (is_checkpoint_state_temporary(name) ||
          (target && (*target == checkpoint_state_file_name || checkpoint_file_number(*target))))
        stale.push_back(it->path());
    }
    for (const auto& p : stale) ::unlink(p.c_str());
  }

  // Picks up the state a previous run left, as TensorFlow's manager does on construction.
  void recover() {
    const double clock = now();
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(state_file(), ec))) {
      last_preserved_ = clock - 1;  // a quick re-creation must not preserve the first save
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
    std::int64_t highest = highest_on_disk();
    const auto consider = [&](const std::string& p) {
      if (!directly_inside(p)) return;
      const auto name = normal(p).filename().string();
      if (auto n = number_in(name, [](std::string_view rest) { return rest.empty(); }))
        highest = std::max(highest, *n);
    };
    consider(*latest_);
    for (const auto& p : paths) consider(detail::joined_to(dir_, p));
    next_number_ = highest + 1;
  }

  std::int64_t highest_on_disk() const {
    std::int64_t highest = 0;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir_, ec), end;
    for (; !ec && it != end; it.increment(ec))
      if (auto n = checkpoint_file_number(it->path().filename().string()))
        highest = std::max(highest, *n);
    return highest;
  }

  // Appends, moving an entry of the same path to the end (a re-saved checkpoint is the newest).
  void track(const std::string& path, double timestamp) {
    untrack(path);
    kept_.push_back({path, timestamp});
  }
  void untrack(const std::string& path) {
    std::erase_if(kept_, [&](const kept_checkpoint& c) { return same_path(c.path, path); });
  }

  bool listed(const std::string& path) const {
    return std::any_of(kept_.begin(), kept_.end(),
                       [&](const kept_checkpoint& c) { return same_path(c.path, path); });
  }

  // `<name>.index` and `<name>.data-NNNNN-of-NNNNN` in the directory, the index first: without it
  // the remains are not a checkpoint to any reader.
  std::vector<std::filesystem::path> files_named(const std::string& name) const {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir_, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string candidate = it->path().filename().string();
      if (!candidate.starts_with(name)) continue;
      const std::string_view rest = std::string_view(candidate).substr(name.size());
      if (rest == ".index" || is_data_suffix(rest)) files.push_back(it->path());
    }
    std::stable_partition(files.begin(), files.end(),
                          [](const auto& f) { return f.extension() == ".index"; });
    return files;
  }

  // The files of a listed checkpoint; none for a path outside the directory.
  std::vector<std::filesystem::path> files_of(const std::string& path) const {
    if (!directly_inside(path)) return {};
    return files_named(normal(path).filename().string());
  }

  void delete_files(const std::string& path) const {
    for (const auto& f : files_of(path)) ::unlink(f.c_str());
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
    delete_files(path);
  }

  template <class T>
  std::filesystem::path save_numbered(const T& model, std::int64_t number) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec)
      throw error(errc::io, "cannot create the checkpoint directory: " + ec.message(),
                  dir_.string());
    const auto prefix = dir_ / (options_.prefix + "-" + std::to_string(number));
    const std::string path = prefix.string();
    if (listed(path) || (latest_ && same_path(*latest_, path))) {
      unlist_for_overwrite(path);
    } else if (const auto existing = files_named(prefix.filename().string()); !existing.empty()) {
      throw error(errc::io,
                  "a checkpoint file of this number exists but the state does not list it; "
                  "not overwriting it",
                  existing.front().string());
    }

    save_options save_opts;
    save_opts.format = options_.format;
    save_opts.sync = options_.sync;
    // tf.train.Checkpoint's save_counter, which names the checkpoint's number.
    save_opts.step = number;
    try {
      ckpt::save(model, prefix, save_opts);
    } catch (...) {
      delete_files_unchecked(prefix);
      throw;
    }

    // The list after this save, and what the sweep takes out of it.
    auto kept = kept_;
    std::erase_if(kept, [&](const kept_checkpoint& c) { return same_path(c.path, path); });
    kept.push_back({path, now()});
    double last_preserved = last_preserved_;
    std::vector<std::string> doomed;
    if (options_.max_to_keep) {
      while (kept.size() > *options_.max_to_keep) {
        const kept_checkpoint oldest = kept.front();
        kept.erase(kept.begin());
        if (options_.keep_checkpoint_every_n_hours &&
            oldest.timestamp - *options_.keep_checkpoint_every_n_hours * 3600.0 >= last_preserved) {
          last_preserved = oldest.timestamp;
          continue;
        }
        doomed.push_back(oldest.path);
      }
    }

    try {
      write_state(state_for(path, kept, last_preserved));
    } catch (const error&) {
      // Did the state reach the disk? Then the new checkpoint is listed and must stay.
      bool visible = false;
      try {
        visible = read_whole_file(state_file(), max_checkpoint_state_bytes) ==
                  to_text(state_for(path, kept, last_preserved));
      } catch (const error&) {
      }
      if (visible) {
        commit(path, number, std::move(kept), last_preserved);
      } else {
        delete_files_unchecked(prefix);
      }
      throw;
    }
    commit(path, number, std::move(kept), last_preserved);
    for (const auto& p : doomed) delete_files(p);
    return prefix;
  }

  void commit(const std::string& path, std::int64_t number, std::vector<kept_checkpoint> kept,
              double last_preserved) {
    kept_ = std::move(kept);
    latest_ = path;
    last_preserved_ = last_preserved;
    last_step_ = number;
    next_number_ = std::max(next_number_, number + 1);
  }

  // The files of the checkpoint this save was writing: no state lists it, and nothing of that
  // number existed before the save began, so they are ours to remove.
  void delete_files_unchecked(const std::filesystem::path& prefix) const {
    for (const auto& f : files_named(prefix.filename().string())) ::unlink(f.c_str());
  }

  std::filesystem::path dir_;
  std::filesystem::path normal_dir_;
  manager_options options_;
  std::vector<kept_checkpoint> kept_;  // oldest first
  std::optional<std::string> latest_;
  double last_preserved_ = 0;
  std::int64_t next_number_ = 1;
  std::optional<std::int64_t> last_step_;
};

}  // namespace ckpt
