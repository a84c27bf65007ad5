// SPDX-License-Identifier: Apache-2.0
#pragma once
// The part of a format_reader every format shares: it owns the entries and the metadata, and
// checks once, for every format, that a read names an entry and gives room of its dtype, shape
// and size.
// A format fills entries_ (and metadata_) and implements read_entry().

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/format.hpp"

namespace ckpt {

class basic_reader : public format_reader {
 public:
  const std::vector<entry>& entries() const final { return entries_; }
  std::map<std::string, std::string> metadata() const override { return metadata_; }

  void read(std::size_t index, const mutable_tensor_view& out) final {
    const entry& e = checked(index);
    if (out.dtype != e.dtype)
      throw error(errc::dtype_mismatch,
                  "stored as " + describe(e.dtype) + ", read into " + describe(out.dtype), file_,
                  e.name);
    if (out.shape != e.shape)
      throw error(errc::shape_mismatch,
                  "stored shape " + to_string(e.shape) + ", read into " + to_string(out.shape),
                  file_, e.name);
    if (e.dtype == dtype::string) {
      if (out.strings.size() != num_elements(e.shape))
        throw error(errc::shape_mismatch,
                    "stored tensor " + to_string(e.shape) + " has " +
                        std::to_string(num_elements(e.shape)) +
                        " strings but the destination has " + std::to_string(out.strings.size()),
                    file_, e.name);
    } else if (out.bytes.size() != e.bytes) {
      throw error(errc::shape_mismatch,
                  "stored tensor " + to_string(e.shape) + " has " + std::to_string(e.bytes) +
                      " bytes but the destination has " + std::to_string(out.bytes.size()),
                  file_, e.name);
    }
    read_entry(index, out);
  }

 protected:
  explicit basic_reader(std::string file) : file_(std::move(file)) {}

  // Fills `out`, already checked to be of entry `index`'s dtype and size.
  virtual void read_entry(std::size_t index, const mutable_tensor_view& out) = 0;

  // Entry `index`, or a missing_key error naming the file.
  const entry& checked(std::size_t index) const {
    if (index >= entries_.size())
      throw error(errc::missing_key, "no entry number " + std::to_string(index), file_);
    return entries_[index];
  }

  std::string file_;  // named in errors
  std::vector<entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ckpt
