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
  format_info f;
  f.name = "json";
  f.extensions = {".json"};
  f.detect = [](const std::filesystem::path& p) { return detect(p); };
  f.open = [](const std::filesystem::path& p,
              const load_options& o) -> std::unique_ptr<format_reader> {
    return std::make_unique<reader>(p, o);
  };
  f.create = [](const std::filesystem::path& p,
                const save_options& o) -> std::unique_ptr<format_writer> {
    return std::make_unique<writer>(p, o);
  };
  for (const auto& row : ckpt::detail::dtype_table)
    if (rule_for(row.type).kind != value_kind::unsupported) f.capabilities.dtypes.push_back(row.type);
  return f;
}

}  // namespace ckpt::json_format

namespace ckpt {
inline const bool json_registered = register_format(json_format::info());
}  // namespace ckpt
