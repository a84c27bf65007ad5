// SPDX-License-Identifier: Apache-2.0
#include "output.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>

#include "ckpt/codec/json_string.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/formats/json/text.hpp"

namespace ckpt_tool {

namespace json_format = ckpt::json_format;

void append_text(std::string& out, std::string_view text) {
  if (ckpt::is_valid_utf8(text)) return ckpt::append_json_string(out, text);
  out += "{\"base64\": \"";
  json_format::append_base64(out, text);
  out += "\"}";
}

namespace {

// The number of elements and empty brackets the nested spelling would hold: the element count,
// except that a zero dimension still prints the brackets of the dimensions before it.
std::uint64_t printed_items(const ckpt::shape& shape) {
  std::uint64_t n = 1;
  for (const auto d : shape)
    if (__builtin_mul_overflow(n, std::max<std::uint64_t>(d, 1), &n))
      return std::numeric_limits<std::uint64_t>::max();
  return n;
}

class value_speller {
 public:
  value_speller(const ckpt::tensor_view& t, value_style style)
      : t_(t), style_(style), rule_(json_format::rule_for(t.dtype)) {
    const auto count = ckpt::checked_num_elements(t.shape);
    const bool fits = count && (rule_.kind == json_format::value_kind::text
                                    ? t.strings.size() == *count
                                    : rule_.kind == json_format::value_kind::unsupported ||
                                          t.bytes.size() / rule_.size == *count);
    if (!fits)
      throw ckpt::error(ckpt::errc::shape_mismatch,
                        "the values read do not match the shape " + ckpt::to_string(t.shape));
    // Empty tensors are abbreviated whatever the style: there are no values to hide, only
    // brackets, and a shape such as [2^40, 0] would print a terabyte of them.
    elide_ = printed_items(t.shape) > abbreviate_above && (style.abbreviate || *count == 0) &&
             std::any_of(t.shape.begin(), t.shape.end(),
                         [](std::uint64_t d) { return d > 2 * edge_items; });
  }

  bool elides() const { return elide_; }

  std::string spell() {
    if (rule_.kind == json_format::value_kind::unsupported) {
      out_ += "{\"base64\": \"";
      json_format::append_base64(out_,
                                 {reinterpret_cast<const char*>(t_.bytes.data()), t_.bytes.size()});
      out_ += "\"}";
    } else if (t_.shape.empty()) {
      element(0);
    } else {
      level(0, 0);
    }
    return std::move(out_);
  }

 private:
  void separator() { out_ += style_.json ? ", " : ","; }

  void level(std::size_t dim, std::uint64_t offset) {
    const std::uint64_t length = t_.shape[dim];
    std::uint64_t stride = 1;
    for (std::size_t d = dim + 1; d < t_.shape.size(); ++d) stride *= t_.shape[d];
    out_ += '[';
    for (std::uint64_t i = 0; i < length; ++i) {
      if (i) separator();
      if (elide_ && length > 2 * edge_items && i == edge_items) {
        out_ += style_.json ? "\"...\"" : "...";
        separator();
        i = length - edge_items;
      }
      if (dim + 1 == t_.shape.size())
        element(offset + i);
      else
        level(dim + 1, offset + i * stride);
    }
    out_ += ']';
  }

  void element(std::uint64_t index) {
    const auto i = static_cast<std::size_t>(index);
    const std::byte* p = t_.bytes.data() + i * rule_.size;
    switch (rule_.kind) {
      case json_format::value_kind::text:
        return append_text(out_, t_.strings[i]);
      case json_format::value_kind::boolean:
        out_ += *p != std::byte{0} ? "true" : "false";
        return;
      case json_format::value_kind::integer:
        return integer(json_format::load_bits(p, rule_.size));
      case json_format::value_kind::floating:
        return floating(json_format::load_bits(p, rule_.size));
      case json_format::value_kind::complex: {
        const std::size_t half = rule_.size / 2;
        out_ += '[';
        floating(json_format::load_bits(p, half));
        separator();
        floating(json_format::load_bits(p + half, half));
        out_ += ']';
        return;
      }
      case json_format::value_kind::unsupported:
        return;
    }
  }

  void integer(std::uint64_t bits) {
    char buffer[24];
    const auto end = rule_.is_signed ? std::to_chars(buffer, buffer + sizeof buffer,
                                                     json_format::signed_value(bits, rule_.size))
                                           .ptr
                                     : std::to_chars(buffer, buffer + sizeof buffer, bits).ptr;
    out_.append(buffer, end);
  }

  void floating(std::uint64_t bits) {
    const std::size_t start = out_.size();
    json_format::append_float(out_, bits, rule_.real);
    const std::string_view spelled = std::string_view(out_).substr(start);
    if (spelled.front() != '"' && spelled.find_first_of(".eE") == std::string_view::npos)
      out_ += ".0";
  }

  const ckpt::tensor_view& t_;
  value_style style_;
  json_format::element_rule rule_;
  bool elide_ = false;
  std::string out_;
};

}  // namespace

bool is_abbreviated(const ckpt::tensor_view& t, value_style style) {
  return value_speller(t, style).elides();
}

std::string spell_values(const ckpt::tensor_view& t, value_style style) {
  return value_speller(t, style).spell();
}

}  // namespace ckpt_tool
