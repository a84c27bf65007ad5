// SPDX-License-Identifier: Apache-2.0
#pragma once
// The format_writer of every layout stored as one HDF5 file (generic, Keras 2, Keras 3): the
// storage options are checked before anything is created, the layout writes into the root group of
// a new file beside the target, and the file replaces the target atomically once every handle the
// layout opened is closed.

#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include "ckpt/core/options.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/storage.hpp"

namespace ckpt::hdf5 {

// Writes `tensors` in a layout into the (empty) root group `root`.
using layout_writer =
    std::function<void(const group& root, const std::vector<named_tensor>&, const save_options&)>;

class file_writer final : public format_writer {
 public:
  file_writer(std::filesystem::path path, save_options options, layout_writer write_layout)
      : path_(std::move(path)),
        options_(std::move(options)),
        write_layout_(std::move(write_layout)) {}

  void write(const std::vector<named_tensor>& tensors) override {
    quiet_errors quiet;
    validate(options_.storage, {path_.string(), {}});
    new_file out(path_, options_.sync);
    {
      const group root = out.root();
      write_layout_(root, tensors, options_);
    }  // every handle closes before the file does
    out.commit();
  }

 private:
  std::filesystem::path path_;
  save_options options_;
  layout_writer write_layout_;
};

}  // namespace ckpt::hdf5
