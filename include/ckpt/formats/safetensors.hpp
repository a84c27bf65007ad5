// SPDX-License-Identifier: Apache-2.0
#pragma once
// safetensors, Hugging Face's tensor file: an 8-byte little-endian header size N, N bytes of UTF-8
// JSON naming each tensor's dtype, shape and byte range, then the tensors' bytes back to back.
// Canonical paths map to dotted names ("blocks/0/attn/kernel" <-> "blocks.0.attn.kernel").
// formats/safetensors/README.md gives the byte layout we follow, the dtype table, and every check
// the reader makes with the error code it raises.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ckpt/codec/json_string.hpp"
#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/basic_reader.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/registry.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/mapped_file.hpp"

namespace ckpt::safetensors {

// The reference implementation refuses to write or read a larger header.
inline constexpr std::uint64_t reference_max_header_bytes = 100'000'000;

namespace detail {

struct dtype_row {
  std::string_view name;
  ckpt::dtype type;  // dtype::invalid: in the safetensors spec, but ckpt has no such dtype
};

// In the order the reference declares them, which is increasing alignment. Its writer lays tensors
// out by descending position in this list, so every tensor starts aligned to its element size.
inline constexpr dtype_row dtype_table[] = {
    {"BOOL", dtype::bool_},
    {"F4", dtype::invalid},
    {"F6_E2M3", dtype::invalid},
    {"F6_E3M2", dtype::invalid},
    {"U8", dtype::uint8},
    {"I8", dtype::int8},
    {"F8_E5M2", dtype::float8_e5m2},
    {"F8_E4M3", dtype::float8_e4m3fn},
    {"F8_E8M0", dtype::invalid},
    {"F8_E4M3FNUZ", dtype::float8_e4m3fnuz},
    {"F8_E5M2FNUZ", dtype::float8_e5m2fnuz},
    {"I16", dtype::int16},
    {"U16", dtype::uint16},
    {"F16", dtype::float16},
    {"BF16", dtype::bfloat16},
    {"I32", dtype::int32},
    {"U32", dtype::uint32},
    {"F32", dtype::float32},
    {"C64", dtype::complex64},
    {"F64", dtype::float64},
    {"I64", dtype::int64},
    {"U64", dtype::uint64},
};

inline const dtype_row* row_named(std::string_view name) noexcept {
  for (const auto& row : dtype_table)
    if (row.name == name) return &row;
  return nullptr;
}

inline const dtype_row* row_of(ckpt::dtype type) noexcept {
  if (type == dtype::invalid) return nullptr;
  for (const auto& row : dtype_table)
    if (row.type == type) return &row;
  return nullptr;
}

inline std::size_t layout_rank(ckpt::dtype type) noexcept {
  return static_cast<std::size_t>(row_of(type) - dtype_table);
}

// complex64 is two floats, so its storage needs only 4-byte alignment.
inline std::size_t alignment_of(ckpt::dtype type) noexcept {
  return type == dtype::complex64 ? 4 : element_size(type);
}

inline std::uint64_t load_le64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

// Names in messages: a hostile file's megabyte-long key should not become a megabyte-long what().
inline std::string shortened(std::string_view s, std::size_t limit = 200) {
  if (s.size() <= limit) return std::string(s);
  return std::string(s.substr(0, limit)) + "... (" + std::to_string(s.size()) + " bytes)";
}

// Bytes of a broken header quoted in a message, with anything unprintable as \xNN.
inline std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, std::min<std::size_t>(s.size(), 200))) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

inline void append_number(std::string& out, std::uint64_t v) {
  char digits[20];
  const auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
  out.append(digits, end);
}

}  // namespace detail

// The stored name of a canonical path. A component with a '.' would come back split in two, so it
// is refused rather than silently renamed.
inline std::string name_of_path(std::string_view path) {
  if (const auto dot = path.find('.'); dot != std::string_view::npos) {
    const auto slash_before = path.rfind('/', dot);
    const auto begin = slash_before == std::string_view::npos ? 0 : slash_before + 1;
    const auto component = path.substr(begin, path.find('/', dot) - begin);
    throw error(errc::unsupported,
                "path component '" + std::string(component) +
                    "' contains '.', which safetensors uses to separate components; rename it",
                {}, std::string(path));
  }
  std::string name(path);
  std::replace(name.begin(), name.end(), '/', '.');
  if (name == "__metadata__")
    throw error(errc::unsupported, "'__metadata__' is reserved for the file's metadata", {},
                std::string(path));
  return name;
}

