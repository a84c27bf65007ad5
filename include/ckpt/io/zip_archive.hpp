// SPDX-License-Identifier: Apache-2.0
#pragma once
// ZIP archives through Debian's libzip (link ckpt::hdf5, which brings libzip), for Keras' ".keras"
// files (a zip of config.json, metadata.json and model.weights.h5). Reading takes one member into
// memory, never more bytes than the caller allows and never more than the archive can back; writing
// builds the archive in memory and replaces the target atomically (temporary name, fsync, rename,
// fsync of the directory), which libzip's own zip_close() does not promise (it renames without
// fsync).

#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/io/atomic_file.hpp"

namespace ckpt {

namespace detail {

inline errc zip_errc(int code) {
  switch (code) {
    case ZIP_ER_CRC:
      return errc::checksum_mismatch;
    case ZIP_ER_NOENT:
      return errc::not_found;
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
    case ZIP_ER_WRITE:
    case ZIP_ER_CLOSE:
    case ZIP_ER_RENAME:
    case ZIP_ER_TMPOPEN:
    case ZIP_ER_REMOVE:
      return errc::io;
    case ZIP_ER_MEMORY:
      return errc::limit;
    case ZIP_ER_COMPNOTSUPP:
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_OPNOTSUPP:
      return errc::unsupported;
    default:
      return errc::bad_format;
  }
}

// A zip_error_t that is always finalised.
struct zip_error_holder {
  zip_error_t value;
  zip_error_holder() { zip_error_init(&value); }
  explicit zip_error_holder(int code) { zip_error_init_with_code(&value, code); }
  zip_error_holder(const zip_error_holder&) = delete;
  zip_error_holder& operator=(const zip_error_holder&) = delete;
  ~zip_error_holder() { zip_error_fini(&value); }
  std::string text() { return zip_error_strerror(&value); }
  int code() { return zip_error_code_zip(&value); }
};

[[noreturn]] inline void throw_zip(zip_error_t* err, const std::string& what,
                                   const std::string& file, const std::string& member = {}) {
  throw error(zip_errc(zip_error_code_zip(err)), what + ": " + zip_error_strerror(err), file,
              member);
}

struct archive_closer {
  void operator()(zip_t* z) const noexcept { zip_discard(z); }
};
struct member_closer {
  void operator()(zip_file_t* f) const noexcept { zip_fclose(f); }
};
struct source_freer {
  void operator()(zip_source_t* s) const noexcept { zip_source_free(s); }
};
using archive_ptr = std::unique_ptr<zip_t, archive_closer>;
using member_ptr = std::unique_ptr<zip_file_t, member_closer>;
using source_ptr = std::unique_ptr<zip_source_t, source_freer>;

}  // namespace detail

// True if the file starts with a zip local header ("PK\3\4"); never throws.
inline bool looks_like_zip(const std::filesystem::path& path) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  unsigned char magic[4] = {};
  const ssize_t n = ::read(fd, magic, sizeof magic);
  ::close(fd);
  return n == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

// A read-only zip archive. libzip checks the central directory against the local headers on open
// (ZIP_CHECKCONS) and each member's CRC-32 when it has been read to its end.
class zip_reader {
 public:
  explicit zip_reader(const std::filesystem::path& path) : name_(path.string()) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec)
      throw error(ec == std::errc::no_such_file_or_directory ? errc::not_found : errc::io,
                  "cannot open: " + ec.message(), name_);
    archive_size_ = size;
    int code = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!z) {
      detail::zip_error_holder err(code);
      detail::throw_zip(&err.value, "not a readable zip archive", name_);
    }
    archive_.reset(z);
  }

  const std::string& file() const noexcept { return name_; }

  std::vector<std::string> member_names() const {
    std::vector<std::string> names;
    const zip_int64_t n = zip_get_num_entries(archive_.get(), 0);
    for (zip_int64_t i = 0; i < n; ++i)
      if (const char* name = zip_get_name(archive_.get(), static_cast<zip_uint64_t>(i), 0))
        names.emplace_back(name);
    return names;
  }

  bool contains(const std::string& member) const {
    return zip_name_locate(archive_.get(), member.c_str(), 0) >= 0;
  }

  // The whole member, or errc::not_found if the archive has none of that name, or errc::limit if
  // it would take more than max_bytes.
  std::vector<std::byte> read(const std::string& member, std::uint64_t max_bytes) const {
    const zip_int64_t index = zip_name_locate(archive_.get(), member.c_str(), 0);
    if (index < 0) throw error(errc::not_found, "the archive has no such member", name_, member);
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive_.get(), static_cast<zip_uint64_t>(index), 0, &st) != 0)
      detail::throw_zip(zip_get_error(archive_.get()), "cannot stat member", name_, member);
    if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
      throw error(errc::bad_format, "member size unknown", name_, member);
    if (st.size > max_bytes)
      throw error(errc::limit,
                  "member holds " + std::to_string(st.size) + " bytes, more than the " +
                      std::to_string(max_bytes) + " allowed",
                  name_, member);
    if (st.comp_size > archive_size_)
      throw error(errc::bad_format, "member is larger than the archive", name_, member);
    // A stored member must be backed byte for byte by the archive; a deflated one can expand at
    // most 1032:1, so a tiny archive cannot make us allocate gigabytes.
    const bool stored = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE;
    std::uint64_t bound = 0;
    if (stored)
      bound = st.comp_size;
    else if (__builtin_mul_overflow(st.comp_size, std::uint64_t{1032}, &bound))
      bound = UINT64_MAX;
    if (st.size > bound)
      throw error(errc::bad_format,
                  "member claims " + std::to_string(st.size) + " bytes but the archive holds " +
                      std::to_string(st.comp_size) + " for it",
                  name_, member);

    detail::member_ptr file(zip_fopen_index(archive_.get(), static_cast<zip_uint64_t>(index), 0));
    if (!file)
      detail::throw_zip(zip_get_error(archive_.get()), "cannot open member", name_, member);
    std::vector<std::byte> bytes(static_cast<std::size_t>(st.size));
    std::uint64_t done = 0;
    while (done < st.size) {
      const zip_int64_t n = zip_fread(file.get(), bytes.data() + done, st.size - done);
      if (n < 0)
        detail::throw_zip(zip_file_get_error(file.get()), "cannot read member", name_, member);
      if (n == 0)
        throw error(errc::bad_format, "member ends after " + std::to_string(done) + " bytes", name_,
                    member);
      done += static_cast<std::uint64_t>(n);
    }
    // Reading on to the end makes libzip compare the CRC-32 and notice trailing data.
    std::byte extra[1];
    const zip_int64_t tail = zip_fread(file.get(), extra, sizeof extra);
    if (tail < 0)
      detail::throw_zip(zip_file_get_error(file.get()), "cannot read member", name_, member);
    if (tail > 0) throw error(errc::bad_format, "member is longer than its size", name_, member);
    return bytes;
  }

 private:
  std::string name_;
  std::uint64_t archive_size_ = 0;
  detail::archive_ptr archive_;
};

