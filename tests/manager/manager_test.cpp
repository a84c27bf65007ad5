// SPDX-License-Identifier: Apache-2.0
// ckpt::manager over every registered format that holds the test model: numbering, restart,
// retention (max_to_keep, keep_checkpoint_every_n_hours, keep_best), name templates,
// checkpoint_interval, the lock against a second manager, cleanup of interrupted saves, recovery
// of a TensorFlow-written directory, and the rule that complete files the state does not list are
// never deleted or overwritten. Which files make up a checkpoint is asked of the format, never
// spelled out here.

#include "ckpt/manager.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "../support/checkers.hpp"
#include "../support/files.hpp"
#include "../support/fixtures.hpp"
#include "../support/manager_model.hpp"
#include "../support/scratch_dir.hpp"
#ifdef CKPT_TEST_WITH_HDF5
#include "ckpt/hdf5.hpp"  // the HDF5 and Keras formats join the list
#endif

namespace fs = std::filesystem;
using ckpt_test::checkpoint_files;
using ckpt_test::checkpoint_in;
using ckpt_test::make_step_model;
using ckpt_test::names_in;
using ckpt_test::slurp;
using ckpt_test::step_model;

namespace {

void touch(const fs::path& p, const std::string& text = "foreign") {
  std::ofstream(p, std::ios::binary) << text;
}

// A clock the test moves by hand.
struct fake_clock {
  double t = 1'700'000'000.0;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

step_model load_checkpoint(const fs::path& checkpoint, const std::string& format) {
  step_model m;
  ckpt::load_options o;
  o.format = format;
  ckpt::load(m, checkpoint, o);
  return m;
}

// The directory holds the manager's own files and exactly the files of `checkpoints`.
void check_holds_exactly(const fs::path& dir, const std::string& format,
                         const std::vector<fs::path>& checkpoints,
                         const std::set<std::string>& others = {}) {
  std::set<std::string> expected = {"checkpoint", "checkpoint.lock"};
  expected.insert(others.begin(), others.end());
  for (const auto& c : checkpoints) {
    const auto files = checkpoint_files(format, c);
    INFO(c);
    CHECK_FALSE(files.empty());
    expected.insert(files.begin(), files.end());
  }
  CHECK(names_in(dir) == expected);
}

}  // namespace

TEST_CASE("the manager is tested over every format that can hold its model", "[manager]") {
  const auto formats = ckpt_test::manager_formats();
  INFO("formats: " << formats.size());
  for (const char* f : {"tf", "tf1", "safetensors", "json", "fake_bundle", "text"})
    CHECK(std::find(formats.begin(), formats.end(), f) != formats.end());
}

TEST_CASE("a manager numbers checkpoints and records them as TensorFlow does", "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      fake_clock clock;
      const fs::path root = dir / "run";
      ckpt::manager m{root, {.max_to_keep = 5, .format = format, .sync = false, .now = clock.fn()}};
      CHECK_FALSE(m.latest());
      CHECK(m.checkpoints().empty());
      step_model loaded;
      CHECK_FALSE(m.restore_latest(loaded));

      std::vector<double> stamps;
      std::vector<fs::path> written;
      for (int i = 1; i <= 3; ++i) {
        clock.t += 10.5;
        stamps.push_back(clock.t);
        const auto p = m.save(make_step_model(i, 100 + i));
        REQUIRE(p);
        CHECK(*p == checkpoint_in(root, format, "ckpt-" + std::to_string(i)));
        written.push_back(*p);
      }
      CHECK(m.latest() == written.back());
      CHECK(m.checkpoints() == written);
      CHECK(ckpt::latest_checkpoint(root) == written.back());
      check_holds_exactly(root, format, written);

      const auto state = ckpt::read_checkpoint_state(root / "checkpoint");
      CHECK(state.model_checkpoint_path == written.back().filename().string());
      CHECK(state.all_model_checkpoint_paths ==
            std::vector<std::string>{written[0].filename().string(), written[1].filename().string(),
                                     written[2].filename().string()});
      CHECK(state.all_model_checkpoint_timestamps == stamps);
      CHECK(state.last_preserved_timestamp == 1'700'000'000.0 - 1);  // TF: now - 1 at creation
      CHECK(slurp(root / "checkpoint") == ckpt::to_text(state));

      REQUIRE(m.restore_latest(loaded));
      CHECK(loaded.step == 3);
      CHECK(loaded.weights.size() == 103);
      CHECK(ckpt_test::consistent(loaded));
    }
  }
}

