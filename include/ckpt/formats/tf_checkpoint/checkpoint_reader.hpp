// SPDX-License-Identifier: Apache-2.0
#pragma once
// A TensorFlow checkpoint as ckpt's format_reader: a bundle (prefix, .index, data file or
// SavedModel directory) whose entries get canonical paths.
//  - TF2 (object-based, an `_CHECKPOINTABLE_OBJECT_GRAPH` entry): paths come from the object
//    graph, so "net/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE" is
//    "net/layer_with_weights-0/kernel" and an optimizer slot is
//    "<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot>". Keys the graph does not name get
//    their path from TF's naming rule. The graph and the root's save_counter are bookkeeping:
//    listed, but a struct need not have fields for them.
//  - TF1 (name-based, no graph): the keys are the paths.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/basic_reader.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"
#include "ckpt/formats/tf_checkpoint/object_graph.hpp"
#include "ckpt/formats/tf_checkpoint/prefix.hpp"

namespace ckpt::tf_checkpoint {

class checkpoint_reader final : public basic_reader {
 public:
  checkpoint_reader(const std::filesystem::path& path, const load_options& options)
      : basic_reader(index_file(resolve_prefix(path)).string()),
        bundle_(resolve_prefix(path), options.limits),
        verify_(options.verify_checksums) {
    std::map<std::string, std::string> paths;  // key -> canonical path, from the graph
    const bundle_entry* graph_entry = bundle_.find(object_graph_key);
    if (graph_entry) {
      if (graph_entry->dtype != dtype::string || !graph_entry->shape.empty())
        throw error(errc::bad_format,
                    "the object graph must be a string scalar, not " +
                        describe(graph_entry->dtype) + " " + to_string(graph_entry->shape),
                    bundle_.index_file(), graph_entry->key);
      std::string bytes;
      bundle_.read(*graph_entry, {dtype::string, {}, {}, std::span<std::string>(&bytes, 1)},
                   verify_);
      graph_ = decode_object_graph(bytes, bundle_.index_file(), options.limits.max_entries);
      for (auto& b : bind_object_graph(*graph_, bundle_.index_file()))
        paths.emplace(std::move(b.checkpoint_key), std::move(b.path));
    }
    for (const auto& e : bundle_.entries()) {
      entry out;
      out.name = e.key;
      out.dtype = e.dtype;
      out.shape = e.shape;
      out.bytes = e.size;
      if (!graph_) {
        out.path = e.key;
      } else if (e.key == object_graph_key) {
        out.path = e.key;
        out.bookkeeping = true;
      } else {
        const auto it = paths.find(e.key);
        out.path = it != paths.end() ? it->second : path_from_key(e.key);
        out.bookkeeping = out.path == save_counter_name;
      }
      entries_.push_back(std::move(out));
      stored_.push_back(&e);
    }
  }

  std::string format() const override { return graph_ ? "tf" : "tf1"; }
  const bundle_reader& bundle() const noexcept { return bundle_; }
  const std::optional<object_graph>& graph() const noexcept { return graph_; }

  // In place when the data file holds the tensor whole and aligned for its elements.
  std::optional<tensor_view> view(std::size_t index) override {
    checked(index);
    const bundle_entry& e = *stored_[index];
    if (e.is_sliced() || e.dtype == dtype::string || element_size(e.dtype) == 0)
      return std::nullopt;
    const auto bytes = bundle_.stored_bytes(e);
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % element_size(e.dtype) != 0)
      return std::nullopt;
    if (verify_ && bundle_.verify(e) != tf_checkpoint::checksum_status::ok)
      throw error(errc::checksum_mismatch, "the tensor's bytes do not match its CRC32C",
                  bundle_.index_file(), e.key);
    return tensor_view{e.dtype, e.shape, bytes, {}};
  }

  ckpt::checksum_status verify(std::size_t index) override {
    checked(index);
    return bundle_.verify(*stored_[index]) == tf_checkpoint::checksum_status::ok
               ? ckpt::checksum_status::ok
               : ckpt::checksum_status::mismatch;
  }

 private:
  void read_entry(std::size_t index, const mutable_tensor_view& out) override {
    bundle_.read(*stored_[index], out, verify_);
  }

  bundle_reader bundle_;
  bool verify_ = true;
  std::optional<object_graph> graph_;
  std::vector<const bundle_entry*> stored_;  // stored_[i] backs entries_[i]
};

}  // namespace ckpt::tf_checkpoint
