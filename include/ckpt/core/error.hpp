// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one exception type of ckpt. It carries where a failure happened (file, key, byte offset) so
// the message can name it, and callers can branch on the code rather than on text.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace ckpt {

enum class errc {
  io,
  not_found,
  bad_format,
  checksum_mismatch,
  dtype_mismatch,
  shape_mismatch,
  missing_key,
  unexpected_key,
  unsupported,
  limit,
};

constexpr std::string_view to_string(errc c) noexcept {
  switch (c) {
    case errc::io:
      return "i/o error";
    case errc::not_found:
      return "not found";
    case errc::bad_format:
      return "bad format";
    case errc::checksum_mismatch:
      return "checksum mismatch";
    case errc::dtype_mismatch:
      return "dtype mismatch";
    case errc::shape_mismatch:
      return "shape mismatch";
    case errc::missing_key:
      return "missing key";
    case errc::unexpected_key:
      return "unexpected key";
    case errc::unsupported:
      return "unsupported";
    case errc::limit:
      return "limit exceeded";
  }
  return "error";
}

class error : public std::runtime_error {
 public:
  error(errc code, std::string detail, std::string file = {}, std::string key = {},
        std::optional<std::uint64_t> offset = std::nullopt)
      : std::runtime_error(std::string(to_string(code))),
        code_(code),
        detail_(std::move(detail)),
        file_(std::move(file)),
        key_(std::move(key)),
        offset_(offset) {
    compose();
  }

  errc code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& file() const noexcept { return file_; }
  const std::string& key() const noexcept { return key_; }
  std::optional<std::uint64_t> offset() const noexcept { return offset_; }
  const char* what() const noexcept override { return message_.c_str(); }

  // Inner layers often know the key but not the file (or the reverse); outer layers fill in what
  // is missing while the exception passes through, so the final message names everything known.
  error& with_file(std::string file) {
    if (file_.empty()) file_ = std::move(file), compose();
    return *this;
  }
  error& with_key(std::string key) {
    if (key_.empty()) key_ = std::move(key), compose();
    return *this;
  }
  error& with_offset(std::uint64_t offset) {
    if (!offset_) offset_ = offset, compose();
    return *this;
  }

 private:
  void compose() {
    message_.clear();
    if (!file_.empty()) message_ += file_ + ": ";
    if (!key_.empty()) message_ += "entry '" + key_ + "': ";
    message_ += detail_;
    if (offset_) message_ += " (at byte " + std::to_string(*offset_) + ")";
  }

  errc code_;
  std::string detail_, file_, key_;
  std::optional<std::uint64_t> offset_;
  std::string message_;
};

}  // namespace ckpt
