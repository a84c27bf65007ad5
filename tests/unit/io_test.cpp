// SPDX-License-Identifier: Apache-2.0
// Atomic writes and mapped reads: the guarantees every format's save and load build on.
#include <catch2/catch.hpp>
#include <fstream>

#include "../support/files.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"

using ckpt_test::scratch_dir;
using ckpt_test::slurp;

TEST_CASE("an atomic file replaces the target only on commit", "[io]") {
  scratch_dir dir("ckpt-io");
  const auto target = dir / "weights.bin";
  std::ofstream(target) << "old";
  {
    ckpt::atomic_file f(target);
    f.write("new content", 11);
    CHECK(slurp(target) == "old");  // not visible before commit
    CHECK(dir.file_count() == 2);
    f.commit();
  }
  CHECK(slurp(target) == "new content");
  CHECK(dir.file_count() == 1);

  {
    ckpt::atomic_file abandoned(target);
    abandoned.write("half", 4);
  }  // destroyed without commit, as when an exception unwinds a save
  CHECK(slurp(target) == "new content");
  CHECK(dir.file_count() == 1);
}

TEST_CASE("a failed save leaves the previous file and no temporary", "[io]") {
  scratch_dir dir("ckpt-io");
  const auto target = dir / "model.safetensors";
  struct Model {
    std::vector<float> w;
    std::string name;  // safetensors holds no strings: the save fails after validation starts
  };
  ckpt::save(std::map<std::string, std::vector<float>>{{"w", {1, 2}}}, target);
  const auto before = slurp(target);
  CHECK_THROWS_AS(ckpt::save(Model{{3, 4}, "x"}, target), ckpt::error);
  CHECK(slurp(target) == before);
  CHECK(dir.file_count() == 1);
}

TEST_CASE("I/O failures are ckpt::error naming the file", "[io]") {
  scratch_dir dir("ckpt-io");
  // Missing directories above the target are created, as TensorFlow's checkpoint.save does...
  const auto nested = dir / "new" / "sub" / "model.json";
  ckpt::save(std::map<std::string, float>{{"x", 1.0f}}, nested);
  CHECK(std::filesystem::is_regular_file(nested));
  // ...but not through a regular file: that is an I/O error naming the target.
  std::ofstream(dir / "plain") << "x";
  for (const auto& nowhere : {dir / "plain" / "model.json", dir / "plain" / "sub" / "model"}) {
    try {
      ckpt::save(std::map<std::string, float>{{"x", 1.0f}}, nowhere);
      FAIL("no error");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::io);
      CHECK(e.file() == nowhere.string());
    }
  }
  try {  // the byte-for-byte TensorFlow copy takes the same path
    ckpt::save(std::map<std::string, float>{{"x", 1.0f}}, dir / "tf" / "ckpt-1", {.format = "tf"});
    ckpt::convert_file(dir / "tf" / "ckpt-1", dir / "plain" / "ckpt-1");
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::io);
  }
  std::map<std::string, float> m;
  try {
    ckpt::load(m, dir / "absent.safetensors");
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::not_found);
    CHECK(std::string(e.what()).find("absent.safetensors") != std::string::npos);
  }
  // A directory is not a file: refused at once, not read as if it were.
  CHECK_THROWS_AS(ckpt::mapped_file(dir.path()), ckpt::error);
  CHECK_THROWS_AS(ckpt::load(m, dir.path(), {.format = "safetensors"}), ckpt::error);
}

TEST_CASE("a mapped file checks every range against its size", "[io]") {
  scratch_dir dir("ckpt-io");
  const auto p = dir / "ten.bin";
  std::ofstream(p, std::ios::binary) << "0123456789";
  ckpt::mapped_file f(p);
  CHECK(f.size() == 10);
  CHECK(f.range(2, 8).size() == 8);
  CHECK_THROWS_AS(f.range(2, 9), ckpt::error);
  CHECK_THROWS_AS(f.range(11, 0), ckpt::error);
  CHECK_THROWS_AS(f.range(1, std::numeric_limits<std::uint64_t>::max()), ckpt::error);
  std::ofstream(dir / "empty.bin");
  CHECK(ckpt::mapped_file(dir / "empty.bin").size() == 0);
}
