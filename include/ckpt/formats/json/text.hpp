#pragma once
// Strings in the JSON format: UTF-8 validation, quoting and base64 for non-UTF-8 bytes.

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
#include "ckpt/formats/json/numbers.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt::json_format {

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

}  // namespace ckpt::json_format
