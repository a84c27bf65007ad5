// SPDX-License-Identifier: Apache-2.0
// The `checkpoint` state file: byte-identical re-serialization of TensorFlow's files, the
// doubles and escapes Python's text_format writes (checked against Python itself and tfverify),
// and tf.train.latest_checkpoint's rules. Hostile state files are
// tests/hostile/checkpoint_state_hostile_test.cpp's.

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "../support/checkers.hpp"
#include "../support/cli.hpp"
#include "../support/files.hpp"
#include "../support/fixtures.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/formats/tf_checkpoint/checkpoint_state.hpp"

namespace fs = std::filesystem;
using ckpt::checkpoint_state;
using ckpt_test::slurp;
using ckpt_test::spit;

namespace {

const fs::path fixtures = ckpt_test::fixtures_dir() / "tf";

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("every fixture state file re-serializes byte for byte") {
  std::vector<fs::path> files = {fixtures / "eos_checkpoint_manager/checkpoint",
                                 fixtures / "tf_trt_mnist_ckpt/checkpoint"};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fixtures / "tf_checkpoint_state_examples", ec))
    files.push_back(e.path());
  std::size_t seen = 0;
  for (const auto& f : files) {
    if (!ckpt_test::fixture_present(f)) continue;
    ++seen;
    const std::string text = slurp(f);
    const checkpoint_state state = ckpt::read_checkpoint_state(f);
    INFO(f);
    CHECK(ckpt::to_text(state) == text);
    CHECK(ckpt::parse_checkpoint_state(ckpt::to_text(state)) == state);
  }
  if (seen == 0) WARN("SKIPPED: no state-file fixtures under " << fixtures);
  CHECK((seen == 0 || seen >= 4));
}

TEST_CASE("the fixture state files hold what TensorFlow wrote") {
  const auto eos = fixtures / "eos_checkpoint_manager/checkpoint";
  if (!ckpt_test::fixture_present(eos)) return;
  const auto s = ckpt::read_checkpoint_state(eos);
  CHECK(s.model_checkpoint_path == "ckpt-5");
  CHECK(s.all_model_checkpoint_paths ==
        std::vector<std::string>{"ckpt-1", "ckpt-2", "ckpt-3", "ckpt-4", "ckpt-5"});
  REQUIRE(s.all_model_checkpoint_timestamps.size() == 5);
  CHECK(s.all_model_checkpoint_timestamps[0] == 1619766278.4836671);
  CHECK(s.all_model_checkpoint_timestamps[4] == 1619772290.2742434);
  CHECK(s.last_preserved_timestamp == 1619766155.9818847);

  const auto mnist = ckpt::read_checkpoint_state(fixtures / "tf_trt_mnist_ckpt/checkpoint");
  CHECK(mnist.model_checkpoint_path == "model.ckpt-46900");
  CHECK(mnist.all_model_checkpoint_timestamps.empty());
  CHECK(mnist.last_preserved_timestamp == 0);
}

TEST_CASE("doubles are written as Python's repr writes them") {
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                -5.0,
                                0.1,
                                1619766278.4836671,
                                1e15,
                                1e16,
                                123456789012345678.0,
                                0.0001,
                                0.00001,
                                1.5e-7,
                                1e100,
                                -2.5e-300,
                                std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::min(),
                                9007199254740993.0,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
  std::mt19937_64 random(7);
  for (int i = 0; i < 3000; ++i) {
    std::uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (std::isnan(d)) continue;
    values.push_back(d);
    values.push_back(
        std::ldexp(static_cast<double>(random() % 1000000007), int(random() % 80) - 40));
    values.push_back(1.6e9 + static_cast<double>(random() % 100000000) / 1e7);  // time.time()-like
  }
  // The values go to Python as exact hex floats; Python prints repr() of each.
  std::string script = "import sys\nfor line in sys.stdin: print(repr(float.fromhex(line)))\n";
  ckpt_test::scratch_dir dir("ckpt-state");
  std::string hex_lines;
  for (double v : values) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%a\n", v);
    hex_lines += buffer;
  }
  spit(dir / "in.txt", hex_lines);
  spit(dir / "repr.py", script);
  if (!ckpt_test::require(ckpt_test::python(), "comparing with Python's repr()")) {
    CHECK(ckpt::detail::state_text::python_repr(1619766278.4836671) == "1619766278.4836671");
    CHECK(ckpt::detail::state_text::python_repr(5.0) == "5.0");
    return;
  }
  const auto python =
      ckpt_test::run_command(ckpt_test::python().command + " " + (dir / "repr.py").string() +
                             " < " + (dir / "in.txt").string());
  INFO(python.err);
  REQUIRE(python.status == 0);
  std::istringstream lines(python.out);
  std::string expected;
  std::size_t mismatches = 0;
  for (double v : values) {
    REQUIRE(std::getline(lines, expected));
    const std::string ours = ckpt::detail::state_text::python_repr(v);
    if (ours != expected && ++mismatches < 10) FAIL_CHECK(ours << " != python " << expected);
  }
  CHECK(mismatches == 0);
  // And the printed form reads back to the same bits.
  for (double v : values) {
    checkpoint_state s;
    s.model_checkpoint_path = "x";
    s.all_model_checkpoint_timestamps = {v};
    s.all_model_checkpoint_paths = {"x"};
    const auto back = ckpt::parse_checkpoint_state(ckpt::to_text(s));
    CHECK(same_bits(back.all_model_checkpoint_timestamps.at(0), v));
  }
}

