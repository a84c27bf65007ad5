// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reading the JSON format: a strict SAX parse that decodes values straight into storage.

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ckpt/codec/half.hpp"
#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/basic_reader.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/json/text.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt::json_format {

// True if the file starts like a document this format writes: '{' and then "format":
// "ckpt-json" as the first member. Sorted-key tools (jq -S, sort_keys=True) keep that member
// first, since "format" sorts before the others.
inline bool detect(const std::filesystem::path& path) noexcept {
  try {
    const file_descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) return false;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    char buffer[512];
    std::size_t filled = 0;
    while (filled < sizeof buffer) {
      const ssize_t n =
          ::pread(fd.get(), buffer + filled, sizeof buffer - filled, static_cast<off_t>(filled));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      filled += static_cast<std::size_t>(n);
    }
    std::string_view text(buffer, filled);
    const auto skip_space = [&] {
      const auto i = text.find_first_not_of(" \t\r\n");
      text.remove_prefix(i == std::string_view::npos ? text.size() : i);
    };
    const auto take = [&](std::string_view token) {
      skip_space();
      if (!text.starts_with(token)) return false;
      text.remove_prefix(token.size());
      return true;
    };
    return take("{") && take("\"format\"") && take(":") && take("\"ckpt-json\"");
  } catch (...) {
    return false;
  }
}

// ---- reader ----------------------------------------------------------------------------------

// One tensor's decoded elements, in the layout tensor views use.
struct stored_values {
  std::vector<std::byte> bytes;
  std::vector<std::string> strings;
};

// A JSON number as the lexer saw it. Integer tokens have no text of their own; a float dtype
// regenerates it so that every number is converted from decimal exactly once.
struct number_token {
  enum class kind : std::uint8_t { negative, non_negative, real } type;
  std::int64_t negative = 0;
  std::uint64_t non_negative = 0;
  double approx = 0;
  std::string_view text;
};

// The SAX handler that turns the document into entries. It checks the document in two layers.
// Well-formedness and resource limits (syntax, nesting, size, entry count, rank, name length)
// stop the parse at once. A meaning error (a wrong member, a bad value) is remembered and the
// handler only tracks nesting from then on, so a malformed or over-deep document is reported as
// such whatever else is wrong with it; the first meaning error is reported if the JSON is sound.
class document_parser {
 public:
  using json = nlohmann::json;

  document_parser(std::string file, std::uint64_t file_size, const load_limits& limits)
      : file_(std::move(file)), file_size_(file_size), limits_(limits) {
    frames_.push_back({context::document, 0, {}});
  }

  std::vector<entry> entries;
  std::vector<stored_values> values;
  std::map<std::string, std::string> metadata;

