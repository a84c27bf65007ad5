#pragma once
// The format_reader every HDF5 layout shares: a layout's constructor finds its datasets and calls
// add_entry() for each; reading, checksum verification and metadata are common. Every public call
// silences libhdf5's error printing for its duration.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/hdf5/dataset.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/group.hpp"

namespace ckpt::hdf5 {

class tensor_reader : public format_reader {
 public:
  tensor_reader(file f, std::string format_name, const load_options& options)
      : file_(std::move(f)), format_(std::move(format_name)), options_(options) {}

  std::string format() const override { return format_; }
  const std::vector<entry>& entries() const override { return entries_; }
  std::map<std::string, std::string> metadata() const override { return metadata_; }

  void read(std::size_t index, const mutable_tensor_view& out) override {
    quiet_errors quiet;
    const auto& e = checked(index);
    const auto& info = infos_[index];
    // Plain contiguous data is read directly: opening a dataset in libhdf5 costs more than reading
    // a small tensor.
    if (info.plain_offset && out.dtype == info.dtype && out.bytes.size() == info.bytes)
      return file_.bytes().read_at(*info.plain_offset, out.bytes, e.name);
    read_dataset(open(index), info, out, options_.verify_checksums);
  }

  // ok or mismatch for datasets with Fletcher32 checksums (read in full), none for the others.
  checksum_status verify(std::size_t index) override {
    quiet_errors quiet;
    const auto& e = checked(index);
    const auto& info = infos_[index];
    if (!info.fletcher32) return checksum_status::none;
    mutable_tensor_view out{e.dtype, e.shape, {}, {}};
    std::vector<std::byte> bytes;
    std::vector<std::string> strings;
    if (e.dtype == dtype::string) {
      strings.resize(static_cast<std::size_t>(info.elements));
      out.strings = strings;
    } else {
      bytes.resize(static_cast<std::size_t>(info.bytes));
      out.bytes = bytes;
    }
    try {
      read_dataset(open(index), info, out, /*verify_checksums=*/true);
    } catch (const error& err) {
      if (err.code() == errc::checksum_mismatch) return checksum_status::mismatch;
      throw;
    }
    return checksum_status::ok;
  }

  // The HDF5 path ("/dense/kernel") of entry `index`, and what inspection found.
  const std::string& dataset_path(std::size_t index) const { return paths_.at(index); }
  const dataset_info& info(std::size_t index) const { return infos_.at(index); }
  const file& h5() const noexcept { return file_; }
  const load_options& options() const noexcept { return options_; }

 protected:
  // Adds the dataset at absolute HDF5 path `hdf5_path` as entry `name` (the key as stored, shown by
  // `ckpt inspect`) with canonical path `path`. Inspects it now, so a bad dataset fails the open.
  void add_entry(const std::string& hdf5_path, std::string name, std::string path) {
    if (entries_.size() >= options_.limits.max_entries)
      throw error(errc::limit,
                  "more than " + std::to_string(options_.limits.max_entries) +
                      " datasets (load_limits::max_entries)",
                  file_.name());
    const group root = file_.root();
    const dataset d = open_dataset(root, hdf5_path);
    dataset_info info = inspect_dataset(d, file_.size(), options_.limits);
    entries_.push_back({std::move(name), std::move(path), info.dtype, info.shape, info.bytes});
    paths_.push_back(hdf5_path);
    infos_.push_back(std::move(info));
  }
  void set_metadata(std::string key, std::string value) {
    metadata_.insert_or_assign(std::move(key), std::move(value));
  }

 private:
  const entry& checked(std::size_t index) const {
    if (index >= entries_.size())
      throw error(errc::missing_key, "no entry number " + std::to_string(index), file_.name());
    return entries_[index];
  }
  dataset open(std::size_t index) const { return open_dataset(file_.root(), paths_[index]); }

  file file_;
  std::string format_;
  load_options options_;
  std::vector<entry> entries_;
  std::vector<std::string> paths_;
  std::vector<dataset_info> infos_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ckpt::hdf5