// The canonical path of a stored name. Names with '/' keep it, so "a/b" and "a.b" both map to
// "a/b"; a strict ckpt::load then reports the second one as unexpected.
inline std::string path_of_name(std::string_view name) {
  std::string path(name);
  std::replace(path.begin(), path.end(), '.', '/');
  return path;
}

inline std::optional<std::string_view> dtype_name(ckpt::dtype type) noexcept {
  if (const auto* row = detail::row_of(type)) return row->name;
  return std::nullopt;
}

inline std::optional<ckpt::dtype> dtype_from_name(std::string_view name) noexcept {
  const auto* row = detail::row_named(name);
  if (row && row->type != dtype::invalid) return row->type;
  return std::nullopt;
}

namespace detail {

struct parsed_entry {
  std::string name;
  ckpt::dtype type = dtype::invalid;
  ckpt::shape dims;
  std::uint64_t begin = 0, end = 0;
};

// Reads the header through nlohmann's SAX interface: no DOM is built, and every event is checked
// against the one schema safetensors allows as it arrives, so a hostile header is refused at its
// first wrong token with the limits of load_limits enforced before anything grows.
class header_parser {
 public:
  using json = nlohmann::json;

  header_parser(std::string file, const load_limits& limits)
      : file_(std::move(file)), limits_(limits) {}

  std::vector<parsed_entry> entries;
  std::map<std::string, std::string> metadata;
  std::optional<ckpt::error> failure;

  bool null() {
    // The reference reads "__metadata__": null as no metadata.
    if (state_ != state::metadata_value) return unexpected("null");
    state_ = state::top_keys;
    return true;
  }
  bool boolean(bool) { return unexpected("a boolean"); }
  bool number_integer(json::number_integer_t v) {
    return unexpected("the negative number " + std::to_string(v));
  }
  bool number_float(json::number_float_t, const std::string& text) {
    return unexpected("the number " + printable(text));
  }
  bool binary(json::binary_t&) { return unexpected("binary data"); }

  bool number_unsigned(json::number_unsigned_t v) {
    if (state_ == state::shape_dims) {
      if (current_.dims.size() >= limits_.max_rank)
        return fail(errc::limit, "shape has more than " + std::to_string(limits_.max_rank) +
                                     " dimensions (load_limits::max_rank)");
      current_.dims.push_back(v);
      return true;
    }
    if (state_ == state::offsets_items) {
      if (offsets_seen_ == 2)
        return fail(errc::bad_format, "data_offsets has more than two numbers");
      (offsets_seen_++ == 0 ? current_.begin : current_.end) = v;
      return true;
    }
    return unexpected("the number " + std::to_string(v));
  }

  bool string(std::string& v) {
    if (state_ == state::metadata_string) {
      metadata.insert_or_assign(std::move(metadata_key_), std::move(v));
      state_ = state::metadata_keys;
      return true;
    }
    if (state_ == state::dtype_value) {
      const auto* row = row_named(v);
      if (!row) return fail(errc::unsupported, "unknown dtype \"" + printable(v) + "\"");
      if (row->type == dtype::invalid)
        return fail(errc::unsupported,
                    "dtype " + v + " is in the safetensors spec but ckpt has no such dtype");
      current_.type = row->type;
      state_ = state::entry_fields;
      return true;
    }
    return unexpected("a string");
  }

  bool start_object(std::size_t) {
    if (!deeper()) return false;
    switch (state_) {
      case state::start:
        state_ = state::top_keys;
        return true;
      case state::metadata_value:
        state_ = state::metadata_keys;
        return true;
      case state::entry_value:
        state_ = state::entry_fields;
        seen_fields_ = 0;
        return true;
      default:
        return unexpected("an object");
    }
  }

  bool start_array(std::size_t) {
    if (!deeper()) return false;
    switch (state_) {
      case state::shape_value:
        state_ = state::shape_dims;
        return true;
      case state::offsets_value:
        state_ = state::offsets_items;
        offsets_seen_ = 0;
        return true;
      default:
        return unexpected("an array");
    }
  }