TEST_CASE("after a restart numbering continues from the state", "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      fake_clock clock;
      const ckpt::manager_options options{
          .max_to_keep = 3, .format = format, .sync = false, .now = clock.fn()};
      const auto at = [&](int n) {
        return checkpoint_in(dir.path(), format, "ckpt-" + std::to_string(n));
      };
      {
        ckpt::manager m{dir.path(), options};
        for (int i = 0; i < 4; ++i) clock.t += 1, m.save(make_step_model(i, 8));
        CHECK(m.latest() == at(4));
      }
      ckpt::manager again{dir.path(), options};
      CHECK(again.latest() == at(4));
      CHECK(again.checkpoints() == std::vector<fs::path>{at(2), at(3), at(4)});
      clock.t += 1;
      CHECK(again.save(make_step_model(5, 8)) == at(5));
      CHECK(again.save(make_step_model(40, 8), 40) == at(40));
      CHECK(again.save(make_step_model(41, 8)) == at(41));
      CHECK(again.checkpoints() == std::vector<fs::path>{at(5), at(40), at(41)});
      check_holds_exactly(dir.path(), format, {at(5), at(40), at(41)});
    }
  }
}

TEST_CASE("max_to_keep deletes exactly the files of the oldest checkpoint", "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      fake_clock clock;
      ckpt::manager m{dir.path(),
                      {.max_to_keep = 2, .format = format, .sync = false, .now = clock.fn()}};
      std::vector<fs::path> written;
      for (int i = 1; i <= 5; ++i) clock.t += 1, written.push_back(*m.save(make_step_model(i, 4)));
      check_holds_exactly(dir.path(), format, {written[3], written[4]});
      CHECK(
          ckpt::read_checkpoint_state(dir / "checkpoint").all_model_checkpoint_paths ==
          std::vector<std::string>{written[3].filename().string(), written[4].filename().string()});
      CHECK(load_checkpoint(written[3], format).step == 4);
    }
  }
}

TEST_CASE("without max_to_keep every checkpoint is kept and listed", "[manager]") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  ckpt::manager m{dir.path(),
                  {.max_to_keep = std::nullopt, .format = "fake_bundle", .sync = false}};
  for (int i = 1; i <= 7; ++i) m.save(make_step_model(i, 4));
  CHECK(m.checkpoints().size() == 7);
  CHECK(ckpt::read_checkpoint_state(dir / "checkpoint").all_model_checkpoint_paths.size() == 7);
  CHECK(dir.file_count() == 16);  // 7 indexes, 7 data files, the state and the lock
  CHECK_THROWS_AS((ckpt::manager{dir / "other", {.max_to_keep = 0}}), ckpt::error);
  CHECK_THROWS_AS((ckpt::manager{dir / "other", {.keep_best = 0}}), ckpt::error);
  CHECK_THROWS_AS((ckpt::manager{dir / "other", {.prefix = "a/b"}}), ckpt::error);
  CHECK_THROWS_AS((ckpt::manager{dir / "other", {.format = "no such format"}}), ckpt::error);
}

