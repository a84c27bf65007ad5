// SPDX-License-Identifier: Apache-2.0
// The ckpt tool's command line: dispatches to the verbs. main.cpp calls it; so can a program that
// registers formats of its own first (examples/custom_format_tool.cpp).

#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <string_view>

#include "arguments.hpp"
#include "ckpt/core/error.hpp"
#include "format_choice.hpp"
#include "run.hpp"
#include "verbs.hpp"

namespace {

using ckpt_tool::verb;

constexpr const verb* verbs[] = {&ckpt_tool::inspect_verb, &ckpt_tool::convert_verb,
                                 &ckpt_tool::verify_verb};

const verb* find_verb(std::string_view name) {
  for (const verb* v : verbs)
    if (v->name == name) return v;
  return nullptr;
}

std::string overview() {
  std::string out = "usage: ckpt VERB ARGUMENTS [OPTIONS]\n\n";
  for (const verb* v : verbs) {
    const std::string_view synopsis = v->usage.substr(0, v->usage.find('\n'));
    out += "  " + std::string(synopsis.substr(synopsis.find("ckpt"))) + "\n";
    out += "      " + std::string(v->summary) + "\n";
  }
  out += "  ckpt help [VERB]\n      this overview, or a verb's options (also: ckpt VERB --help)\n";
  out += "\nformats: " + ckpt_tool::known_formats() + "\n";
  return out;
}

int help(std::span<char* const> topics) {
  if (topics.empty()) {
    std::fputs(overview().c_str(), stdout);
    return 0;
  }
  const verb* v = topics.size() == 1 ? find_verb(topics[0]) : nullptr;
  if (!v) {
    std::fprintf(stderr, "ckpt help: no verb named '%s'\n\n%s", topics[0], overview().c_str());
    return 2;
  }
  std::fwrite(v->usage.data(), 1, v->usage.size(), stdout);
  return 0;
}

}  // namespace

int ckpt_tool::run(int argc, char** argv) {
  const std::span<char* const> args(argv, static_cast<std::size_t>(argc));
  if (args.size() < 2) {
    std::fputs(overview().c_str(), stderr);
    return 2;
  }
  const std::string_view command = args[1];
  if (command == "help" || command == "--help" || command == "-h") return help(args.subspan(2));
  const verb* v = find_verb(command);
  if (!v) {
    std::fprintf(stderr, "ckpt: unknown verb '%s'\n\n%s", args[1], overview().c_str());
    return 2;
  }
  try {
    const auto a = ckpt_tool::parse_arguments(v->name, args.subspan(2), v->options);
    if (a.help) {
      std::fwrite(v->usage.data(), 1, v->usage.size(), stdout);
      return 0;
    }
    return v->run(a);
  } catch (const ckpt_tool::usage_error& e) {
    const std::string_view synopsis = v->usage.substr(0, v->usage.find('\n') + 1);
    std::fprintf(stderr, "ckpt %s: %s\n%.*s(ckpt %s --help describes every option)\n", args[1],
                 e.what(), int(synopsis.size()), synopsis.data(), args[1]);
    return 2;
  } catch (const std::exception& e) {
    // ckpt::error names the file, the entry and the offset where they are known.
    std::fprintf(stderr, "ckpt: %s\n", e.what());
    return 1;
  }
}