// One member to write. The bytes must stay valid until write_zip() returns.
struct zip_member {
  std::string name;
  std::span<const std::byte> bytes;
  std::time_t modified = 0;  // 0: 1980-01-01 00:00, the earliest time a zip can record
};

// Writes `members` in the given order, uncompressed (as Keras writes ".keras" files), with Unix
// permissions 0600 as Python's zipfile gives them, and replaces `target` atomically.
inline void write_zip(const std::filesystem::path& target, const std::vector<zip_member>& members,
                      write_options options = {}) {
  const std::string file = target.string();
  detail::zip_error_holder err;
  detail::source_ptr buffer(zip_source_buffer_create(nullptr, 0, 0, &err.value));
  if (!buffer) detail::throw_zip(&err.value, "cannot create an in-memory archive", file);
  // The archive takes a reference of its own; ours keeps the buffer alive after zip_close().
  zip_source_keep(buffer.get());
  detail::archive_ptr archive(zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &err.value));
  if (!archive) {
    zip_source_free(buffer.get());  // the reference the archive did not take
    detail::throw_zip(&err.value, "cannot create an in-memory archive", file);
  }
  std::tm epoch{};
  epoch.tm_year = 80, epoch.tm_mon = 0, epoch.tm_mday = 1, epoch.tm_isdst = -1;
  const std::time_t earliest = std::mktime(&epoch);  // zip times are local, as mktime's
  for (const auto& m : members) {
    zip_source_t* data = zip_source_buffer(
        archive.get(), m.bytes.empty() ? static_cast<const void*>("") : m.bytes.data(),
        m.bytes.size(), 0);
    if (!data) detail::throw_zip(zip_get_error(archive.get()), "cannot add member", file, m.name);
    const zip_int64_t index = zip_file_add(archive.get(), m.name.c_str(), data, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(data);
      detail::throw_zip(zip_get_error(archive.get()), "cannot add member", file, m.name);
    }
    const auto i = static_cast<zip_uint64_t>(index);
    if (zip_set_file_compression(archive.get(), i, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(archive.get(), i, m.modified ? m.modified : earliest, 0) != 0 ||
        zip_file_set_external_attributes(archive.get(), i, 0, ZIP_OPSYS_UNIX, 0600u << 16) != 0)
      detail::throw_zip(zip_get_error(archive.get()), "cannot set member attributes", file, m.name);
  }
  if (zip_close(archive.get()) != 0)
    detail::throw_zip(zip_get_error(archive.get()), "cannot build the archive", file);
  archive.release();  // zip_close() freed it

  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(buffer.get(), &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    detail::throw_zip(zip_source_error(buffer.get()), "cannot size the archive", file);
  if (zip_source_open(buffer.get()) != 0)
    detail::throw_zip(zip_source_error(buffer.get()), "cannot read the archive back", file);
  atomic_file out(target, options);
  std::vector<std::byte> chunk(std::size_t{1} << 20);
  std::uint64_t copied = 0;
  for (;;) {
    const zip_int64_t n = zip_source_read(buffer.get(), chunk.data(), chunk.size());
    if (n < 0) {
      zip_source_close(buffer.get());
      detail::throw_zip(zip_source_error(buffer.get()), "cannot read the archive back", file);
    }
    if (n == 0) break;
    out.write(chunk.data(), static_cast<std::size_t>(n));
    copied += static_cast<std::uint64_t>(n);
  }
  zip_source_close(buffer.get());
  if (copied != st.size)
    throw error(errc::io, "the in-memory archive changed size while being copied", file);
  out.commit();
}

}  // namespace ckpt
