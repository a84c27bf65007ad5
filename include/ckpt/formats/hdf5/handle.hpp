// SPDX-License-Identifier: Apache-2.0
#pragma once
// RAII ownership of libhdf5 identifiers: one handle type per kind of object, each closed with the
// function libhdf5 names for that kind. Move-only; closing never throws (a failed close at
// destruction has no one to report to; writers close files explicitly and check the result).

#include <hdf5.h>

#include <utility>

namespace ckpt::hdf5 {

template <herr_t (*Close)(hid_t)>
class handle {
 public:
  handle() noexcept = default;
  explicit handle(hid_t id) noexcept : id_(id) {}
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;
  handle(handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  handle& operator=(handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~handle() { reset(); }

  hid_t get() const noexcept { return id_; }
  bool valid() const noexcept { return id_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Closes now and returns libhdf5's result (0 when there was nothing to close).
  herr_t close() noexcept {
    if (id_ < 0) return 0;
    return Close(std::exchange(id_, H5I_INVALID_HID));
  }
  void reset() noexcept { close(); }
  // Gives up ownership without closing.
  [[nodiscard]] hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using file_handle = handle<H5Fclose>;
using group_handle = handle<H5Gclose>;
using dataset_handle = handle<H5Dclose>;
using dataspace_handle = handle<H5Sclose>;
using datatype_handle = handle<H5Tclose>;
using attribute_handle = handle<H5Aclose>;
using plist_handle = handle<H5Pclose>;
using object_handle = handle<H5Oclose>;  // a group, dataset or named datatype opened by H5Oopen

}  // namespace ckpt::hdf5