TEST_CASE("keep_checkpoint_every_n_hours preserves one checkpoint per period", "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      fake_clock clock;
      const double t0 = clock.t;
      const ckpt::manager_options options{.max_to_keep = 1,
                                          .keep_checkpoint_every_n_hours = 1.0,
                                          .format = format,
                                          .sync = false,
                                          .now = clock.fn()};
      const auto at = [&](int n) {
        return checkpoint_in(dir.path(), format, "ckpt-" + std::to_string(n));
      };
      {
        ckpt::manager m{dir.path(), options};
        // Saves at t0, +30 min, +60, +90, +120, +150 minutes. TensorFlow's sweep, one checkpoint
        // pushed out per save: ckpt-1 (t0) and ckpt-2 (t0+30m) fall within an hour of the initial
        // last_preserved (t0 - 1 s) and go; ckpt-3 (t0+60m) is an hour past it and is preserved;
        // ckpt-4 (t0+90m) is not an hour past ckpt-3 and goes; ckpt-5 (t0+120m) is preserved.
        for (int i = 1; i <= 6; ++i) {
          clock.t = t0 + (i - 1) * 1800.0;
          m.save(make_step_model(i, 4));
        }
      }
      for (int i : {1, 2, 4}) CHECK(checkpoint_files(format, at(i)).empty());
      for (int i : {3, 5, 6}) CHECK(load_checkpoint(at(i), format).step == i);
      check_holds_exactly(dir.path(), format, {at(3), at(5), at(6)});
      auto state = ckpt::read_checkpoint_state(dir / "checkpoint");
      CHECK(state.all_model_checkpoint_paths ==
            std::vector<std::string>{at(6).filename().string()});
      CHECK(state.last_preserved_timestamp == t0 + 4 * 1800.0);

      // A restart keeps the preserved ones out of its list, so they are never deleted.
      ckpt::manager again{dir.path(), options};
      CHECK(again.checkpoints() == std::vector<fs::path>{at(6)});
      clock.t = t0 + 5.5 * 1800.0;
      again.save(make_step_model(7, 4));
      CHECK(checkpoint_files(format, at(6)).empty());  // within the hour after ckpt-5
      check_holds_exactly(dir.path(), format, {at(3), at(5), at(7)});
    }
  }
}

TEST_CASE("keep_best keeps the best checkpoints by metric beside the latest, across restarts",
          "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      fake_clock clock;
      const ckpt::manager_options options{.max_to_keep = 2,
                                          .keep_best = 2,
                                          .best_mode = ckpt::metric_mode::min,
                                          .format = format,
                                          .sync = false,
                                          .now = clock.fn()};
      const auto at = [&](int n) {
        return checkpoint_in(dir.path(), format, "ckpt-" + std::to_string(n));
      };
      // Losses: 1 -> 0.9, 2 -> 0.3 (best), 3 -> 0.8, 4 -> 0.5 (second best), 5 -> 0.7, 6 -> 0.6.
      const std::vector<double> loss = {0.9, 0.3, 0.8, 0.5, 0.7, 0.6};
      {
        ckpt::manager m{dir.path(), options};
        for (int i = 1; i <= 5; ++i) clock.t += 1, m.save(make_step_model(i, 4), i, loss[i - 1]);
        // The latest two (4, 5) and the best two (2, 4).
        CHECK(m.checkpoints() == std::vector<fs::path>{at(2), at(4), at(5)});
        CHECK(m.best() == at(2));
        CHECK(m.metric(at(4)) == 0.5);
        check_holds_exactly(dir.path(), format, {at(2), at(4), at(5)}, {"checkpoint.metrics"});
        const auto record = nlohmann::json::parse(slurp(dir / "checkpoint.metrics"));
        CHECK(record.at("mode") == "min");
        CHECK(record.at("name") == "ckpt-{step}");
        CHECK(record.at("metrics").size() == 3);
        CHECK(record.at("metrics").at(at(2).filename().string()) == 0.3);
      }
      // A restart ranks as before: saving 6 (0.6) pushes 4 out of the latest window but not out
      // of the best two.
      ckpt::manager again{dir.path(), options};
      CHECK(again.best() == at(2));
      clock.t += 1;
      again.save(make_step_model(6, 4), 6, loss[5]);
      CHECK(again.checkpoints() == std::vector<fs::path>{at(2), at(4), at(5), at(6)});
      check_holds_exactly(dir.path(), format, {at(2), at(4), at(5), at(6)}, {"checkpoint.metrics"});
      step_model best;
      REQUIRE(again.restore_best(best));
      CHECK(best.step == 2);
      // A save without a metric is kept only as one of the latest: 5 and then 6 go.
      clock.t += 1;
      again.save(make_step_model(7, 4), 7);
      clock.t += 1;
      again.save(make_step_model(8, 4), 8);
      CHECK(again.checkpoints() == std::vector<fs::path>{at(2), at(4), at(7), at(8)});
      CHECK_THROWS_AS(again.save(make_step_model(9, 4), 9, std::nan("")), ckpt::error);
    }
  }
}

