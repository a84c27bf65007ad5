// SPDX-License-Identifier: Apache-2.0
#pragma once
// The metric each listed checkpoint was saved with, kept beside the `checkpoint` state file in
// `checkpoint.metrics` (JSON), so that a restarted manager ranks them as before. The state file
// itself stays exactly what TensorFlow reads (its parser refuses unknown fields).
//
//   {"name": "weights.{step:04d}", "mode": "min", "metrics": {"weights.0005.safetensors": 0.25}}

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "ckpt/core/error.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"

namespace ckpt {

inline constexpr std::string_view metrics_record_file_name = "checkpoint.metrics";

struct metrics_record {
  std::string name;                       // the name template the checkpoints were saved under
  std::string mode;                       // "min" or "max"
  std::map<std::string, double> metrics;  // checkpoint path, relative to the directory -> metric
};

inline metrics_record read_metrics_record(const std::filesystem::path& file) {
  const std::string text = read_whole_file(file, 16 << 20);
  metrics_record record;
  try {
    const auto json = nlohmann::json::parse(text);
    record.name = json.at("name").get<std::string>();
    record.mode = json.at("mode").get<std::string>();
    for (const auto& [path, value] : json.at("metrics").items()) {
      const double metric = value.get<double>();
      if (!std::isfinite(metric)) throw error(errc::bad_format, "metric of '" + path + "'");
      record.metrics.emplace(path, metric);
    }
  } catch (const nlohmann::json::exception& e) {
    throw error(errc::bad_format, std::string("not a checkpoint metrics record: ") + e.what(),
                file.string());
  }
  if (record.mode != "min" && record.mode != "max")
    throw error(errc::bad_format, "mode is '" + record.mode + "', not \"min\" or \"max\"",
                file.string());
  return record;
}

inline void write_metrics_record(const std::filesystem::path& file, const metrics_record& record,
                                 bool sync) {
  nlohmann::ordered_json json;
  json["name"] = record.name;
  json["mode"] = record.mode;
  json["metrics"] = nlohmann::ordered_json::object();
  for (const auto& [path, metric] : record.metrics) json["metrics"][path] = metric;
  const std::string text = json.dump(1) + "\n";
  atomic_file out(file, {.sync = sync});
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace ckpt