  // nlohmann's SAX interface. Each returns false to stop the parse.
  bool null() {
    return guarded([&] {
      scalar s{scalar::kind::null};
      on_scalar(s);
    });
  }
  bool boolean(bool b) {
    return guarded([&] {
      scalar s{scalar::kind::boolean};
      s.boolean = b;
      on_scalar(s);
    });
  }
  bool number_integer(json::number_integer_t v) {
    return guarded([&] {
      scalar s{scalar::kind::number};
      s.number.type = number_token::kind::negative;
      s.number.negative = v;
      s.number.approx = static_cast<double>(v);
      on_scalar(s);
    });
  }
  bool number_unsigned(json::number_unsigned_t v) {
    return guarded([&] {
      scalar s{scalar::kind::number};
      s.number.type = number_token::kind::non_negative;
      s.number.non_negative = v;
      s.number.approx = static_cast<double>(v);
      on_scalar(s);
    });
  }
  bool number_float(json::number_float_t v, const std::string& text) {
    return guarded([&] {
      scalar s{scalar::kind::number};
      s.number.type = number_token::kind::real;
      s.number.approx = v;
      s.number.text = text;
      on_scalar(s);
    });
  }
  bool string(std::string& v) {
    return guarded([&] {
      scalar s{scalar::kind::text};
      s.text = &v;
      on_scalar(s);
    });
  }
  bool binary(json::binary_t&) {
    return guarded([&] { throw fail("binary values are not JSON"); });
  }
  bool start_object(std::size_t) {
    if (++object_depth_ > limits_.max_depth)
      return stop(error(errc::limit,
                        "objects nest deeper than load_limits::max_depth (" +
                            std::to_string(limits_.max_depth) + ")",
                        file_, path_));
    return guarded([&] { on_start_object(); });
  }
  bool key(std::string& k) {
    return guarded([&] { on_key(k); });
  }
  bool end_object() {
    --object_depth_;
    return guarded([&] { on_end_object(); });
  }
  bool start_array(std::size_t) {
    // Arrays nest as deep as a tensor's rank, plus one for a complex element's [re, im].
    if (++array_depth_ > std::uint64_t{limits_.max_rank} + 1)
      return stop(error(errc::limit,
                        "arrays nest deeper than load_limits::max_rank + 1 (" +
                            std::to_string(std::uint64_t{limits_.max_rank} + 1) + ")",
                        file_, path_));
    return guarded([&] { on_start_array(); });
  }
  bool end_array() {
    --array_depth_;
    return guarded([&] { on_end_array(); });
  }
  bool parse_error(std::size_t position, const std::string&, const json::exception& e) {
    // nlohmann's message quotes the offending token, which may be megabytes long or not text.
    std::string message = e.what();
    if (const auto bracket = message.find("] "); message.starts_with("[json.exception."))
      message.erase(0, bracket == std::string::npos ? 0 : bracket + 2);
    if (message.size() > 200) message.resize(200), message += "...";
    for (char& c : message)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    const std::uint64_t offset =
        std::min<std::uint64_t>(position > 0 ? position - 1 : 0, file_size_);
    return stop(error(errc::bad_format, "not valid JSON: " + message, file_, path_, offset));
  }

  // Throws the error that the document deserves, if any, once the parse has ended.
  void finish(bool parsed) {
    if (fatal_) throw *fatal_;
    if (!parsed) throw error(errc::bad_format, "not valid JSON", file_);
    if (format_ && *format_ != format_marker)
      throw error(errc::bad_format,
                  "not a ckpt-json document: 'format' is \"" + *format_ + "\", expected \"" +
                      std::string(format_marker) + "\"",
                  file_);
    if (version_ && *version_ > current_version)
      throw error(errc::unsupported,
                  "ckpt-json version " + std::to_string(*version_) +
                      " is newer than this reader, which knows version " +
                      std::to_string(current_version),
                  file_);
    if (pending_) throw *pending_;
    if (!format_) throw error(errc::bad_format, "no \"format\": \"ckpt-json\" member", file_);
    if (!version_) throw error(errc::bad_format, "no \"version\" member", file_);
    if (!tensors_seen_) throw error(errc::bad_format, "no \"tensors\" member", file_);
  }

 private:
  enum class context : std::uint8_t {
    document,   // before the top-level value
    root,       // the top-level object
    metadata,   // "metadata"
    undecided,  // an object of the tensor tree before its first member says group or tensor
    group,
    tensor,
    done,
  };
  // Which value the last key announced.
  enum class slot : std::uint8_t {
    none,
    format,
    version,
    metadata,
    tensors,
    meta_value,
    child,
    dtype
  };
  // Progress through a tensor object; its members come in this order so that values can be
  // decoded as they stream past.
  enum class stage : std::uint8_t {
    want_shape_key,
    want_shape,
    in_shape,
    want_values_key,
    want_values,
    in_values,
    complete,
  };
  enum class base64_stage : std::uint8_t { off, want_key, want_text, want_end };

  struct frame {
    context kind;
    std::size_t parent_path_length;         // path_ is cut back to this when the object closes
    std::unordered_set<std::string> names;  // groups: child names seen, to refuse duplicates
  };

  struct scalar {
    enum class kind : std::uint8_t { null, boolean, number, text } type;
    bool boolean = false;
    number_token number{};
    std::string* text = nullptr;
  };

