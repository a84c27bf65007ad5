// SPDX-License-Identifier: Apache-2.0
#pragma once
// JSON strings, as both the JSON format and the safetensors header write and check them.

#include <cstddef>
#include <string>
#include <string_view>

namespace ckpt {

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

// Appends `s` (valid UTF-8) as a JSON string, escaped as serde_json escapes it: the short forms
// for \" \\ \b \f \n \r \t, \u00xx (lower-case) for other control bytes, the rest verbatim.
// The safetensors writer relies on this to match the reference writer byte for byte.
inline void append_json_string(std::string& out, std::string_view s) {
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
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace ckpt
