// SPDX-License-Identifier: Apache-2.0
#pragma once
// How the tool spells stored values and names: as the JSON format spells them
// (formats/json/README.md), so NaN, infinities, negative zero and bytes that are not UTF-8 stay
// distinguishable, with big tensors abbreviated the way numpy prints them.

#include <cstdint>
#include <string>
#include <string_view>

#include "ckpt/core/tensor_view.hpp"

namespace ckpt_tool {

// numpy's print defaults, which TensorFlow's inspect_checkpoint inherits: above this many
// elements, every dimension longer than twice `edge_items` shows only its first and last
// `edge_items` entries around an ellipsis.
inline constexpr std::uint64_t abbreviate_above = 1000;
inline constexpr std::uint64_t edge_items = 3;

struct value_style {
  // JSON output: ", " between elements and the ellipsis as the string "..." so the document
  // stays valid JSON; otherwise "," and a bare `...`, as in a listing.
  bool json = false;
  bool abbreviate = true;
};

// Appends `text` as a JSON string when it is UTF-8, else as {"base64": "..."} (RFC 4648).
void append_text(std::string& out, std::string_view text);

// Whether spell_values leaves elements out of `t`.
bool is_abbreviated(const ckpt::tensor_view& t, value_style style);

// The tensor's values nested by its shape, row-major (a bare element for rank 0). Floats take the
// JSON format's spelling ("NaN", "Infinity", "-Infinity", "NaN:0x...") with ".0" added to whole
// numbers, so that any JSON reader keeps them as floats and -0.0 as a negative zero. Dtypes with
// no element layout (resource, variant) show their stored bytes as {"base64": "..."}.
std::string spell_values(const ckpt::tensor_view& t, value_style style);

}  // namespace ckpt_tool