TEST_CASE("keep_best in max mode keeps the highest metric", "[manager]") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  ckpt::manager m{dir.path(),
                  {.max_to_keep = 1,
                   .keep_best = 1,
                   .best_mode = ckpt::metric_mode::max,
                   .format = "safetensors",
                   .sync = false}};
  const std::vector<double> accuracy = {0.5, 0.9, 0.7, 0.8};
  for (int i = 1; i <= 4; ++i) m.save(make_step_model(i, 4), i, accuracy[i - 1]);
  CHECK(m.checkpoints() ==
        std::vector<fs::path>{dir / "ckpt-2.safetensors", dir / "ckpt-4.safetensors"});
  CHECK(m.best() == dir / "ckpt-2.safetensors");
}

TEST_CASE("checkpoint names follow a template with the step", "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      const ckpt::manager_options options{
          .max_to_keep = 2, .name = "weights.{step:04d}", .format = format, .sync = false};
      const auto at = [&](const char* stem) { return checkpoint_in(dir.path(), format, stem); };
      {
        ckpt::manager m{dir.path(), options};
        CHECK(m.save(make_step_model(5, 4), 5) == at("weights.0005"));
        CHECK(m.save(make_step_model(12345, 4), 12345) == at("weights.12345"));
      }
      ckpt::manager again{dir.path(), options};
      CHECK(again.next_number() == 12346);
      CHECK(again.save(make_step_model(12346, 4)) == at("weights.12346"));
      check_holds_exactly(dir.path(), format, {at("weights.12345"), at("weights.12346")});
    }
  }
  ckpt_test::scratch_dir dir("ckpt-manager");
  for (const char* bad : {"weights", "a/{step}", "{step}{step}", "w{step:4d}", "w{step:0d}",
                          "w{step:020d}", "w{steps}"}) {
    INFO(bad);
    CHECK_THROWS_AS((ckpt::manager{dir.path(), {.name = bad}}), ckpt::error);
  }
  // "ckpt-05" is not what "ckpt-{step}" names step 5, and "weights.5" not "weights.{step:04d}"'s.
  const ckpt::name_template plain("ckpt-{step}"), padded("weights.{step:04d}");
  CHECK_FALSE(plain.parse("ckpt-05.index"));
  CHECK(plain.parse("ckpt-5.index")->step == 5);
  CHECK_FALSE(padded.parse("weights.5.safetensors"));
  CHECK(padded.parse("weights.0005.safetensors")->stem == "weights.0005");
}

TEST_CASE("a restart drops entries at or before last_preserved_timestamp, as TensorFlow does",
          "[manager]") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  ckpt::checkpoint_state s;
  s.model_checkpoint_path = "ckpt-3";
  s.all_model_checkpoint_paths = {"ckpt-1", "ckpt-2", "ckpt-3"};
  s.all_model_checkpoint_timestamps = {100.0, 200.0, 300.0};
  s.last_preserved_timestamp = 200.0;
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  fake_clock clock;
  clock.t = 1000;
  {
    ckpt::manager m{dir.path(), {.format = "fake_bundle", .sync = false, .now = clock.fn()}};
    CHECK(m.checkpoints() == std::vector<fs::path>{dir / "ckpt-3"});
    CHECK(m.latest() == dir / "ckpt-3");
  }
  // A state from the future (clock went back) keeps its checkpoints, timestamps clamped to now.
  s.last_preserved_timestamp = 50.0;
  s.all_model_checkpoint_timestamps = {100.0, 5000.0, 6000.0};
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  ckpt::manager clamped{dir.path(), {.format = "fake_bundle", .sync = false, .now = clock.fn()}};
  CHECK(clamped.checkpoints().size() == 3);
  clamped.save(make_step_model(4, 4));
  CHECK(ckpt::read_checkpoint_state(dir / "checkpoint").all_model_checkpoint_timestamps ==
        std::vector<double>{100.0, 1000.0, 1000.0, 1000.0});
}

TEST_CASE("checkpoint_interval skips saves too close to the last one", "[manager]") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  ckpt::manager m{dir.path(), {.checkpoint_interval = 10, .format = "fake_bundle", .sync = false}};
  CHECK(m.save(make_step_model(0, 4), 0) == dir / "ckpt-0");
  CHECK_FALSE(m.save(make_step_model(5, 4), 5));
  CHECK_FALSE(m.save(make_step_model(9, 4), 9));
  CHECK(m.save(make_step_model(10, 4), 10) == dir / "ckpt-10");
  CHECK_FALSE(m.save(make_step_model(10, 4), 10));
  CHECK(m.save(make_step_model(25, 4), 25) == dir / "ckpt-25");
  CHECK_THROWS_AS(m.save(make_step_model(26, 4)), ckpt::error);
  CHECK(m.checkpoints().size() == 3);
}

