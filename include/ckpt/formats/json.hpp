#pragma once
// The JSON format: one readable document whose nested objects mirror the canonical path tree,
// with every tensor spelled out as numbers. formats/json/README.md is the specification; this
// header implements it. It is meant for small checkpoints, diffs and hand inspection, and for
// exchange with programs that only speak JSON; it is exact (every bit pattern survives), not fast.
//
// The reader parses with nlohmann's SAX interface, which is iterative, so no nesting can exhaust
// the stack; the handler below stops the parse the moment a limit is crossed, and decodes each
// tensor's values straight into its storage without building a DOM.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/registry.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt::json_format {

inline constexpr std::string_view format_marker = "ckpt-json";
inline constexpr std::uint64_t current_version = 1;

// ---- how each dtype's elements are spelled --------------------------------------------------

enum class value_kind : std::uint8_t { floating, integer, boolean, complex, text, unsupported };
enum class float_kind : std::uint8_t { f16, bf16, f32, f64 };

struct element_rule {
  value_kind kind = value_kind::unsupported;
  float_kind real = float_kind::f32;  // floating elements and complex components
  bool is_signed = false;             // integers
  std::int64_t min = 0;
  std::uint64_t max = 0;
  std::size_t size = 0;  // bytes per element in memory
};

constexpr element_rule integer_rule(std::size_t size, std::int64_t min, std::uint64_t max) {
  return {value_kind::integer, float_kind::f32, min < 0, min, max, size};
}

