// SPDX-License-Identifier: Apache-2.0
#pragma once
// The `ckpt` tool as a function: `ckpt VERB ARGUMENTS...` over every format registered when it is
// called. A program that registers its own formats and then calls run() is the ckpt tool for those
// formats too, with no change to the tool (examples/custom_format_tool.cpp).

namespace ckpt_tool {

// argv[0] is the program's name, argv[1] the verb. Returns the exit status: 0 done, 1 the input
// is bad (the message names file, key and offset), 2 a usage error.
int run(int argc, char** argv);

}  // namespace ckpt_tool
