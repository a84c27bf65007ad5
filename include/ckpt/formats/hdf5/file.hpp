// SPDX-License-Identifier: Apache-2.0
#pragma once
// Opening HDF5 files for reading, and creating them atomically for writing.
//
// Reading: the path is checked before libhdf5 sees it (exists, regular file, HDF5 signature at one
// of the offsets the format allows), so the common mistakes get a clear message.
// Writing: libhdf5 writes a temporary file beside the target, with the oldest file-format version
// bounds that express the data (what h5py writes by default and what independent readers such as
// jsfive understand); commit() closes it, fsyncs, renames it into place and fsyncs the directory.

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/error.hpp"
#include "ckpt/formats/hdf5/handle.hpp"
#include "ckpt/formats/hdf5/preflight.hpp"
#include "ckpt/formats/hdf5/raw/preflight.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt::hdf5 {

// A group or dataset handle with the place it names, for messages.
struct group {
  group_handle handle;
  hdf5::site site;
  hid_t id() const noexcept { return handle.get(); }
};

inline constexpr unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

// True if the file starts with the HDF5 signature at 0, 512, 1024, 2048, ... (a user block before
// the superblock shifts it). Reads a few bytes; never throws.
inline bool has_signature(const std::filesystem::path& path) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  bool found = false;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    const auto size = static_cast<std::uint64_t>(st.st_size);
    for (std::uint64_t offset = 0; !found && offset + 8 <= size && offset <= (1ull << 30);
         offset = offset == 0 ? 512 : offset * 2) {
      unsigned char head[8];
      found = ::pread(fd, head, 8, static_cast<off_t>(offset)) == 8 &&
              std::memcmp(head, signature, 8) == 0;
    }
  }
  ::close(fd);
  return found;
}

class file {
 public:
  // Opens an existing file read-only. The caller holds a quiet_errors guard.
  static file open(const std::filesystem::path& path) {
    file f;
    f.name_ = path.string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) ckpt::detail::throw_errno("cannot open", f.name_, errno);
    if (!S_ISREG(st.st_mode)) throw error(errc::io, "not a regular file", f.name_);
    f.size_ = static_cast<std::uint64_t>(st.st_size);
    if (!has_signature(path))
      throw error(errc::bad_format, "not an HDF5 file (no HDF5 signature)", f.name_, {}, 0);
    // ckpt's own check of the superblock and root group, before libhdf5 decodes them; the
    // reader asks the same check about every object before libhdf5 opens it (preflight.hpp).
    f.checks_ = std::make_shared<raw::preflight>(raw::source::open(path, f.name_));
    f.size_ = f.checks_->src().size();  // the stored end of file, if sooner than the disk's
    f.handle_ = file_handle(
        check_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), f.where(), "H5Fopen"));
    register_preflight(f.handle_.get(), f.checks_);
    return f;
  }

  // A file libhdf5 opened some other way (an image in memory: file_image.hpp), already checked by
  // `checks` and registered with it. `keep_alive` holds what libhdf5 reads from for as long as the
  // file is open.
  static file adopt(file_handle handle, std::shared_ptr<raw::preflight> checks, std::string name,
                    std::shared_ptr<const void> keep_alive) {
    file f;
    f.keep_alive_ = std::move(keep_alive);
    f.checks_ = std::move(checks);
    f.handle_ = std::move(handle);
    f.name_ = std::move(name);
    f.size_ = f.checks_->src().size();
    return f;
  }

  group root() const {
    const site s{name_, "/"};
    return {group_handle(check_id(H5Gopen2(handle_.get(), "/", H5P_DEFAULT), s, "H5Gopen2")), s};
  }
  hid_t id() const noexcept { return handle_.get(); }
  const std::string& name() const noexcept { return name_; }
  std::uint64_t size() const noexcept { return size_; }  // bytes libhdf5 reads of it
  const raw::source& bytes() const noexcept { return checks_->src(); }
  site where() const { return {name_, {}}; }

 private:
  file() = default;
  // Declared first, so destroyed last: the checks and libhdf5's handle may read from it.
  std::shared_ptr<const void> keep_alive_;
  std::shared_ptr<raw::preflight> checks_;
  file_handle handle_;
  std::string name_;
  std::uint64_t size_ = 0;
};

// A new file at a temporary path beside `target`; nothing appears at `target` until commit().
class new_file {
 public:
  explicit new_file(std::filesystem::path target, bool sync = true)
      : target_(std::move(target)), sync_(sync) {
    auto dir = target_.parent_path();
    if (dir.empty()) dir = ".";
    std::string pattern = (dir / ("." + target_.filename().string() + ".tmp-XXXXXX")).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    // The fault hook sees the operations ckpt makes itself (libhdf5's writes are its own), so
    // crash and full-disk tests reach every step of the commit.
    if (const int err = ckpt::detail::injected_fault(file_op::create, target_))
      ckpt::detail::throw_errno("cannot create a temporary file beside it", target_.string(), err);
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0)
      ckpt::detail::throw_errno("cannot create a temporary file beside it", target_.string(),
                                errno);
    ::fchmod(fd, 0644);
    ::close(fd);
    temp_ = name.data();

    plist_handle fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), where(), "H5Pcreate"));
    // Oldest format that holds the data: superblock v0 and v1 B-tree chunk indexes, as h5py and
    // Keras write and as jsfive reads.
    check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_EARLIEST, H5F_LIBVER_V18), where(),
          "H5Pset_libver_bounds");
    handle_ = file_handle(check_id(H5Fcreate(temp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                                   where(), "H5Fcreate", errc::io));
  }
  new_file(const new_file&) = delete;
  new_file& operator=(const new_file&) = delete;
  ~new_file() { discard(); }

  group root() const {
    const site s{target_.string(), "/"};
    return {group_handle(check_id(H5Gopen2(handle_.get(), "/", H5P_DEFAULT), s, "H5Gopen2")), s};
  }
  hid_t id() const noexcept { return handle_.get(); }
  site where() const { return {target_.string(), {}}; }
  const std::filesystem::path& target() const noexcept { return target_; }

  // Closes the file (every group and dataset handle must be closed by now), then makes it visible
  // under the target name.
  void commit() {
    if (H5Fclose(handle_.release()) < 0) {
      discard();
      raise(where(), "H5Fclose", errc::io);
    }
    if (sync_) {
      if (const int err = ckpt::detail::injected_fault(file_op::fsync, target_))
        fail("cannot fsync", err);
      const int fd = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail("cannot reopen to fsync", errno);
      const int rc = ::fsync(fd);
      const int err = errno;
      ::close(fd);
      if (rc != 0) fail("cannot fsync", err);
    }
    if (const int err = ckpt::detail::injected_fault(file_op::rename, target_))
      fail("cannot rename into place", err);
    if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("cannot rename into place", errno);
    temp_.clear();
    if (sync_) atomic_file::sync_directory(target_.parent_path());
  }

 private:
  [[noreturn]] void fail(const char* what, int err) {
    discard();
    ckpt::detail::throw_errno(what, target_.string(), err);
  }
  void discard() noexcept {
    handle_.reset();
    if (!temp_.empty()) ::unlink(temp_.c_str());
    temp_.clear();
  }

  std::filesystem::path target_;
  bool sync_;
  std::string temp_;
  file_handle handle_;
};

}  // namespace ckpt::hdf5
