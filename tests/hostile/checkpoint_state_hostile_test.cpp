// SPDX-License-Identifier: Apache-2.0
// Hostile `checkpoint` state files: malformed text is bad_format naming the file, line and
// column; oversized files and directories are refused before reading; 20000 random mutations of a
// valid file either parse to something that round-trips or give bad_format.

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../support/files.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/formats/tf_checkpoint/checkpoint_state.hpp"

namespace fs = std::filesystem;
using ckpt::checkpoint_state;
using ckpt_test::spit;

namespace {

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
