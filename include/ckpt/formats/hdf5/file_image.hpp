// SPDX-License-Identifier: Apache-2.0
#pragma once
// HDF5 files held in memory, for the model.weights.h5 member of a ".keras" zip: libhdf5's core
// driver opens a file image without a file on disk. Reading lends libhdf5 the image's own buffer
// (the file-image callbacks below hand it that buffer instead of a copy), so a member read from
// the zip is not copied again, and the result is a `file` like one opened on disk; writing builds
// the file in memory and returns its bytes.

#include <hdf5.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/file.hpp"
#include "ckpt/formats/hdf5/handle.hpp"
#include "ckpt/formats/hdf5/preflight.hpp"
#include "ckpt/formats/hdf5/raw/preflight.hpp"

namespace ckpt::hdf5 {

namespace detail {

// The caller's buffer, lent to libhdf5 for as long as the file is open. The core driver asks to
// "allocate" and "copy" an image of the same size at open, which we answer with the buffer itself;
// a read-only file is never resized, so reallocation is refused.
struct lent_image {
  void* data = nullptr;
  std::size_t size = 0;
};

inline void* lent_malloc(std::size_t size, H5FD_file_image_op_t, void* udata) {
  auto* image = static_cast<lent_image*>(udata);
  return size == image->size ? image->data : nullptr;
}
inline void* lent_memcpy(void* dest, const void* src, std::size_t size, H5FD_file_image_op_t,
                         void* udata) {
  auto* image = static_cast<lent_image*>(udata);
  if (dest == src) return dest;
  if (dest == image->data) return nullptr;  // never write into the lent buffer
  std::memcpy(dest, src, size);
  return dest;
}
inline void* lent_realloc(void*, std::size_t, H5FD_file_image_op_t, void*) { return nullptr; }
inline herr_t lent_free(void*, H5FD_file_image_op_t, void*) { return 0; }
inline void* lent_udata_copy(void* udata) { return udata; }
inline herr_t lent_udata_free(void*) { return 0; }

// libhdf5 refuses to open two files of the same name at once, even in memory.
inline std::string image_name(const char* kind) {
  static std::atomic<unsigned long> counter{0};
  return std::string("ckpt-") + kind + "-" + std::to_string(counter.fetch_add(1)) + ".h5";
}

}  // namespace detail

// The HDF5 file image `bytes`, opened read-only without a copy; the file owns the bytes. `name`
// is used in messages. The caller holds a quiet_errors guard.
inline file open_image(std::vector<std::byte> bytes, std::string name) {
  const site where{name, {}};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), signature, 8) != 0)
    throw error(errc::bad_format, "not an HDF5 file (no HDF5 signature)", name, {}, 0);
  struct image {
    std::vector<std::byte> bytes;
    detail::lent_image lent;  // stable address for libhdf5's callbacks
  };
  auto owned = std::make_shared<image>();
  owned->bytes = std::move(bytes);
  owned->lent = {owned->bytes.data(), owned->bytes.size()};
  // ckpt's own check of the superblock and root group, before libhdf5 decodes them.
  auto checks = std::make_shared<raw::preflight>(raw::source::image(owned->bytes, name));
  plist_handle fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), where, "H5Pcreate"));
  check(H5Pset_fapl_core(fapl.get(), 1 << 20, false), where, "H5Pset_fapl_core");
  H5FD_file_image_callbacks_t callbacks = {
      detail::lent_malloc,     detail::lent_memcpy,     detail::lent_realloc, detail::lent_free,
      detail::lent_udata_copy, detail::lent_udata_free, &owned->lent};
  check(H5Pset_file_image_callbacks(fapl.get(), &callbacks), where, "H5Pset_file_image_callbacks");
  check(H5Pset_file_image(fapl.get(), owned->bytes.data(), owned->bytes.size()), where,
        "H5Pset_file_image");
  const std::string internal = detail::image_name("read");
  file_handle handle(
      check_id(H5Fopen(internal.c_str(), H5F_ACC_RDONLY, fapl.get()), where, "H5Fopen"));
  register_preflight(handle.get(), checks);
  return file::adopt(std::move(handle), std::move(checks), std::move(name), std::move(owned));
}

// A new HDF5 file in memory, with the same format-version bounds as files written to disk.
class memory_file {
 public:
  explicit memory_file(std::string name) : name_(std::move(name)) {
    plist_handle fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), where(), "H5Pcreate"));
    check(H5Pset_fapl_core(fapl.get(), 1 << 20, false), where(), "H5Pset_fapl_core");
    check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_EARLIEST, H5F_LIBVER_V18), where(),
          "H5Pset_libver_bounds");
    const std::string internal = detail::image_name("write");
    handle_ =
        file_handle(check_id(H5Fcreate(internal.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                             where(), "H5Fcreate", errc::io));
  }

  group root() const {
    const site s{name_, "/"};
    return {group_handle(check_id(H5Gopen2(handle_.get(), "/", H5P_DEFAULT), s, "H5Gopen2")), s};
  }
  hid_t id() const noexcept { return handle_.get(); }
  site where() const { return {name_, {}}; }

  // The finished file's bytes; closes the file (every object handle must be closed by now).
  std::vector<std::byte> finish() {
    check(H5Fflush(handle_.get(), H5F_SCOPE_GLOBAL), where(), "H5Fflush", errc::io);
    const ssize_t size = H5Fget_file_image(handle_.get(), nullptr, 0);
    if (size < 0) raise(where(), "H5Fget_file_image", errc::io);
    std::vector<std::byte> bytes(static_cast<std::size_t>(size));
    if (H5Fget_file_image(handle_.get(), bytes.data(), bytes.size()) != size)
      raise(where(), "H5Fget_file_image", errc::io);
    if (handle_.close() < 0) raise(where(), "H5Fclose", errc::io);
    return bytes;
  }

 private:
  std::string name_;
  file_handle handle_;
};

}  // namespace ckpt::hdf5
