// SPDX-License-Identifier: Apache-2.0
#include "arguments.hpp"

#include <algorithm>
#include <optional>

namespace ckpt_tool {

namespace {

// Where each option's value goes; flags without a value set a bool.
struct option {
  std::string_view name;
  bool arguments::*flag = nullptr;
  std::string arguments::*value = nullptr;
};

constexpr option option_table[] = {
    {"--json", &arguments::json, nullptr},
    {"--values", &arguments::values, nullptr},
    {"--all-values", &arguments::all_values, nullptr},
    {"--format", nullptr, &arguments::format},
    {"--from", nullptr, &arguments::from},
    {"--tensor", nullptr, &arguments::tensor},
};

const option* find_option(std::string_view name) {
  for (const auto& o : option_table)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace

arguments parse_arguments(std::string_view verb, std::span<char* const> args,
                          std::span<const std::string_view> accepted) {
  arguments a;
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (options_ended || !arg.starts_with('-') || arg == "-") {
      a.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      a.help = true;
      continue;
    }
    const std::size_t equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    const option* o = find_option(name);
    if (!o || std::find(accepted.begin(), accepted.end(), name) == accepted.end())
      throw usage_error(o ? std::string(verb) + " takes no " + std::string(name) + " option"
                          : "unknown option " + std::string(name));
    if (o->flag) {
      if (equals != std::string_view::npos)
        throw usage_error(std::string(name) + " takes no value");
      a.*(o->flag) = true;
      continue;
    }
    std::optional<std::string_view> value;
    if (equals != std::string_view::npos)
      value = arg.substr(equals + 1);
    else if (i + 1 < args.size())
      value = args[++i];
    if (!value || value->empty()) throw usage_error(std::string(name) + " needs a value");
    a.*(o->value) = std::string(*value);
  }
  if (a.all_values || !a.tensor.empty()) a.values = true;
  return a;
}

}  // namespace ckpt_tool
