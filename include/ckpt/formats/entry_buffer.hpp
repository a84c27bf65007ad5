// SPDX-License-Identifier: Apache-2.0
#pragma once
// One entry's values held in memory, for whoever needs a tensor the reader cannot show in place:
// conversion, the `ckpt` tool, formats that re-read another format's entries.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/format.hpp"

namespace ckpt {

class entry_buffer {
 public:
  entry_buffer() = default;
  explicit entry_buffer(const entry& e) { resize(e.dtype, e.shape, e.bytes); }

  // Room for a tensor of this dtype and shape (`bytes` stored bytes); the old contents are lost.
  void resize(ckpt::dtype dtype, const ckpt::shape& shape, std::uint64_t bytes) {
    view_ = {dtype, shape, {}, {}};
    if (dtype == dtype::string) {
      strings_.assign(static_cast<std::size_t>(num_elements(shape)), std::string());
      view_.strings = strings_;
    } else {
      // Not a vector: zero-filling what the reader overwrites at once costs a pass over memory.
      if (bytes > capacity_) {
        bytes_.reset(new std::byte[bytes]);
        capacity_ = bytes;
      }
      view_.bytes = {bytes_.get(), static_cast<std::size_t>(bytes)};
    }
  }

  const mutable_tensor_view& view() const noexcept { return view_; }
  std::vector<std::string>& strings() noexcept { return strings_; }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  std::uint64_t capacity_ = 0;
  std::vector<std::string> strings_;
  mutable_tensor_view view_;
};

// Entry `index` of `reader`: in place where the reader can show it, else read into `buffer`.
// The view lives as long as the reader and the buffer, until the buffer's next use.
inline tensor_view read_entry(format_reader& reader, std::size_t index, entry_buffer& buffer) {
  if (auto view = reader.view(index)) return *view;
  const entry& e = reader.entries().at(index);
  buffer.resize(e.dtype, e.shape, e.bytes);
  reader.read(index, buffer.view());
  return buffer.view();
}

}  // namespace ckpt
