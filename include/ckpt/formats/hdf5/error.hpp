// SPDX-License-Identifier: Apache-2.0
#pragma once
// HDF5 failures as ckpt::error. libhdf5 reports a failure by a negative return value and, unless
// told otherwise, by printing its error stack to stderr. Every ckpt call that touches libhdf5 holds
// a quiet_errors guard, which switches that printing off for the calling thread and restores the
// caller's setting afterwards; a failed call then walks the stack (H5Ewalk2) and folds each record
// into the message of the ckpt::error it throws, with the file and the object path.

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "ckpt/core/error.hpp"

namespace ckpt::hdf5 {

// Turns off libhdf5's automatic error printing for this thread while alive. Nestable: each guard
// restores what it found. (Debian's libhdf5 is thread-safe, which makes error stacks per thread.)
class quiet_errors {
 public:
  quiet_errors() noexcept {
    saved_ok_ = H5Eget_auto2(H5E_DEFAULT, &saved_func_, &saved_data_) >= 0;
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  quiet_errors(const quiet_errors&) = delete;
  quiet_errors& operator=(const quiet_errors&) = delete;
  ~quiet_errors() {
    if (saved_ok_) H5Eset_auto2(H5E_DEFAULT, saved_func_, saved_data_);
  }

 private:
  H5E_auto2_t saved_func_ = nullptr;
  void* saved_data_ = nullptr;
  bool saved_ok_ = false;
};

// Where a call happened, for messages: the file and the HDF5 object path ("/dense/kernel").
struct site {
  std::string file;
  std::string object;

  // The site of `child`, a name or relative path below this object, or an absolute path.
  site at(std::string_view child) const {
    if (!child.empty() && child.front() == '/') return {file, std::string(child)};
    std::string path = object;
    if (path.empty() || path.back() != '/') path += '/';
    path += child;
    return {file, std::move(path)};
  }
};

namespace detail {

struct stack_summary {
  std::string text;
  bool checksum_failed = false;
  bool file_truncated = false;
  int records = 0;
};

inline herr_t collect_record(unsigned, const H5E_error2_t* record, void* data) {
  auto& summary = *static_cast<stack_summary*>(data);
  if (++summary.records > 12) return 0;  // the innermost records say what went wrong
  const std::string_view desc = record->desc ? record->desc : "";
  const std::string_view func = record->func_name ? record->func_name : "";
  // libhdf5 words a failed Fletcher32 check as "data error detected by Fletcher32 checksum".
  if (desc.find("Fletcher32") != std::string_view::npos ||
      desc.find("checksum") != std::string_view::npos)
    summary.checksum_failed = true;
  if (desc.find("truncated file") != std::string_view::npos) summary.file_truncated = true;
  if (!summary.text.empty()) summary.text += "; ";
  summary.text += std::string(func) + ": " + std::string(desc.substr(0, 300));
  return 0;
}

// Reads and clears this thread's HDF5 error stack.
inline stack_summary take_error_stack() {
  stack_summary summary;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_record, &summary);
  H5Eclear2(H5E_DEFAULT);
  return summary;
}

}  // namespace detail

// Throws the failure of `call` at `where`, with libhdf5's error stack in the message. A failed
// Fletcher32 check becomes errc::checksum_mismatch whatever `code` says.
[[noreturn]] inline void raise(const site& where, std::string_view call,
                               errc code = errc::bad_format, std::string_view what = {}) {
  const auto stack = detail::take_error_stack();
  if (stack.checksum_failed) code = errc::checksum_mismatch;
  std::string detail = what.empty() ? std::string(call) + " failed" : std::string(what);
  if (stack.checksum_failed)
    detail = "data does not match its Fletcher32 checksum (" + detail + ")";
  if (stack.file_truncated) detail += " (the file is truncated)";
  if (!stack.text.empty()) detail += " [libhdf5: " + stack.text + "]";
  throw error(code, std::move(detail), where.file, where.object);
}

// The id, or a ckpt::error if libhdf5 returned a failure.
inline hid_t check_id(hid_t id, const site& where, std::string_view call,
                      errc code = errc::bad_format) {
  if (id < 0) raise(where, call, code);
  return id;
}

inline herr_t check(herr_t rc, const site& where, std::string_view call,
                    errc code = errc::bad_format) {
  if (rc < 0) raise(where, call, code);
  return rc;
}

// H5?exists-style calls: true, false, or a failure.
inline bool check_tri(htri_t rc, const site& where, std::string_view call,
                      errc code = errc::bad_format) {
  if (rc < 0) raise(where, call, code);
  return rc > 0;
}

}  // namespace ckpt::hdf5
