// SPDX-License-Identifier: Apache-2.0
// TF2 object graph: naming, breadth-first numbering, encoding, and binding keys back to paths.
// The fixtures' real graphs are checked in tests/interop/tf_fixtures_test.cpp.

#include <catch2/catch.hpp>

#include "ckpt/formats/tf_checkpoint/object_graph.hpp"

using namespace ckpt::tf_checkpoint;

TEST_CASE("local names are escaped as TF escapes them") {
  CHECK(escape_local_name("kernel") == "kernel");
  CHECK(escape_local_name("a.b") == "a..b");
  CHECK(escape_local_name("a/b") == "a.Sb");
  CHECK(escape_local_name("./") == "...S");
  for (const std::string name : {"x", "a.b", "a/b", "..", "./.S", ".S", "S."})
    CHECK(unescape_local_name(escape_local_name(name)) == name);
  CHECK(checkpoint_key("child/z") == "child/z/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(checkpoint_key("var_dict/a.b") == "var_dict/a..b/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(path_from_key("child/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE") == "child/a.b/c");
  CHECK(path_from_key("conv2d/kernel/Adam") == "conv2d/kernel/Adam");
}

TEST_CASE("a struct tree becomes a breadth-first graph with children in declaration order") {
  // The eos fixture's shape: net/{layer_with_weights-0/{kernel,bias}}, step, save_counter.
  const std::vector<std::string> paths = {"net/dense/kernel", "net/dense/bias", "step",
                                          "net/out/kernel", "save_counter"};
  const auto built = build_object_graph(paths);
  const auto& nodes = built.graph.nodes;
  // Root: net (1), step (2), save_counter (3); net's children dense (4), out (5); dense's kernel
  // (6) and bias (7); out's kernel (8).
  REQUIRE(nodes.size() == 9);
  REQUIRE(nodes[0].children.size() == 3);
  CHECK(nodes[0].children[0].local_name == "net");
  CHECK(nodes[0].children[0].node_id == 1);
  CHECK(nodes[0].children[1].local_name == "step");
  CHECK(nodes[0].children[1].node_id == 2);
  CHECK(nodes[0].children[2].local_name == "save_counter");
  CHECK(nodes[0].children[2].node_id == 3);
  REQUIRE(nodes[1].children.size() == 2);
  CHECK(nodes[1].children[0].local_name == "dense");
  CHECK(nodes[1].children[0].node_id == 4);
  CHECK(nodes[1].children[1].node_id == 5);
  CHECK(nodes[4].children[0].local_name == "kernel");
  CHECK(nodes[4].children[0].node_id == 6);
  CHECK(nodes[4].children[1].node_id == 7);
  CHECK(nodes[5].children[0].node_id == 8);
  CHECK(nodes[1].attributes.empty());
  for (const auto& node : nodes) CHECK(node.has_checkpoint_values == true);
  REQUIRE(nodes[2].attributes.size() == 1);
  CHECK(nodes[2].attributes[0].name == "VARIABLE_VALUE");
  CHECK(nodes[2].attributes[0].checkpoint_key == "step/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(built.keys[0] == "net/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  // Data in node order, as TF writes it: step, save_counter, then the layer variables.
  CHECK(built.data_order == std::vector<std::size_t>{2, 4, 0, 1, 3});
}

TEST_CASE("a path cannot be both a variable and an object with children") {
  CHECK_THROWS_MATCHES(build_object_graph({"a", "a/b"}), ckpt::error,
                       Catch::Predicate<ckpt::error>([](const ckpt::error& e) {
                         return e.code() == ckpt::errc::unsupported;
                       }));
  CHECK_THROWS_AS(build_object_graph({"a/b", "a"}), ckpt::error);
  CHECK_THROWS_AS(build_object_graph({"a", "a"}), ckpt::error);
  CHECK_THROWS_AS(build_object_graph({"a//b"}), ckpt::error);
}

TEST_CASE("the graph encodes and decodes every field") {
  object_graph g;
  g.nodes.resize(4);
  g.nodes[0].children = {{1, "net"}, {2, "optimizer"}, {1, "alias"}};
  g.nodes[0].has_checkpoint_values = true;
  g.nodes[1].attributes = {{"VARIABLE_VALUE", "dense/kernel", "net/.ATTRIBUTES/VARIABLE_VALUE"}};
  g.nodes[2].slot_variables = {{1, "m", 3}};
  g.nodes[2].has_checkpoint_values = false;
  g.nodes[3].attributes = {
      {"VARIABLE_VALUE", "", "net/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE"}};
  g.nodes[3].registered_saver = std::string("\x0a\x01s", 3);
  const std::string bytes = encode(g);
  const object_graph back = decode_object_graph(bytes);
  REQUIRE(back.nodes.size() == 4);
  CHECK(back.nodes[0].children.size() == 3);
  CHECK(back.nodes[0].children[2].local_name == "alias");
  CHECK(back.nodes[0].children[2].node_id == 1);
  CHECK(back.nodes[0].has_checkpoint_values == true);
  CHECK(back.nodes[1].attributes[0].full_name == "dense/kernel");
  CHECK(back.nodes[2].slot_variables[0].slot_variable_node_id == 3);
  CHECK(back.nodes[2].has_checkpoint_values == false);
  CHECK(!back.nodes[1].has_checkpoint_values);
  CHECK(back.nodes[3].registered_saver == g.nodes[3].registered_saver);
  CHECK(encode(back) == bytes);

  // Every cut of the encoding is either a valid prefix or a bad_format error, never a crash.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    try {
      decode_object_graph(std::string_view(bytes).substr(0, n));
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::bad_format);
    }
  }
}

