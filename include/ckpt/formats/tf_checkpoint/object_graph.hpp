// SPDX-License-Identifier: Apache-2.0
#pragma once
// TensorFlow 2's object graph (TrackableObjectGraph), stored as the DT_STRING scalar
// `_CHECKPOINTABLE_OBJECT_GRAPH` of an object-based checkpoint. It is how tf.train.Checkpoint
// matches stored values to Python objects: node 0 is the root, each child reference names a
// dependency, and each variable node points at its bundle key.
//
// Two directions:
//  - build_object_graph(paths): canonical paths ("encoder/layers/0/kernel") become a tree of
//    nodes numbered breadth-first, children in declaration order, with the keys TF derives
//    ("encoder/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE"), as tf.train.Checkpoint(**same
//    structure) would write them.
//  - bind_object_graph(graph): every attribute's checkpoint key with the canonical path of its
//    object: the breadth-first shortest path of local names from the root (first discovery wins,
//    so shared and cyclic references resolve as TF resolves them), and optimizer slots as
//    `<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot name>`.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ckpt/codec/protobuf.hpp"
#include "ckpt/core/error.hpp"

namespace ckpt::tf_checkpoint {

inline constexpr std::string_view object_graph_key = "_CHECKPOINTABLE_OBJECT_GRAPH";
inline constexpr std::string_view variable_value = "VARIABLE_VALUE";
// The root child tf.train.Checkpoint adds to count its saves.
inline constexpr std::string_view save_counter_name = "save_counter";

struct object_reference {
  std::int32_t node_id = 0;
  std::string local_name;
};

struct serialized_tensor {
  std::string name;       // "VARIABLE_VALUE" for a variable's value
  std::string full_name;  // the variable's graph name; informational
  std::string checkpoint_key;
};

struct slot_variable_reference {
  std::int32_t original_variable_node_id = 0;
  std::string slot_name;
  std::int32_t slot_variable_node_id = 0;
};

struct trackable_object {
  std::vector<object_reference> children;
  std::vector<serialized_tensor> attributes;
  std::vector<slot_variable_reference> slot_variables;
  std::string registered_saver;  // field 4, kept as encoded so a re-encode preserves it
  std::optional<bool> has_checkpoint_values;
};

struct object_graph {
  std::vector<trackable_object> nodes;
};

// TF escapes each local name before joining them with '/': '.' -> "..", '/' -> ".S".
inline std::string escape_local_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (c == '.')
      out += "..";
    else if (c == '/')
      out += ".S";
    else
      out += c;
  }
  return out;
}

inline std::string unescape_local_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '.' && i + 1 < name.size() && (name[i + 1] == '.' || name[i + 1] == 'S')) {
      out += name[i + 1] == '.' ? '.' : '/';
      ++i;
    } else {
      out += name[i];
    }
  }
  return out;
}

