// SPDX-License-Identifier: Apache-2.0
#pragma once
// Runs the built `ckpt` tool as a user would (or any other command line: run_command) and returns
// its exit status, stdout and stderr. The tool is found through CKPT_BUILD_DIR (set by ctest for
// every test program). Each call captures the output in a fresh scratch directory of its own, so
// test programs running in parallel never read one another's output.
//
//   const auto r = ckpt_test::run_ckpt("inspect --json " + file.string());
//   REQUIRE(r.status == 0);

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "files.hpp"
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

// Runs `command` through /bin/sh as written; paths in it must not need quoting.
inline cli_result run_command(const std::string& command) {
  const scratch_dir capture("ckpt-cli-output");
  const auto out = capture / "stdout", err = capture / "stderr";
  const int raw = std::system((command + " >" + out.string() + " 2>" + err.string()).c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(out), slurp(err)};
}

inline cli_result run_program(const std::filesystem::path& tool, const std::string& args) {
  return run_command(tool.string() + " " + args);
}

inline cli_result run_ckpt(const std::string& args) { return run_program(ckpt_tool(), args); }

}  // namespace ckpt_test
