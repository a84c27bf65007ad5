// SPDX-License-Identifier: Apache-2.0
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
#include "ckpt/codec/json_string.hpp"
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