namespace detail {

inline std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    parts.push_back(
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

inline std::string encode_object(const trackable_object& node) {
  protobuf::writer w;
  for (const auto& c : node.children) {
    protobuf::writer r;
    if (c.node_id != 0) r.write_int32_field(1, c.node_id);
    if (!c.local_name.empty()) r.write_bytes_field(2, c.local_name);
    w.write_message_field(1, r.str());
  }
  for (const auto& a : node.attributes) {
    protobuf::writer t;
    if (!a.name.empty()) t.write_bytes_field(1, a.name);
    if (!a.full_name.empty()) t.write_bytes_field(2, a.full_name);
    if (!a.checkpoint_key.empty()) t.write_bytes_field(3, a.checkpoint_key);
    w.write_message_field(2, t.str());
  }
  for (const auto& s : node.slot_variables) {
    protobuf::writer r;
    if (s.original_variable_node_id != 0) r.write_int32_field(1, s.original_variable_node_id);
    if (!s.slot_name.empty()) r.write_bytes_field(2, s.slot_name);
    if (s.slot_variable_node_id != 0) r.write_int32_field(3, s.slot_variable_node_id);
    w.write_message_field(3, r.str());
  }
  if (!node.registered_saver.empty()) w.write_message_field(4, node.registered_saver);
  if (node.has_checkpoint_values) {
    // google.protobuf.BoolValue: an empty message means false.
    protobuf::writer b;
    if (*node.has_checkpoint_values) b.write_bool_field(1, true);
    w.write_message_field(5, b.str());
  }
  return std::move(w).str();
}

inline trackable_object decode_object(protobuf::reader r) {
  trackable_object node;
  while (r.next()) {
    switch (r.field()) {
      case 1: {
        object_reference c;
        for (auto m = r.read_message(); m.next();) {
          if (m.field() == 1)
            c.node_id = m.read_int32();
          else if (m.field() == 2)
            c.local_name = m.read_string();
          else
            m.skip();
        }
        node.children.push_back(std::move(c));
        break;
      }
      case 2: {
        serialized_tensor t;
        for (auto m = r.read_message(); m.next();) {
          if (m.field() == 1)
            t.name = m.read_string();
          else if (m.field() == 2)
            t.full_name = m.read_string();
          else if (m.field() == 3)
            t.checkpoint_key = m.read_string();
          else
            m.skip();
        }
        node.attributes.push_back(std::move(t));
        break;
      }
      case 3: {
        slot_variable_reference s;
        for (auto m = r.read_message(); m.next();) {
          if (m.field() == 1)
            s.original_variable_node_id = m.read_int32();
          else if (m.field() == 2)
            s.slot_name = m.read_string();
          else if (m.field() == 3)
            s.slot_variable_node_id = m.read_int32();
          else
            m.skip();
        }
        node.slot_variables.push_back(std::move(s));
        break;
      }
      case 4:
        node.registered_saver = r.read_string();
        break;
      case 5: {
        bool value = false;
        for (auto m = r.read_message(); m.next();) {
          if (m.field() == 1)
            value = m.read_bool();
          else
            m.skip();
        }
        node.has_checkpoint_values = value;
        break;
      }
      default:
        r.skip();
    }
  }
  return node;
}

}  // namespace detail

inline std::string encode(const object_graph& graph) {
  protobuf::writer w;
  for (const auto& node : graph.nodes) w.write_message_field(1, detail::encode_object(node));
  return std::move(w).str();
}

// `max_nodes` bounds what a hostile graph can make us allocate beyond its own bytes.
inline object_graph decode_object_graph(std::string_view bytes, const std::string& file = {},
                                        std::size_t max_nodes = 1'000'000) {
  object_graph graph;
  protobuf::reader r(bytes, file);
  while (r.next()) {
    if (r.field() != 1) {
      r.skip();
      continue;
    }
    if (graph.nodes.size() >= max_nodes)
      throw error(errc::limit, "object graph has more than " + std::to_string(max_nodes) + " nodes",
                  file, std::string(object_graph_key));
    graph.nodes.push_back(detail::decode_object(r.read_message()));
  }
  return graph;
}

// The key TF gives an attribute of the object at `path` (a canonical path of local names).
inline std::string checkpoint_key(std::string_view path,
                                  std::string_view attribute = variable_value) {
  std::string key;
  if (!path.empty())
    for (const auto part : detail::split_path(path)) key += escape_local_name(part) + "/";
  return key + ".ATTRIBUTES/" + escape_local_name(attribute);
}

// What build_object_graph makes of a list of canonical paths.
struct built_object_graph {
  object_graph graph;
  std::vector<std::string> keys;        // keys[i]: the checkpoint key of paths[i]
  std::vector<std::size_t> data_order;  // indices into paths, in node order (TF's data order)
};

// The graph tf.train.Checkpoint writes for an object tree whose variables sit at `paths` (in
// declaration order): a node per path prefix, numbered breadth-first from the root with children
// in the order first met, one VARIABLE_VALUE attribute per variable.
inline built_object_graph build_object_graph(const std::vector<std::string>& paths) {
  struct tree_node {
    std::vector<std::pair<std::string, std::size_t>> children;  // local name, tree index
    // Name -> tree index; the views point into `paths`, which outlives the tree.
    std::unordered_map<std::string_view, std::size_t> child_index;
    std::optional<std::size_t> variable;  // index into paths
  };
  std::vector<tree_node> tree(1);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (paths[i].empty())
      throw error(errc::unsupported, "a TF2 checkpoint cannot hold a value at the root", {}, "");
    std::size_t at = 0;
    for (const auto part : detail::split_path(paths[i])) {
      if (part.empty()) throw error(errc::unsupported, "empty name in path", {}, paths[i]);
      if (tree[at].variable)
        throw error(errc::unsupported,
                    "'" + paths[*tree[at].variable] +
                        "' is a variable and cannot also have children in a TF2 object graph",
                    {}, paths[i]);
      std::size_t next = tree.size();
      if (const auto it = tree[at].child_index.find(part); it != tree[at].child_index.end()) {
        next = it->second;
      } else {
        tree[at].children.emplace_back(std::string(part), next);
        tree[at].child_index.emplace(part, next);
        tree.emplace_back();
      }
      at = next;
    }
    if (tree[at].variable || !tree[at].children.empty())
      throw error(errc::unsupported, "the path is used twice, or also has children", {}, paths[i]);
    tree[at].variable = i;
  }