TEST_CASE("saving a listed number again replaces it and moves it to the end", "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      fake_clock clock;
      const auto at = [&](int n) {
        return checkpoint_in(dir.path(), format, "ckpt-" + std::to_string(n));
      };
      ckpt::manager m{dir.path(), {.format = format, .sync = false, .now = clock.fn()}};
      for (int i = 1; i <= 3; ++i) clock.t += 1, m.save(make_step_model(i, 4), i);
      clock.t += 1;
      m.save(make_step_model(77, 9), 2);
      CHECK(m.checkpoints() == std::vector<fs::path>{at(1), at(3), at(2)});
      CHECK(ckpt::latest_checkpoint(dir.path()) == at(2));
      const auto loaded = load_checkpoint(at(2), format);
      CHECK(loaded.step == 77);
      CHECK(loaded.weights.size() == 9);
      check_holds_exactly(dir.path(), format, {at(1), at(2), at(3)});
    }
  }
}

TEST_CASE("complete files the state does not list are never deleted or overwritten", "[manager]") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  ckpt_test::scratch_dir elsewhere("ckpt-manager");
  const std::vector<std::string> foreign = {"ckpt-1.index.bak",
                                            "ckpt-1.data-00000-of-00001.part",
                                            "ckpt-1.meta",
                                            "ckpt-1.data-0-of-1",
                                            "other-1.index",
                                            "ckpt-x.index",
                                            "notes.txt",
                                            "ckpt-100.index",
                                            "ckpt-100.data-00000-of-00001",
                                            ".ckpt-1.index.tmp-ab",
                                            "checkpoint.tmpXYZ",
                                            ".other-3.index.tmp-abcdef"};
  for (const auto& f : foreign) touch(dir / f);
  // An unlisted checkpoint of the manager's own naming, and a listed one outside the directory.
  touch(elsewhere / "ckpt-50.index");
  touch(elsewhere / "ckpt-50.data-00000-of-00001");
  ckpt::checkpoint_state s;
  s.model_checkpoint_path = (elsewhere / "ckpt-50").string();
  s.all_model_checkpoint_paths = {s.model_checkpoint_path};
  s.all_model_checkpoint_timestamps = {10.0};
  s.last_preserved_timestamp = 5.0;
  ckpt::write_checkpoint_state(dir / "checkpoint", s);

  fake_clock clock;
  ckpt::manager m{dir.path(),
                  {.max_to_keep = 1, .format = "fake_bundle", .sync = false, .now = clock.fn()}};
  CHECK(m.checkpoints() == std::vector<fs::path>{elsewhere / "ckpt-50"});
  // ckpt-100 exists unlisted, so the numbering goes past it and never writes over it.
  for (int i = 0; i < 4; ++i) clock.t += 1, m.save(make_step_model(i, 4));
  CHECK(m.latest() == dir / "ckpt-104");
  CHECK_THROWS_AS(m.save(make_step_model(100, 4), 100), ckpt::error);
  const auto names = names_in(dir.path());
  for (const auto& f : foreign) {
    INFO(f);
    CHECK(names.count(f) == 1);
    CHECK(slurp(dir / f) == "foreign");
  }
  CHECK(fs::exists(elsewhere / "ckpt-50.index"));
  CHECK(fs::exists(elsewhere / "ckpt-50.data-00000-of-00001"));
  for (int i = 101; i <= 103; ++i) CHECK_FALSE(names.count("ckpt-" + std::to_string(i) + ".index"));
  CHECK(names.count("ckpt-104.index"));
  CHECK(names.size() == foreign.size() + 4);  // + the state, the lock, ckpt-104's two files
}

