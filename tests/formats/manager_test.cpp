// ckpt::manager: numbering, restart, retention (max_to_keep, keep_checkpoint_every_n_hours),
// checkpoint_interval, recovery of a TensorFlow-written directory, and the rule that files the
// state does not list are never deleted or overwritten.

#include "ckpt/manager.hpp"

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "../support/manager_model.hpp"
#include "../support/scratch_dir.hpp"

namespace fs = std::filesystem;
using ckpt_test::make_step_model;
using ckpt_test::step_model;

namespace {

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

void touch(const fs::path& p, const std::string& text = "foreign") {
  std::ofstream(p, std::ios::binary) << text;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A clock the test moves by hand.
struct fake_clock {
  double t = 1'700'000'000.0;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

std::vector<std::string> relative_paths(const ckpt::checkpoint_state& s) {
  return s.all_model_checkpoint_paths;
}

step_model load_prefix(const fs::path& prefix, const std::string& format) {
  step_model m;
  ckpt::load_options o;
  o.format = format;
  ckpt::load(m, prefix, o);
  return m;
}

}  // namespace

TEST_CASE("a manager numbers checkpoints and records them as TensorFlow does") {
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
      for (int i = 1; i <= 3; ++i) {
        clock.t += 10.5;
        stamps.push_back(clock.t);
        const auto p = m.save(make_step_model(i, 100 + i));
        REQUIRE(p);
        CHECK(*p == root / ("ckpt-" + std::to_string(i)));
      }
      CHECK(m.latest() == root / "ckpt-3");
      CHECK(m.checkpoints() ==
            std::vector<fs::path>{root / "ckpt-1", root / "ckpt-2", root / "ckpt-3"});
      CHECK(ckpt::latest_checkpoint(root) == root / "ckpt-3");

      const auto state = ckpt::read_checkpoint_state(root / "checkpoint");
      CHECK(state.model_checkpoint_path == "ckpt-3");
      CHECK(relative_paths(state) == std::vector<std::string>{"ckpt-1", "ckpt-2", "ckpt-3"});
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

TEST_CASE("after a restart numbering continues from the state") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  fake_clock clock;
  const ckpt::manager_options options{
      .max_to_keep = 3, .format = "fake_bundle", .sync = false, .now = clock.fn()};
  {
    ckpt::manager m{dir.path(), options};
    for (int i = 0; i < 4; ++i) clock.t += 1, m.save(make_step_model(i, 8));
    CHECK(m.latest() == dir / "ckpt-4");
  }
  ckpt::manager again{dir.path(), options};
  CHECK(again.latest() == dir / "ckpt-4");
  CHECK(again.checkpoints() ==
        std::vector<fs::path>{dir / "ckpt-2", dir / "ckpt-3", dir / "ckpt-4"});
  clock.t += 1;
  CHECK(again.save(make_step_model(5, 8)) == dir / "ckpt-5");
  CHECK(again.save(make_step_model(40, 8), 40) == dir / "ckpt-40");
  CHECK(again.save(make_step_model(41, 8)) == dir / "ckpt-41");
  CHECK(again.checkpoints() ==
        std::vector<fs::path>{dir / "ckpt-5", dir / "ckpt-40", dir / "ckpt-41"});
  ckpt::manager third{dir.path(), options};
  CHECK(third.save(make_step_model(1, 8)) == dir / "ckpt-42");
}

TEST_CASE("max_to_keep deletes the oldest checkpoint's index and data") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  fake_clock clock;
  ckpt::manager m{dir.path(),
                  {.max_to_keep = 2, .format = "fake_bundle", .sync = false, .now = clock.fn()}};
  for (int i = 1; i <= 5; ++i) clock.t += 1, m.save(make_step_model(i, 4));
  CHECK(names_in(dir.path()) == std::set<std::string>{"checkpoint", "ckpt-4.index",
                                                      "ckpt-4.data-00000-of-00001", "ckpt-5.index",
                                                      "ckpt-5.data-00000-of-00001"});
  CHECK(relative_paths(ckpt::read_checkpoint_state(dir / "checkpoint")) ==
        std::vector<std::string>{"ckpt-4", "ckpt-5"});
  CHECK(load_prefix(dir / "ckpt-4", "fake_bundle").step == 4);
}

TEST_CASE("without max_to_keep every checkpoint is kept and listed") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  ckpt::manager m{dir.path(),
                  {.max_to_keep = std::nullopt, .format = "fake_bundle", .sync = false}};
  for (int i = 1; i <= 7; ++i) m.save(make_step_model(i, 4));
  CHECK(m.checkpoints().size() == 7);
  CHECK(ckpt::read_checkpoint_state(dir / "checkpoint").all_model_checkpoint_paths.size() == 7);
  CHECK(dir.file_count() == 15);
  CHECK_THROWS_AS((ckpt::manager{dir.path(), {.max_to_keep = 0}}), ckpt::error);
  CHECK_THROWS_AS((ckpt::manager{dir.path(), {.prefix = "a/b"}}), ckpt::error);
}