  struct open_tensor {
    ckpt::dtype type = dtype::invalid;
    element_rule rule;
    ckpt::shape dims;
    stage progress = stage::want_shape_key;
    std::size_t depth = 0;              // arrays open inside "values"
    std::vector<std::uint64_t> counts;  // children seen so far at each open level
    bool in_pair = false;               // inside a complex element's [re, im]
    int pair_parts = 0;
    std::uint64_t pair_bits[2] = {0, 0};
    base64_stage base64 = base64_stage::off;
    std::uint64_t string_bytes = 0;
  };

  template <class Fn>
  bool guarded(Fn&& fn) {
    if (pending_) return true;
    try {
      fn();
    } catch (error& e) {
      if (e.code() == errc::limit) return stop(std::move(e));
      pending_ = std::move(e);
    }
    return true;
  }
  bool stop(error e) {
    if (!fatal_) fatal_ = std::move(e);
    return false;
  }

  error fail(std::string detail, errc code = errc::bad_format) const {
    return error(code, std::move(detail), file_, path_);
  }
  frame& top() { return frames_.back(); }

  static std::string describe(const scalar& s) {
    switch (s.type) {
      case scalar::kind::null:
        return "null";
      case scalar::kind::boolean:
        return s.boolean ? "true" : "false";
      case scalar::kind::number:
        return "a number";
      case scalar::kind::text:
        return "a string";
    }
    return "a value";
  }

  // ---- structure ----

  void on_start_object() {
    frame& f = top();
    switch (f.kind) {
      case context::document:
        f.kind = context::root;
        return;
      case context::root: {
        const slot s = std::exchange(slot_, slot::none);
        if (s == slot::metadata)
          frames_.push_back({context::metadata, path_.size(), {}});
        else if (s == slot::tensors) {
          tensors_seen_ = true;
          frames_.push_back({context::group, path_.size(), {}});
        } else
          throw fail("\"" + std::string(root_member_name(s)) + "\" must not be an object");
        return;
      }
      case context::metadata:
        throw fail("metadata values must be strings, not objects");
      case context::group:
        slot_ = slot::none;
        frames_.push_back({context::undecided, child_parent_length_, {}});
        return;
      case context::undecided:
        // {"dtype": {...}}: a group whose first child is named "dtype".
        slot_ = slot::none;
        f.kind = context::group;
        f.names.insert("dtype");
        child_parent_length_ = append_path("dtype");
        frames_.push_back({context::undecided, child_parent_length_, {}});
        return;
      case context::tensor:
        return start_leaf_object();
      case context::done:
        break;
    }
    throw fail("unexpected object");
  }

  void on_end_object() {
    frame& f = top();
    switch (f.kind) {
      case context::root:
        f.kind = context::done;
        return;
      case context::metadata:
        frames_.pop_back();
        return;
      case context::undecided:  // {}: an empty group
      case context::group:
        path_.resize(f.parent_path_length);
        frames_.pop_back();
        return;
      case context::tensor:
        if (tensor_.base64 == base64_stage::want_end) return finish_base64_leaf();
        if (tensor_.base64 != base64_stage::off)
          throw fail("a non-UTF-8 string element is {\"base64\": \"...\"}");
        if (tensor_.progress != stage::complete)
          throw fail(tensor_.progress < stage::want_values_key ? "the tensor has no \"shape\""
                                                               : "the tensor has no \"values\"");
        return finish_tensor();
      default:
        throw fail("unexpected end of object");
    }
  }

  static std::string_view root_member_name(slot s) {
    switch (s) {
      case slot::format:
        return "format";
      case slot::version:
        return "version";
      case slot::metadata:
        return "metadata";
      case slot::tensors:
        return "tensors";
      default:
        return "?";
    }
  }