TEST_CASE("strings are escaped as protobuf's CEscape escapes them") {
  checkpoint_state s;
  s.model_checkpoint_path = "a\"b'c\\d\te\nf\rg\x01h\x7f\xc3\xa9/ckpt-1";
  s.all_model_checkpoint_paths = {s.model_checkpoint_path};
  const std::string text = ckpt::to_text(s);
  CHECK(text.find(R"("a\"b\'c\\d\te\nf\rg\001h\177\303\251/ckpt-1")") != std::string::npos);
  CHECK(ckpt::parse_checkpoint_state(text) == s);
}

TEST_CASE("state files we write pass tfverify as canonical text") {
  if (!ckpt_test::require(ckpt_test::tfverify(), "checking the state file with tfverify")) return;
  ckpt_test::scratch_dir dir("ckpt-state");
  checkpoint_state s;
  s.model_checkpoint_path = "ckpt-12";
  s.all_model_checkpoint_paths = {"sub dir/\"q\"\\ckpt-3", "\xc3\xa9t\xc3\xa9/ckpt-7", "ckpt-12"};
  s.all_model_checkpoint_timestamps = {1619766278.4836671, 1e16, 1700000000.0};
  s.last_preserved_timestamp = 0.1 + 0.2;
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  const auto json = ckpt_test::run_tfverify(dir / "checkpoint", "--no-leveldb --state");
  INFO(json.dump(1));
  const auto& state = json.at("checkpoint_state");
  CHECK(state.at("canonical_text") == true);
  CHECK(state.at("model_checkpoint_path") == s.model_checkpoint_path);
  CHECK(state.at("all_model_checkpoint_paths") == s.all_model_checkpoint_paths);
  CHECK(state.at("all_model_checkpoint_timestamps").get<std::vector<double>>() ==
        s.all_model_checkpoint_timestamps);
  CHECK(state.at("last_preserved_timestamp").get<double>() == s.last_preserved_timestamp);
  CHECK(json.at("errors").empty());
}

TEST_CASE("the text format's other spellings are read") {
  const auto s = ckpt::parse_checkpoint_state(
      "# a comment\n"
      "last_preserved_timestamp: 12\r\n"
      "all_model_checkpoint_paths: ['a', \"b\" 'c'] ;\n"
      "model_checkpoint_path:\"x\\x41\\101\\u00e9\" ,"
      "all_model_checkpoint_timestamps: [1.5f, -inf, 2e3]\n"
      "all_model_checkpoint_paths: 'd'  # trailing comment");
  CHECK(s.model_checkpoint_path == "xAA\xc3\xa9");
  CHECK(s.all_model_checkpoint_paths == std::vector<std::string>{"a", "bc", "d"});
  REQUIRE(s.all_model_checkpoint_timestamps.size() == 3);
  CHECK(s.all_model_checkpoint_timestamps[0] == 1.5);
  CHECK(std::isinf(s.all_model_checkpoint_timestamps[1]));
  CHECK(s.all_model_checkpoint_timestamps[2] == 2000.0);
  CHECK(s.last_preserved_timestamp == 12.0);
  CHECK(ckpt::parse_checkpoint_state("") == checkpoint_state{});
}

TEST_CASE("latest_checkpoint follows tf.train.latest_checkpoint") {
  ckpt_test::scratch_dir dir("ckpt-state");
  CHECK_FALSE(ckpt::latest_checkpoint(dir.path()));  // no state file
  CHECK_FALSE(ckpt::get_checkpoint_state(dir.path()));

  checkpoint_state s;
  s.model_checkpoint_path = "ckpt-2";
  s.all_model_checkpoint_paths = {"ckpt-1", "ckpt-2"};
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  CHECK_FALSE(ckpt::latest_checkpoint(dir.path()));  // ckpt-2.index missing
  const auto got = ckpt::get_checkpoint_state(dir.path());
  REQUIRE(got);
  CHECK(got->model_checkpoint_path == (dir / "ckpt-2").string());
  CHECK(got->all_model_checkpoint_paths[0] == (dir / "ckpt-1").string());

  spit(dir / "ckpt-2.data-00000-of-00001", "x");
  CHECK_FALSE(ckpt::latest_checkpoint(dir.path()));  // data alone is not enough
  spit(dir / "ckpt-2.index", "x");
  CHECK(ckpt::latest_checkpoint(dir.path()) == dir / "ckpt-2");

  // Absolute paths are taken as they are, wherever they point.
  ckpt_test::scratch_dir elsewhere("ckpt-state");
  spit(elsewhere / "model.ckpt-9.index", "x");
  s.model_checkpoint_path = (elsewhere / "model.ckpt-9").string();
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  CHECK(ckpt::latest_checkpoint(dir.path()) == elsewhere / "model.ckpt-9");

  // V1: the prefix itself is the file, or a pattern matching the shards.
  s.model_checkpoint_path = "v1/model.ckpt";
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  CHECK_FALSE(ckpt::latest_checkpoint(dir.path()));
  fs::create_directory(dir / "v1");
  spit(dir / "v1/model.ckpt", "x");
  CHECK(ckpt::latest_checkpoint(dir.path()) == dir / "v1/model.ckpt");
  s.model_checkpoint_path = "v1/variables-?\?\?\?\?-of-00001";
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  CHECK_FALSE(ckpt::latest_checkpoint(dir.path()));
  spit(dir / "v1/variables-00000-of-00001", "x");
  CHECK(ckpt::latest_checkpoint(dir.path()) == dir / "v1/variables-?\?\?\?\?-of-00001");

  // A garbled state is no state, as in TensorFlow; an empty model path is an error, as in TF.
  spit(dir / "checkpoint", "model_checkpoint_path: \"ckpt-2");
  CHECK_FALSE(ckpt::latest_checkpoint(dir.path()));
  spit(dir / "checkpoint", "all_model_checkpoint_paths: \"ckpt-2\"\n");
  CHECK_THROWS_AS(ckpt::latest_checkpoint(dir.path()), ckpt::error);

  // Another state-file name.
  s.model_checkpoint_path = "ckpt-2";
  ckpt::write_checkpoint_state(dir / "other_state", s);
  CHECK(ckpt::latest_checkpoint(dir.path(), "other_state") == dir / "ckpt-2");
}

TEST_CASE("write_checkpoint_state replaces the file atomically and leaves no temporary") {
  ckpt_test::scratch_dir dir("ckpt-state");
  checkpoint_state s;
  s.model_checkpoint_path = "ckpt-1";
  s.all_model_checkpoint_paths = {"ckpt-1"};
  for (int i = 0; i < 5; ++i) ckpt::write_checkpoint_state(dir / "checkpoint", s);
  CHECK(dir.file_count() == 1);
  CHECK(slurp(dir / "checkpoint") ==
        "model_checkpoint_path: \"ckpt-1\"\n"
        "all_model_checkpoint_paths: \"ckpt-1\"\n");
  CHECK(ckpt::is_checkpoint_state_temporary("checkpoint.tmp0123456789abcdef0123456789abcdef"));
  CHECK_FALSE(
      ckpt::is_checkpoint_state_temporary("checkpoint.tmp0123456789abcdef0123456789abcdeg"));
  CHECK_FALSE(ckpt::is_checkpoint_state_temporary("checkpoint.tmp0123"));
  CHECK_FALSE(ckpt::is_checkpoint_state_temporary("checkpoint"));
}
