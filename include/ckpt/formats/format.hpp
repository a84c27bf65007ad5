#pragma once
// The format side of ckpt. A format sees canonical paths ("encoder/layers/0/kernel") and tensor
// views, never user types, so each format is written once for every type (and a type once for
// every format). To add a format, implement format_reader and format_writer and register them
// with register_format(); nothing else in the library changes (examples/custom_format.cpp).

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
};

}  // namespace ckpt