  // Appends a path component and returns the length to cut back to when it closes.
  std::size_t append_path(std::string_view name) {
    const std::size_t before = path_.size();
    if (!path_.empty()) path_ += '/';
    path_ += name;
    if (path_.size() > limits_.max_name_bytes)
      throw fail("the path is longer than load_limits::max_name_bytes (" +
                     std::to_string(limits_.max_name_bytes) + ")",
                 errc::limit);
    return before;
  }

  void on_key(std::string& k) {
    frame& f = top();
    switch (f.kind) {
      case context::root: {
        slot s = slot::none;
        bool seen = false;
        if (k == "format")
          s = slot::format, seen = root_seen_[0], root_seen_[0] = true;
        else if (k == "version")
          s = slot::version, seen = root_seen_[1], root_seen_[1] = true;
        else if (k == "metadata")
          s = slot::metadata, seen = root_seen_[2], root_seen_[2] = true;
        else if (k == "tensors")
          s = slot::tensors, seen = root_seen_[3], root_seen_[3] = true;
        else
          throw fail("unknown top-level member \"" + k +
                     "\" (expected format, version, metadata, tensors)");
        if (seen) throw fail("duplicate key \"" + k + "\"");
        slot_ = s;
        return;
      }
      case context::metadata:
        if (metadata.contains(k)) throw fail("duplicate metadata key \"" + k + "\"");
        metadata_key_ = std::move(k);
        slot_ = slot::meta_value;
        return;
      case context::undecided:
        if (k == "dtype") {
          slot_ = slot::dtype;
          return;
        }
        f.kind = context::group;
        [[fallthrough]];
      case context::group:
        if (k.empty()) throw fail("empty key; path components must not be empty");
        if (k.find('/') != std::string::npos)
          throw fail("key \"" + k + "\" contains '/', the path separator");
        child_parent_length_ = append_path(k);
        if (!f.names.insert(k).second) throw fail("duplicate key \"" + k + "\"");
        slot_ = slot::child;
        return;
      case context::tensor:
        return tensor_key(k);
      default:
        throw fail("unexpected key");
    }
  }

  void tensor_key(const std::string& k) {
    if (tensor_.base64 == base64_stage::want_key) {
      if (k != "base64")
        throw fail("unexpected member \"" + k + "\" in a string element; expected \"base64\"");
      tensor_.base64 = base64_stage::want_text;
      return;
    }
    if (tensor_.base64 != base64_stage::off)
      throw fail("a non-UTF-8 string element has the one member \"base64\"");
    const auto seen = [&](std::string_view name) {
      return name == "dtype" || (name == "shape" && tensor_.progress > stage::want_shape_key) ||
             (name == "values" && tensor_.progress > stage::want_values_key);
    };
    if (tensor_.progress == stage::want_shape_key && k == "shape") {
      tensor_.progress = stage::want_shape;
    } else if (tensor_.progress == stage::want_values_key && k == "values") {
      tensor_.progress = stage::want_values;
    } else if (seen(k)) {
      throw fail("duplicate key \"" + k + "\"");
    } else {
      throw fail("unexpected member \"" + k +
                 "\" in a tensor; a tensor has \"dtype\", \"shape\" and \"values\", in that "
                 "order");
    }
  }

  void on_start_array() {
    frame& f = top();
    if (f.kind == context::tensor) return tensor_start_array();
    if (f.kind == context::document) throw fail("the document is not a JSON object");
    if (f.kind == context::root)
      throw fail("\"" + std::string(root_member_name(slot_)) + "\" must not be an array");
    if (f.kind == context::metadata) throw fail("metadata values must be strings, not arrays");
    if (f.kind == context::undecided && slot_ == slot::dtype)
      throw fail("\"dtype\" must be a dtype name (a tensor) or an object (a group)");
    throw fail("members of a group must be objects (groups or tensors), not arrays");
  }

  void on_end_array() {
    if (top().kind != context::tensor) throw fail("unexpected end of array");
    tensor_end_array();
  }

