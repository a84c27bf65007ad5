// SPDX-License-Identifier: Apache-2.0
#pragma once
// How a checkpoint directory names its checkpoints: a template with the step, as Keras'
// ModelCheckpoint names files ("weights.{epoch:02d}"). "ckpt-{step}" gives TensorFlow's
// "ckpt-5"; "weights.{step:04d}" gives "weights.0005". The format then adds its own ending.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ckpt/core/error.hpp"

namespace ckpt {

class name_template {
 public:
  // `text` holds `{step}` or `{step:0Nd}` (N from 1 to 19) exactly once, and no '/' or NUL.
  explicit name_template(std::string_view text) : text_(text) {
    const auto open = text.find("{step");
    const auto close = open == std::string_view::npos ? open : text.find('}', open);
    if (close == std::string_view::npos)
      throw error(errc::unsupported,
                  "the checkpoint name '" + text_ + "' has no {step} (e.g. \"ckpt-{step}\")");
    const std::string_view field = text.substr(open + 5, close - open - 5);
    if (!field.empty()) {
      int width = 0;
      const bool padded = field.size() >= 4 && field.starts_with(":0") && field.ends_with("d");
      const auto digits = padded ? field.substr(2, field.size() - 3) : std::string_view();
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), width);
      if (!padded || ec != std::errc() || end != digits.data() + digits.size() || width < 1 ||
          width > 19)
        throw error(errc::unsupported, "the checkpoint name '" + text_ +
                                           "' spells the step as {step} or {step:0Nd}, not {step" +
                                           std::string(field) + "}");
      width_ = static_cast<std::size_t>(width);
    }
    head_ = text.substr(0, open);
    tail_ = text.substr(close + 1);
    if (tail_.find("{step") != std::string::npos || text_.find('/') != std::string::npos ||
        text_.find('\0') != std::string::npos)
      throw error(errc::unsupported, "the checkpoint name '" + text_ +
                                         "' must be a plain file name with {step} exactly once");
  }

  const std::string& text() const noexcept { return text_; }

  std::string operator()(std::int64_t step) const {
    std::string digits = std::to_string(step);
    if (digits.size() < width_) digits.insert(0, width_ - digits.size(), '0');
    return head_ + digits + tail_;
  }

  // The stem and step of a directory entry `name` that starts with a name this template makes
  // (whatever the format appends after it).
  struct match {
    std::string stem;
    std::int64_t step;
  };
  std::optional<match> parse(std::string_view name) const {
    if (!name.starts_with(head_)) return std::nullopt;
    std::size_t end = head_.size();
    while (end < name.size() && name[end] >= '0' && name[end] <= '9') ++end;
    const std::string_view digits = name.substr(head_.size(), end - head_.size());
    if (digits.empty() || !name.substr(end).starts_with(tail_)) return std::nullopt;
    std::int64_t step = 0;
    const auto [last, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
    if (ec != std::errc() || last != digits.data() + digits.size()) return std::nullopt;
    std::string stem = (*this)(step);
    if (name.substr(0, stem.size()) != stem) return std::nullopt;  // "ckpt-05" is not step 5's
    return match{std::move(stem), step};
  }

 private:
  std::string text_, head_, tail_;
  std::size_t width_ = 0;
};

}  // namespace ckpt
