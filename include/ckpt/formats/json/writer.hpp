// SPDX-License-Identifier: Apache-2.0
#pragma once
// Writing the JSON format.

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ckpt/codec/half.hpp"
#include "ckpt/core/dtype.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/shape.hpp"
#include "ckpt/core/tensor_view.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/json/text.hpp"
#include "ckpt/io/atomic_file.hpp"
#include "ckpt/io/read_file.hpp"
#include "ckpt/io/system_error.hpp"

namespace ckpt::json_format {

class writer final : public format_writer {
 public:
  writer(std::filesystem::path path, save_options options)
      : path_(std::move(path)), options_(std::move(options)) {}

  void write(const std::vector<named_tensor>& tensors) override {
    // Everything that can be refused is checked before the temporary file exists.
    for (const auto& [key, value] : options_.metadata)
      if (!is_valid_utf8(key) || !is_valid_utf8(value))
        throw error(errc::bad_format, "metadata must be valid UTF-8 to be JSON text", {}, key);
    build_tree(tensors);
    atomic_file file(path_, write_options{options_.sync});
    file_ = &file;
    out_.clear();
    out_.reserve(flush_threshold + 4096);
    out_ += "{\n  \"format\": \"";
    out_ += format_marker;
    out_ += "\",\n  \"version\": ";
    out_ += std::to_string(current_version);
    out_ += ",\n  \"metadata\": {";
    bool first = true;
    for (const auto& [key, value] : options_.metadata) {
      out_ += first ? "\n    " : ",\n    ";
      first = false;
      append_json_string(out_, key);
      out_ += ": ";
      append_json_string(out_, value);
    }
    out_ += first ? "},\n  \"tensors\": " : "\n  },\n  \"tensors\": ";
    write_group(0, 2);
    out_ += "\n}\n";
    flush();
    file.commit();
    file_ = nullptr;
  }

 private:
  static constexpr std::size_t flush_threshold = 1 << 20;

  struct node {
    std::string name;
    std::vector<std::size_t> children;  // in first-seen order, so declaration order survives
    std::unordered_map<std::string, std::size_t> index;
    const named_tensor* tensor = nullptr;
  };

  void build_tree(const std::vector<named_tensor>& tensors) {
    nodes_.assign(1, node{});
    for (const named_tensor& t : tensors) {
      check_tensor(t);
      std::size_t at = 0;
      std::string_view rest = t.path;
      std::size_t consumed = 0;
      for (;;) {
        const std::size_t slash = rest.find('/');
        const std::string_view part = rest.substr(0, slash);
        consumed += part.size();
        if (part.empty())
          throw error(errc::bad_format, "the path has an empty component", {}, t.path);
        if (!is_valid_utf8(part))
          throw error(errc::bad_format, "the path is not valid UTF-8, which JSON keys must be", {},
                      t.path);
        if (nodes_[at].tensor)
          throw error(errc::bad_format,
                      "'" + std::string(t.path.substr(0, consumed - part.size() - 1)) +
                          "' is a tensor and cannot also be a group",
                      {}, t.path);
        auto [it, inserted] = nodes_[at].index.try_emplace(std::string(part), nodes_.size());
        if (inserted) {
          nodes_[at].children.push_back(nodes_.size());
          nodes_.push_back(node{std::string(part), {}, {}, nullptr});
        }
        at = it->second;
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
        ++consumed;
      }
      if (nodes_[at].tensor)
        throw error(errc::bad_format, "two tensors have this path", {}, t.path);
      if (!nodes_[at].children.empty())
        throw error(errc::bad_format, "this path is a group of other tensors and cannot be one", {},
                    t.path);
      nodes_[at].tensor = &t;
    }
  }

  static void check_tensor(const named_tensor& t) {
    const element_rule rule = rule_for(t.tensor.dtype);
    if (rule.kind == value_kind::unsupported)
      throw error(
          errc::unsupported,
          "dtype " + ckpt::describe(t.tensor.dtype) + " has no fixed layout to write as JSON", {},
          t.path);
    const auto count = checked_num_elements(t.tensor.shape);
    if (!count) throw error(errc::bad_format, "the shape's element count overflows", {}, t.path);
    const bool fits = rule.kind == value_kind::text ? t.tensor.strings.size() == *count
                                                    : t.tensor.bytes.size() / rule.size == *count &&
                                                          t.tensor.bytes.size() % rule.size == 0;
    if (!fits)
      throw error(errc::shape_mismatch,
                  "the tensor's memory does not match its shape " + to_string(t.tensor.shape), {},
                  t.path);
  }

  void flush() {
    file_->write(out_.data(), out_.size());
    out_.clear();
  }
  void maybe_flush() {
    if (out_.size() >= flush_threshold) flush();
  }
  void newline(std::size_t indent) {
    out_ += '\n';
    out_.append(indent, ' ');
  }