TEST_CASE("keep_checkpoint_every_n_hours preserves one checkpoint per period") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  fake_clock clock;
  const double t0 = clock.t;
  const ckpt::manager_options options{.max_to_keep = 1,
                                      .keep_checkpoint_every_n_hours = 1.0,
                                      .format = "fake_bundle",
                                      .sync = false,
                                      .now = clock.fn()};
  ckpt::manager m{dir.path(), options};
  // Saves at t0, +30 min, +60, +90, +120, +150 minutes. TensorFlow's sweep, one checkpoint
  // pushed out per save: ckpt-1 (t0) and ckpt-2 (t0+30m) fall within an hour of the initial
  // last_preserved (t0 - 1 s) and go; ckpt-3 (t0+60m) is an hour past it and is preserved;
  // ckpt-4 (t0+90m) is not an hour past ckpt-3 and goes; ckpt-5 (t0+120m) is preserved.
  for (int i = 1; i <= 6; ++i) {
    clock.t = t0 + (i - 1) * 1800.0;
    m.save(make_step_model(i, 4));
  }
  const auto names = names_in(dir.path());
  for (int i : {1, 2, 4}) CHECK_FALSE(names.count("ckpt-" + std::to_string(i) + ".index"));
  for (int i : {3, 5, 6}) {
    CHECK(names.count("ckpt-" + std::to_string(i) + ".index"));
    CHECK(load_prefix(dir / ("ckpt-" + std::to_string(i)), "fake_bundle").step == i);
  }
  auto state = ckpt::read_checkpoint_state(dir / "checkpoint");
  CHECK(relative_paths(state) == std::vector<std::string>{"ckpt-6"});
  CHECK(state.last_preserved_timestamp == t0 + 4 * 1800.0);

  // A restart keeps the preserved ones out of its list, so they are never deleted.
  ckpt::manager again{dir.path(), options};
  CHECK(again.checkpoints() == std::vector<fs::path>{dir / "ckpt-6"});
  clock.t = t0 + 5.5 * 1800.0;
  again.save(make_step_model(7, 4));
  CHECK_FALSE(fs::exists(dir / "ckpt-6.index"));  // within the hour after ckpt-5
  CHECK(fs::exists(dir / "ckpt-5.index"));
  CHECK(fs::exists(dir / "ckpt-3.index"));
}

TEST_CASE("a restart drops entries at or before last_preserved_timestamp, as TensorFlow does") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  ckpt::checkpoint_state s;
  s.model_checkpoint_path = "ckpt-3";
  s.all_model_checkpoint_paths = {"ckpt-1", "ckpt-2", "ckpt-3"};
  s.all_model_checkpoint_timestamps = {100.0, 200.0, 300.0};
  s.last_preserved_timestamp = 200.0;
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  fake_clock clock;
  clock.t = 1000;
  ckpt::manager m{dir.path(), {.format = "fake_bundle", .sync = false, .now = clock.fn()}};
  CHECK(m.checkpoints() == std::vector<fs::path>{dir / "ckpt-3"});
  CHECK(m.latest() == dir / "ckpt-3");

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

TEST_CASE("checkpoint_interval skips saves too close to the last one") {
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

TEST_CASE("saving a listed number again replaces it and moves it to the end") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  fake_clock clock;
  ckpt::manager m{dir.path(), {.format = "fake_bundle", .sync = false, .now = clock.fn()}};
  for (int i = 1; i <= 3; ++i) clock.t += 1, m.save(make_step_model(i, 4), i);
  clock.t += 1;
  m.save(make_step_model(77, 9), 2);
  CHECK(m.checkpoints() == std::vector<fs::path>{dir / "ckpt-1", dir / "ckpt-3", dir / "ckpt-2"});
  CHECK(ckpt::latest_checkpoint(dir.path()) == dir / "ckpt-2");
  const auto loaded = load_prefix(dir / "ckpt-2", "fake_bundle");
  CHECK(loaded.step == 77);
  CHECK(loaded.weights.size() == 9);
  CHECK(dir.file_count() == 7);
}

