// SPDX-License-Identifier: Apache-2.0
// ckpt convert: a checkpoint copied into another file, in the same or another format.

#include <cstdio>
#include <string>

#include "arguments.hpp"
#include "checkpoint_path.hpp"
#include "ckpt/api.hpp"
#include "format_choice.hpp"
#include "verbs.hpp"

namespace ckpt_tool {

namespace {

constexpr std::string_view convert_options[] = {"--format", "--from"};

constexpr std::string_view convert_usage =
    "usage: ckpt convert IN OUT [--format NAME] [--from NAME]\n"
    "\n"
    "Copies every tensor of the checkpoint IN into OUT by canonical path, and prints how many\n"
    "it wrote. OUT's format comes from its name (model.safetensors, model.json, model.h5, a\n"
    "bare prefix such as run/ckpt-5 for TensorFlow) or --format; missing directories above OUT\n"
    "are created. Without --format, a format that can copy a checkpoint of its own kind as\n"
    "stored does so: TensorFlow to TensorFlow keeps keys, shards and bytes. A directory IN\n"
    "holding a `checkpoint` state file stands for the latest checkpoint it names.\n"
    "\n"
    "  --format NAME   write OUT in this format\n"
    "  --from NAME     read IN as this format instead of telling it from the file\n"
    "  -h, --help      print this help\n";

int convert(const arguments& a) {
  if (a.positional.size() != 2) throw usage_error("convert takes IN and OUT");
  const auto in = locate_checkpoint(a.positional[0]);
  const std::string& out = a.positional[1];
  const std::string from = format_to_read(in.path, a.from, "--from").name;
  // Checked before anything is read, so a name that tells nothing fails at once.
  format_to_write(out, a.format, "--format");
  const auto result = ckpt::convert_file(in.path, out, {.format = from}, {.format = a.format});
  std::printf("%s (%s) -> %s (%s%s): %zu tensors\n", in.path.c_str(), result.from_format.c_str(),
              out.c_str(), result.to_format.c_str(), result.layout_kept ? ", layout kept" : "",
              result.tensors);
  return 0;
}

}  // namespace

const verb convert_verb = {"convert", "copy a checkpoint into another file or format",
                           convert_usage, convert_options, convert};

}  // namespace ckpt_tool