TEST_CASE("binding follows the shortest path, survives cycles and names optimizer slots") {
  object_graph g;
  g.nodes.resize(6);
  // root -> net(1) -> kernel(3); root -> optimizer(2); net -> parent (cycle back to root);
  // root -> trainable_variables(4) -> 0 (= kernel again, longer path); slot m of kernel is node 5.
  g.nodes[0].children = {{1, "net"}, {2, "optimizer"}, {4, "trainable_variables"}};
  g.nodes[1].children = {{3, "kernel"}, {0, "parent"}};
  g.nodes[4].children = {{3, "0"}};
  g.nodes[3].attributes = {{"VARIABLE_VALUE", "k", "net/kernel/.ATTRIBUTES/VARIABLE_VALUE"}};
  g.nodes[2].slot_variables = {{3, "m", 5}};
  g.nodes[5].attributes = {
      {"VARIABLE_VALUE", "", "net/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE"}};
  g.nodes[1].attributes = {{"OBJECT_CONFIG_JSON", "", "net/.ATTRIBUTES/OBJECT_CONFIG_JSON"}};
  const auto bound = bind_object_graph(g);
  REQUIRE(bound.size() == 3);
  CHECK(bound[0].path == "net/OBJECT_CONFIG_JSON");
  CHECK(bound[1].path == "net/kernel");
  CHECK(bound[1].checkpoint_key == "net/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(bound[2].path == "net/kernel/.OPTIMIZER_SLOT/optimizer/m");

  g.nodes[4].children.push_back({6, "broken"});
  CHECK_THROWS_AS(bind_object_graph(g), ckpt::error);
  g.nodes[4].children.back().node_id = -1;
  CHECK_THROWS_AS(bind_object_graph(g), ckpt::error);
}

TEST_CASE("keys of a built graph bind back to the same paths") {
  const std::vector<std::string> paths = {"encoder/layers/0/kernel", "encoder/layers/0/bias",
                                          "encoder/norm.scale", "head/w", "step"};
  const auto built = build_object_graph(paths);
  const auto bound = bind_object_graph(built.graph);
  REQUIRE(bound.size() == paths.size());
  for (const auto& b : bound) {
    const auto it = std::find(paths.begin(), paths.end(), b.path);
    REQUIRE(it != paths.end());
    CHECK(built.keys[static_cast<std::size_t>(it - paths.begin())] == b.checkpoint_key);
    CHECK(path_from_key(b.checkpoint_key) == b.path);
  }
}