  bool key(std::string& k) {
    switch (state_) {
      case state::top_keys:
        if (k == "__metadata__") {
          if (seen_metadata_) return fail(errc::bad_format, "__metadata__ appears twice");
          seen_metadata_ = true;
          state_ = state::metadata_value;
          return true;
        }
        if (k.size() > limits_.max_name_bytes)
          return fail(errc::limit,
                      "tensor name is " + std::to_string(k.size()) +
                          " bytes, over load_limits::max_name_bytes (" +
                          std::to_string(limits_.max_name_bytes) + ")",
                      shortened(k));
        if (entries.size() >= limits_.max_entries)
          return fail(errc::limit, "more than " + std::to_string(limits_.max_entries) +
                                       " tensors (load_limits::max_entries)");
        current_ = parsed_entry{};
        current_.name = std::move(k);
        state_ = state::entry_value;
        return true;
      case state::metadata_keys:
        if (metadata.count(k))
          return fail(errc::bad_format, "__metadata__ has the key '" + shortened(k) + "' twice");
        metadata_key_ = std::move(k);
        state_ = state::metadata_string;
        return true;
      case state::entry_fields: {
        const int field = k == "dtype" ? 1 : k == "shape" ? 2 : k == "data_offsets" ? 4 : 0;
        if (field == 0)
          return fail(errc::bad_format,
                      "unknown field \"" + printable(k) +
                          "\" (an entry holds exactly dtype, shape and data_offsets)");
        if (seen_fields_ & field)
          return fail(errc::bad_format, "field \"" + k + "\" appears twice");
        seen_fields_ |= field;
        state_ = field == 1   ? state::dtype_value
                 : field == 2 ? state::shape_value
                              : state::offsets_value;
        return true;
      }
      default:
        return unexpected("a key");  // unreachable: the parser only gives keys inside objects
    }
  }

  bool end_object() {
    --depth_;
    switch (state_) {
      case state::top_keys:
        state_ = state::done;
        return true;
      case state::metadata_keys:
        state_ = state::top_keys;
        return true;
      case state::entry_fields:
        if (seen_fields_ != 7)
          return fail(errc::bad_format,
                      std::string("entry has no ") + ((seen_fields_ & 1) == 0   ? "dtype"
                                                      : (seen_fields_ & 2) == 0 ? "shape"
                                                                                : "data_offsets"));
        entries.push_back(std::move(current_));
        state_ = state::top_keys;
        return true;
      default:
        return unexpected("the end of an object");
    }
  }

  bool end_array() {
    --depth_;
    if (state_ == state::shape_dims) {
      state_ = state::entry_fields;
      return true;
    }
    if (state_ == state::offsets_items) {
      if (offsets_seen_ != 2)
        return fail(errc::bad_format,
                    "data_offsets has " + std::to_string(offsets_seen_) + " numbers, not two");
      if (current_.begin > current_.end)
        return fail(errc::bad_format, "data_offsets [" + std::to_string(current_.begin) + ", " +
                                          std::to_string(current_.end) + "] begins after it ends");
      state_ = state::entry_fields;
      return true;
    }
    return unexpected("the end of an array");
  }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& ex) {
    if (failure) return false;
    std::string what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    if (const auto colon = what.find(": "); colon != std::string::npos)
      what = what.substr(colon + 2);
    if (const auto last = what.find("; last read:"); last != std::string::npos) what.resize(last);
    failure.emplace(
        errc::bad_format,
        "header is not valid JSON: " + printable(what) + " near '" + printable(last_token) + "'",
        file_, current_key(), 8 + static_cast<std::uint64_t>(position));
    return false;
  }

 private:
  enum class state {
    start,
    top_keys,
    metadata_value,
    metadata_keys,
    metadata_string,
    entry_value,
    entry_fields,
    dtype_value,
    shape_value,
    shape_dims,
    offsets_value,
    offsets_items,
    done,
  };