  // Breadth-first numbering; a tree has one path to each node, so no node is met twice.
  std::vector<std::size_t> node_of(tree.size());
  std::vector<std::size_t> order{0};
  for (std::size_t head = 0; head < order.size(); ++head)
    for (const auto& child : tree[order[head]].children) {
      node_of[child.second] = order.size();
      order.push_back(child.second);
    }

  built_object_graph out;
  out.keys.resize(paths.size());
  out.graph.nodes.resize(order.size());
  for (std::size_t n = 0; n < order.size(); ++n) {
    const tree_node& t = tree[order[n]];
    trackable_object& node = out.graph.nodes[n];
    node.has_checkpoint_values = true;
    for (const auto& [name, index] : t.children)
      node.children.push_back({static_cast<std::int32_t>(node_of[index]), name});
    if (t.variable) {
      const std::size_t i = *t.variable;
      out.keys[i] = checkpoint_key(paths[i]);
      node.attributes.push_back({std::string(variable_value), paths[i], out.keys[i]});
      out.data_order.push_back(i);
    }
  }
  return out;
}

// One stored value named by the graph.
struct bound_key {
  std::string checkpoint_key;
  std::string path;  // canonical path of local names; "<object path>/<attribute>" for attributes
                     // other than VARIABLE_VALUE
  std::size_t node = 0;
};

// Every attribute of every node reachable from the root, with its object's canonical path, in
// node order. Node ids out of range are a bad_format error naming the graph entry.
inline std::vector<bound_key> bind_object_graph(const object_graph& graph,
                                                const std::string& file = {}) {
  const std::size_t n = graph.nodes.size();
  std::vector<std::optional<std::string>> path(n);
  auto check_id = [&](std::int32_t id, std::size_t from) {
    if (id < 0 || static_cast<std::size_t>(id) >= n)
      throw error(errc::bad_format,
                  "object graph node " + std::to_string(from) + " refers to node " +
                      std::to_string(id) + " of " + std::to_string(n),
                  file, std::string(object_graph_key));
    return static_cast<std::size_t>(id);
  };
  if (n == 0) return {};
  path[0] = "";
  std::deque<std::size_t> queue{0};
  while (!queue.empty()) {
    const std::size_t at = queue.front();
    queue.pop_front();
    for (const auto& child : graph.nodes[at].children) {
      const std::size_t id = check_id(child.node_id, at);
      if (path[id]) continue;
      path[id] = path[at]->empty() ? child.local_name : *path[at] + "/" + child.local_name;
      queue.push_back(id);
    }
  }
  // Slot variables take their path from the variable they belong to and the optimizer.
  for (std::size_t at = 0; at < n; ++at) {
    if (!path[at]) continue;
    for (const auto& slot : graph.nodes[at].slot_variables) {
      const std::size_t original = check_id(slot.original_variable_node_id, at);
      const std::size_t id = check_id(slot.slot_variable_node_id, at);
      if (path[id] || !path[original]) continue;
      path[id] = *path[original] + "/.OPTIMIZER_SLOT/" + *path[at] + "/" + slot.slot_name;
    }
  }
  std::vector<bound_key> out;
  for (std::size_t at = 0; at < n; ++at) {
    if (!path[at]) continue;
    for (const auto& a : graph.nodes[at].attributes) {
      if (a.checkpoint_key.empty()) continue;
      std::string p = a.name == variable_value ? *path[at]
                      : path[at]->empty()      ? a.name
                                               : *path[at] + "/" + a.name;
      out.push_back({a.checkpoint_key, std::move(p), at});
    }
  }
  return out;
}

// The canonical path of a key written by the TF2 naming rule, for keys the graph does not name:
// "a/b.Sc/.ATTRIBUTES/VARIABLE_VALUE" -> "a/b/c".
inline std::string path_from_key(std::string_view key) {
  constexpr std::string_view suffix = "/.ATTRIBUTES/VARIABLE_VALUE";
  if (!key.ends_with(suffix)) return std::string(key);
  key.remove_suffix(suffix.size());
  std::string out;
  for (const auto part : detail::split_path(key)) {
    if (!out.empty()) out += '/';
    out += unescape_local_name(part);
  }
  return out;
}

}  // namespace ckpt::tf_checkpoint
