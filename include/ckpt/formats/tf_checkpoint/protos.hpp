// SPDX-License-Identifier: Apache-2.0
#pragma once
// The protobuf messages of a TensorBundle `.index`: BundleHeaderProto (key ""), BundleEntryProto
// (every other key) and the messages inside them (TensorShapeProto, TensorSliceProto, VersionDef).
//
//   bundle_entry_proto e = decode_entry(value_bytes, file, value_offset);
//   std::string bytes = encode(e);
//
// decode_* read every field of TF's declarations (field numbers in specs/tf_checkpoint.md §3),
// skip unknown ones, and raise bad_format (with the absolute offset) on malformed wire data; they
// do not judge the values (a negative dim or an unknown dtype is the bundle reader's business).
// encode() writes TF's canonical proto3 bytes: fields in number order, scalars at their default
// left out, and the embedded messages that TF always sets (entry `shape`, header `version`) written
// even when empty, which is what makes re-written `.index` files byte-identical to TF's.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/codec/protobuf.hpp"

namespace ckpt::tf_checkpoint {

struct tensor_shape_proto {
  struct dim {
    std::int64_t size = 0;  // -1: unknown, which a stored tensor never has
    std::string name;
    bool operator==(const dim&) const = default;
  };
  std::vector<dim> dims;
  bool unknown_rank = false;
  bool operator==(const tensor_shape_proto&) const = default;
};

struct tensor_slice_proto {
  struct extent {
    std::int64_t start = 0;
    std::optional<std::int64_t> length;  // absent: the whole dimension
    bool operator==(const extent&) const = default;
  };
  std::vector<extent> extents;
  bool operator==(const tensor_slice_proto&) const = default;
};

struct version_def {
  std::int32_t producer = 0;
  std::int32_t min_consumer = 0;
  std::vector<std::int32_t> bad_consumers;
  bool operator==(const version_def&) const = default;
};

enum class endianness : std::int32_t { little = 0, big = 1 };

struct bundle_header_proto {
  std::int32_t num_shards = 0;
  std::int32_t endianness = 0;  // raw enum value; see tf_checkpoint::endianness
  bool has_version = true;
  version_def version;
  bool operator==(const bundle_header_proto&) const = default;
};

struct bundle_entry_proto {
  std::int32_t dtype = 0;  // TF DataType number, equal to ckpt::dtype's
  bool has_shape = true;
  tensor_shape_proto shape;
  std::int32_t shard_id = 0;
  std::int64_t offset = 0;
  std::int64_t size = 0;
  std::uint32_t crc32c = 0;  // masked CRC32C of the stored bytes
  std::vector<tensor_slice_proto> slices;
  bool operator==(const bundle_entry_proto&) const = default;
};

// What TF's BundleWriter puts in the header: kTensorBundleVersion 1, min consumer 0.
inline constexpr std::int32_t bundle_version = 1;
inline constexpr std::int32_t bundle_min_consumer = 0;

// ---------------------------------------------------------------------------------------- encode

inline std::string encode(const tensor_shape_proto& s) {
  protobuf::writer w;
  for (const auto& d : s.dims) {
    protobuf::writer dim;
    if (d.size != 0) dim.write_int64_field(1, d.size);
    if (!d.name.empty()) dim.write_bytes_field(2, d.name);
    w.write_message_field(2, dim.str());
  }
  if (s.unknown_rank) w.write_bool_field(3, true);
  return std::move(w).str();
}

inline std::string encode(const tensor_slice_proto& s) {
  protobuf::writer w;
  for (const auto& e : s.extents) {
    protobuf::writer ext;
    if (e.start != 0) ext.write_int64_field(1, e.start);
    // A oneof member is written whenever it is set, zero included.
    if (e.length) ext.write_int64_field(2, *e.length);
    w.write_message_field(1, ext.str());
  }
  return std::move(w).str();
}

inline std::string encode(const version_def& v) {
  protobuf::writer w;
  if (v.producer != 0) w.write_int32_field(1, v.producer);
  if (v.min_consumer != 0) w.write_int32_field(2, v.min_consumer);
  w.write_packed_varint_field(3, v.bad_consumers);
  return std::move(w).str();
}

inline std::string encode(const bundle_header_proto& h) {
  protobuf::writer w;
  if (h.num_shards != 0) w.write_int32_field(1, h.num_shards);
  if (h.endianness != 0) w.write_int32_field(2, h.endianness);
  if (h.has_version) w.write_message_field(3, encode(h.version));
  return std::move(w).str();
}

inline std::string encode(const bundle_entry_proto& e) {
  protobuf::writer w;
  if (e.dtype != 0) w.write_int32_field(1, e.dtype);
  if (e.has_shape) w.write_message_field(2, encode(e.shape));
  if (e.shard_id != 0) w.write_int32_field(3, e.shard_id);
  if (e.offset != 0) w.write_int64_field(4, e.offset);
  if (e.size != 0) w.write_int64_field(5, e.size);
  if (e.crc32c != 0) w.write_fixed32_field(6, e.crc32c);
  for (const auto& s : e.slices) w.write_message_field(7, encode(s));
  return std::move(w).str();
}

// ---------------------------------------------------------------------------------------- decode

inline tensor_shape_proto decode_shape(protobuf::reader r) {
  tensor_shape_proto s;
  while (r.next()) {
    if (r.field() == 2) {
      auto dr = r.read_message();
      tensor_shape_proto::dim d;
      while (dr.next()) {
        if (dr.field() == 1)
          d.size = dr.read_int64();
        else if (dr.field() == 2)
          d.name = std::string(dr.read_string());
        else
          dr.skip();
      }
      s.dims.push_back(std::move(d));
    } else if (r.field() == 3) {
      s.unknown_rank = r.read_bool();
    } else {
      r.skip();
    }
  }
  return s;
}

inline tensor_slice_proto decode_slice(protobuf::reader r) {
  tensor_slice_proto s;
  while (r.next()) {
    if (r.field() == 1) {
      auto er = r.read_message();
      tensor_slice_proto::extent e;
      while (er.next()) {
        if (er.field() == 1)
          e.start = er.read_int64();
        else if (er.field() == 2)
          e.length = er.read_int64();
        else
          er.skip();
      }
      s.extents.push_back(e);
    } else {
      r.skip();
    }
  }
  return s;
}

inline version_def decode_version(protobuf::reader r) {
  version_def v;
  while (r.next()) {
    switch (r.field()) {
      case 1:
        v.producer = r.read_int32();
        break;
      case 2:
        v.min_consumer = r.read_int32();
        break;
      case 3:
        r.read_repeated_varint([&](std::uint64_t x) {
          v.bad_consumers.push_back(static_cast<std::int32_t>(static_cast<std::uint32_t>(x)));
        });
        break;
      default:
        r.skip();
    }
  }
  return v;
}

inline bundle_header_proto decode_header(std::string_view bytes, const std::string& file = {},
                                         std::uint64_t offset = 0) {
  protobuf::reader r{bytes, file, offset};
  bundle_header_proto h;
  h.has_version = false;
  while (r.next()) {
    switch (r.field()) {
      case 1:
        h.num_shards = r.read_int32();
        break;
      case 2:
        h.endianness = r.read_int32();
        break;
      case 3:
        // Repeated occurrences of a message field merge; only the last one matters for the
        // scalars TF reads, but bad_consumers accumulate as protobuf does.
        {
          auto v = decode_version(r.read_message());
          h.version.producer = v.producer != 0 ? v.producer : h.version.producer;
          h.version.min_consumer = v.min_consumer != 0 ? v.min_consumer : h.version.min_consumer;
          h.version.bad_consumers.insert(h.version.bad_consumers.end(), v.bad_consumers.begin(),
                                         v.bad_consumers.end());
          h.has_version = true;
        }
        break;
      default:
        r.skip();
    }
  }
  return h;
}

inline bundle_entry_proto decode_entry(std::string_view bytes, const std::string& file = {},
                                       std::uint64_t offset = 0) {
  protobuf::reader r{bytes, file, offset};
  bundle_entry_proto e;
  e.has_shape = false;
  while (r.next()) {
    switch (r.field()) {
      case 1:
        e.dtype = r.read_int32();
        break;
      case 2: {
        // A repeated embedded message merges into the first: dims append.
        auto s = decode_shape(r.read_message());
        e.shape.dims.insert(e.shape.dims.end(), s.dims.begin(), s.dims.end());
        e.shape.unknown_rank = e.shape.unknown_rank || s.unknown_rank;
        e.has_shape = true;
        break;
      }
      case 3:
        e.shard_id = r.read_int32();
        break;
      case 4:
        e.offset = r.read_int64();
        break;
      case 5:
        e.size = r.read_int64();
        break;
      case 6:
        e.crc32c = r.read_fixed32();
        break;
      case 7:
        e.slices.push_back(decode_slice(r.read_message()));
        break;
      default:
        r.skip();
    }
  }
  return e;
}

}  // namespace ckpt::tf_checkpoint