  void on_scalar(scalar& s) {
    frame& f = top();
    switch (f.kind) {
      case context::document:
        throw fail("the document is not a JSON object");
      case context::root:
        return root_value(s);
      case context::metadata:
        if (s.type != scalar::kind::text)
          throw fail("metadata value of \"" + metadata_key_ + "\" must be a string, not " +
                     describe(s));
        metadata.emplace(std::move(metadata_key_), std::move(*s.text));
        slot_ = slot::none;
        return;
      case context::undecided:
        if (slot_ == slot::dtype && s.type == scalar::kind::text) return start_tensor(*s.text);
        throw fail("\"dtype\" must be a dtype name (a tensor) or an object (a group)");
      case context::group:
        throw fail("members of a group must be objects (groups or tensors), not " + describe(s));
      case context::tensor:
        return tensor_scalar(s);
      default:
        throw fail("unexpected value");
    }
  }

  void root_value(const scalar& s) {
    const slot which = std::exchange(slot_, slot::none);
    if (which == slot::format && s.type == scalar::kind::text) {
      format_ = *s.text;
    } else if (which == slot::version && s.type == scalar::kind::number &&
               s.number.type == number_token::kind::non_negative && s.number.non_negative > 0) {
      version_ = s.number.non_negative;
    } else if (which == slot::format) {
      throw fail("\"format\" must be the string \"ckpt-json\"");
    } else if (which == slot::version) {
      throw fail("\"version\" must be a positive integer");
    } else {
      throw fail("\"" + std::string(root_member_name(which)) + "\" must be an object");
    }
  }

  // ---- tensors ----

  void start_tensor(const std::string& name) {
    slot_ = slot::none;
    const auto type = dtype_from_name(name);
    if (!type) throw fail("unknown dtype \"" + name + "\"", errc::unsupported);
    const element_rule rule = rule_for(*type);
    if (rule.kind == value_kind::unsupported)
      throw fail("dtype " + name + " has no fixed element layout to write as JSON",
                 errc::unsupported);
    if (entries.size() >= limits_.max_entries)
      throw fail("more tensors than load_limits::max_entries (" +
                     std::to_string(limits_.max_entries) + ")",
                 errc::limit);
    top().kind = context::tensor;
    tensor_ = open_tensor{};
    tensor_.type = *type;
    tensor_.rule = rule;
  }

  void finish_tensor() {
    entry e;
    e.name = path_;
    e.path = path_;
    e.dtype = tensor_.type;
    e.shape = std::move(tensor_.dims);
    e.bytes =
        tensor_.rule.kind == value_kind::text ? tensor_.string_bytes : values.back().bytes.size();
    entries.push_back(std::move(e));
    path_.resize(top().parent_path_length);
    frames_.pop_back();
  }

  void tensor_start_array() {
    open_tensor& t = tensor_;
    if (t.base64 != base64_stage::off) throw fail("base64 text must be a string");
    if (t.in_pair) throw fail("a complex component must be a number");
    switch (t.progress) {
      case stage::want_shape:
        t.progress = stage::in_shape;
        return;
      case stage::in_shape:
        throw fail("shape dimensions must be integers, not arrays");
      case stage::want_values:
        if (t.dims.empty()) {
          if (t.rule.kind != value_kind::complex)
            throw fail("the value of a rank-0 tensor is one element, not an array",
                       errc::shape_mismatch);
          return start_pair();
        }
        t.progress = stage::in_values;
        t.depth = 1;
        t.counts.assign(t.dims.size(), 0);
        return;
      case stage::in_values:
        if (t.depth < t.dims.size()) {
          count_child(t.depth - 1);
          t.counts[t.depth] = 0;
          ++t.depth;
          return;
        }
        if (t.rule.kind != value_kind::complex)
          throw fail("values nest deeper than the shape " + to_string(t.dims),
                     errc::shape_mismatch);
        count_child(t.depth - 1);
        return start_pair();
      default:
        throw fail("unexpected array in a tensor");
    }
  }