constexpr element_rule rule_for(dtype t) noexcept {
  using limits8 = std::numeric_limits<std::int8_t>;
  using limits16 = std::numeric_limits<std::int16_t>;
  using limits32 = std::numeric_limits<std::int32_t>;
  using limits64 = std::numeric_limits<std::int64_t>;
  switch (t) {
    case dtype::float16:
      return {value_kind::floating, float_kind::f16, false, 0, 0, 2};
    case dtype::bfloat16:
      return {value_kind::floating, float_kind::bf16, false, 0, 0, 2};
    case dtype::float32:
      return {value_kind::floating, float_kind::f32, false, 0, 0, 4};
    case dtype::float64:
      return {value_kind::floating, float_kind::f64, false, 0, 0, 8};
    case dtype::complex64:
      return {value_kind::complex, float_kind::f32, false, 0, 0, 8};
    case dtype::complex128:
      return {value_kind::complex, float_kind::f64, false, 0, 0, 16};
    case dtype::bool_:
      return {value_kind::boolean, float_kind::f32, false, 0, 1, 1};
    case dtype::string:
      return {value_kind::text, float_kind::f32, false, 0, 0, 0};
    case dtype::int8:
    case dtype::qint8:
      return integer_rule(1, limits8::min(), limits8::max());
    case dtype::int16:
    case dtype::qint16:
      return integer_rule(2, limits16::min(), limits16::max());
    case dtype::int32:
    case dtype::qint32:
      return integer_rule(4, limits32::min(), limits32::max());
    case dtype::int64:
      return integer_rule(8, limits64::min(), limits64::max());
    case dtype::uint8:
    case dtype::quint8:
      return integer_rule(1, 0, 0xff);
    case dtype::uint16:
    case dtype::quint16:
      return integer_rule(2, 0, 0xffff);
    case dtype::uint32:
      return integer_rule(4, 0, 0xffff'ffff);
    case dtype::uint64:
      return integer_rule(8, 0, std::numeric_limits<std::uint64_t>::max());
    // TF keeps 4- and 2-bit integers one per byte; the JSON value is the number itself.
    case dtype::int4:
      return integer_rule(1, -8, 7);
    case dtype::uint4:
      return integer_rule(1, 0, 15);
    case dtype::int2:
      return integer_rule(1, -2, 1);
    case dtype::uint2:
      return integer_rule(1, 0, 3);
    // The five float8 encodings disagree on NaN, infinity and bias; their raw bits are the one
    // spelling that is exact and needs no table per encoding.
    case dtype::float8_e5m2:
    case dtype::float8_e4m3fn:
    case dtype::float8_e4m3fnuz:
    case dtype::float8_e4m3b11fnuz:
    case dtype::float8_e5m2fnuz:
      return integer_rule(1, 0, 0xff);
    default:
      return {};
  }
}

struct float_layout {
  std::size_t bytes;
  std::uint64_t sign, exponent, mantissa, canonical_nan;
  std::string_view name;
};

constexpr float_layout layout_of(float_kind k) noexcept {
  switch (k) {
    case float_kind::f16:
      return {2, 0x8000, 0x7c00, 0x03ff, 0x7e00, "float16"};
    case float_kind::bf16:
      return {2, 0x8000, 0x7f80, 0x007f, 0x7fc0, "bfloat16"};
    case float_kind::f32:
      return {4, 0x8000'0000, 0x7f80'0000, 0x007f'ffff, 0x7fc0'0000, "float32"};
    case float_kind::f64:
      return {8,
              0x8000'0000'0000'0000,
              0x7ff0'0000'0000'0000,
              0x000f'ffff'ffff'ffff,
              0x7ff8'0000'0000'0000,
              "float64"};
  }
  return {4, 0x8000'0000, 0x7f80'0000, 0x007f'ffff, 0x7fc0'0000, "float32"};
}

constexpr bool is_nan_bits(std::uint64_t bits, const float_layout& l) noexcept {
  return (bits & l.exponent) == l.exponent && (bits & l.mantissa) != 0;
}
constexpr bool is_inf_bits(std::uint64_t bits, const float_layout& l) noexcept {
  return (bits & ~l.sign) == l.exponent;
}

// Elements are kept in native byte order; these move one element between bytes and a 64-bit word
// by value, so they hold on any endianness.
inline std::uint64_t load_bits(const std::byte* p, std::size_t size) noexcept {
  switch (size) {
    case 1: {
      std::uint8_t v;
      std::memcpy(&v, p, 1);
      return v;
    }
    case 2: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default: {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

inline void store_bits(std::byte* p, std::size_t size, std::uint64_t bits) noexcept {
  switch (size) {
    case 1: {
      const auto v = static_cast<std::uint8_t>(bits);
      std::memcpy(p, &v, 1);
      return;
    }
    case 2: {
      const auto v = static_cast<std::uint16_t>(bits);
      std::memcpy(p, &v, 2);
      return;
    }
    case 4: {
      const auto v = static_cast<std::uint32_t>(bits);
      std::memcpy(p, &v, 4);
      return;
    }
    default:
      std::memcpy(p, &bits, 8);
      return;
  }
}

// Sign-extends a signed element of `size` bytes.
inline std::int64_t signed_value(std::uint64_t bits, std::size_t size) noexcept {
  switch (size) {
    case 1:
      return static_cast<std::int8_t>(bits);
    case 2:
      return static_cast<std::int16_t>(bits);
    case 4:
      return static_cast<std::int32_t>(bits);
    default:
      return static_cast<std::int64_t>(bits);
  }
}

// ---- decimal <-> binary floating point -------------------------------------------------------

// Rounds to float, but to odd instead of to nearest: truncate, then set the last bit if anything
// was cut off. A second rounding to nearest from there (to float16 or bfloat16, both at least two
// bits narrower) then equals rounding the double directly, with no double-rounding error.
inline float round_to_odd_float(double d) noexcept {
  float f = static_cast<float>(d);
  if (static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(f) | 1u);
}

inline bool starts_negative(std::string_view text) noexcept {
  return !text.empty() && text.front() == '-';
}

// The bits nearest to the decimal `text` (a JSON number), or nothing if the number is too large
// for the type. `approx` is the same number as a double, already known to be finite; it tells an
// overflow from an underflow when from_chars reports "out of range" for either. Numbers too small
// for the type round to a zero of their sign, as any decimal-to-binary conversion does.
inline std::optional<std::uint64_t> float_bits_from_text(std::string_view text, double approx,
                                                         float_kind kind) noexcept {
  const char* first = text.data();
  const char* last = first + text.size();
  const bool underflow_allowed = std::fabs(approx) < 1.0;
  const auto signed_zero = [&](float_kind k) -> std::uint64_t {
    return starts_negative(text) ? layout_of(k).sign : 0;
  };
  switch (kind) {
    case float_kind::f32: {
      float f = 0;
      const auto r = std::from_chars(first, last, f);
      if (r.ec == std::errc::result_out_of_range)
        return underflow_allowed ? std::optional(signed_zero(kind)) : std::nullopt;
      if (r.ec != std::errc() || r.ptr != last) return std::nullopt;
      return std::bit_cast<std::uint32_t>(f);
    }
    case float_kind::f64: {
      double d = 0;
      const auto r = std::from_chars(first, last, d);
      if (r.ec == std::errc::result_out_of_range)
        return underflow_allowed ? std::optional(signed_zero(kind)) : std::nullopt;
      if (r.ec != std::errc() || r.ptr != last) return std::nullopt;
      return std::bit_cast<std::uint64_t>(d);
    }
    case float_kind::f16:
    case float_kind::bf16: {
      double d = 0;
      const auto r = std::from_chars(first, last, d);
      if (r.ec == std::errc::result_out_of_range) {
        if (!underflow_allowed) return std::nullopt;
        d = starts_negative(text) ? -0.0 : 0.0;
      } else if (r.ec != std::errc() || r.ptr != last) {
        return std::nullopt;
      }
      const float f = round_to_odd_float(d);
      const std::uint16_t h =
          kind == float_kind::f16 ? float16::from_float(f) : bfloat16::from_float(f);
      if (is_inf_bits(h, layout_of(kind))) return std::nullopt;
      return h;
    }
  }
  return std::nullopt;
}

inline constexpr char hex_digits[] = "0123456789abcdef";

// "NaN", "Infinity", "-Infinity" or "NaN:0x<bits>" as the bits of that kind, or nothing.
inline std::optional<std::uint64_t> special_float_bits(std::string_view s, float_kind kind) {
  const float_layout l = layout_of(kind);
  if (s == "NaN") return l.canonical_nan;
  if (s == "Infinity") return l.exponent;
  if (s == "-Infinity") return l.sign | l.exponent;
  constexpr std::string_view prefix = "NaN:0x";
  if (!s.starts_with(prefix) || s.size() != prefix.size() + 2 * l.bytes) return std::nullopt;
  std::uint64_t bits = 0;
  for (char c : s.substr(prefix.size())) {
    int digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      digit = c - 'A' + 10;
    else
      return std::nullopt;
    bits = bits << 4 | static_cast<std::uint64_t>(digit);
  }
  if (!is_nan_bits(bits, l)) return std::nullopt;
  return bits;
}

// Appends one floating-point element: the shortest decimal that reads back to the same bits, or
// a string for the values JSON numbers cannot express.
inline void append_float(std::string& out, std::uint64_t bits, float_kind kind) {
  const float_layout l = layout_of(kind);
  if (is_nan_bits(bits, l)) {
    if (bits == l.canonical_nan) {
      out += "\"NaN\"";
      return;
    }
    out += "\"NaN:0x";
    for (std::size_t i = 2 * l.bytes; i-- > 0;) out += hex_digits[(bits >> (4 * i)) & 0xf];
    out += '"';
    return;
  }
  if (is_inf_bits(bits, l)) {
    out += (bits & l.sign) ? "\"-Infinity\"" : "\"Infinity\"";
    return;
  }
  char buffer[64];
  std::to_chars_result r{};
  switch (kind) {
    case float_kind::f32:
      r = std::to_chars(buffer, buffer + sizeof buffer,
                        std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
      break;
    case float_kind::f64:
      r = std::to_chars(buffer, buffer + sizeof buffer, std::bit_cast<double>(bits));
      break;
    case float_kind::f16:
    case float_kind::bf16: {
      // No standard call gives the shortest decimal of a 16-bit float, so try precisions in
      // turn and keep the first that this reader maps back to the same bits (five significant
      // digits always suffice; the bound is only a guard). That decimal is then printed the
      // way to_chars prints a double, so 10 reads "10" rather than printf's "1e+01". Where the
      // exact value is no longer ("65504" against "65500"), the exact value is written.
      const auto half = static_cast<std::uint16_t>(bits);
      const double value =
          kind == float_kind::f16 ? float16::to_float(half) : bfloat16::to_float(half);
      double shortest = value;
      for (int precision = 1; precision <= 9; ++precision) {
        r = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific,
                          precision - 1);
        const std::string_view text(buffer, static_cast<std::size_t>(r.ptr - buffer));
        if (float_bits_from_text(text, value, kind) == bits) {
          std::from_chars(buffer, r.ptr, shortest);
          break;
        }
      }
      char exact[64];
      const auto exact_end = std::to_chars(exact, exact + sizeof exact, value).ptr;
      r = std::to_chars(buffer, buffer + sizeof buffer, shortest);
      if (exact_end - exact <= r.ptr - buffer) {
        out.append(exact, exact_end);
        return;
      }
      break;
    }
  }
  out.append(buffer, r.ptr);
}

// ---- text ------------------------------------------------------------------------------------

// RFC 3629 UTF-8, as nlohmann's lexer accepts it: no overlong forms, no surrogates, nothing
// above U+10FFFF.
inline bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length;
    unsigned char low = 0x80, high = 0xbf;  // bounds of the second byte
    if (c >= 0xc2 && c <= 0xdf)
      length = 2;
    else if (c == 0xe0)
      length = 3, low = 0xa0;
    else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
      length = 3;
    else if (c == 0xed)
      length = 3, high = 0x9f;
    else if (c == 0xf0)
      length = 4, low = 0x90;
    else if (c >= 0xf1 && c <= 0xf3)
      length = 4;
    else if (c == 0xf4)
      length = 4, high = 0x8f;
    else
      return false;
    if (n - i < length || p[i + 1] < low || p[i + 1] > high) return false;
    for (std::size_t k = 2; k < length; ++k)
      if ((p[i + k] & 0xc0) != 0x80) return false;
    i += length;
  }
  return true;
}

// Appends `s` (valid UTF-8) as a JSON string.
inline void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex_digits[c >> 4];
          out += hex_digits[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

inline constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline void append_base64(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16 | std::uint32_t{p[i + 1]} << 8 | p[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += base64_alphabet[(v >> shift) & 0x3f];
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16;
    out += base64_alphabet[(v >> 18) & 0x3f];
    out += base64_alphabet[(v >> 12) & 0x3f];
    out += "==";
  } else if (n - i == 2) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16 | std::uint32_t{p[i + 1]} << 8;
    out += base64_alphabet[(v >> 18) & 0x3f];
    out += base64_alphabet[(v >> 12) & 0x3f];
    out += base64_alphabet[(v >> 6) & 0x3f];
    out += '=';
  }
}

// Strict RFC 4648 base64: padded, standard alphabet, no whitespace, and the unused bits of the
// last group zero, so each byte string has exactly one spelling. Returns why it is not, or empty.
inline std::string decode_base64(std::string_view text, std::string& out) {
  const auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0)
    return "base64 length " + std::to_string(text.size()) + " is not a multiple of 4";
  out.clear();
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last_group = i + 4 == text.size();
    std::size_t padding = 0;
    if (last_group && text[i + 3] == '=') padding = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      if (k >= 4 - padding) {
        v <<= 6;
        continue;
      }
      const int digit = value_of(text[i + k]);
      if (digit < 0)
        return text[i + k] == '='
                   ? "base64 padding '=' inside the text"
                   : "byte " + std::to_string(i + k) + " is not in the base64 alphabet";
      v = v << 6 | static_cast<std::uint32_t>(digit);
    }
    if ((padding == 1 && (v & 0xff) != 0) || (padding == 2 && (v & 0xffff) != 0))
      return "base64 padding bits are not zero";
    out += static_cast<char>(v >> 16);
    if (padding < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(v & 0xff);
  }
  return {};
}

