// SPDX-License-Identifier: Apache-2.0
#pragma once
// The tool's verbs. Each lives in its own file; main() only dispatches.

#include <span>
#include <string_view>

#include "arguments.hpp"

namespace ckpt_tool {

struct verb {
  std::string_view name;
  std::string_view summary;  // one line, for `ckpt help`
  std::string_view usage;    // synopsis and every option, for `ckpt VERB --help`
  std::span<const std::string_view> options;
  int (*run)(const arguments&);
};

extern const verb inspect_verb;
extern const verb convert_verb;
extern const verb verify_verb;

}  // namespace ckpt_tool