  void tensor_end_array() {
    open_tensor& t = tensor_;
    if (t.progress == stage::in_shape) return finish_shape();
    if (t.in_pair) {
      if (t.pair_parts != 2) throw fail("a complex element is [real, imaginary]");
      t.in_pair = false;
      const std::size_t half = t.rule.size / 2;
      std::byte element[16];
      store_bits(element, half, t.pair_bits[0]);
      store_bits(element + half, half, t.pair_bits[1]);
      auto& bytes = values.back().bytes;
      bytes.insert(bytes.end(), element, element + t.rule.size);
      if (t.dims.empty()) t.progress = stage::complete;
      return;
    }
    if (t.progress != stage::in_values || t.depth == 0) throw fail("unexpected end of array");
    const std::size_t level = t.depth - 1;
    if (t.counts[level] != t.dims[level])
      throw fail("dimension " + std::to_string(level) + " has " + std::to_string(t.counts[level]) +
                     " entries here, but the shape " + to_string(t.dims) + " says " +
                     std::to_string(t.dims[level]),
                 errc::shape_mismatch);
    if (--t.depth == 0) t.progress = stage::complete;
  }

  void count_child(std::size_t level) {
    open_tensor& t = tensor_;
    if (++t.counts[level] > t.dims[level])
      throw fail("dimension " + std::to_string(level) + " has more than the " +
                     std::to_string(t.dims[level]) + " entries the shape " + to_string(t.dims) +
                     " says",
                 errc::shape_mismatch);
  }

  void start_pair() {
    tensor_.in_pair = true;
    tensor_.pair_parts = 0;
  }

  void finish_shape() {
    open_tensor& t = tensor_;
    t.progress = stage::want_values_key;
    const auto count = checked_num_elements(t.dims);
    if (!count) throw fail("the shape " + to_string(t.dims) + " has more elements than 2^64");
    // Each element takes at least two bytes of text ("0,"), a complex one six ("[0,0],"); a
    // shape the file cannot hold is refused before anything is allocated for it.
    const std::uint64_t min_text = t.rule.kind == value_kind::complex ? 6 : 2;
    if (*count > file_size_ / min_text + 1)
      throw fail("the shape " + to_string(t.dims) + " has " + std::to_string(*count) +
                     " elements, more than a file of " + std::to_string(file_size_) +
                     " bytes can hold",
                 errc::shape_mismatch);
    stored_values& v = values.emplace_back();
    if (t.rule.kind != value_kind::text)
      v.bytes.reserve(static_cast<std::size_t>(*count) * t.rule.size);
  }

  void tensor_scalar(scalar& s) {
    open_tensor& t = tensor_;
    if (t.base64 == base64_stage::want_text) {
      if (s.type != scalar::kind::text) throw fail("base64 text must be a string");
      std::string decoded;
      if (auto why = decode_base64(*s.text, decoded); !why.empty()) throw fail(why);
      t.string_bytes += decoded.size();
      values.back().strings.push_back(std::move(decoded));
      t.base64 = base64_stage::want_end;
      return;
    }
    if (t.base64 != base64_stage::off)
      throw fail("a non-UTF-8 string element is {\"base64\": \"...\"}");
    if (t.in_pair) {
      if (t.pair_parts == 2) throw fail("a complex element is [real, imaginary]");
      t.pair_bits[t.pair_parts++] = decode_real(s, t.rule.real);
      return;
    }
    switch (t.progress) {
      case stage::want_shape:
        throw fail("\"shape\" must be an array of dimensions");
      case stage::in_shape:
        return add_dimension(s);
      case stage::want_values:
        if (!t.dims.empty())
          throw fail(
              "the values of a tensor of shape " + to_string(t.dims) + " must be nested arrays",
              errc::shape_mismatch);
        if (t.rule.kind == value_kind::complex)
          throw fail("a complex element is [real, imaginary]");
        decode_element(s);
        t.progress = stage::complete;
        return;
      case stage::in_values:
        if (t.depth < t.dims.size())
          throw fail("expected an array for dimension " + std::to_string(t.depth) +
                         " of the shape " + to_string(t.dims) + ", found " + describe(s),
                     errc::shape_mismatch);
        count_child(t.depth - 1);
        if (t.rule.kind == value_kind::complex)
          throw fail("a complex element is [real, imaginary]");
        return decode_element(s);
      default:
        throw fail("unexpected " + describe(s) + " in a tensor");
    }
  }