  void write_group(std::size_t at, std::size_t indent) {
    const node& n = nodes_[at];
    if (n.children.empty()) {
      out_ += "{}";
      return;
    }
    out_ += '{';
    for (std::size_t i = 0; i < n.children.size(); ++i) {
      const node& child = nodes_[n.children[i]];
      if (i) out_ += ',';
      newline(indent + 2);
      append_json_string(out_, child.name);
      out_ += ": ";
      if (child.tensor)
        write_tensor(*child.tensor, indent + 2);
      else
        write_group(n.children[i], indent + 2);
    }
    newline(indent);
    out_ += '}';
  }

  // Rank 0 and 1 tensors take one line; higher ranks put each innermost row on its own line.
  void write_tensor(const named_tensor& t, std::size_t indent) {
    const tensor_view& v = t.tensor;
    const bool one_line = v.shape.size() <= 1;
    out_ += '{';
    if (!one_line) newline(indent + 2);
    out_ += "\"dtype\": \"";
    out_ += name(v.dtype);
    out_ += "\",";
    if (one_line)
      out_ += ' ';
    else
      newline(indent + 2);
    out_ += "\"shape\": [";
    for (std::size_t i = 0; i < v.shape.size(); ++i) {
      if (i) out_ += ", ";
      out_ += std::to_string(v.shape[i]);
    }
    out_ += "],";
    if (one_line)
      out_ += ' ';
    else
      newline(indent + 2);
    out_ += "\"values\": ";
    rule_ = rule_for(v.dtype);
    next_element_ = 0;
    current_ = &t;
    if (v.shape.empty())
      write_element();
    else
      write_level(0, indent + 2);
    if (!one_line) newline(indent);
    out_ += '}';
  }

  void write_level(std::size_t level, std::size_t indent) {
    const tensor_view& v = current_->tensor;
    const std::uint64_t length = v.shape[level];
    out_ += '[';
    if (level + 1 == v.shape.size()) {
      for (std::uint64_t i = 0; i < length; ++i) {
        if (i) out_ += ", ";
        write_element();
        maybe_flush();
      }
    } else if (length > 0) {
      for (std::uint64_t i = 0; i < length; ++i) {
        if (i) out_ += ',';
        newline(indent + 2);
        write_level(level + 1, indent + 2);
      }
      newline(indent);
    }
    out_ += ']';
  }

  void write_element() {
    const tensor_view& v = current_->tensor;
    const std::size_t i = next_element_++;
    switch (rule_.kind) {
      case value_kind::text: {
        const std::string& s = v.strings[i];
        if (is_valid_utf8(s)) {
          append_json_string(out_, s);
        } else {
          out_ += "{\"base64\": \"";
          append_base64(out_, s);
          out_ += "\"}";
        }
        return;
      }
      case value_kind::boolean:
        out_ += v.bytes[i] != std::byte{0} ? "true" : "false";
        return;
      case value_kind::integer:
        return write_integer(load_bits(v.bytes.data() + i * rule_.size, rule_.size));
      case value_kind::floating:
        return append_float(out_, load_bits(v.bytes.data() + i * rule_.size, rule_.size),
                            rule_.real);
      case value_kind::complex: {
        const std::size_t half = rule_.size / 2;
        const std::byte* p = v.bytes.data() + i * rule_.size;
        out_ += '[';
        append_float(out_, load_bits(p, half), rule_.real);
        out_ += ", ";
        append_float(out_, load_bits(p + half, half), rule_.real);
        out_ += ']';
        return;
      }
      default:
        return;
    }
  }

  void write_integer(std::uint64_t bits) {
    char buffer[24];
    std::to_chars_result r;
    if (rule_.is_signed) {
      const std::int64_t value = signed_value(bits, rule_.size);
      if (value < rule_.min || value > static_cast<std::int64_t>(rule_.max))
        throw out_of_range(std::to_string(value));
      r = std::to_chars(buffer, buffer + sizeof buffer, value);
    } else {
      if (bits > rule_.max) throw out_of_range(std::to_string(bits));
      r = std::to_chars(buffer, buffer + sizeof buffer, bits);
    }
    out_.append(buffer, r.ptr);
  }

  // Only the sub-byte integers can hold a byte outside their range; writing it would make a file
  // this reader refuses, so the save fails instead (and leaves the old file in place).
  error out_of_range(const std::string& value) const {
    return error(errc::bad_format,
                 "element " + std::to_string(next_element_ - 1) + " is " + value +
                     ", outside the range of " + std::string(name(current_->tensor.dtype)),
                 {}, current_->path);
  }

  std::filesystem::path path_;
  save_options options_;
  std::vector<node> nodes_;
  atomic_file* file_ = nullptr;
  std::string out_;
  const named_tensor* current_ = nullptr;
  element_rule rule_;
  std::size_t next_element_ = 0;
};

}  // namespace ckpt::json_format