// ---- files -----------------------------------------------------------------------------------

class file_descriptor {
 public:
  explicit file_descriptor(int fd) noexcept : fd_(fd) {}
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  ~file_descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// The whole file, refused before allocation if larger than `max_bytes`. O_NONBLOCK and the
// regular-file check keep a FIFO or device from blocking the open.
inline std::string read_whole_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::string name = path.string();
  const file_descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) detail::throw_errno("cannot open", name, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) detail::throw_errno("cannot stat", name, errno);
  if (!S_ISREG(st.st_mode)) throw error(errc::io, "not a regular file", name);
  const auto too_large = [&](std::uint64_t size) {
    return error(errc::limit,
                 "the file has " + std::to_string(size) +
                     " bytes, more than load_limits::max_header_bytes (" +
                     std::to_string(max_bytes) + ")",
                 name);
  };
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) throw too_large(size);
  // The spare byte shows whether the file grew after fstat; then reading goes on to its end,
  // unless that passes the cap.
  std::string text(static_cast<std::size_t>(size) + 1, '\0');
  std::size_t filled = 0;
  for (;;) {
    if (filled == text.size()) {
      if (filled > max_bytes) throw too_large(filled);
      text.resize(text.size() * 2);
    }
    const ssize_t n = ::read(fd.get(), text.data() + filled, text.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      detail::throw_errno("cannot read", name, errno);
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  if (filled > max_bytes) throw too_large(filled);
  text.resize(filled);
  return text;
}

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

class reader final : public format_reader {
 public:
  reader(const std::filesystem::path& path, const load_options& options) : file_(path.string()) {
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
  const std::vector<entry>& entries() const override { return entries_; }
  std::map<std::string, std::string> metadata() const override { return metadata_; }

  void read(std::size_t index, const mutable_tensor_view& out) override {
    const entry& e = at(index);
    const stored_values& v = values_[index];
    if (out.dtype != e.dtype)
      throw error(
          errc::dtype_mismatch,
          "stored as " + ckpt::describe(e.dtype) + ", asked for " + ckpt::describe(out.dtype),
          file_, e.name);
    if (out.shape != e.shape)
      throw error(errc::shape_mismatch,
                  "stored shape " + to_string(e.shape) + ", asked for " + to_string(out.shape),
                  file_, e.name);
    if (e.dtype == dtype::string) {
      if (out.strings.size() != v.strings.size())
        throw error(errc::shape_mismatch, "the output holds the wrong number of strings", file_,
                    e.name);
      std::copy(v.strings.begin(), v.strings.end(), out.strings.begin());
      return;
    }
    if (out.bytes.size() != v.bytes.size())
      throw error(errc::shape_mismatch, "the output holds the wrong number of bytes", file_,
                  e.name);
    if (!v.bytes.empty()) std::memcpy(out.bytes.data(), v.bytes.data(), v.bytes.size());
  }

  // Values are decoded at open into the layout views use, so they can be shown without a copy.
  std::optional<tensor_view> view(std::size_t index) override {
    const entry& e = at(index);
    const stored_values& v = values_[index];
    return tensor_view{e.dtype, e.shape, v.bytes, v.strings};
  }

 private:
  const entry& at(std::size_t index) const {
    if (index >= entries_.size())
      throw error(errc::missing_key, "no entry number " + std::to_string(index), file_);
    return entries_[index];
  }

  std::string file_;
  std::vector<entry> entries_;
  std::vector<stored_values> values_;
  std::map<std::string, std::string> metadata_;
};

// ---- writer ----------------------------------------------------------------------------------

class writer final : public format_writer {
 public:
  writer(std::filesystem::path path, save_options options)
      : path_(std::move(path)), options_(std::move(options)) {}

  void write(const std::vector<named_tensor>& tensors) override {
    // Everything that can be refused is checked before the temporary file exists.
    for (const auto& [key, value] : options_.metadata)
      if (!is_valid_utf8(key) || !is_valid_utf8(value))
        throw error(errc::bad_format, "metadata must be valid UTF-8 to be JSON text", {}, key);
    build_tree(tensors);
    atomic_file file(path_, write_options{options_.sync});
    file_ = &file;
    out_.clear();
    out_.reserve(flush_threshold + 4096);
    out_ += "{\n  \"format\": \"";
    out_ += format_marker;
    out_ += "\",\n  \"version\": ";
    out_ += std::to_string(current_version);
    out_ += ",\n  \"metadata\": {";
    bool first = true;
    for (const auto& [key, value] : options_.metadata) {
      out_ += first ? "\n    " : ",\n    ";
      first = false;
      append_quoted(out_, key);
      out_ += ": ";
      append_quoted(out_, value);
    }
    out_ += first ? "},\n  \"tensors\": " : "\n  },\n  \"tensors\": ";
    write_group(0, 2);
    out_ += "\n}\n";
    flush();
    file.commit();
    file_ = nullptr;
  }

 private:
  static constexpr std::size_t flush_threshold = 1 << 20;

  struct node {
    std::string name;
    std::vector<std::size_t> children;  // in first-seen order, so declaration order survives
    std::unordered_map<std::string, std::size_t> index;
    const named_tensor* tensor = nullptr;
  };

  void build_tree(const std::vector<named_tensor>& tensors) {
    nodes_.assign(1, node{});
    for (const named_tensor& t : tensors) {
      check_tensor(t);
      std::size_t at = 0;
      std::string_view rest = t.path;
      std::size_t consumed = 0;
      for (;;) {
        const std::size_t slash = rest.find('/');
        const std::string_view part = rest.substr(0, slash);
        consumed += part.size();
        if (part.empty())
          throw error(errc::bad_format, "the path has an empty component", {}, t.path);
        if (!is_valid_utf8(part))
          throw error(errc::bad_format, "the path is not valid UTF-8, which JSON keys must be", {},
                      t.path);
        if (nodes_[at].tensor)
          throw error(errc::bad_format,
                      "'" + std::string(t.path.substr(0, consumed - part.size() - 1)) +
                          "' is a tensor and cannot also be a group",
                      {}, t.path);
        auto [it, inserted] = nodes_[at].index.try_emplace(std::string(part), nodes_.size());
        if (inserted) {
          nodes_[at].children.push_back(nodes_.size());
          nodes_.push_back(node{std::string(part), {}, {}, nullptr});
        }
        at = it->second;
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
        ++consumed;
      }
      if (nodes_[at].tensor)
        throw error(errc::bad_format, "two tensors have this path", {}, t.path);
      if (!nodes_[at].children.empty())
        throw error(errc::bad_format, "this path is a group of other tensors and cannot be one", {},
                    t.path);
      nodes_[at].tensor = &t;
    }
  }

  static void check_tensor(const named_tensor& t) {
    const element_rule rule = rule_for(t.tensor.dtype);
    if (rule.kind == value_kind::unsupported)
      throw error(
          errc::unsupported,
          "dtype " + ckpt::describe(t.tensor.dtype) + " has no fixed layout to write as JSON", {},
          t.path);
    const auto count = checked_num_elements(t.tensor.shape);
    if (!count) throw error(errc::bad_format, "the shape's element count overflows", {}, t.path);
    const bool fits = rule.kind == value_kind::text ? t.tensor.strings.size() == *count
                                                    : t.tensor.bytes.size() / rule.size == *count &&
                                                          t.tensor.bytes.size() % rule.size == 0;
    if (!fits)
      throw error(errc::shape_mismatch,
                  "the tensor's memory does not match its shape " + to_string(t.tensor.shape), {},
                  t.path);
  }

  void flush() {
    file_->write(out_.data(), out_.size());
    out_.clear();
  }
  void maybe_flush() {
    if (out_.size() >= flush_threshold) flush();
  }
  void newline(std::size_t indent) {
    out_ += '\n';
    out_.append(indent, ' ');
  }

  void write_group(std::size_t at, std::size_t indent) {
    const node& n = nodes_[at];
    if (n.children.empty()) {
      out_ += "{}";
      return;
    }
    out_ += '{';
    for (std::size_t i = 0; i < n.children.size(); ++i) {
      const node& child = nodes_[n.children[i]];
      if (i) out_ += ',';
      newline(indent + 2);
      append_quoted(out_, child.name);
      out_ += ": ";
      if (child.tensor)
        write_tensor(*child.tensor, indent + 2);
      else
        write_group(n.children[i], indent + 2);
    }
    newline(indent);
    out_ += '}';
  }

  // Rank 0 and 1 tensors take one line; higher ranks put each innermost row on its own line.
  void write_tensor(const named_tensor& t, std::size_t indent) {
    const tensor_view& v = t.tensor;
    const bool one_line = v.shape.size() <= 1;
    out_ += '{';
    if (!one_line) newline(indent + 2);
    out_ += "\"dtype\": \"";
    out_ += name(v.dtype);
    out_ += "\",";
    if (one_line)
      out_ += ' ';
    else
      newline(indent + 2);
    out_ += "\"shape\": [";
    for (std::size_t i = 0; i < v.shape.size(); ++i) {
      if (i) out_ += ", ";
      out_ += std::to_string(v.shape[i]);
    }
    out_ += "],";
    if (one_line)
      out_ += ' ';
    else
      newline(indent + 2);
    out_ += "\"values\": ";
    rule_ = rule_for(v.dtype);
    next_element_ = 0;
    current_ = &t;
    if (v.shape.empty())
      write_element();
    else
      write_level(0, indent + 2);
    if (!one_line) newline(indent);
    out_ += '}';
  }

  void write_level(std::size_t level, std::size_t indent) {
    const tensor_view& v = current_->tensor;
    const std::uint64_t length = v.shape[level];
    out_ += '[';
    if (level + 1 == v.shape.size()) {
      for (std::uint64_t i = 0; i < length; ++i) {
        if (i) out_ += ", ";
        write_element();
        maybe_flush();
      }
    } else if (length > 0) {
      for (std::uint64_t i = 0; i < length; ++i) {
        if (i) out_ += ',';
        newline(indent + 2);
        write_level(level + 1, indent + 2);
      }
      newline(indent);
    }
    out_ += ']';
  }

  void write_element() {
    const tensor_view& v = current_->tensor;
    const std::size_t i = next_element_++;
    switch (rule_.kind) {
      case value_kind::text: {
        const std::string& s = v.strings[i];
        if (is_valid_utf8(s)) {
          append_quoted(out_, s);
        } else {
          out_ += "{\"base64\": \"";
          append_base64(out_, s);
          out_ += "\"}";
        }
        return;
      }
      case value_kind::boolean:
        out_ += v.bytes[i] != std::byte{0} ? "true" : "false";
        return;
      case value_kind::integer:
        return write_integer(load_bits(v.bytes.data() + i * rule_.size, rule_.size));
      case value_kind::floating:
        return append_float(out_, load_bits(v.bytes.data() + i * rule_.size, rule_.size),
                            rule_.real);
      case value_kind::complex: {
        const std::size_t half = rule_.size / 2;
        const std::byte* p = v.bytes.data() + i * rule_.size;
        out_ += '[';
        append_float(out_, load_bits(p, half), rule_.real);
        out_ += ", ";
        append_float(out_, load_bits(p + half, half), rule_.real);
        out_ += ']';
        return;
      }
      default:
        return;
    }
  }

  void write_integer(std::uint64_t bits) {
    char buffer[24];
    std::to_chars_result r;
    if (rule_.is_signed) {
      const std::int64_t value = signed_value(bits, rule_.size);
      if (value < rule_.min || value > static_cast<std::int64_t>(rule_.max))
        throw out_of_range(std::to_string(value));
      r = std::to_chars(buffer, buffer + sizeof buffer, value);
    } else {
      if (bits > rule_.max) throw out_of_range(std::to_string(bits));
      r = std::to_chars(buffer, buffer + sizeof buffer, bits);
    }
    out_.append(buffer, r.ptr);
  }

  // Only the sub-byte integers can hold a byte outside their range; writing it would make a file
  // this reader refuses, so the save fails instead (and leaves the old file in place).
  error out_of_range(const std::string& value) const {
    return error(errc::bad_format,
                 "element " + std::to_string(next_element_ - 1) + " is " + value +
                     ", outside the range of " + std::string(name(current_->tensor.dtype)),
                 {}, current_->path);
  }

  std::filesystem::path path_;
  save_options options_;
  std::vector<node> nodes_;
  atomic_file* file_ = nullptr;
  std::string out_;
  const named_tensor* current_ = nullptr;
  element_rule rule_;
  std::size_t next_element_ = 0;
};

inline format_info info() {
  return {
      "json",
      {".json"},
      [](const std::filesystem::path& p) { return detect(p); },
      [](const std::filesystem::path& p, const load_options& o) -> std::unique_ptr<format_reader> {
        return std::make_unique<reader>(p, o);
      },
      [](const std::filesystem::path& p, const save_options& o) -> std::unique_ptr<format_writer> {
        return std::make_unique<writer>(p, o);
      }};
}

}  // namespace ckpt::json_format

namespace ckpt {
inline const bool json_registered = register_format(json_format::info());
}  // namespace ckpt