  void start_leaf_object() {
    open_tensor& t = tensor_;
    const bool leaf_here =
        !t.in_pair && ((t.progress == stage::want_values && t.dims.empty()) ||
                       (t.progress == stage::in_values && t.depth == t.dims.size()));
    if (t.base64 != base64_stage::off || !leaf_here || t.rule.kind != value_kind::text) {
      if (t.progress == stage::in_values && !t.in_pair && t.depth < t.dims.size())
        throw fail("expected an array for dimension " + std::to_string(t.depth) + " of the shape " +
                       to_string(t.dims) + ", found an object",
                   errc::shape_mismatch);
      throw fail("unexpected object in a tensor of dtype " + std::string(name(t.type)));
    }
    if (t.progress == stage::in_values) count_child(t.depth - 1);
    t.base64 = base64_stage::want_key;
  }

  void finish_base64_leaf() {
    tensor_.base64 = base64_stage::off;
    if (tensor_.progress == stage::want_values) tensor_.progress = stage::complete;
  }

  void add_dimension(const scalar& s) {
    if (s.type != scalar::kind::number) throw fail("shape dimensions must be integers");
    if (s.number.type == number_token::kind::negative)
      throw fail("negative dimension " + std::to_string(s.number.negative) + " in the shape");
    if (s.number.type == number_token::kind::real)
      throw fail("shape dimension " + std::string(s.number.text) +
                 " is not a non-negative integer");
    if (tensor_.dims.size() >= limits_.max_rank)
      throw fail("the shape has more dimensions than load_limits::max_rank (" +
                     std::to_string(limits_.max_rank) + ")",
                 errc::limit);
    tensor_.dims.push_back(s.number.non_negative);
  }

  // ---- elements ----

  void decode_element(scalar& s) {
    const element_rule& rule = tensor_.rule;
    stored_values& v = values.back();
    switch (rule.kind) {
      case value_kind::text:
        if (s.type != scalar::kind::text)
          throw fail("a string element must be a string or {\"base64\": ...}, not " + describe(s));
        tensor_.string_bytes += s.text->size();
        v.strings.push_back(std::move(*s.text));
        return;
      case value_kind::boolean:
        if (s.type != scalar::kind::boolean)
          throw fail("a bool element must be true or false, not " + describe(s));
        v.bytes.push_back(std::byte{s.boolean});
        return;
      case value_kind::integer:
        return append_bits(v, rule.size, decode_integer(s, rule));
      case value_kind::floating:
        return append_bits(v, rule.size, decode_real(s, rule.real));
      default:
        throw fail("unsupported element");
    }
  }

  static void append_bits(stored_values& v, std::size_t size, std::uint64_t bits) {
    std::byte element[8];
    store_bits(element, size, bits);
    v.bytes.insert(v.bytes.end(), element, element + size);
  }

  std::uint64_t decode_integer(const scalar& s, const element_rule& rule) const {
    const std::string_view type_name = name(tensor_.type);
    if (s.type != scalar::kind::number)
      throw fail("a " + std::string(type_name) + " element must be an integer, not " + describe(s));
    const number_token& n = s.number;
    const auto out_of_range = [&](std::string_view text) {
      return fail(std::string(text) + " is out of range for " + std::string(type_name));
    };
    switch (n.type) {
      case number_token::kind::non_negative:
        if (n.non_negative > rule.max) throw out_of_range(std::to_string(n.non_negative));
        return n.non_negative;
      case number_token::kind::negative:
        if (!rule.is_signed || n.negative < rule.min)
          throw out_of_range(std::to_string(n.negative));
        return static_cast<std::uint64_t>(n.negative);
      case number_token::kind::real:
        // The lexer makes integers beyond 64 bits reals; anything with a fraction or exponent
        // is not an integer token at all, even when its value is whole.
        if (n.text.find_first_of(".eE") == std::string_view::npos) throw out_of_range(n.text);
        throw fail("a " + std::string(type_name) + " element must be an integer, not " +
                   std::string(n.text));
    }
    return 0;
  }

