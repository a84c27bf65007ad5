// SPDX-License-Identifier: Apache-2.0
// ckpt's own protobuf codec against Debian's protoc, on our own minimal declarations of the
// TensorFlow messages (tests/interop/protos/tf_checkpoint.proto): what the codec writes, protoc
// decodes to the same field values; what protoc encodes from text, the codec decodes, and the
// codec's canonical re-encoding is byte-identical to protoc's.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "../support/checkers.hpp"
#include "../support/files.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/codec/protobuf.hpp"
#include "ckpt/formats/tf_checkpoint/protos.hpp"

namespace fs = std::filesystem;
namespace tfc = ckpt::tf_checkpoint;
namespace pb = ckpt::protobuf;
using ckpt_test::slurp;

namespace {

// Runs `protoc --<mode>=tensorflow.<type>` with `input` on stdin; returns stdout.
std::string protoc(const std::string& mode, const std::string& type, const std::string& input) {
  static const ckpt_test::scratch_dir dir("ckpt-protoc");
  ckpt_test::spit(dir / "in", input);
  const std::string protos = CKPT_PROTOS_DIR;
  const std::string command = ckpt_test::protoc().command + " --proto_path='" + protos + "' --" +
                              mode + "=tensorflow." + type + " '" + protos +
                              "/tf_checkpoint.proto' < '" + (dir / "in").string() + "' > '" +
                              (dir / "out").string() + "' 2> '" + (dir / "err").string() + "'";
  const int rc = std::system(command.c_str());
  INFO(slurp(dir / "err"));
  REQUIRE(rc == 0);
  return slurp(dir / "out");
}

}  // namespace

TEST_CASE("bundle messages written by the codec decode in protoc", "[protobuf][interop]") {
  if (!ckpt_test::require(ckpt_test::protoc(), "decoding the codec's messages with protoc")) return;
  tfc::bundle_header_proto header;
  header.num_shards = 2;
  header.version.producer = 1;
  header.version.bad_consumers = {3, 4};
  CHECK(protoc("decode", "BundleHeaderProto", tfc::encode(header)) ==
        "num_shards: 2\nversion {\n  producer: 1\n  bad_consumers: 3\n  bad_consumers: 4\n}\n");

  tfc::bundle_entry_proto e;
  e.dtype = 1;
  e.shape.dims = {{2, {}}, {0, {}}, {3, "cols"}};
  e.shard_id = 1;
  e.offset = std::int64_t{1} << 40;
  e.size = 24;
  e.crc32c = 0x4f78fd10u;
  e.slices = {{{{0, 2}, {}}}};
  CHECK(
      protoc("decode", "BundleEntryProto", tfc::encode(e)) ==
      "dtype: DT_FLOAT\n"
      "shape {\n  dim {\n    size: 2\n  }\n  dim {\n  }\n  dim {\n    size: 3\n    name: \"cols\"\n"
      "  }\n}\n"
      "shard_id: 1\noffset: 1099511627776\nsize: 24\ncrc32c: " +
          std::to_string(0x4f78fd10u) +
          "\nslices {\n  extent {\n    length: 2\n  }\n  extent {\n  }\n}\n");

  // A scalar: the empty shape is still written, as TF does.
  tfc::bundle_entry_proto scalar;
  scalar.dtype = 1;
  scalar.offset = 4;
  scalar.size = 4;
  scalar.crc32c = 0x4f78fd10u;
  CHECK(tfc::encode(scalar) ==
        std::string("\x08\x01\x12\x00\x20\x04\x28\x04\x35\x10\xfd\x78\x4f", 13));
  CHECK(protoc("decode", "BundleEntryProto", tfc::encode(scalar)).find("shape {\n}\n") !=
        std::string::npos);
}

TEST_CASE("bundle messages protoc encodes decode in the codec, and re-encode to the same bytes",
          "[protobuf][interop]") {
  if (!ckpt_test::require(ckpt_test::protoc(), "comparing the codec's messages with protoc"))
    return;
  const std::string entry_bytes =
      protoc("encode", "BundleEntryProto",
             "dtype: DT_INT64 shape { dim { size: -1 } dim { size: 7 name: \"n\" } unknown_rank: "
             "true } shard_id: 3 offset: 123456789012 size: 56 crc32c: 4294967295 "
             "slices { extent { start: 5 length: 0 } extent { } }");
  const auto e = tfc::decode_entry(entry_bytes);
  CHECK(e.dtype == 9);
  REQUIRE(e.shape.dims.size() == 2);
  CHECK(e.shape.dims[0].size == -1);
  CHECK(e.shape.dims[1].size == 7);
  CHECK(e.shape.dims[1].name == "n");
  CHECK(e.shape.unknown_rank);
  CHECK(e.shard_id == 3);
  CHECK(e.offset == 123456789012);
  CHECK(e.size == 56);
  CHECK(e.crc32c == 4294967295u);
  REQUIRE(e.slices.size() == 1);
  REQUIRE(e.slices[0].extents.size() == 2);
  CHECK(e.slices[0].extents[0].start == 5);
  CHECK(e.slices[0].extents[0].length == 0);  // a oneof set to zero is present
  CHECK_FALSE(e.slices[0].extents[1].length.has_value());
  CHECK(tfc::encode(e) == entry_bytes);

  const std::string header_bytes =
      protoc("encode", "BundleHeaderProto",
             "num_shards: 1 endianness: BIG version { producer: 1 min_consumer: -2 "
             "bad_consumers: [1, 300] }");
  const auto h = tfc::decode_header(header_bytes);
  CHECK(h.num_shards == 1);
  CHECK(h.endianness == 1);
  CHECK(h.version.producer == 1);
  CHECK(h.version.min_consumer == -2);
  CHECK(h.version.bad_consumers == std::vector<std::int32_t>{1, 300});
  CHECK(tfc::encode(h) == header_bytes);
}

