// SPDX-License-Identifier: Apache-2.0
#pragma once
// Keras 3's `.keras` file: a zip archive of metadata.json, config.json and model.weights.h5 (the
// Keras 3 weights layout of keras3.hpp), stored uncompressed, in that order. The weights member is
// read into memory and opened there by libhdf5 (no temporary file, no second copy); config.json and
// metadata.json are the reader's metadata "config" and "metadata" (and "keras_version" and
// "date_saved" from metadata.json). Writing takes the same two keys from save_options::metadata;
// without them config.json is "{}" (enough for model.load_weights(), not for keras.models.
// load_model(), which needs the model's real config) and metadata.json names Keras 3.15.0 (the
// version whose files we mirror) and the local time of the save, as Keras does.

#include <time.h>

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/dataset.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file_image.hpp"
#include "ckpt/formats/hdf5/storage.hpp"
#include "ckpt/formats/keras/capabilities.hpp"
#include "ckpt/formats/keras/keras3.hpp"
#include "ckpt/io/zip_archive.hpp"

namespace ckpt::keras_zip {

inline constexpr const char* weights_member = "model.weights.h5";
inline constexpr const char* config_member = "config.json";
inline constexpr const char* metadata_member = "metadata.json";
inline constexpr const char* default_keras_version = "3.15.0";

// A zip archive with a model.weights.h5 member. Never throws.
inline bool detect(const std::filesystem::path& path) noexcept {
  if (!looks_like_zip(path)) return false;
  try {
    return zip_reader(path).contains(weights_member);
  } catch (...) {
    return false;
  }
}

namespace detail {

// What the reader takes from an archive: the weights member, opened in memory, and the metadata.
struct archive_contents {
  hdf5::file weights;
  std::map<std::string, std::string> metadata;
};

// keras_version and date_saved of metadata.json, when it is a JSON object that has them.
inline void add_keras_metadata(const std::string& text, std::map<std::string, std::string>& out) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return;  // shown as it is under "metadata"
  for (const char* key : {"keras_version", "date_saved"})
    if (const auto it = json.find(key); it != json.end() && it->is_string())
      out[key] = it->get<std::string>();
}

inline archive_contents read_archive(const std::filesystem::path& path,
                                     const load_options& options) {
  hdf5::quiet_errors quiet;
  const std::string name = path.string();
  const zip_reader archive(path);
  if (!archive.contains(weights_member))
    throw error(errc::unsupported,
                archive.contains("model.weights.npz") || archive.contains("model.weights.json")
                    ? "the weights are not in a model.weights.h5 member (npz or sharded "
                      "weights are not supported)"
                    : "the archive has no model.weights.h5 member",
                name);
  std::map<std::string, std::string> metadata;
  for (const char* member : {config_member, metadata_member})
    if (archive.contains(member)) {
      const auto bytes = archive.read(member, options.limits.max_header_bytes);
      std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      if (std::string(member) == metadata_member) add_keras_metadata(text, metadata);
      metadata[member == std::string(config_member) ? "config" : "metadata"] = std::move(text);
    }
  return {hdf5::open_image(archive.read(weights_member, UINT64_MAX), name + ":" + weights_member),
          std::move(metadata)};
}

}  // namespace detail

// The weights member is read as a Keras 3 file in memory; config.json and metadata.json join its
// metadata.
class reader final : public keras3::reader {
 public:
  reader(const std::filesystem::path& path, const load_options& options)
      : reader(detail::read_archive(path, options), options) {}

 private:
  reader(detail::archive_contents contents, const load_options& options)
      : keras3::reader(std::move(contents.weights), "keras", options) {
    for (auto& [key, value] : contents.metadata) set_metadata(key, std::move(value));
  }
};

// Keras' date_saved: local time as "YYYY-MM-DD@HH:MM:SS".
inline std::string date_saved(std::time_t now) {
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%d@%H:%M:%S", &local);
  return std::string(text, n);
}

class writer final : public format_writer {
 public:
  writer(std::filesystem::path path, save_options options)
      : path_(std::move(path)), options_(std::move(options)) {}

  void write(const std::vector<named_tensor>& tensors) override {
    hdf5::quiet_errors quiet;
    const std::string file = path_.string();
    hdf5::validate(options_.storage, {file, {}});
    const std::time_t now = std::time(nullptr);
    const std::string config = json_member("config", "{}");
    const std::string metadata = json_member(
        "metadata",
        nlohmann::json{{"keras_version", default_keras_version}, {"date_saved", date_saved(now)}}
            .dump());
    std::vector<std::byte> weights;
    {
      hdf5::memory_file h5(file + ":" + weights_member);
      {
        const hdf5::group root = h5.root();
        keras3::write_layout(root, tensors, options_);
      }
      weights = h5.finish();
    }
    write_zip(path_,
              {{metadata_member, std::as_bytes(std::span(metadata)), 0},
               {config_member, std::as_bytes(std::span(config)), 0},
               {weights_member, weights, now}},
              write_options{options_.sync});
  }

 private:
  std::string json_member(const std::string& key, std::string fallback) const {
    const auto it = options_.metadata.find(key);
    if (it == options_.metadata.end()) return fallback;
    if (!nlohmann::json::accept(it->second))
      throw error(errc::unsupported, "save_options::metadata[\"" + key + "\"] is not JSON",
                  path_.string());
    return it->second;
  }

  std::filesystem::path path_;
  save_options options_;
};

// The `keras` format: ".keras" zips, read and written. One checkpoint is one file, so the
// manager's default file hook (the file itself) suits it.
inline format_info info() {
  format_info f = basic_format<reader, writer>("keras", {".keras"}, detect);
  f.capabilities = keras::capabilities();
  return f;
}

}  // namespace ckpt::keras_zip
