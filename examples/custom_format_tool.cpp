// SPDX-License-Identifier: Apache-2.0
// The ckpt tool for a format of your own: register it, then hand the command line to the tool.
// Every verb works on the new format as on the built-in ones, with no change to the tool:
//
//   custom_format_tool inspect model.ckpt.txt
//   custom_format_tool convert model.ckpt.txt model.safetensors
//   custom_format_tool verify text_run            (a manager directory: its latest checkpoint)
#include "run.hpp"  // the tool's verbs (tools/run.hpp, the ckpt_tool_verbs target)
#include "text_format.hpp"

int main(int argc, char** argv) {
  text_format::register_format();
  return ckpt_tool::run(argc, argv);
}
