// SPDX-License-Identifier: Apache-2.0
#pragma once
// A small protobuf wire-format codec: enough for the handful of TensorFlow messages ckpt reads and
// writes (bundle header and entries, tensor shapes and slices, the object graph, the checkpoint
// state), with no generated code and no dependency on libprotobuf.
//
//   protobuf::reader r{bytes, "file.index"};      // bounded to `bytes`, never reads outside
//   while (r.next()) {                            // false at the end of the span
//     switch (r.field()) {
//       case 1: n = r.read_int32(); break;        // checks the wire type of the field
//       case 2: { auto sub = r.read_message(); ... } break;
//       default: r.skip();                         // unknown fields are skipped, as protobuf does
//     }
//   }
//   protobuf::writer w;                           // appends to a std::string
//   w.write_varint_field(1, 7); w.write_bytes_field(2, "abc"); w.str();
//
// Malformed input (truncated varint or field, a varint longer than 10 bytes, field number 0, an
// unknown wire type, a length running past the end, a field read with the wrong wire type) raises
// ckpt::error bad_format with the absolute byte offset of the problem and the file name if given.
// Readers of nested messages carry the absolute offset of their first byte so offsets stay exact.
// A reader does not own its bytes: they must outlive it (and every nested reader).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "ckpt/core/error.hpp"

namespace ckpt::protobuf {

enum class wire_type : std::uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  start_group = 3,
  end_group = 4,
  fixed32 = 5,
};

// Largest field number the wire format allows (29 bits).
inline constexpr std::uint32_t max_field_number = (1u << 29) - 1;

// Deprecated groups may appear as unknown fields; nesting deeper than this is refused rather than
// followed, so a hostile input cannot drive the skipper's recursion.
inline constexpr int max_group_depth = 64;

