// SPDX-License-Identifier: Apache-2.0
#pragma once
// The `checkpoint` file TensorFlow keeps in a checkpoint directory: a text-format
// tensorflow.CheckpointState naming the latest checkpoint prefix and the ones still kept.
//
// Writing produces the bytes Python's protobuf text_format produces (one `field: value` line per
// value in field order, values at their default left out, strings C-escaped with octal for
// non-printable and non-ASCII bytes, doubles as Python's repr), so a state file read and written
// back is byte-identical. Reading accepts the text format TensorFlow's reader accepts for this
// message, with two stricter rules for hostile files: a singular field given twice and a string
// holding a NUL byte or invalid UTF-8 are errors. docs/MANAGER.md has the
// details.

#include <fnmatch.h>
#include <sys/stat.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ckpt/codec/json_string.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"

namespace ckpt {

struct checkpoint_state {
  std::string model_checkpoint_path;
  std::vector<std::string> all_model_checkpoint_paths;
  std::vector<double> all_model_checkpoint_timestamps;
  double last_preserved_timestamp = 0;
  bool operator==(const checkpoint_state&) const = default;
};

// A state file larger than this is refused before it is read: TensorFlow's own are a few hundred
// bytes, even with thousands of checkpoints kept they stay far below.
inline constexpr std::uint64_t max_checkpoint_state_bytes = 1 << 20;

inline constexpr std::string_view checkpoint_state_file_name = "checkpoint";

namespace detail::state_text {

// A double as Python's repr() prints it, which is what text_format writes for a double field:
// the shortest digits that read back to the same value, in positional notation when the decimal
// exponent is in [-4, 16), else as d.ddde+XX; integral values keep a ".0".
inline std::string python_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  std::array<char, 64> buffer{};
  const auto result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), v, std::chars_format::scientific);
  const std::string_view sci(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
  std::string out = sci.front() == '-' ? "-" : "";
  const std::string_view body = sci.front() == '-' ? sci.substr(1) : sci;
  const auto e = body.find('e');
  std::string digits;
  for (char c : body.substr(0, e))
    if (c != '.') digits += c;
  int exponent = 0;
  const auto exp_text = body.substr(e + 1);
  std::from_chars(exp_text.data() + (exp_text.front() == '+' ? 1 : 0),
                  exp_text.data() + exp_text.size(), exponent);
  const int point = exponent + 1;  // digits before the decimal point
  const int n = static_cast<int>(digits.size());
  if (point > -4 && point <= 16) {
    if (point <= 0) {
      out += "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
    } else if (point < n) {
      out += digits.substr(0, static_cast<std::size_t>(point)) + "." +
             digits.substr(static_cast<std::size_t>(point));
    } else {
      out += digits + std::string(static_cast<std::size_t>(point - n), '0') + ".0";
    }
  } else {
    out += digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    const int shown = point - 1;
    out += shown < 0 ? "e-" : "e+";
    const int magnitude = shown < 0 ? -shown : shown;
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
  }
  return out;
}

