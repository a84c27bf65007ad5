// SPDX-License-Identifier: Apache-2.0
// ckpt verify: read every entry and check every checksum the format keeps.

#include <cstdio>
#include <string>

#include "arguments.hpp"
#include "checkpoint_path.hpp"
#include "ckpt/api.hpp"
#include "format_choice.hpp"
#include "verbs.hpp"

namespace ckpt_tool {

namespace {

constexpr std::string_view verify_options[] = {"--format"};

constexpr std::string_view verify_usage =
    "usage: ckpt verify PATH [--format NAME]\n"
    "\n"
    "Reads every entry of the checkpoint at PATH, which checks its structure, and checks every\n"
    "checksum the format keeps. Prints a summary and exits 0, or exits 1 naming the first bad\n"
    "entry. A directory holding a `checkpoint` state file stands for the latest checkpoint it\n"
    "names; which one is noted on stderr.\n"
    "\n"
    "  --format NAME   read PATH as this format instead of telling it from the file\n"
    "  -h, --help      print this help\n";

int verify(const arguments& a) {
  if (a.positional.size() != 1) throw usage_error("verify takes one PATH");
  const auto located = locate_checkpoint(a.positional[0]);
  const std::string checkpoint = located.path.string();
  ckpt::reader file(located.path,
                    {.format = format_to_read(located.path, a.format, "--format").name,
                     .verify_checksums = true});
  ckpt::entry_buffer buffer;
  std::size_t checked = 0;
  for (const auto& e : file.entries()) {
    const auto status = file.verify(e.name);
    if (status == ckpt::checksum_status::mismatch)
      throw ckpt::error(ckpt::errc::checksum_mismatch, "checksum mismatch", checkpoint, e.name);
    checked += status == ckpt::checksum_status::ok;
    file.read_stored(e.name, buffer);
  }
  std::printf("%s: OK (%s, %zu entries, %zu checksums verified)\n", checkpoint.c_str(),
              file.format().c_str(), file.entries().size(), checked);
  return 0;
}

}  // namespace

const verb verify_verb = {"verify", "read every entry and check every checksum", verify_usage,
                          verify_options, verify};

}  // namespace ckpt_tool
