// SPDX-License-Identifier: Apache-2.0
#pragma once
// Runs the built `ckpt` tool as a user would and returns its exit status, stdout and stderr.
// The tool is found through CKPT_BUILD_DIR (set by ctest for every test program). Each call
// captures the output in a fresh scratch directory of its own, so test programs running in
// parallel never read one another's output.
//
//   const auto r = ckpt_test::run_ckpt("inspect --json " + file.string());
//   REQUIRE(r.status == 0);

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "scratch_dir.hpp"

namespace ckpt_test {

struct cli_result {
  int status = -1;  // the exit status, or -1 if the tool did not exit normally
  std::string out, err;
};

inline std::filesystem::path ckpt_tool() {
  const char* build = std::getenv("CKPT_BUILD_DIR");
  REQUIRE(build != nullptr);
  const auto tool = std::filesystem::path(build) / "tools" / "ckpt";
  REQUIRE(std::filesystem::exists(tool));
  return tool;
}

inline std::string read_output(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `args` is passed to /bin/sh as written; paths in it must not need quoting.
inline cli_result run_program(const std::filesystem::path& tool, const std::string& args) {
  const scratch_dir capture("ckpt-cli-output");
  const auto out = capture / "stdout", err = capture / "stderr";
  const std::string command =
      tool.string() + " " + args + " >" + out.string() + " 2>" + err.string();
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_output(out), read_output(err)};
}

inline cli_result run_ckpt(const std::string& args) { return run_program(ckpt_tool(), args); }

}  // namespace ckpt_test
