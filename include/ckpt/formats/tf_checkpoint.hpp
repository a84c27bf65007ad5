// SPDX-License-Identifier: Apache-2.0
#pragma once
// TensorFlow checkpoints (TensorBundle: `P.index` + `P.data-SSSSS-of-NNNNN`) and the variables of
// SavedModel directories. Two format names:
//   "tf"   TF2 object-based, as tf.train.Checkpoint writes: the default for ".ckpt" paths and
//          bare prefixes ("dir/ckpt-5");
//   "tf1"  TF1 name-based, as tf.compat.v1.train.Saver writes.
// Either name reads both kinds, and SavedModel directories. formats/tf_checkpoint/README.md gives
// the byte layout, the key mapping and every check the reader makes.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/formats/registry.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_writer.hpp"
#include "ckpt/formats/tf_checkpoint/checkpoint_reader.hpp"
#include "ckpt/formats/tf_checkpoint/checkpoint_writer.hpp"
#include "ckpt/formats/tf_checkpoint/copy.hpp"
#include "ckpt/formats/tf_checkpoint/dtype_names.hpp"
#include "ckpt/formats/tf_checkpoint/prefix.hpp"

namespace ckpt::tf_checkpoint {

inline format_info info(bool object_based) {
  format_info f;
  f.name = object_based ? "tf" : "tf1";
  if (object_based) {
    f.extensions = {".ckpt"};
    f.takes_bare_prefixes = true;
    // A present `.index` claims the path even when its table is damaged, so the reader reports
    // what is wrong with it instead of the path being taken for a missing or unknown file.
    f.detect = [](const std::filesystem::path& path) { return existing_prefix(path).has_value(); };
  }
  f.open = [](const std::filesystem::path& path,
              const load_options& options) -> std::unique_ptr<format_reader> {
    return std::make_unique<checkpoint_reader>(path, options);
  };
  f.create = [object_based](const std::filesystem::path& path,
                            const save_options& options) -> std::unique_ptr<format_writer> {
    return std::make_unique<checkpoint_writer>(path, options, object_based);
  };
  f.capabilities.dtypes = {dtype::float16, dtype::bfloat16,  dtype::float32,    dtype::float64,
                           dtype::int8,    dtype::int16,     dtype::int32,      dtype::int64,
                           dtype::uint8,   dtype::uint16,    dtype::uint32,     dtype::uint64,
                           dtype::bool_,   dtype::complex64, dtype::complex128, dtype::string};
  f.capabilities.checksums = true;
  // Bundle keys are sorted; TF2 keys are escaped paths, so '/' and '.' inside a name round-trip,
  // but TF1 keys are the paths themselves.
  f.capabilities.keeps_order = false;
  f.files = [](const std::filesystem::path& checkpoint, const std::vector<std::string>& names) {
    return checkpoint_files(prefix_for_write(checkpoint).filename().string(), names);
  };
  f.native_copy = [](const std::filesystem::path& from_path, const format_reader& from,
                     const std::filesystem::path& to, const save_options& options) {
    // Only a bundle is copied as it is stored: other formats go tensor by tensor.
    if (!dynamic_cast<const checkpoint_reader*>(&from)) return false;
    copy_bundle(resolve_prefix(from_path), prefix_for_write(to), {.sync = options.sync});
    return true;
  };
  // As TensorFlow's inspect_checkpoint lists a checkpoint: "key (DT_FLOAT) [2,3]".
  f.listing_line = [](const entry& e) {
    std::string line = e.name;
    line.append(" (").append(dtype_name(e.dtype)).append(") [");
    for (std::size_t d = 0; d < e.shape.size(); ++d) {
      if (d) line += ',';
      line += std::to_string(e.shape[d]);
    }
    return line + "]";
  };
  return f;
}

}  // namespace ckpt::tf_checkpoint

namespace ckpt {
CKPT_REGISTER_FORMAT(tf_registered, tf_checkpoint::info(true))
CKPT_REGISTER_FORMAT(tf1_registered, tf_checkpoint::info(false))
}  // namespace ckpt
