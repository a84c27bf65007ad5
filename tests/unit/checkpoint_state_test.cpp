// SPDX-License-Identifier: Apache-2.0
// The `checkpoint` state file: byte-identical re-serialization of TensorFlow's files, the
// doubles and escapes Python's text_format writes (checked against Python itself and tfverify),
// hostile inputs, and tf.train.latest_checkpoint's rules.

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "../support/scratch_dir.hpp"
#include "ckpt/formats/tf_checkpoint/checkpoint_state.hpp"

namespace fs = std::filesystem;
using ckpt::checkpoint_state;

namespace {

const fs::path fixtures = fs::path(CKPT_FIXTURES_DIR) / "tf";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// stdout of a shell command, and whether it exited 0.
std::pair<std::string, bool> run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {"", false};
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {out, WIFEXITED(status) && WEXITSTATUS(status) == 0};
}

bool python_protobuf_available() {
  return run("/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null").second;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

ckpt::error parse_error(std::string_view text) {
  try {
    ckpt::parse_checkpoint_state(text, "dir/checkpoint");
  } catch (const ckpt::error& e) {
    return e;
  }
  FAIL("no error for: " << text);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("every fixture state file re-serializes byte for byte") {
  std::vector<fs::path> files = {fixtures / "eos_checkpoint_manager/checkpoint",
                                 fixtures / "tf_trt_mnist_ckpt/checkpoint"};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fixtures / "tf_checkpoint_state_examples", ec))
    files.push_back(e.path());
  std::size_t seen = 0;
  for (const auto& f : files) {
    if (!fs::exists(f)) {
      WARN("SKIPPED: fixture missing: " << f);
      continue;
    }
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
  if (!fs::exists(eos)) {
    WARN("SKIPPED: fixture missing: " << eos);
    return;
  }
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
  const auto [out, ok] =
      run("/usr/bin/python3 " + (dir / "repr.py").string() + " < " + (dir / "in.txt").string());
  if (!ok) {
    WARN("SKIPPED: /usr/bin/python3 is not available to cross-check repr()");
    CHECK(ckpt::detail::state_text::python_repr(1619766278.4836671) == "1619766278.4836671");
    CHECK(ckpt::detail::state_text::python_repr(5.0) == "5.0");
    return;
  }
  std::istringstream lines(out);
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
  const fs::path tool = fs::path(CKPT_FIXTURES_DIR) / "../tools/tfverify/tfverify.py";
  if (!python_protobuf_available() || !fs::exists(tool)) {
    WARN("SKIPPED: tfverify (" << tool << ") needs /usr/bin/python3 with python3-protobuf");
    return;
  }
  ckpt_test::scratch_dir dir("ckpt-state");
  checkpoint_state s;
  s.model_checkpoint_path = "ckpt-12";
  s.all_model_checkpoint_paths = {"sub dir/\"q\"\\ckpt-3", "\xc3\xa9t\xc3\xa9/ckpt-7", "ckpt-12"};
  s.all_model_checkpoint_timestamps = {1619766278.4836671, 1e16, 1700000000.0};
  s.last_preserved_timestamp = 0.1 + 0.2;
  ckpt::write_checkpoint_state(dir / "checkpoint", s);
  const auto [out, ok] = run("/usr/bin/python3 " + tool.string() + " -q --no-leveldb --state " +
                             (dir / "checkpoint").string());
  INFO(out);
  const auto json = nlohmann::json::parse(out);
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

TEST_CASE("hostile state files give bad_format naming file and line") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"model_checkpoint_path: \"abc", "unterminated"},
      {"model_checkpoint_path: \"ab\nc\"", "unterminated"},
      {"model_checkpoint_path: \"a\\q\"", "unknown escape"},
      {"model_checkpoint_path: \"a\\x\"", "\\x"},
      {"model_checkpoint_path: \"\\777\"", "octal"},
      {"model_checkpoint_path: \"\\ud800\"", "Unicode"},
      {"model_checkpoint_path: \"a\\000b\"", "NUL"},
      {"model_checkpoint_path: \"\xff\xfe\"", "UTF-8"},
      {"model_checkpoint_path: \"a\"\nmodel_checkpoint_path: \"b\"", "twice"},
      {"last_preserved_timestamp: 1\nlast_preserved_timestamp: 2", "twice"},
      {"model_checkpoint_path \"a\"", "':'"},
      {"unknown_field: 1", "no field"},
      {"model_checkpoint_path: 5", "quoted string"},
      {"all_model_checkpoint_timestamps: \"5\"", "number"},
      {"all_model_checkpoint_timestamps: 1.2.3", "not a number"},
      {"all_model_checkpoint_timestamps: 1e", "not a number"},
      {"all_model_checkpoint_timestamps: 0x10", "not a number"},
      {"all_model_checkpoint_timestamps: [1, 2", "','"},
      {"all_model_checkpoint_paths: [\"a\" \"b\"", "','"},
      {"model_checkpoint_path: [\"a\"]", "quoted string"},
      {"model_checkpoint_path: \"a\" }", "field name"},
      {std::string("\x00\x01\x02garbage", 10), "field name"},
      {"model_checkpoint_path: ", "quoted string"},
  };
  for (const auto& [text, what] : cases) {
    INFO(text);
    const auto e = parse_error(text);
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(e.file() == "dir/checkpoint");
    CHECK(e.offset().has_value());
    CHECK_THAT(e.detail(), Catch::Contains(what));
    CHECK_THAT(e.detail(), Catch::Contains("line "));
  }
  const auto e = parse_error("model_checkpoint_path: \"a\"\n\n  bogus: 1");
  CHECK_THAT(e.detail(), Catch::StartsWith("line 3 column 3"));
  CHECK(e.offset() == 30u);
}

