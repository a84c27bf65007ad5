// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the `checkpoint` state file (a text-format tensorflow.CheckpointState):
// the input is the file's text. Text the parser accepts is printed as TensorFlow would write it;
// that text must parse again, to the same state, and print to the same text (the writer's promise
// that a state read and written back is byte-identical). A ckpt::error from the first parse is a
// correct answer; a failure of the round trip traps.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/formats/tf_checkpoint/checkpoint_state.hpp"

namespace {

// Equal as stored: NaNs are all one value to the text format ("nan"), but 0.0 and -0.0 differ.
bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool same(const ckpt::checkpoint_state& a, const ckpt::checkpoint_state& b) {
  if (a.model_checkpoint_path != b.model_checkpoint_path ||
      a.all_model_checkpoint_paths != b.all_model_checkpoint_paths ||
      a.all_model_checkpoint_timestamps.size() != b.all_model_checkpoint_timestamps.size() ||
      !same(a.last_preserved_timestamp, b.last_preserved_timestamp))
    return false;
  for (std::size_t i = 0; i < a.all_model_checkpoint_timestamps.size(); ++i)
    if (!same(a.all_model_checkpoint_timestamps[i], b.all_model_checkpoint_timestamps[i]))
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ckpt::checkpoint_state first;
  try {
    first = ckpt::parse_checkpoint_state(text, "checkpoint");
  } catch (const ckpt::error&) {
    return 0;
  }
  const std::string printed = ckpt::to_text(first);
  // Escaping can make the text longer than the size limit the parser enforces.
  if (printed.size() > ckpt::max_checkpoint_state_bytes) return 0;
  try {
    const ckpt::checkpoint_state second = ckpt::parse_checkpoint_state(printed, "printed");
    if (!same(first, second) || ckpt::to_text(second) != printed) __builtin_trap();
  } catch (const ckpt::error&) {
    __builtin_trap();  // ckpt printed a state it cannot read back
  }
  return 0;
}
