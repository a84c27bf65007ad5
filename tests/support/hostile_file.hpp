// SPDX-License-Identifier: Apache-2.0
#pragma once
// Opening a crafted file and getting the error it must raise, for the hostile-input tests.
//
//   const ckpt::error e = ckpt_test::open_error(dir, "hostile.json", bytes, {.format = "json"});
//   CHECK(e.code() == ckpt::errc::bad_format);

#include <catch2/catch.hpp>
#include <string>

#include "ckpt/api.hpp"
#include "files.hpp"
#include "scratch_dir.hpp"

namespace ckpt_test {

// Writes `bytes` to dir/name and opens it with `options` (which name the format, so that a file
// detection would not recognise still reaches that format's reader). Returns the error raised,
// which must name the file; a file that opens fails the test.
inline ckpt::error open_error(const scratch_dir& dir, const std::string& name,
                              const std::string& bytes, const ckpt::load_options& options) {
  const auto path = dir / name;
  spit(path, bytes);
  try {
    ckpt::open_reader(path, options);
  } catch (const ckpt::error& e) {
    CHECK(e.file() == path.string());
    CHECK(std::string(e.what()).starts_with(path.string() + ": "));
    return e;
  }
  FAIL("the reader accepted: " << bytes.substr(0, 300));
  return ckpt::error(ckpt::errc::io, "unreachable");
}

}  // namespace ckpt_test
