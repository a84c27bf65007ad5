// SPDX-License-Identifier: Apache-2.0
#pragma once
// The format_reader every HDF5 layout shares, on a file on disk or an image in memory: a layout's
// constructor finds its datasets and calls add_entry() for each; reading, checksum verification and
// metadata are common, and basic_reader checks each read's entry, dtype and size. Every call that
// reaches libhdf5 silences its error printing for its duration.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/basic_reader.hpp"
#include "ckpt/formats/entry_buffer.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/dataset.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/group.hpp"

namespace ckpt::hdf5 {

class tensor_reader : public basic_reader {
 public:
  tensor_reader(file f, std::string format_name, const load_options& options)
      : basic_reader(f.name()),
        h5_(std::move(f)),
        format_(std::move(format_name)),
        options_(options) {}

  std::string format() const override { return format_; }

  // ok or mismatch for datasets with Fletcher32 checksums (read in full), none for the others.
  checksum_status verify(std::size_t index) override {
    quiet_errors quiet;
    const entry& e = checked(index);
    const dataset_info& info = infos_[index];
    if (!info.fletcher32) return checksum_status::none;
    entry_buffer buffer(e);
    try {
      read_dataset(open(index), info, buffer.view(), /*verify_checksums=*/true);
    } catch (const error& err) {
      if (err.code() == errc::checksum_mismatch) return checksum_status::mismatch;
      throw;
    }
    return checksum_status::ok;
  }

  // The HDF5 path ("/dense/kernel") of entry `index`, and what inspection found.
  const std::string& dataset_path(std::size_t index) const { return paths_.at(index); }
  const dataset_info& info(std::size_t index) const { return infos_.at(index); }
  const file& h5() const noexcept { return h5_; }
  const load_options& options() const noexcept { return options_; }

 protected:
  void read_entry(std::size_t index, const mutable_tensor_view& out) override {
    quiet_errors quiet;
    const dataset_info& info = infos_[index];
    // Plain contiguous data is read directly: opening a dataset in libhdf5 costs more than reading
    // a small tensor.
    if (info.plain_offset)
      return h5_.bytes().read_at(*info.plain_offset, out.bytes, entries_[index].name);
    read_dataset(open(index), info, out, options_.verify_checksums);
  }

  // Adds the dataset at absolute HDF5 path `hdf5_path` as entry `name` (the key as stored, shown by
  // `ckpt inspect`) with canonical path `path`. Inspects it now, so a bad dataset fails the open.
  void add_entry(const std::string& hdf5_path, std::string name, std::string path) {
    if (entries_.size() >= options_.limits.max_entries)
      throw error(errc::limit,
                  "more than " + std::to_string(options_.limits.max_entries) +
                      " datasets (load_limits::max_entries)",
                  h5_.name());
    const group root = h5_.root();
    const dataset d = open_dataset(root, hdf5_path);
    dataset_info info = inspect_dataset(d, h5_.size(), options_.limits);
    entries_.push_back({std::move(name), std::move(path), info.dtype, info.shape, info.bytes});
    paths_.push_back(hdf5_path);
    infos_.push_back(std::move(info));
  }
  void set_metadata(std::string key, std::string value) {
    metadata_.insert_or_assign(std::move(key), std::move(value));
  }

 private:
  dataset open(std::size_t index) const { return open_dataset(h5_.root(), paths_[index]); }

  file h5_;
  std::string format_;
  load_options options_;
  std::vector<std::string> paths_;
  std::vector<dataset_info> infos_;
};

}  // namespace ckpt::hdf5
