// SPDX-License-Identifier: Apache-2.0
#pragma once
// The format side of ckpt. A format sees canonical paths ("encoder/layers/0/kernel") and tensor
// views, never user types, so each format is written once for every type (and a type once for
// every format). A format is one format_info: its reader, its writer, what it can hold and the
// optional hooks below. The manager, conversion, the `ckpt` tool and the conformance tests use
// only this contract, so registering a format (examples/custom_format.cpp) is all it takes.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/core/dtype.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"

namespace ckpt {

enum class checksum_status { none, ok, mismatch };

inline const char* to_string(checksum_status s) {
  switch (s) {
    case checksum_status::none:
      return "none";
    case checksum_status::ok:
      return "ok";
    case checksum_status::mismatch:
      return "mismatch";
  }
  return "none";
}

// One stored tensor as the reader found it.
struct entry {
  std::string name;  // the key as stored in the file
  std::string path;  // the canonical path it maps to
  ckpt::dtype dtype = dtype::invalid;
  ckpt::shape shape;
  std::uint64_t bytes = 0;  // stored size
  // Written by the format for its own use (TensorFlow's object graph and save_counter): loads do
  // not require a field for it and conversions do not carry it over.
  bool bookkeeping = false;
};

class format_reader {
 public:
  virtual ~format_reader() = default;
  virtual std::string format() const = 0;
  virtual const std::vector<entry>& entries() const = 0;
  // Fills `out`, whose dtype and shape are the entry's. Verifies checksums where the format has
  // them.
  virtual void read(std::size_t index, const mutable_tensor_view& out) = 0;
  // The stored bytes without a copy, where the format keeps them in native layout.
  virtual std::optional<tensor_view> view(std::size_t) { return std::nullopt; }
  virtual checksum_status verify(std::size_t) { return checksum_status::none; }
  virtual std::map<std::string, std::string> metadata() const { return {}; }
};

struct named_tensor {
  std::string path;
  tensor_view tensor;
};

class format_writer {
 public:
  virtual ~format_writer() = default;
  // Writes every tensor; the views stay valid for the whole call. Replaces the target atomically.
  virtual void write(const std::vector<named_tensor>& tensors) = 0;
};

// What a format gives back exactly. Declared with the format so that callers and the conformance
// tests never need to know formats by name.
struct format_capabilities {
  // The dtypes stored and read back bit for bit (dtype::string and the complex types included
  // where the format has them).
  std::vector<ckpt::dtype> dtypes;
  // Characters a path component may not contain (the format's own separators, say).
  std::string refused_key_characters;
  std::uint32_t max_rank = 64;
  bool empty_tensors = true;  // tensors with a zero dimension
  bool keeps_order = true;    // entries() lists tensors in the order they were written
  bool checksums = false;     // verify() reports ok or mismatch rather than none
  // Any tree of paths round-trips; false where the format imposes its own structure (Keras).
  bool any_paths = true;

  bool holds(ckpt::dtype t) const {
    for (auto d : dtypes)
      if (d == t) return true;
    return false;
  }
};

struct format_info {
  std::string name;                     // "safetensors", "json", ...
  std::vector<std::string> extensions;  // ".safetensors"; matched against the end of the file name
  // True if an existing path holds this format (by magic bytes or layout); may be empty.
  std::function<bool(const std::filesystem::path&)> detect;
  std::function<std::unique_ptr<format_reader>(const std::filesystem::path&, const load_options&)>
      open;
  std::function<std::unique_ptr<format_writer>(const std::filesystem::path&, const save_options&)>
      create;
  // Also the format for names with no extension, or one starting ".ckpt" ("model.ckpt-100"):
  // TensorFlow names a checkpoint by a prefix rather than a file.
  bool takes_bare_prefixes = false;
  // Formats whose detect() accepts the same files are asked in ascending order (a Keras layout
  // before the generic HDF5 reading of the same file).
  int detect_order = 0;
  format_capabilities capabilities = {};
  // The extension a checkpoint named only by a stem gets (the manager's "ckpt-5"), when it is not
  // the first of `extensions`: a format may write ".h5" files without claiming every ".h5" name.
  std::string default_extension;

  // ---- Optional hooks; each has a default that suits a format of one file.

  // Of `names` (the entries of the checkpoint's directory), the files that make up the
  // checkpoint saved at `checkpoint`, in the order to delete them: the one whose presence makes
  // the checkpoint visible to readers first. Default: the file `checkpoint` itself.
  std::function<std::vector<std::string>(const std::filesystem::path& checkpoint,
                                         const std::vector<std::string>& names)>
      files = {};
  // Copies what `from` (open on `from_path`) holds to `to` in this format keeping the stored
  // layout as it is (TensorFlow to TensorFlow: byte for byte). Returns false when it cannot, and
  // the caller then converts tensor by tensor.
  std::function<bool(const std::filesystem::path& from_path, const format_reader& from,
                     const std::filesystem::path& to, const save_options&)>
      native_copy = {};
  // One line of `ckpt inspect`'s listing in the format's own tools' style; with it, the listing
  // is sorted by key as those tools sort it. Default: ckpt's table.
  std::function<std::string(const entry&)> listing_line = {};

  // The file name a checkpoint named `stem` gets in this format ("ckpt-5" -> "ckpt-5.safetensors").
  std::string file_name(const std::string& stem) const {
    if (takes_bare_prefixes) return stem;
    if (!default_extension.empty()) return stem + default_extension;
    return extensions.empty() ? stem : stem + extensions.front();
  }
  std::vector<std::string> files_of(const std::filesystem::path& checkpoint,
                                    const std::vector<std::string>& names) const {
    if (files) return files(checkpoint, names);
    const std::string own = checkpoint.filename().string();
    for (const auto& n : names)
      if (n == own) return {own};
    return {};
  }
};

// The format_info of a format whose Reader and Writer are constructed from (path, options): its
// name, extensions, detect and the open/create hooks. The format adds its capabilities and any
// optional hook to what this returns.
template <class Reader, class Writer>
format_info basic_format(std::string name, std::vector<std::string> extensions,
                         bool (*detect)(const std::filesystem::path&) = nullptr) {
  format_info f;
  f.name = std::move(name);
  f.extensions = std::move(extensions);
  if (detect) f.detect = detect;
  f.open = [](const std::filesystem::path& path,
              const load_options& options) -> std::unique_ptr<format_reader> {
    return std::make_unique<Reader>(path, options);
  };
  f.create = [](const std::filesystem::path& path,
                const save_options& options) -> std::unique_ptr<format_writer> {
    return std::make_unique<Writer>(path, options);
  };
  return f;
}

}  // namespace ckpt
