// SPDX-License-Identifier: Apache-2.0
#pragma once
// ckpt's format_writer for TensorFlow checkpoints: canonical paths become bundle keys.
//  - object_based (format "tf", what tf.train.Checkpoint writes): keys
//    "<escaped path>/.ATTRIBUTES/VARIABLE_VALUE", an `_CHECKPOINTABLE_OBJECT_GRAPH` built from the
//    path tree (object_graph.hpp), and the root's int64 `save_counter` as tf.train.Checkpoint
//    keeps it (save_options::step, default 1) unless the struct has one.
//    Data is laid out in node order with the graph last, as TF lays it out.
//  - name-based (format "tf1", what tf.compat.v1.train.Saver writes): the keys are the paths, in
//    declaration order in the data file.
// storage.shards > 1 spreads tensors over that many data files, each to the one with the fewest
// bytes so far (the graph stays in shard 0).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/tf_checkpoint/bundle_writer.hpp"
#include "ckpt/formats/tf_checkpoint/object_graph.hpp"
#include "ckpt/formats/tf_checkpoint/prefix.hpp"

namespace ckpt::tf_checkpoint {

class checkpoint_writer final : public format_writer {
 public:
  checkpoint_writer(const std::filesystem::path& path, const save_options& options,
                    bool object_based)
      : prefix_(prefix_for_write(path)), options_(options), object_based_(object_based) {}

  void write(const std::vector<named_tensor>& tensors) override {
    bundle_writer out(prefix_, {.num_shards = options_.storage.shards, .sync = options_.sync});
    std::vector<std::uint64_t> shard_bytes(options_.storage.shards);
    auto add = [&](const std::string& key, const tensor_view& t) {
      const auto lightest = static_cast<std::uint32_t>(
          std::min_element(shard_bytes.begin(), shard_bytes.end()) - shard_bytes.begin());
      shard_bytes[lightest] += t.bytes.size() + 1;
      out.add(key, t, lightest);
    };

    if (!object_based_) {
      for (const auto& t : tensors) add(t.path, t.tensor);
      out.finish();
      return;
    }

    std::vector<std::string> paths;
    std::vector<tensor_view> views;
    for (const auto& t : tensors) paths.push_back(t.path), views.push_back(t.tensor);
    std::int64_t counter = options_.step.value_or(1);
    if (std::find(paths.begin(), paths.end(), save_counter_name) == paths.end()) {
      paths.emplace_back(save_counter_name);
      views.push_back(
          {dtype::int64, {}, std::as_bytes(std::span<const std::int64_t>(&counter, 1)), {}});
    }
    const built_object_graph built = build_object_graph(paths);
    for (const std::size_t i : built.data_order) add(built.keys[i], views[i]);
    const std::string graph = encode(built.graph);
    out.add(object_graph_key, {dtype::string, {}, {}, std::span<const std::string>(&graph, 1)}, 0);
    out.finish();
  }

 private:
  std::filesystem::path prefix_;
  save_options options_;
  bool object_based_;
};

}  // namespace ckpt::tf_checkpoint
