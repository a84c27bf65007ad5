// SPDX-License-Identifier: Apache-2.0
#pragma once
// The independent checkers the tests hand ckpt's files to, found in one place, with one way to
// skip when one is missing. Each checker() gives the command that runs it, or why it cannot run
// and what installs it; require() returns whether the test may go on, and otherwise reports
//   SKIPPED: <what the test skips>: <checker> cannot run: <why> (<what installs it>)
// as a Catch warning. With CKPT_REQUIRE_CHECKERS=1 in the environment (scripts/test.sh sets it
// after installing every checker) a missing checker fails the test instead.
//
//   const auto h5verify = ckpt_test::h5verify();
//   if (!ckpt_test::require(h5verify, "reading ckpt's Keras files with jsfive")) return;
//   run(h5verify.command + " --keras " + path.string());
//
//   if (!ckpt_test::require(ckpt_test::tfverify(), "checking the bundle with tfverify")) return;
//   const nlohmann::json report = ckpt_test::run_tfverify(prefix);
//
// The shared tools (tfverify, h5verify) are looked for in $CKPT_CHECKERS, else the folder the
// build was configured with (../shared/tools beside the checkout); h5verify's npm dependency in
// $H5VERIFY_DEPS_DIR (ctest sets it), else the build's default (.deps/h5verify in the checkout),
// where `scripts/install-deps.sh test` installs it. Tests never run npm themselves.

#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace ckpt_test {

struct checker {
  std::string name;
  std::string command;  // the start of a shell command line that runs it, when it can run
  std::string missing;  // why it cannot run and what installs it, when it cannot

  bool available() const { return missing.empty(); }
};

namespace checker_detail {

constexpr const char* install_hint = "scripts/install-deps.sh test installs it";

// Appended in place: GCC 12 at -O3 reports a false -Wstringop-overflow for the '+' chain.
inline std::string quoted(const std::filesystem::path& path) {
  std::string out = "'";
  out += path.string();
  out += '\'';
  return out;
}

inline bool succeeds(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

inline std::filesystem::path from_environment(const char* variable, const char* configured) {
  if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') return value;
  return configured;
}

inline checker unavailable(std::string name, std::string why) {
  return {std::move(name), {}, std::move(why) + " (" + install_hint + ")"};
}

inline checker python_module(const std::string& name, const std::string& module,
                             const std::string& package) {
  if (!std::filesystem::exists("/usr/bin/python3"))
    return unavailable(name, "/usr/bin/python3 is not installed");
  if (!succeeds("/usr/bin/python3 -c 'import " + module + "'"))
    return unavailable(
        name, "/usr/bin/python3 has no " + module + ": Debian's " + package + " is not installed");
  return {name, "/usr/bin/python3", {}};
}

}  // namespace checker_detail

inline std::filesystem::path checkers_dir() {
  return checker_detail::from_environment("CKPT_CHECKERS", CKPT_CHECKERS_DIR);
}

// The pure-JavaScript HDF5 reader ../shared/tools/h5verify (jsfive; shares no code with libhdf5).
inline checker h5verify() {
  using namespace checker_detail;
  static const checker found = [] {
    const auto script = checkers_dir() / "h5verify" / "h5verify.cjs";
    if (!std::filesystem::exists(script))
      return unavailable("h5verify", script.string() + " is missing");
    if (!succeeds("node --version")) return unavailable("h5verify", "node is not installed");
    const auto deps = from_environment("H5VERIFY_DEPS_DIR", CKPT_H5VERIFY_DEPS_DIR);
    std::ifstream package(deps / "node_modules" / "jsfive" / "package.json");
    const auto manifest = nlohmann::json::parse(package, nullptr, false);
    if (!package || manifest.is_discarded() || manifest.value("version", "") != "0.4.2")
      return unavailable("h5verify",
                         "its npm dependency jsfive@0.4.2 is not installed in " + deps.string());
    return checker{"h5verify", "node " + quoted(script) + " --deps " + quoted(deps), {}};
  }();
  return found;
}

// The TensorFlow checkpoint checker ../shared/tools/tfverify (python3-protobuf, protoc).
inline checker tfverify() {
  using namespace checker_detail;
  static const checker found = [] {
    const auto script = checkers_dir() / "tfverify" / "tfverify.py";
    if (!std::filesystem::exists(script))
      return unavailable("tfverify", script.string() + " is missing");
    if (auto python = python_module("tfverify", "google.protobuf", "python3-protobuf");
        !python.available())
      return python;
    if (!succeeds("command -v protoc"))
      return unavailable("tfverify", "protoc (Debian's protobuf-compiler) is not installed");
    return checker{"tfverify", "/usr/bin/python3 " + quoted(script), {}};
  }();
  return found;
}

// Debian's /usr/bin/python3 itself; `command` is the interpreter.
inline checker python() {
  static const checker found =
      std::filesystem::exists("/usr/bin/python3")
          ? checker{"python3", "/usr/bin/python3", {}}
          : checker_detail::unavailable("python3", "/usr/bin/python3 is not installed");
  return found;
}

// Python's h5py (Debian's python3-h5py), as Keras reads HDF5 files; `command` is the interpreter.
inline checker h5py() {
  static const checker found = checker_detail::python_module("h5py", "h5py", "python3-h5py");
  return found;
}

// Python with numpy (Debian's python3-numpy); `command` is the interpreter.
inline checker numpy() {
  static const checker found = checker_detail::python_module("numpy", "numpy", "python3-numpy");
  return found;
}

// Debian's protoc, the reference protobuf encoder and decoder.
inline checker protoc() {
  static const checker found =
      checker_detail::succeeds("command -v protoc")
          ? checker{"protoc", "protoc", {}}
          : checker_detail::unavailable("protoc",
                                        "protoc (Debian's protobuf-compiler) is not installed");
  return found;
}

// tfverify's JSON report on `path` (a bundle prefix, .index, SavedModel or checkpoint directory),
// with `options` before the path ("--no-leveldb --state"). Call it once require(tfverify(), ...)
// said yes. Exit status 1 (errors found) still gives the report, whose "ok" is then false; a run
// that could not check at all (status 2) or printed no JSON throws, failing the test.
inline nlohmann::json run_tfverify(const std::filesystem::path& path,
                                   const std::string& options = {}) {
  const std::string command =
      tfverify().command + " -q " + options + " " + checker_detail::quoted(path) + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 65536> buffer;
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
    out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code != 0 && code != 1)
    throw std::runtime_error("tfverify exited with " + std::to_string(code) + " on " +
                             path.string());
  return nlohmann::json::parse(out);
}

// Whether a test may use `tool`; if not, says loudly what is skipped and why (or fails, with
// CKPT_REQUIRE_CHECKERS=1).
inline bool require(const checker& tool, const std::string& what_is_skipped) {
  if (tool.available()) return true;
  const std::string message =
      "SKIPPED: " + what_is_skipped + ": " + tool.name + " cannot run: " + tool.missing;
  if (const char* strict = std::getenv("CKPT_REQUIRE_CHECKERS");
      strict && std::string(strict) == "1")
    FAIL(message);
  WARN(message);
  return false;
}

}  // namespace ckpt_test