TEST_CASE("files the state does not list are never deleted or overwritten") {
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
  CHECK(names.size() == foreign.size() + 3);
}

TEST_CASE("a new manager removes only temporaries of its own naming") {
  ckpt_test::scratch_dir dir("ckpt-manager");
  const std::vector<std::string> stale = {
      "checkpoint.tmp0123456789abcdef0123456789abcdef", ".ckpt-3.index.tmp-AbC123",
      ".ckpt-3.data-00000-of-00001.tmp-xyzXYZ", ".checkpoint.tmp-q1w2e3"};
  const std::vector<std::string> kept = {".other-3.index.tmp-AbC123", ".ckpt-3.meta.tmp-AbC123",
                                         "checkpoint.tmp0123", ".ckpt-3.index.tmp-toolong",
                                         "ckpt-3.index.tmp-AbC123"};
  for (const auto& f : stale) touch(dir / f);
  for (const auto& f : kept) touch(dir / f);
  ckpt::manager m{dir.path(), {.format = "fake_bundle", .sync = false}};
  std::set<std::string> expected(kept.begin(), kept.end());
  CHECK(names_in(dir.path()) == expected);
  // No checkpoint was listed, so nothing names a temporary.
  CHECK_FALSE(m.latest());
  CHECK_FALSE(ckpt::latest_checkpoint(dir.path()));
}

TEST_CASE("an unreadable state file stops the manager instead of starting over") {
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
}

TEST_CASE("a manager takes over a directory TensorFlow's CheckpointManager wrote") {
  const fs::path fixture = fs::path(CKPT_FIXTURES_DIR) / "tf/eos_checkpoint_manager";
  if (!fs::exists(fixture / "checkpoint")) {
    WARN("SKIPPED: fixture missing: " << fixture);
    return;
  }
  ckpt_test::scratch_dir dir("ckpt-manager");
  for (const auto& e : fs::directory_iterator(fixture))
    if (e.path().filename() != "FIXTURES.md") fs::copy_file(e.path(), dir / e.path().filename());
  const auto before = names_in(dir.path());
  REQUIRE(before.count("ckpt-1.index"));
  fake_clock clock;
  clock.t = 1619772290.2742434 + 60;
  ckpt::manager m{dir.path(), {.max_to_keep = 5, .format = "fake_bundle", .now = clock.fn()}};
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
  CHECK(relative_paths(state) ==
        std::vector<std::string>{"ckpt-2", "ckpt-3", "ckpt-4", "ckpt-5", "ckpt-6"});
  CHECK(state.all_model_checkpoint_timestamps.front() == 1619771826.9585588);
  CHECK(state.last_preserved_timestamp == 1619766155.9818847);
}

TEST_CASE("directories written with the tf format pass tfverify") {
  const fs::path tool = fs::path(CKPT_FIXTURES_DIR) / "../tools/tfverify/tfverify.py";
  const auto formats = ckpt_test::manager_formats();
  if (std::find(formats.begin(), formats.end(), "tf") == formats.end()) {
    WARN("SKIPPED: the tf format is not built in");
    return;
  }
  if (!fs::exists(tool) ||
      std::system("/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null")) {
    WARN("SKIPPED: tfverify (" << tool << ") needs /usr/bin/python3 with python3-protobuf");
    return;
  }
  ckpt_test::scratch_dir dir("ckpt-manager");
  ckpt::manager m{dir.path(), {.max_to_keep = 2, .format = "tf", .sync = false}};
  for (int i = 1; i <= 3; ++i) m.save(make_step_model(i, 1000 * i));
  const std::string command = "/usr/bin/python3 " + tool.string() + " -q " + dir.path().string() +
                              " > " + (dir / "report.json").string();
  const int status = std::system(command.c_str());
  const std::string report = slurp(dir / "report.json");
  fs::remove(dir / "report.json");
  INFO(report);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const auto json = nlohmann::json::parse(report);
  CHECK(json.at("checkpoint_state").at("canonical_text") == true);
  CHECK(json.at("checkpoint_state").at("latest_checkpoint_resolves") == true);
  CHECK(json.at("checkpoint_state").at("all_model_checkpoint_paths") ==
        std::vector<std::string>{"ckpt-2", "ckpt-3"});
  CHECK(json.at("errors").empty());
  CHECK(json.at("bundle").at("prefix").get<std::string>().ends_with("ckpt-3"));
}