TEST_CASE("a new manager removes the remains of interrupted saves of its own naming only",
          "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      const auto at = [&](int n) {
        return checkpoint_in(dir.path(), format, "ckpt-" + std::to_string(n));
      };
      // A complete checkpoint 2, then what killed saves of 3 would leave: a temporary of each of
      // its files, and the files written before the one that makes it visible.
      {
        ckpt::manager m{dir.path(), {.format = format, .sync = false}};
        m.save(make_step_model(2, 4), 2);
      }
      const auto complete = names_in(dir.path());
      ckpt_test::scratch_dir scratch("ckpt-manager");
      ckpt::save(make_step_model(3, 4), checkpoint_in(scratch.path(), format, "ckpt-3"),
                 {.format = format, .sync = false});
      const auto files3 = checkpoint_files(format, checkpoint_in(scratch.path(), format, "ckpt-3"));
      REQUIRE_FALSE(files3.empty());
      std::vector<std::string> stale = {"checkpoint.tmp0123456789abcdef0123456789abcdef",
                                        ".checkpoint.tmp-q1w2e3", ".checkpoint.metrics.tmp-a1b2c3"};
      for (const auto& f : files3) stale.push_back("." + f + ".tmp-AbC123");
      // Debris: every file of 3 but the first, which is the one readers need to see it.
      for (auto it = std::next(files3.begin()); it != files3.end(); ++it)
        if (*it != at(3).filename().string()) stale.push_back(*it);
      const std::vector<std::string> kept = {
          ".other-3.index.tmp-AbC123", ".ckpt-3.meta.tmp-AbC123", "checkpoint.tmp0123",
          ".ckpt-3.index.tmp-toolong", "ckpt-3.index.tmp-AbC123", "ckpt-3.notes"};
      for (const auto& f : stale) touch(dir / f);
      for (const auto& f : kept) touch(dir / f);
      ckpt::manager m{dir.path(), {.format = format, .sync = false}};
      std::set<std::string> expected(kept.begin(), kept.end());
      expected.insert(complete.begin(), complete.end());
      CHECK(names_in(dir.path()) == expected);
      CHECK(m.latest() == at(2));
      CHECK(m.next_number() == 3);
    }
  }
}

TEST_CASE("a second manager on a directory is refused, or waits for the first", "[manager]") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  {
    ckpt::manager first{dir.path(), {.format = "fake_bundle", .sync = false}};
    try {
      ckpt::manager second{dir.path(), {.format = "fake_bundle", .sync = false}};
      FAIL("a second manager was made");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::io);
      CHECK(e.file() == (dir / "checkpoint.lock").string());
      CHECK_THAT(e.what(), Catch::Contains("another ckpt::manager (process " +
                                           std::to_string(::getpid()) + ")"));
    }
    first.save(make_step_model(1, 4));
  }
  // Another process holds the directory for a while; a waiting manager gets it when it goes.
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    try {
      ckpt::manager holder{dir.path(), {.format = "fake_bundle", .sync = false}};
      char c = 1;
      if (::write(ready[1], &c, 1) != 1) ::_exit(3);
      ::usleep(300'000);
      holder.save(make_step_model(2, 4));
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  CHECK_THROWS_AS((ckpt::manager{dir.path(), {.format = "fake_bundle", .sync = false}}),
                  ckpt::error);
  ckpt::manager waiting{dir.path(),
                        {.format = "fake_bundle", .sync = false, .wait_for_lock = true}};
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  // It starts from what the other process committed.
  CHECK(waiting.latest() == dir / "ckpt-2");
  CHECK(waiting.save(make_step_model(3, 4)) == dir / "ckpt-3");
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE("a failed state write removes the checkpoint it was committing", "[manager]") {
  for (const auto& format : ckpt_test::manager_formats()) {
    DYNAMIC_SECTION(format) {
      ckpt_test::scratch_dir dir("ckpt-manager");
      ckpt::manager m{dir.path(), {.format = format, .sync = false}};
      const auto first = m.save(make_step_model(1, 4));
      const auto before = names_in(dir.path());
      const std::string state_before = slurp(dir / "checkpoint");
      static fs::path state_file;
      state_file = dir / "checkpoint";
      ckpt::file_fault_hook = [](ckpt::file_op op, const fs::path& target, std::size_t) {
        return op == ckpt::file_op::rename && target == state_file ? EIO : 0;
      };
      CHECK_THROWS_AS(m.save(make_step_model(2, 4)), ckpt::error);
      ckpt::file_fault_hook = nullptr;
      CHECK(names_in(dir.path()) == before);
      CHECK(slurp(dir / "checkpoint") == state_before);
      CHECK(m.latest() == first);
      CHECK(m.save(make_step_model(2, 4)) == checkpoint_in(dir.path(), format, "ckpt-2"));
    }
  }
}

TEST_CASE("an unreadable state file or metrics record stops the manager", "[manager]") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  touch(dir / "checkpoint", "model_checkpoint_path: \"ckpt-");
  try {
    ckpt::manager m{dir.path(), {.format = "fake_bundle"}};
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(e.file() == (dir / "checkpoint").string());
  }
  touch(dir / "checkpoint", "");
  CHECK_THROWS_AS((ckpt::manager{dir.path(), {.format = "fake_bundle"}}), ckpt::error);
  fs::remove(dir / "checkpoint");
  {
    ckpt::manager m{dir.path(), {.keep_best = 1, .format = "fake_bundle", .sync = false}};
    m.save(make_step_model(1, 4), 1, 0.5);
  }
  for (const char* bad : {"", "{", "[]", R"({"name":"ckpt-{step}","mode":"up","metrics":{}})",
                          R"({"name":"ckpt-{step}","mode":"min","metrics":{"ckpt-1":"x"}})"}) {
    INFO(bad);
    touch(dir / "checkpoint.metrics", bad);
    try {
      ckpt::manager m{dir.path(), {.keep_best = 1, .format = "fake_bundle"}};
      FAIL("no error");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::bad_format);
      CHECK(e.file() == (dir / "checkpoint.metrics").string());
    }
  }
}