TEST_CASE("oversized and odd state files are refused before reading") {
  ckpt_test::scratch_dir dir("ckpt-state");
  spit(dir / "checkpoint", std::string(ckpt::max_checkpoint_state_bytes + 1, ' '));
  try {
    ckpt::read_checkpoint_state(dir / "checkpoint");
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::limit);
    CHECK(e.file() == (dir / "checkpoint").string());
  }
  CHECK_FALSE(ckpt::get_checkpoint_state(dir.path()));  // TensorFlow: None for unparsable
  fs::remove(dir / "checkpoint");
  fs::create_directory(dir / "checkpoint");
  CHECK_THROWS_AS(ckpt::read_checkpoint_state(dir / "checkpoint"), ckpt::error);
  CHECK_FALSE(ckpt::latest_checkpoint(dir.path()));
}

TEST_CASE("mutated state files either parse to something that round-trips or give an error") {
  const std::string base =
      "model_checkpoint_path: \"ckpt-5\"\nall_model_checkpoint_paths: \"ckpt-4\"\n"
      "all_model_checkpoint_paths: \"ckpt-5\"\nall_model_checkpoint_timestamps: 1619766278.48\n"
      "all_model_checkpoint_timestamps: 1619771826.9585588\nlast_preserved_timestamp: 1.5\n";
  std::mt19937 random(11);
  int parsed = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = base;
    const int edits = 1 + int(random() % 4);
    for (int k = 0; k < edits; ++k) {
      const std::size_t at = random() % (text.size() + 1);
      switch (random() % 3) {
        case 0:
          if (at < text.size()) text[at] = static_cast<char>(random() & 0xff);
          break;
        case 1:
          text.insert(at, 1, "\"'\\[],:#\n0e.-f"[random() % 14]);
          break;
        default:
          text = text.substr(0, at);
      }
    }
    try {
      const auto s = ckpt::parse_checkpoint_state(text, "fuzz");
      ++parsed;
      REQUIRE(ckpt::parse_checkpoint_state(ckpt::to_text(s)) == s);
    } catch (const ckpt::error& e) {
      ++rejected;
      REQUIRE(e.code() == ckpt::errc::bad_format);
    }
  }
  CHECK(parsed > 0);
  CHECK(rejected > 0);
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