class reader {
 public:
  reader() = default;
  explicit reader(std::span<const std::byte> bytes, std::string file = {},
                  std::uint64_t base_offset = 0)
      : data_(bytes), file_(std::move(file)), base_(base_offset) {}
  reader(std::string_view bytes, std::string file = {}, std::uint64_t base_offset = 0)
      : reader(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), std::move(file),
               base_offset) {}

  // Reads the next tag. False at the end of the input; a tag cut short is an error.
  bool next() {
    if (pos_ == data_.size()) return false;
    const std::size_t tag_pos = pos_;
    const std::uint64_t tag = read_raw_varint();
    const auto type = static_cast<std::uint8_t>(tag & 7u);
    const std::uint64_t number = tag >> 3;
    if (number == 0 || number > max_field_number)
      fail("invalid field number " + std::to_string(number), tag_pos);
    if (type > 5) fail("invalid wire type " + std::to_string(type), tag_pos);
    field_ = static_cast<std::uint32_t>(number);
    type_ = static_cast<wire_type>(type);
    tag_pos_ = tag_pos;
    return true;
  }

  std::uint32_t field() const noexcept { return field_; }
  wire_type type() const noexcept { return type_; }
  // Absolute offset of the current field's tag, and of the next unread byte.
  std::uint64_t tag_offset() const noexcept { return base_ + tag_pos_; }
  std::uint64_t offset() const noexcept { return base_ + pos_; }
  bool at_end() const noexcept { return pos_ == data_.size(); }
  const std::string& file() const noexcept { return file_; }

  // Scalar readers; each checks that the current field has the wire type it needs.
  std::uint64_t read_uint64() {
    expect(wire_type::varint);
    return read_raw_varint();
  }
  // int32 and int64 values travel as two's complement in a 64-bit varint; like protobuf, an int32
  // keeps the low 32 bits.
  std::int64_t read_int64() { return static_cast<std::int64_t>(read_uint64()); }
  std::int32_t read_int32() {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(read_uint64()));
  }
  std::uint32_t read_uint32() { return static_cast<std::uint32_t>(read_uint64()); }
  bool read_bool() { return read_uint64() != 0; }
  std::uint32_t read_fixed32() {
    expect(wire_type::fixed32);
    const auto b = take(4);
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint32_t>(b[i]);
    return v;
  }
  std::uint64_t read_fixed64() {
    expect(wire_type::fixed64);
    const auto b = take(8);
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(b[i]);
    return v;
  }
  double read_double() {
    const std::uint64_t bits = read_fixed64();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  std::span<const std::byte> read_bytes() {
    expect(wire_type::length_delimited);
    return take_length_delimited();
  }
  std::string_view read_string() {
    const auto b = read_bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  // A reader over an embedded message, carrying its absolute offset.
  reader read_message() {
    expect(wire_type::length_delimited);
    const auto b = take_length_delimited();
    return reader(b, file_, offset() - b.size());
  }

  // A repeated scalar field arrives either packed (one length-delimited run of varints, the proto3
  // default) or as one field per value; `fn(uint64)` is called for each value in both cases.
  template <class Fn>
  void read_repeated_varint(Fn&& fn) {
    if (type_ == wire_type::length_delimited) {
      reader packed = read_message();
      while (!packed.at_end()) fn(packed.read_raw_varint());
    } else {
      fn(read_uint64());
    }
  }

  // Skips the current field's value, whatever its type.
  void skip() { skip_value(type_, field_, 0); }

  // Raises bad_format at an absolute offset (default: the current field's tag).
  [[noreturn]] void fail(const std::string& what) const { fail_abs(what, base_ + tag_pos_); }

 private:
  [[noreturn]] void fail(const std::string& what, std::size_t pos) const {
    fail_abs(what, base_ + pos);
  }
  [[noreturn]] void fail_abs(const std::string& what, std::uint64_t abs) const {
    throw error(errc::bad_format, "protobuf: " + what, file_, {}, abs);
  }

  void expect(wire_type want) const {
    if (type_ != want)
      fail("field " + std::to_string(field_) + " has wire type " +
           std::to_string(static_cast<int>(type_)) + ", expected " +
           std::to_string(static_cast<int>(want)));
  }

  std::uint64_t read_raw_varint() {
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos_ == data_.size()) fail("truncated varint", start);
      const auto byte = std::to_integer<std::uint8_t>(data_[pos_++]);
      // The tenth byte can carry only the 64th bit.
      if (i == 9 && byte > 1) fail("varint overflows 64 bits", start);
      value |= std::uint64_t{byte & 0x7Fu} << (7 * i);
      if ((byte & 0x80u) == 0) return value;
    }
    fail("varint longer than 10 bytes", start);
  }

  std::span<const std::byte> take(std::size_t n) {
    if (n > data_.size() - pos_)
      fail("field " + std::to_string(field_) + " needs " + std::to_string(n) + " bytes, " +
               std::to_string(data_.size() - pos_) + " left",
           pos_);
    const auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  std::span<const std::byte> take_length_delimited() {
    const std::size_t len_pos = pos_;
    const std::uint64_t len = read_raw_varint();
    if (len > data_.size() - pos_)
      fail("length " + std::to_string(len) + " of field " + std::to_string(field_) +
               " runs past the end (" + std::to_string(data_.size() - pos_) + " bytes left)",
           len_pos);
    return take(static_cast<std::size_t>(len));
  }

  void skip_value(wire_type type, std::uint32_t number, int depth) {
    switch (type) {
      case wire_type::varint:
        read_raw_varint();
        return;
      case wire_type::fixed64:
        take(8);
        return;
      case wire_type::fixed32:
        take(4);
        return;
      case wire_type::length_delimited:
        take_length_delimited();
        return;
      case wire_type::start_group: {
        if (depth >= max_group_depth) fail("groups nested too deeply", pos_);
        for (;;) {
          if (pos_ == data_.size()) fail("unterminated group " + std::to_string(number), pos_);
          if (!next()) fail("unterminated group", pos_);
          if (type_ == wire_type::end_group) {
            if (field_ != number) fail("group end does not match its start");
            return;
          }
          skip_value(type_, field_, depth + 1);
        }
      }
      case wire_type::end_group:
        fail("group end without a start");
    }
  }

  std::span<const std::byte> data_;
  std::string file_;
  std::uint64_t base_ = 0;
  std::size_t pos_ = 0;
  std::size_t tag_pos_ = 0;
  std::uint32_t field_ = 0;
  wire_type type_ = wire_type::varint;
};