TEST_CASE("a manager takes over a directory TensorFlow's CheckpointManager wrote", "[manager]") {
  const fs::path fixture = ckpt_test::fixtures_dir() / "tf/eos_checkpoint_manager";
  if (!ckpt_test::fixture_present(fixture / "checkpoint")) return;
  ckpt_test::scratch_dir dir("ckpt-manager");
  for (const auto& e : fs::directory_iterator(fixture))
    if (e.path().filename() != "FIXTURES.md") fs::copy_file(e.path(), dir / e.path().filename());
  const auto before = names_in(dir.path());
  REQUIRE(before.count("ckpt-1.index"));
  fake_clock clock;
  clock.t = 1619772290.2742434 + 60;
  ckpt::manager m{dir.path(), {.max_to_keep = 5, .format = "tf", .now = clock.fn()}};
  CHECK(m.latest() == dir / "ckpt-5");
  CHECK(m.checkpoints().size() == 5);
  CHECK(m.save(make_step_model(6, 4)) == dir / "ckpt-6");
  // ckpt-1 was the oldest TensorFlow listed: its index and data go, nothing else of TF's does.
  const auto after = names_in(dir.path());
  CHECK_FALSE(after.count("ckpt-1.index"));
  CHECK_FALSE(after.count("ckpt-1.data-00000-of-00001"));
  CHECK(after.count("ckpt-5.index"));
  CHECK(after.count("ckpt-5.data-00000-of-00001"));
  const auto state = ckpt::read_checkpoint_state(dir / "checkpoint");
  CHECK(state.all_model_checkpoint_paths ==
        std::vector<std::string>{"ckpt-2", "ckpt-3", "ckpt-4", "ckpt-5", "ckpt-6"});
  CHECK(state.all_model_checkpoint_timestamps.front() == 1619771826.9585588);
  CHECK(state.last_preserved_timestamp == 1619766155.9818847);
}

TEST_CASE("directories written with the tf format pass tfverify", "[manager][interop]") {
  if (!ckpt_test::require(ckpt_test::tfverify(), "checking the manager's directory with tfverify"))
    return;
  ckpt_test::scratch_dir dir("ckpt-manager");
  {
    ckpt::manager m{dir.path(), {.max_to_keep = 2, .format = "tf", .sync = false}};
    for (int i = 1; i <= 3; ++i) m.save(make_step_model(i, 1000 * i));
  }
  fs::remove(dir / "checkpoint.lock");  // not a file tfverify knows
  const auto json = ckpt_test::run_tfverify(dir.path());
  INFO(json.dump(1));
  CHECK(json.at("ok") == true);  // tfverify's exit status 0
  CHECK(json.at("checkpoint_state").at("canonical_text") == true);
  CHECK(json.at("checkpoint_state").at("latest_checkpoint_resolves") == true);
  CHECK(json.at("checkpoint_state").at("all_model_checkpoint_paths") ==
        std::vector<std::string>{"ckpt-2", "ckpt-3"});
  CHECK(json.at("errors").empty());
  CHECK(json.at("bundle").at("prefix").get<std::string>().ends_with("ckpt-3"));
}
