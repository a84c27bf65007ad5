// SPDX-License-Identifier: Apache-2.0
#pragma once
// safetensors files built byte by byte, for the tests of the reader (tests/formats/safetensors)
// and of what it refuses (tests/hostile): an 8-byte little-endian header size, the JSON header,
// the data buffer.
//
//   ckpt_test::spit(path, ckpt_test::st_file(ckpt_test::one_f32_header, ckpt_test::eight_bytes));

#include <cstdint>
#include <string>

namespace ckpt_test {

inline std::string le64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// A file of the given header (its size prefixed) and data buffer.
inline std::string st_file(const std::string& header, const std::string& data = {}) {
  return le64(header.size()) + header + data;
}

// A header of one float32 tensor "a" of two elements, and data for it.
inline const std::string one_f32_header =
    R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
inline const std::string eight_bytes = "12345678";

// One entry of a header: "name":{"dtype":...,"shape":...,"data_offsets":[begin,end]}.
inline std::string entry_json(const std::string& name, const std::string& dtype,
                              const std::string& shape, std::uint64_t begin, std::uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

}  // namespace ckpt_test
