// SPDX-License-Identifier: Apache-2.0
#pragma once
// JSON checkpoint documents written by hand, for the tests of the JSON reader (tests/formats/json)
// and of what it refuses (tests/hostile).
//
//   const auto t = ckpt_test::read_one<float>(dir, ckpt_test::one_tensor("float32", "[1]", "[2]"));

#include <string>

#include "ckpt/api.hpp"
#include "files.hpp"
#include "scratch_dir.hpp"

namespace ckpt_test {

// A document of the given "tensors" members.
inline std::string document(const std::string& tensors) {
  return R"({"format": "ckpt-json", "version": 1, "tensors": {)" + tensors + "}}";
}

// A document of one tensor "t".
inline std::string one_tensor(const std::string& dtype, const std::string& shape,
                              const std::string& values) {
  return document(R"("t": {"dtype": ")" + dtype + R"(", "shape": )" + shape + R"(, "values": )" +
                  values + "}");
}

// Reads tensor "t" of a document that must load.
template <class T>
ckpt::tensor<T> read_one(const scratch_dir& dir, const std::string& text) {
  const auto path = dir / "one.json";
  spit(path, text);
  ckpt::reader r(path);
  return r.read<T>("t");
}

}  // namespace ckpt_test