  std::uint64_t decode_real(const scalar& s, float_kind kind) const {
    const float_layout layout = layout_of(kind);
    if (s.type == scalar::kind::text) {
      if (auto bits = special_float_bits(*s.text, kind)) return *bits;
      throw fail("\"" + s.text->substr(0, 64) + "\" is not a " + std::string(layout.name) +
                 " value; strings are only \"NaN\", \"Infinity\", \"-Infinity\" and "
                 "\"NaN:0x<bits>\" of a NaN");
    }
    if (s.type != scalar::kind::number)
      throw fail("a " + std::string(layout.name) + " element must be a number, not " + describe(s));
    const number_token& n = s.number;
    std::string_view text = n.text;
    char buffer[24];
    if (n.type != number_token::kind::real) {
      // "-0" is the only negative integer token whose value is zero; keep its sign.
      const auto r =
          n.type == number_token::kind::negative
              ? (n.negative == 0 ? std::to_chars(buffer, buffer + sizeof buffer, -0.0)
                                 : std::to_chars(buffer, buffer + sizeof buffer, n.negative))
              : std::to_chars(buffer, buffer + sizeof buffer, n.non_negative);
      text = std::string_view(buffer, static_cast<std::size_t>(r.ptr - buffer));
    }
    if (auto bits = float_bits_from_text(text, n.approx, kind)) return *bits;
    throw fail(std::string(text) + " is out of range for " + std::string(layout.name));
  }

  std::string file_;
  std::uint64_t file_size_;
  load_limits limits_;

  std::vector<frame> frames_;
  std::string path_;  // the path of the innermost open group or tensor
  std::size_t child_parent_length_ = 0;
  slot slot_ = slot::none;
  std::uint64_t object_depth_ = 0;
  std::uint64_t array_depth_ = 0;
  open_tensor tensor_;

  bool root_seen_[4] = {false, false, false, false};
  std::optional<std::string> format_;
  std::optional<std::uint64_t> version_;
  bool tensors_seen_ = false;
  std::string metadata_key_;

  std::optional<error> pending_;  // the first meaning error
  std::optional<error> fatal_;    // a syntax error or exceeded limit: the parse stopped here
};

class reader final : public basic_reader {
 public:
  reader(const std::filesystem::path& path, const load_options& options)
      : basic_reader(path.string()) {
    const std::string text = read_whole_file(path, options.limits.max_header_bytes);
    document_parser parser(file_, text.size(), options.limits);
    const bool parsed = nlohmann::json::sax_parse(text.data(), text.data() + text.size(), &parser,
                                                  nlohmann::json::input_format_t::json,
                                                  /*strict=*/true, /*ignore_comments=*/false);
    parser.finish(parsed);
    entries_ = std::move(parser.entries);
    values_ = std::move(parser.values);
    metadata_ = std::move(parser.metadata);
  }

  std::string format() const override { return "json"; }

  // Values are decoded at open into the layout views use, so they can be shown without a copy.
  std::optional<tensor_view> view(std::size_t index) override {
    const entry& e = checked(index);
    const stored_values& v = values_[index];
    return tensor_view{e.dtype, e.shape, v.bytes, v.strings};
  }

 private:
  void read_entry(std::size_t index, const mutable_tensor_view& out) override {
    const stored_values& v = values_[index];
    if (out.dtype == dtype::string) {
      std::copy(v.strings.begin(), v.strings.end(), out.strings.begin());
    } else if (!v.bytes.empty()) {
      std::memcpy(out.bytes.data(), v.bytes.data(), v.bytes.size());
    }
  }

  std::vector<stored_values> values_;
};

}  // namespace ckpt::json_format
