// SPDX-License-Identifier: Apache-2.0
#pragma once
// The JSON format: one readable document whose nested objects mirror the canonical path tree,
// with every tensor spelled out as numbers. formats/json/README.md is the specification; this
// header implements it. It is meant for small checkpoints, diffs and hand inspection, and for
// exchange with programs that only speak JSON; it is exact (every bit pattern survives), not fast.
//
// The reader parses with nlohmann's SAX interface, which is iterative, so no nesting can exhaust
// the stack; the handler below stops the parse the moment a limit is crossed, and decodes each
// tensor's values straight into its storage without building a DOM.

#include <filesystem>
#include <memory>

#include "ckpt/formats/json/reader.hpp"
#include "ckpt/formats/json/writer.hpp"
#include "ckpt/formats/registry.hpp"

namespace ckpt::json_format {

inline format_info info() {
  format_info f = basic_format<reader, writer>("json", {".json"}, detect);
  for (const auto& row : ckpt::detail::dtype_table)
    if (rule_for(row.type).kind != value_kind::unsupported) f.capabilities.dtypes.push_back(row.type);
  return f;
}

}  // namespace ckpt::json_format

namespace ckpt {
CKPT_REGISTER_FORMAT(json_registered, json_format::info())
}  // namespace ckpt
