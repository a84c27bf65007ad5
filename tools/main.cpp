// SPDX-License-Identifier: Apache-2.0
// ckpt: inspect, convert and verify checkpoints in any format ckpt reads.
// `ckpt help` lists the verbs, `ckpt VERB --help` a verb's options.

#include "run.hpp"

int main(int argc, char** argv) { return ckpt_tool::run(argc, argv); }
