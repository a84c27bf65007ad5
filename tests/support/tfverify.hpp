// SPDX-License-Identifier: Apache-2.0
#pragma once
// Runs the independent TensorFlow checkpoint checker (../shared/tools/tfverify/tfverify.py) on a
// path and returns its JSON report. The checker needs Debian's python3 with python3-protobuf (and
// g++ + libleveldb-dev for its LevelDB cross-check); when it cannot run, tfverify::available()
// is false and callers skip LOUDLY with the reason.
//
//   if (!ckpt_test::tfverify::available()) { WARN(ckpt_test::tfverify::why_unavailable()); return;
//   } nlohmann::json report = ckpt_test::tfverify::run(prefix); CHECK(report["ok"] == true);

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace ckpt_test::tfverify {

inline std::filesystem::path script() {
  return std::filesystem::path(CKPT_FIXTURES_DIR) / ".." / "tools" / "tfverify" / "tfverify.py";
}

inline std::string why_unavailable() {
  if (!std::filesystem::exists("/usr/bin/python3"))
    return "SKIPPED: /usr/bin/python3 is missing, tfverify cannot run";
  if (!std::filesystem::exists(script()))
    return "SKIPPED: tfverify is missing at " + script().string();
  if (std::system("/usr/bin/python3 -c 'import google.protobuf' >/dev/null 2>&1") != 0)
    return "SKIPPED: python3-protobuf is not installed; tfverify cannot run "
           "(scripts/install-deps.sh installs it)";
  if (std::system("command -v protoc >/dev/null 2>&1") != 0)
    return "SKIPPED: protoc is not installed; tfverify cannot run";
  return {};
}

inline bool available() { return why_unavailable().empty(); }

// The report for `path` (a prefix, .index, SavedModel or checkpoint dir). Throws if the tool
// could not run at all (exit status 2) or printed no JSON; exit status 1 (errors found) still
// returns the report, whose "ok" is then false.
inline nlohmann::json run(const std::filesystem::path& path) {
  const std::string command =
      "/usr/bin/python3 '" + script().string() + "' -q '" + path.string() + "' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 65536> buf;
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;)
    out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code != 0 && code != 1)
    throw std::runtime_error("tfverify exited with " + std::to_string(code) + " on " +
                             path.string());
  return nlohmann::json::parse(out);
}

}  // namespace ckpt_test::tfverify