TEST_CASE("object graph and checkpoint state through the wire codec and protoc",
          "[protobuf][interop]") {
  if (!ckpt_test::require(ckpt_test::protoc(), "comparing the codec's messages with protoc"))
    return;
  // node 0 {children {node_id: 1 local_name: "v"}} node 1 {attributes {...}}, then a slot.
  pb::writer child;
  child.write_int32_field(1, 1);
  child.write_bytes_field(2, std::string("v"));
  pb::writer slot;
  slot.write_int32_field(1, 1);
  slot.write_bytes_field(2, std::string("m"));
  slot.write_int32_field(3, 2);
  pb::writer root;
  root.write_message_field(1, child.str());
  root.write_message_field(3, slot.str());
  pb::writer attribute;
  attribute.write_bytes_field(1, std::string("VARIABLE_VALUE"));
  attribute.write_bytes_field(2, std::string("v"));
  attribute.write_bytes_field(3, std::string("v/.ATTRIBUTES/VARIABLE_VALUE"));
  pb::writer variable;
  variable.write_message_field(2, attribute.str());
  pb::writer graph;
  graph.write_message_field(1, root.str());
  graph.write_message_field(1, variable.str());
  CHECK(protoc("decode", "TrackableObjectGraph", graph.str()) ==
        "nodes {\n  children {\n    node_id: 1\n    local_name: \"v\"\n  }\n"
        "  slot_variables {\n    original_variable_node_id: 1\n    slot_name: \"m\"\n"
        "    slot_variable_node_id: 2\n  }\n}\n"
        "nodes {\n  attributes {\n    name: \"VARIABLE_VALUE\"\n    full_name: \"v\"\n"
        "    checkpoint_key: \"v/.ATTRIBUTES/VARIABLE_VALUE\"\n  }\n}\n");
  // protoc's encoding of the same text is the codec's.
  CHECK(protoc("encode", "TrackableObjectGraph",
               protoc("decode", "TrackableObjectGraph", graph.str())) == graph.str());

  const std::string state = protoc(
      "encode", "CheckpointState",
      "model_checkpoint_path: \"ckpt-5\" all_model_checkpoint_paths: \"ckpt-4\" "
      "all_model_checkpoint_paths: \"ckpt-5\" all_model_checkpoint_timestamps: 1619766278.4836671 "
      "all_model_checkpoint_timestamps: 1619766279.25 last_preserved_timestamp: 1619766270.5");
  pb::reader r{state};
  std::string path;
  std::vector<std::string> paths;
  std::vector<double> stamps;
  double preserved = 0;
  while (r.next()) {
    switch (r.field()) {
      case 1:
        path = r.read_string();
        break;
      case 2:
        paths.emplace_back(r.read_string());
        break;
      case 3:
        // proto3 packs repeated doubles: one length-delimited run of fixed64 values.
        if (r.type() == pb::wire_type::length_delimited) {
          auto packed = r.read_bytes();
          REQUIRE(packed.size() % 8 == 0);
          for (std::size_t i = 0; i < packed.size(); i += 8) {
            std::uint64_t bits = 0;
            for (int k = 7; k >= 0; --k)
              bits = (bits << 8) | std::to_integer<std::uint64_t>(packed[i + k]);
            double d;
            std::memcpy(&d, &bits, 8);
            stamps.push_back(d);
          }
        } else {
          stamps.push_back(r.read_double());
        }
        break;
      case 4:
        preserved = r.read_double();
        break;
      default:
        r.skip();
    }
  }
  CHECK(path == "ckpt-5");
  CHECK(paths == std::vector<std::string>{"ckpt-4", "ckpt-5"});
  CHECK(stamps == std::vector<double>{1619766278.4836671, 1619766279.25});
  CHECK(preserved == 1619766270.5);

  pb::writer w;
  w.write_bytes_field(1, std::string("ckpt-5"));
  w.write_double_field(4, 1619766270.5);
  CHECK(protoc("decode", "CheckpointState", w.str()) ==
        "model_checkpoint_path: \"ckpt-5\"\nlast_preserved_timestamp: 1619766270.5\n");
}
