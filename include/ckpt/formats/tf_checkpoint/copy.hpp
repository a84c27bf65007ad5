// SPDX-License-Identifier: Apache-2.0
#pragma once
// Re-writes a TensorBundle entry by entry through bundle_reader and bundle_writer.
//
//   tf_checkpoint::copy_bundle("in/ckpt-5", "out/ckpt-5");
//
// Every entry is kept as it is: same keys (the object graph `_CHECKPOINTABLE_OBJECT_GRAPH`
// included), dtypes, shapes and values, the same shard of the same number of shards, and each
// shard's tensors added in their stored (shard, offset) order, so the data files come out in
// TF's order. Sliced tensors are re-added slice by slice. For a bundle TF wrote, the output
// `.index` and data files are byte-identical to the input's, unless the input's table blocks
// were Snappy-compressed (TF before 1.2): the output is then uncompressed, as TF writes today.
// Every tensor's checksum is verified while copying unless options.verify_checksums is false.
// DT_VARIANT entries raise `unsupported`.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_writer.hpp"
#include "ckpt/formats/tf_checkpoint/slices.hpp"

namespace ckpt::tf_checkpoint {

struct copy_options {
  bool sync = true;
  bool verify_checksums = true;
  load_limits limits = {};
};

inline void copy_bundle(const bundle_reader& in, const std::filesystem::path& out_prefix,
                        const copy_options& options = {}) {
  std::vector<const bundle_entry*> stored;
  for (const auto* list : {&in.entries(), &in.slice_entries()})
    for (const auto& e : *list)
      if (!e.is_sliced()) stored.push_back(&e);
  std::sort(stored.begin(), stored.end(), [](const bundle_entry* a, const bundle_entry* b) {
    return std::tie(a->shard_id, a->offset, a->key) < std::tie(b->shard_id, b->offset, b->key);
  });
  bundle_writer out(out_prefix, {.num_shards = in.num_shards(), .sync = options.sync});
  std::vector<std::byte> bytes;
  std::vector<std::string> strings;
  for (const auto* e : stored) {
    mutable_tensor_view view{e->dtype, e->shape, {}, {}};
    if (e->dtype == dtype::string) {
      strings.assign(static_cast<std::size_t>(e->num_elements()), std::string());
      view.strings = strings;
    } else {
      bytes.resize(static_cast<std::size_t>(e->size));
      view.bytes = bytes;
    }
    in.read(*e, view, options.verify_checksums);
    if (!is_slice_key(e->key)) {
      out.add(e->key, view, e->shard_id);
      continue;
    }
    const auto slice = decode_slice_key(e->key);
    const bundle_entry* full = slice ? in.find(slice->name) : nullptr;
    if (!full || !full->is_sliced())
      throw error(errc::bad_format, "slice entry of no sliced tensor", in.index_file(), e->key,
                  e->index_offset);
    out.add_slice(slice->name, full->shape, slice->slice, view, e->shard_id);
  }
  out.finish();
}

inline void copy_bundle(const std::filesystem::path& in_prefix,
                        const std::filesystem::path& out_prefix, const copy_options& options = {}) {
  const bundle_reader in(in_prefix, options.limits);
  copy_bundle(in, out_prefix, options);
}

}  // namespace ckpt::tf_checkpoint