  std::string current_key() const {
    switch (state_) {
      case state::entry_value:
      case state::entry_fields:
      case state::dtype_value:
      case state::shape_value:
      case state::shape_dims:
      case state::offsets_value:
      case state::offsets_items:
        return shortened(current_.name);
      case state::metadata_value:
      case state::metadata_keys:
      case state::metadata_string:
        return "__metadata__";
      default:
        return {};
    }
  }

  bool deeper() {
    if (++depth_ > limits_.max_depth)
      return fail(errc::limit, "header nests deeper than " + std::to_string(limits_.max_depth) +
                                   " levels (load_limits::max_depth)");
    return true;
  }

  bool fail(errc code, std::string detail, std::optional<std::string> key = std::nullopt) {
    if (!failure) failure.emplace(code, std::move(detail), file_, key ? *key : current_key());
    return false;
  }

  bool unexpected(const std::string& found) {
    switch (state_) {
      case state::start:
        return fail(errc::bad_format, "header is not a JSON object (found " + found + ")");
      case state::metadata_value:
        return fail(errc::bad_format, "__metadata__ must be an object of strings, not " + found);
      case state::metadata_string:
        return fail(errc::bad_format, "__metadata__ value of '" + shortened(metadata_key_) +
                                          "' must be a string, not " + found);
      case state::entry_value:
        return fail(errc::bad_format,
                    "entry must be an object of dtype, shape and data_offsets, not " + found);
      case state::dtype_value:
        return fail(errc::bad_format, "dtype must be a string, not " + found);
      case state::shape_value:
        return fail(errc::bad_format, "shape must be an array, not " + found);
      case state::shape_dims:
        return fail(errc::bad_format,
                    "shape dimensions must be integers in [0, 2^64), not " + found);
      case state::offsets_value:
        return fail(errc::bad_format,
                    "data_offsets must be an array of two integers, not " + found);
      case state::offsets_items:
        return fail(errc::bad_format, "data_offsets must hold integers in [0, 2^64), not " + found);
      default:
        return fail(errc::bad_format, "unexpected " + found + " in the header");
    }
  }

  std::string file_;
  load_limits limits_;
  state state_ = state::start;
  std::uint32_t depth_ = 0;
  bool seen_metadata_ = false;
  std::string metadata_key_;
  parsed_entry current_;
  int seen_fields_ = 0;
  int offsets_seen_ = 0;
};

}  // namespace detail

// True if `path` looks like a safetensors file: a header size that fits the file and a header that
// opens with '{'. Reads 9 bytes; never throws.
inline bool detect(const std::filesystem::path& path) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  std::byte head[9];
  const bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 10 &&
                  ::pread(fd, head, sizeof head, 0) == static_cast<ssize_t>(sizeof head);
  ::close(fd);
  if (!ok) return false;
  const std::uint64_t n = detail::load_le64(head);
  return n >= 2 && n <= static_cast<std::uint64_t>(st.st_size) - 8 && head[8] == std::byte{'{'};
}

class reader final : public basic_reader {
 public:
  reader(const std::filesystem::path& path, const load_options& options = {})
      : basic_reader(path.string()), mapping_(path) {
    if constexpr (std::endian::native != std::endian::little)
      throw error(errc::unsupported,
                  "safetensors stores little-endian data; this host is big-endian",
                  mapping_.name());
    parse(options.limits);
  }

  std::string format() const override { return "safetensors"; }

  // Where entry `index`'s bytes start in the file.
  std::uint64_t file_offset(std::size_t index) const { return begins_.at(index); }

