// SPDX-License-Identifier: Apache-2.0
#pragma once
// The command line of one verb: its positional arguments and the options it accepts.

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ckpt_tool {

// A mistake on the command line: reported with the verb's usage, exit status 2.
class usage_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct arguments {
  std::vector<std::string> positional;
  bool help = false;        // --help, -h
  bool json = false;        // --json
  bool values = false;      // --values (also implied by --all-values and --tensor)
  bool all_values = false;  // --all-values
  std::string format;       // --format NAME
  std::string from;         // --from NAME
  std::string tensor;       // --tensor NAME
};

// Parses `args` (what follows the verb). Options may be given as `--name value` or
// `--name=value`; `--` ends the options. An option that is not in `accepted` is a usage_error
// naming `verb`; --help is always accepted.
arguments parse_arguments(std::string_view verb, std::span<char* const> args,
                          std::span<const std::string_view> accepted);

}  // namespace ckpt_tool
