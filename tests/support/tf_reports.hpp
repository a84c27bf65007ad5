// SPDX-License-Identifier: Apache-2.0
#pragma once
// The independent checker's reports on the TensorFlow fixtures (tf/_tfverify/*.json and
// savedmodel/_tfverify/*.json under the fixtures folder, written by tfverify), and what comparing
// with them takes: TensorFlow's dtype names and the hex form of byte strings.
//
//   if (!ckpt_test::tf_fixtures_present()) return;
//   for (const auto& [prefix, report] : ckpt_test::tfverify_reports()) ...

#include <catch2/catch.hpp>
#include <cstddef>
#include <filesystem>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "ckpt/core/dtype.hpp"
#include "files.hpp"
#include "fixtures.hpp"

namespace ckpt_test {

// Whether the TensorFlow fixtures and their reports are there; if not, says so loudly.
inline bool tf_fixtures_present() {
  if (std::filesystem::exists(fixtures_dir() / "tf" / "_tfverify")) return true;
  WARN("SKIPPED: no TensorFlow fixtures under " << fixtures_dir().string()
                                                << " (tf/, savedmodel/)");
  return false;
}

// tfverify's reports, by the bundle prefix each describes, relative to the fixtures folder:
// "tf/eos_checkpoint_manager/ckpt-5".
inline std::map<std::string, nlohmann::json> tfverify_reports() {
  std::map<std::string, nlohmann::json> out;
  for (const char* dir : {"tf", "savedmodel"}) {
    const std::filesystem::path root = fixtures_dir() / dir / "_tfverify";
    if (!std::filesystem::exists(root)) continue;
    for (const auto& f : std::filesystem::directory_iterator(root)) {
      if (f.path().extension() != ".json") continue;
      nlohmann::json report = nlohmann::json::parse(slurp(f.path()));
      const std::string prefix = report["bundle"]["prefix"];
      out[prefix] = std::move(report);
    }
  }
  return out;
}

// TF's DataType enum names by number (types.proto), written out here rather than taken from the
// library so the comparison is independent of it.
inline std::string tf_dtype_name(ckpt::dtype t) {
  static const char* const names[] = {
      "DT_INVALID",    "DT_FLOAT",  "DT_DOUBLE",    "DT_INT32",   "DT_UINT8",   "DT_INT16",
      "DT_INT8",       "DT_STRING", "DT_COMPLEX64", "DT_INT64",   "DT_BOOL",    "DT_QINT8",
      "DT_QUINT8",     "DT_QINT32", "DT_BFLOAT16",  "DT_QINT16",  "DT_QUINT16", "DT_UINT16",
      "DT_COMPLEX128", "DT_HALF",   "DT_RESOURCE",  "DT_VARIANT", "DT_UINT32",  "DT_UINT64"};
  const auto i = static_cast<std::size_t>(t);
  return i < std::size(names) ? names[i] : "DT_" + std::to_string(i);
}

// The bytes a report's {"hex": "..."} stands for (strings that are not UTF-8).
inline std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace ckpt_test