  // The bytes in the mapping, valid while this reader lives. Nothing when they cannot be used as
  // typed elements in place: misaligned (another writer's layout), or bools other than 0 and 1.
  std::optional<tensor_view> view(std::size_t index) override {
    const entry& e = checked(index);
    const std::span<const std::byte> bytes = mapping_.bytes().subspan(begins_[index], e.bytes);
    const std::size_t alignment = std::max<std::size_t>(1, detail::alignment_of(e.dtype));
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignment != 0) return std::nullopt;
    if (e.dtype == dtype::bool_ &&
        std::any_of(bytes.begin(), bytes.end(), [](std::byte b) { return b > std::byte{1}; }))
      return std::nullopt;
    return tensor_view{e.dtype, e.shape, bytes, {}};
  }

 private:
  void read_entry(std::size_t index, const mutable_tensor_view& out) override {
    const entry& e = entries_[index];
    if (e.bytes == 0) return;
    std::memcpy(out.bytes.data(), mapping_.bytes().data() + begins_[index], e.bytes);
    // Any byte but 0 and 1 in a C++ bool is undefined behaviour; numpy reads nonzero as true.
    if (e.dtype == dtype::bool_)
      for (auto& b : out.bytes) b = b == std::byte{0} ? std::byte{0} : std::byte{1};
  }

  void parse(const load_limits& limits) {
    const std::string& name = mapping_.name();
    const std::uint64_t size = mapping_.size();
    if (size < 8)
      throw error(errc::bad_format,
                  "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header size",
                  name);
    const std::uint64_t n = detail::load_le64(mapping_.bytes().data());
    if (n > UINT64_MAX - 8)
      throw error(errc::bad_format, "header size " + std::to_string(n) + " overflows 8 + N", name,
                  {}, 0);
    if (n > limits.max_header_bytes)
      throw error(errc::limit,
                  "header size " + std::to_string(n) + " is over load_limits::max_header_bytes (" +
                      std::to_string(limits.max_header_bytes) + ")",
                  name, {}, 0);
    if (n > size - 8)
      throw error(errc::bad_format,
                  "header size " + std::to_string(n) + " runs past the end of the " +
                      std::to_string(size) + "-byte file (truncated?)",
                  name, {}, 0);
    const auto* header = reinterpret_cast<const char*>(mapping_.bytes().data() + 8);
    if (n == 0 || header[0] != '{')
      throw error(errc::bad_format, "header does not begin with '{'", name, {}, 8);

    // nlohmann's lexer takes a NUL byte for the end of input, which would let "{}\0<anything>"
    // through; no JSON text holds a raw NUL, so refuse it before parsing.
    if (const void* nul = std::memchr(header, 0, n))
      throw error(errc::bad_format, "header contains a NUL byte", name, {},
                  8 + static_cast<std::uint64_t>(static_cast<const char*>(nul) - header));
    detail::header_parser parser(name, limits);
    const bool parsed = nlohmann::json::sax_parse(header, header + n, &parser);
    if (parser.failure) throw *parser.failure;
    if (!parsed) throw error(errc::bad_format, "header is not valid JSON", name, {}, 8);

    metadata_ = std::move(parser.metadata);
    auto& parsed_entries = parser.entries;
    reject_duplicate_names(parsed_entries);

    // The data buffer must be tiled exactly: sorted by range, each tensor starts where the last one
    // ended, and the last ends at the end of the file. Zero-byte tensors may sit at any boundary.
    std::sort(parsed_entries.begin(), parsed_entries.end(), [](const auto& a, const auto& b) {
      return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    const std::uint64_t data_start = 8 + n;
    const std::uint64_t data_size = size - data_start;
    std::uint64_t covered = 0;
    entries_.reserve(parsed_entries.size());
    begins_.reserve(parsed_entries.size());
    for (auto& p : parsed_entries) {
      const auto range = [&p] {
        return "data_offsets [" + std::to_string(p.begin) + ", " + std::to_string(p.end) + "]";
      };
      if (p.end > data_size)
        throw error(errc::bad_format,
                    range() + " run past the " + std::to_string(data_size) +
                        "-byte data buffer (truncated?)",
                    name, p.name, data_start + p.begin);
      if (p.begin > covered)
        throw error(errc::bad_format,
                    range() + " leave bytes [" + std::to_string(covered) + ", " +
                        std::to_string(p.begin) + ") of the data buffer unused",
                    name, p.name, data_start + covered);
      if (p.begin < covered)
        throw error(
            errc::bad_format,
            range() + " overlap the tensor before, which ends at " + std::to_string(covered), name,
            p.name, data_start + p.begin);
      const auto bytes = checked_byte_size(p.type, p.dims);
      if (!bytes)
        throw error(errc::bad_format,
                    "shape " + to_string(p.dims) + " has more bytes than 64 bits can count", name,
                    p.name);
      if (*bytes != p.end - p.begin)
        throw error(errc::bad_format,
                    range() + " hold " + std::to_string(p.end - p.begin) + " bytes but " +
                        std::string(*dtype_name(p.type)) + " " + to_string(p.dims) + " needs " +
                        std::to_string(*bytes),
                    name, p.name, data_start + p.begin);
      covered = p.end;
      begins_.push_back(data_start + p.begin);
      std::string path = path_of_name(p.name);
      entries_.push_back({std::move(p.name), std::move(path), p.type, std::move(p.dims), *bytes});
    }
    if (covered != data_size)
      throw error(errc::bad_format,
                  std::to_string(data_size - covered) +
                      " bytes after the last tensor (the data buffer is " +
                      std::to_string(data_size) + " bytes, the tensors cover " +
                      std::to_string(covered) + ")",
                  name, {}, data_start + covered);
  }

  void reject_duplicate_names(const std::vector<detail::parsed_entry>& parsed) const {
    std::vector<const std::string*> names;
    names.reserve(parsed.size());
    for (const auto& p : parsed) names.push_back(&p.name);
    std::sort(names.begin(), names.end(), [](auto* a, auto* b) { return *a < *b; });
    const auto dup =
        std::adjacent_find(names.begin(), names.end(), [](auto* a, auto* b) { return *a == *b; });
    if (dup != names.end())
      throw error(errc::bad_format, "the header names this tensor twice", mapping_.name(),
                  detail::shortened(**dup));
  }

  mapped_file mapping_;
  std::vector<std::uint64_t> begins_;  // file offsets, parallel to entries_
};

class writer final : public format_writer {
 public:
  writer(std::filesystem::path path, save_options options)
      : path_(std::move(path)), options_(std::move(options)) {}

  void write(const std::vector<named_tensor>& tensors) override {
    if constexpr (std::endian::native != std::endian::little)
      throw error(errc::unsupported,
                  "safetensors stores little-endian data; this host is big-endian", path_.string());
    std::vector<planned> plan = layout(tensors);
    const std::string header = build_header(tensors, plan);

    atomic_file out(path_, write_options{options_.sync});
    gathered_output gather(out);
    gather.append(std::as_bytes(std::span(header)));
    for (const auto& p : plan) gather.append(tensors[p.index].tensor.bytes);
    gather.flush();
    out.commit();
  }

 private:
  struct planned {
    std::size_t index;
    std::string name;
  };

  // Small tensors are gathered into one buffer before write(2): for 1 KiB tensors a system call
  // each costs far more than the copy. Large tensors go to write(2) straight from their memory.
  class gathered_output {
   public:
    explicit gathered_output(atomic_file& out) : out_(out) { buffer_.reserve(capacity); }
    void append(std::span<const std::byte> bytes) {
      if (bytes.size() >= direct_threshold) {
        flush();
        out_.write(bytes);
        return;
      }
      if (buffer_.size() + bytes.size() > capacity) flush();
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    }
    void flush() {
      if (!buffer_.empty()) out_.write(buffer_);
      buffer_.clear();
    }

   private:
    static constexpr std::size_t capacity = 1 << 20;
    static constexpr std::size_t direct_threshold = 64 << 10;
    atomic_file& out_;
    std::vector<std::byte> buffer_;
  };

  // Stored names in the reference's order: descending dtype alignment, then name.
  std::vector<planned> layout(const std::vector<named_tensor>& tensors) const {
    std::vector<planned> plan;
    plan.reserve(tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const auto& [path, tensor] = tensors[i];
      if (!dtype_name(tensor.dtype))
        throw error(errc::unsupported,
                    "safetensors cannot hold " + describe(tensor.dtype) + " tensors",
                    path_.string(), path);
      const auto bytes = checked_byte_size(tensor.dtype, tensor.shape);
      if (!bytes || *bytes != tensor.bytes.size())
        throw error(errc::shape_mismatch,
                    "the tensor has " + std::to_string(tensor.bytes.size()) + " bytes, not the " +
                        (bytes ? std::to_string(*bytes) : std::string("overflowing number")) +
                        " its " + describe(tensor.dtype) + " " + to_string(tensor.shape) + " needs",
                    path_.string(), path);
      std::string name;
      try {
        name = name_of_path(path);
      } catch (error& e) {
        e.with_file(path_.string());
        throw;
      }
      if (!is_valid_utf8(name))
        throw error(errc::unsupported,
                    "the name is not valid UTF-8, which a safetensors header must be",
                    path_.string(), path);
      plan.push_back({i, std::move(name)});
    }
    std::sort(plan.begin(), plan.end(), [&](const planned& a, const planned& b) {
      const auto ra = detail::layout_rank(tensors[a.index].tensor.dtype);
      const auto rb = detail::layout_rank(tensors[b.index].tensor.dtype);
      return ra != rb ? ra > rb : a.name < b.name;
    });
    // ckpt::save has already refused duplicate paths; callers of the writer interface may not have.
    std::vector<const std::string*> names;
    names.reserve(plan.size());
    for (const auto& p : plan) names.push_back(&p.name);
    std::sort(names.begin(), names.end(), [](auto* a, auto* b) { return *a < *b; });
    const auto dup =
        std::adjacent_find(names.begin(), names.end(), [](auto* a, auto* b) { return *a == *b; });
    if (dup != names.end())
      throw error(errc::bad_format, "two tensors have the same path", path_.string(),
                  path_of_name(**dup));
    return plan;
  }

  // The 8-byte size and the JSON, padded with spaces so the data starts 8-byte aligned. Built by
  // hand: a DOM of 10,000 entries costs more than writing the bytes, and we need serde_json's
  // exact output anyway.
  std::string build_header(const std::vector<named_tensor>& tensors,
                           const std::vector<planned>& plan) const {
    std::string json;
    json.reserve(8 + 64 + plan.size() * 96);
    json.append(8, '\0');
    json += '{';
    if (!options_.metadata.empty()) {
      json += "\"__metadata__\":{";
      bool first = true;
      for (const auto& [key, value] : options_.metadata) {
        if (!is_valid_utf8(key) || !is_valid_utf8(value))
          throw error(errc::unsupported,
                      "metadata '" + detail::printable(key) + "' is not valid UTF-8",
                      path_.string());
        if (!first) json += ',';
        first = false;
        append_json_string(json, key);
        json += ':';
        append_json_string(json, value);
      }
      json += "}";
      if (!plan.empty()) json += ',';
    }
    std::uint64_t offset = 0;
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const tensor_view& t = tensors[plan[i].index].tensor;
      if (i) json += ',';
      append_json_string(json, plan[i].name);
      json += ":{\"dtype\":\"";
      json += *dtype_name(t.dtype);
      json += "\",\"shape\":[";
      for (std::size_t d = 0; d < t.shape.size(); ++d) {
        if (d) json += ',';
        detail::append_number(json, t.shape[d]);
      }
      json += "],\"data_offsets\":[";
      detail::append_number(json, offset);
      json += ',';
      offset += t.bytes.size();
      detail::append_number(json, offset);
      json += "]}";
    }
    json += '}';
    json.append((8 - json.size() % 8) % 8, ' ');
    const std::uint64_t n = json.size() - 8;
    if (n > reference_max_header_bytes)
      throw error(errc::limit,
                  "header would be " + std::to_string(n) +
                      " bytes; safetensors readers refuse more than " +
                      std::to_string(reference_max_header_bytes),
                  path_.string());
    for (int i = 0; i < 8; ++i) json[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return json;
  }

  std::filesystem::path path_;
  save_options options_;
};

inline format_info info() {
  format_info f = basic_format<reader, writer>("safetensors", {".safetensors"}, detect);
  f.capabilities.dtypes = {dtype::float16, dtype::bfloat16, dtype::float32, dtype::float64,
                           dtype::int8,    dtype::int16,    dtype::int32,   dtype::int64,
                           dtype::uint8,   dtype::uint16,   dtype::uint32,  dtype::uint64,
                           dtype::bool_,   dtype::complex64, dtype::float8_e5m2,
                           dtype::float8_e4m3fn, dtype::float8_e4m3fnuz, dtype::float8_e5m2fnuz};
  f.capabilities.refused_key_characters = ".";  // the separator of stored names
  f.capabilities.keeps_order = false;  // sorted by alignment, then name, as the reference writes
  return f;
}

}  // namespace ckpt::safetensors

namespace ckpt {
CKPT_REGISTER_FORMAT(safetensors_registered, safetensors::info())
}  // namespace ckpt