// protobuf's CEscape for a string field written without as_utf8: \t \n \r \" \' \\ by name,
// other bytes below 0x20 and from 0x7f up as three octal digits.
inline void append_escaped(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += '\\';
          out += static_cast<char>('0' + (c >> 6));
          out += static_cast<char>('0' + ((c >> 3) & 7));
          out += static_cast<char>('0' + (c & 7));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

// A recursive-descent reader of the text format, limited to what a CheckpointState can hold.
class parser {
 public:
  parser(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {}

  checkpoint_state parse() {
    checkpoint_state state;
    bool seen_model = false, seen_preserved = false;
    skip_space();
    while (pos_ < text_.size()) {
      const std::size_t field_start = pos_;
      const std::string_view name = identifier();
      skip_space();
      if (!take(':')) fail("expected ':' after the field name '" + std::string(name) + "'");
      skip_space();
      if (name == "model_checkpoint_path") {
        if (seen_model) fail("model_checkpoint_path is given twice", field_start);
        seen_model = true;
        state.model_checkpoint_path = string_value();
      } else if (name == "all_model_checkpoint_paths") {
        repeated([&] { state.all_model_checkpoint_paths.push_back(string_value()); });
      } else if (name == "all_model_checkpoint_timestamps") {
        repeated([&] { state.all_model_checkpoint_timestamps.push_back(double_value()); });
      } else if (name == "last_preserved_timestamp") {
        if (seen_preserved) fail("last_preserved_timestamp is given twice", field_start);
        seen_preserved = true;
        state.last_preserved_timestamp = double_value();
      } else {
        fail("CheckpointState has no field named '" + shown(name) + "'", field_start);
      }
      skip_space();
      if (take(',') || take(';')) skip_space();
    }
    return state;
  }

 private:
  [[noreturn]] void fail(const std::string& what, std::optional<std::size_t> at = {}) const {
    const std::size_t offset = at.value_or(pos_);
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw error(errc::bad_format,
                "line " + std::to_string(line) + " column " + std::to_string(column) + ": " + what,
                file_, {}, offset);
  }

  static std::string shown(std::string_view s) {
    std::string out;
    append_escaped(out, s.substr(0, 64));
    if (s.size() > 64) out += "...";
    return out;
  }

  bool take(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void skip_space() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  static bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  static bool is_ident(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

  std::string_view identifier() {
    if (pos_ >= text_.size() || !is_ident_start(text_[pos_]))
      fail("expected a field name, found " + found());
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_ident(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  std::string found() const {
    if (pos_ >= text_.size()) return "the end of the file";
    return "'" + shown(text_.substr(pos_, 1)) + "'";
  }

  // `field: value` or the list form `field: [value, value]`.
  template <class Fn>
  void repeated(Fn&& one) {
    if (!take('[')) return one();
    skip_space();
    if (take(']')) return;
    for (;;) {
      one();
      skip_space();
      if (take(']')) return;
      if (!take(',')) fail("expected ',' or ']' in a list, found " + found());
      skip_space();
    }
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // One or more adjacent quoted literals, concatenated as the text format does.
  std::string string_value() {
    const std::size_t start = pos_;
    if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\''))
      fail("expected a quoted string, found " + found());
    std::string value;
    while (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'')) {
      literal(value);
      skip_space();
    }
    if (value.find('\0') != std::string::npos) fail("the string holds a NUL byte", start);
    if (!is_valid_utf8(value)) fail("the string is not valid UTF-8", start);
    return value;
  }

  void literal(std::string& value) {
    const std::size_t open = pos_;
    const char quote = text_[pos_++];
    for (;;) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') fail("unterminated string", open);
      const char c = text_[pos_++];
      if (c == quote) return;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated string", open);
      const std::size_t escape = pos_ - 1;
      const char e = text_[pos_++];
      switch (e) {
        case 'a':
          value += '\a';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        case 't':
          value += '\t';
          break;
        case 'v':
          value += '\v';
          break;
        case '\\':
        case '\'':
        case '"':
        case '?':
          value += e;
          break;
        case 'x': {
          int v = 0, n = 0;
          while (n < 2 && pos_ < text_.size() && hex_digit(text_[pos_]) >= 0)
            v = v * 16 + hex_digit(text_[pos_++]), ++n;
          if (n == 0) fail("\\x without hex digits", escape);
          value += static_cast<char>(v);
          break;
        }
        case 'u':
        case 'U': {
          const int want = e == 'u' ? 4 : 8;
          std::uint32_t cp = 0;
          for (int i = 0; i < want; ++i) {
            if (pos_ >= text_.size() || hex_digit(text_[pos_]) < 0)
              fail(std::string("\\") + e + " needs " + std::to_string(want) + " hex digits",
                   escape);
            cp = cp * 16 + static_cast<std::uint32_t>(hex_digit(text_[pos_++]));
          }
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            fail("\\" + std::string(1, e) + " names no Unicode scalar value", escape);
          append_utf8(value, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0', n = 1;
            while (n < 3 && pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '7')
              v = v * 8 + (text_[pos_++] - '0'), ++n;
            if (v > 0xff) fail("octal escape beyond \\377", escape);
            value += static_cast<char>(v);
            break;
          }
          fail("unknown escape '\\" + shown(std::string_view(&e, 1)) + "'", escape);
      }
    }
  }

  // A number token as the text format tokenizes one, read as a double: decimal with optional
  // fraction, exponent and 'f' suffix, or inf/infinity/nan in any case.
  double double_value() {
    const std::size_t start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (!(is_ident(c) || c == '.' || c == '+' || c == '-')) break;
      ++pos_;
    }
    std::string_view token = text_.substr(start, pos_ - start);
    if (token.empty()) fail("expected a number, found " + found());
    const bool negative = token.front() == '-';
    std::string_view body = (negative || token.front() == '+') ? token.substr(1) : token;
    std::string lower;
    for (char c : body) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower == "inf" || lower == "inff" || lower == "infinity" || lower == "infinityf")
      return negative ? -HUGE_VAL : HUGE_VAL;
    if (lower == "nan" || lower == "nanf") return std::nan("");
    if (!body.empty() && (body.back() == 'f' || body.back() == 'F')) body.remove_suffix(1);
    // digits [. digits] [e [+-] digits], with at least one digit before or after the point.
    std::size_t i = 0, mantissa_digits = 0;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++mantissa_digits;
    if (i < body.size() && body[i] == '.') {
      ++i;
      while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++mantissa_digits;
    }
    bool valid = mantissa_digits > 0;
    if (valid && i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
      ++i;
      if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
      std::size_t exponent_digits = 0;
      while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++exponent_digits;
      valid = exponent_digits > 0;
    }
    if (!valid || i != body.size()) fail("'" + shown(token) + "' is not a number", start);
    double v = 0;
    const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
    if (ec == std::errc::result_out_of_range) {
      // Like Python's float(): overflow is infinity, underflow is zero.
      bool big = false;
      for (std::size_t k = 0; k < body.size(); ++k)
        if (body[k] == 'e' || body[k] == 'E') big = k + 1 < body.size() && body[k + 1] != '-';
      v = big ? HUGE_VAL : 0.0;
    } else if (ec != std::errc() || end != body.data() + body.size()) {
      fail("'" + shown(token) + "' is not a number", start);
    }
    return negative ? -v : v;
  }

  std::string_view text_;
  std::string file_;
  std::size_t pos_ = 0;
};

}  // namespace detail::state_text

// The text TensorFlow writes for `state`.
inline std::string to_text(const checkpoint_state& state) {
  using namespace detail::state_text;
  std::string out;
  const auto string_line = [&](std::string_view field, std::string_view value) {
    out += field;
    out += ": \"";
    append_escaped(out, value);
    out += "\"\n";
  };
  // proto3 leaves out singular fields at their default; -0.0 is not the default (its bits differ).
  if (!state.model_checkpoint_path.empty())
    string_line("model_checkpoint_path", state.model_checkpoint_path);
  for (const auto& p : state.all_model_checkpoint_paths)
    string_line("all_model_checkpoint_paths", p);
  for (double t : state.all_model_checkpoint_timestamps)
    out += "all_model_checkpoint_timestamps: " + python_repr(t) + "\n";
  if (state.last_preserved_timestamp != 0 || std::signbit(state.last_preserved_timestamp))
    out += "last_preserved_timestamp: " + python_repr(state.last_preserved_timestamp) + "\n";
  return out;
}

// Parses state-file text; `file` names it in errors (bad_format with line, column and offset).
inline checkpoint_state parse_checkpoint_state(std::string_view text,
                                               const std::string& file = {}) {
  if (text.size() > max_checkpoint_state_bytes)
    throw error(errc::limit,
                "a checkpoint state of " + std::to_string(text.size()) + " bytes (the limit is " +
                    std::to_string(max_checkpoint_state_bytes) + ")",
                file);
  return detail::state_text::parser(text, file).parse();
}

// Reads and parses one state file, throwing on any problem (not_found when it is absent).
inline checkpoint_state read_checkpoint_state(const std::filesystem::path& file) {
  const std::string text = read_whole_file(file, max_checkpoint_state_bytes);
  return parse_checkpoint_state(text, file.string());
}

// Replaces `file` atomically: the text goes to `<file>.tmp<32 hex digits>` beside it (the naming
// TensorFlow uses), is fsynced and renamed over `file`, and the directory is fsynced.
inline void write_checkpoint_state(const std::filesystem::path& file, const checkpoint_state& state,
                                   write_options options = {}) {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device random;
  std::string suffix;
  for (int i = 0; i < 32; ++i) suffix += hex[random() & 15];
  std::filesystem::path temp = file;
  temp += ".tmp" + suffix;
  atomic_file out(file, temp, options);
  const std::string text = to_text(state);
  out.write(text.data(), text.size());
  out.commit();
}

// True if `name` is a temporary of write_checkpoint_state for the state file `state_name`.
inline bool is_checkpoint_state_temporary(
    std::string_view name, std::string_view state_name = checkpoint_state_file_name) {
  if (name.size() != state_name.size() + 4 + 32 || !name.starts_with(state_name)) return false;
  if (name.substr(state_name.size(), 4) != ".tmp") return false;
  for (char c : name.substr(state_name.size() + 4))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

namespace detail {

inline std::string joined_to(const std::filesystem::path& dir, const std::string& p) {
  const std::filesystem::path path(p);
  return path.is_absolute() ? p : (dir / path).string();
}

// A regular file exists at `pattern`, or, when the file-name part holds glob characters (V1
// sharded prefixes such as `variables-?????-of-00001`), some regular file in its directory
// matches it. Only the last component is matched, so a hostile pattern cannot make this walk a
// tree.
inline bool matching_file_exists(const std::filesystem::path& pattern) {
  const std::string name = pattern.filename().string();
  std::error_code ec;
  if (name.find_first_of("*?[") == std::string::npos)
    return std::filesystem::is_regular_file(pattern, ec);
  auto parent = pattern.parent_path();
  if (parent.empty()) parent = ".";
  std::filesystem::directory_iterator it(parent, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string candidate = it->path().filename().string();
    if (::fnmatch(name.c_str(), candidate.c_str(), 0) == 0 && it->is_regular_file(ec)) return true;
  }
  return false;
}

}  // namespace detail

// tf.train.get_checkpoint_state: the state in `dir/<state_name>` with relative paths joined to
// `dir`. Like TensorFlow, a missing, unreadable or unparsable file gives nullopt; a state without
// model_checkpoint_path is an error (bad_format).
inline std::optional<checkpoint_state> get_checkpoint_state(
    const std::filesystem::path& dir, std::string_view state_name = checkpoint_state_file_name) {
  const auto file = dir / state_name;
  checkpoint_state state;
  try {
    state = read_checkpoint_state(file);
  } catch (const error&) {
    return std::nullopt;
  }
  if (state.model_checkpoint_path.empty())
    throw error(errc::bad_format, "the checkpoint state has no model_checkpoint_path",
                file.string());
  state.model_checkpoint_path = detail::joined_to(dir, state.model_checkpoint_path);
  for (auto& p : state.all_model_checkpoint_paths) p = detail::joined_to(dir, p);
  return state;
}

// tf.train.latest_checkpoint: the state's model_checkpoint_path (joined to `dir` when relative)
// if `<path>.index` (a V2 checkpoint) or `<path>` itself (V1) is an existing file, else nullopt.
inline std::optional<std::filesystem::path> latest_checkpoint(
    const std::filesystem::path& dir, std::string_view state_name = checkpoint_state_file_name) {
  const auto state = get_checkpoint_state(dir, state_name);
  if (!state) return std::nullopt;
  const std::filesystem::path prefix(state->model_checkpoint_path);
  auto index = prefix;
  index += ".index";
  if (detail::matching_file_exists(index) || detail::matching_file_exists(prefix)) return prefix;
  return std::nullopt;
}

}  // namespace ckpt