// Decodes one unsigned LEB128 varint at `pos`, advancing it. False (pos unchanged) if the bytes
// end first, or the varint is longer than 10 bytes or overflows 64 bits. For formats that embed
// raw varints outside protobuf messages (LevelDB blocks, TensorBundle string lengths).
inline bool parse_varint(std::span<const std::byte> in, std::size_t& pos, std::uint64_t& value) {
  std::uint64_t v = 0;
  std::size_t p = pos;
  for (int i = 0; i < 10; ++i) {
    if (p >= in.size()) return false;
    const auto byte = std::to_integer<std::uint8_t>(in[p++]);
    if (i == 9 && byte > 1) return false;
    v |= std::uint64_t{byte & 0x7Fu} << (7 * i);
    if ((byte & 0x80u) == 0) {
      value = v;
      pos = p;
      return true;
    }
  }
  return false;
}

// Appends to `out` the unsigned LEB128 form of `v` (1 to 10 bytes).
inline void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80u) {
    out.push_back(static_cast<char>((v & 0x7Fu) | 0x80u));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80u) v >>= 7, ++n;
  return n;
}

inline void append_fixed32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

inline void append_fixed64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

// Field writers append in call order; canonical encoding (fields in number order, proto3 defaults
// left out) is the caller's job, since only the caller knows the message's defaults.
class writer {
 public:
  writer() = default;
  explicit writer(std::string initial) : out_(std::move(initial)) {}

  void write_tag(std::uint32_t field, wire_type type) {
    append_varint(out_, (std::uint64_t{field} << 3) | static_cast<std::uint8_t>(type));
  }
  void write_varint_field(std::uint32_t field, std::uint64_t v) {
    write_tag(field, wire_type::varint);
    append_varint(out_, v);
  }
  // Negative int32/int64 values take ten bytes, sign-extended to 64 bits, as protobuf writes them.
  void write_int64_field(std::uint32_t field, std::int64_t v) {
    write_varint_field(field, static_cast<std::uint64_t>(v));
  }
  void write_int32_field(std::uint32_t field, std::int32_t v) {
    write_varint_field(field, static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
  }
  void write_bool_field(std::uint32_t field, bool v) { write_varint_field(field, v ? 1 : 0); }
  void write_fixed32_field(std::uint32_t field, std::uint32_t v) {
    write_tag(field, wire_type::fixed32);
    append_fixed32(out_, v);
  }
  void write_fixed64_field(std::uint32_t field, std::uint64_t v) {
    write_tag(field, wire_type::fixed64);
    append_fixed64(out_, v);
  }
  void write_double_field(std::uint32_t field, double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    write_fixed64_field(field, bits);
  }
  void write_bytes_field(std::uint32_t field, std::string_view bytes) {
    write_tag(field, wire_type::length_delimited);
    append_varint(out_, bytes.size());
    out_.append(bytes);
  }
  void write_bytes_field(std::uint32_t field, std::span<const std::byte> bytes) {
    write_bytes_field(field,
                      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  // An embedded message already encoded (e.g. by another writer's str()).
  void write_message_field(std::uint32_t field, std::string_view encoded) {
    write_bytes_field(field, encoded);
  }
  // Packed repeated varints (proto3's default for repeated scalars); nothing is written if empty.
  template <class Range>
  void write_packed_varint_field(std::uint32_t field, const Range& values) {
    std::string packed;
    for (const auto v : values)
      append_varint(packed, static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
    if (!packed.empty()) write_bytes_field(field, packed);
  }

  const std::string& str() const& noexcept { return out_; }
  std::string str() && noexcept { return std::move(out_); }
  std::size_t size() const noexcept { return out_.size(); }

 private:
  std::string out_;
};

}  // namespace ckpt::protobuf
