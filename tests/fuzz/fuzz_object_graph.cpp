// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for TensorFlow 2's object graph (TrackableObjectGraph, the
// `_CHECKPOINTABLE_OBJECT_GRAPH` string of a checkpoint), decoded by ckpt's own protobuf codec:
// the input is the message's bytes. A graph that decodes must re-encode to bytes that decode to
// the same graph and encode to the same bytes again. Its keys are then bound to paths as the
// checkpoint reader binds them, and the paths, built into a graph of ckpt's own, must bind back to
// the keys that graph names. A ckpt::error from decoding, binding or building is a correct answer;
// a failed round trip traps.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/formats/tf_checkpoint/object_graph.hpp"

namespace tfc = ckpt::tf_checkpoint;

namespace {

bool same(const tfc::trackable_object& a, const tfc::trackable_object& b) {
  const auto same_child = [](const tfc::object_reference& x, const tfc::object_reference& y) {
    return x.node_id == y.node_id && x.local_name == y.local_name;
  };
  const auto same_attribute = [](const tfc::serialized_tensor& x, const tfc::serialized_tensor& y) {
    return x.name == y.name && x.full_name == y.full_name && x.checkpoint_key == y.checkpoint_key;
  };
  const auto same_slot = [](const tfc::slot_variable_reference& x,
                            const tfc::slot_variable_reference& y) {
    return x.original_variable_node_id == y.original_variable_node_id &&
           x.slot_name == y.slot_name && x.slot_variable_node_id == y.slot_variable_node_id;
  };
  return std::ranges::equal(a.children, b.children, same_child) &&
         std::ranges::equal(a.attributes, b.attributes, same_attribute) &&
         std::ranges::equal(a.slot_variables, b.slot_variables, same_slot) &&
         a.registered_saver == b.registered_saver &&
         a.has_checkpoint_values == b.has_checkpoint_values;
}

bool same(const tfc::object_graph& a, const tfc::object_graph& b) {
  return std::ranges::equal(a.nodes, b.nodes,
                            [](const auto& x, const auto& y) { return same(x, y); });
}

// The bound paths of the decoded graph, as the variables of a new checkpoint: ckpt's graph for them
// must name each by its own key, and binding that graph must give back exactly those paths.
void rebuild(const std::vector<tfc::bound_key>& bound) {
  std::vector<std::string> paths;
  std::set<std::string> seen;
  for (const auto& b : bound)
    if (seen.insert(b.path).second) paths.push_back(b.path);
  tfc::built_object_graph built;
  try {
    built = tfc::build_object_graph(paths);
  } catch (const ckpt::error&) {
    return;  // paths no TF2 object tree can hold (empty names, a variable with children)
  }
  const auto again = tfc::bind_object_graph(built.graph);
  if (again.size() != paths.size()) __builtin_trap();
  for (std::size_t n = 0; n < again.size(); ++n) {
    const std::size_t i = built.data_order[n];
    if (again[n].path != paths[i] || again[n].checkpoint_key != built.keys[i]) __builtin_trap();
    if (tfc::path_from_key(built.keys[i]) != paths[i]) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tfc::object_graph graph;
  try {
    graph = tfc::decode_object_graph(bytes, "graph", 100'000);
  } catch (const ckpt::error&) {
    return 0;
  }
  const std::string encoded = tfc::encode(graph);
  try {
    const tfc::object_graph again = tfc::decode_object_graph(encoded, "encoded", 100'000);
    if (!same(graph, again) || tfc::encode(again) != encoded) __builtin_trap();
  } catch (const ckpt::error&) {
    __builtin_trap();  // ckpt encoded a graph it cannot decode
  }
  try {
    rebuild(tfc::bind_object_graph(graph, "graph"));
  } catch (const ckpt::error&) {
  }
  return 0;
}
