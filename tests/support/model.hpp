// SPDX-License-Identifier: Apache-2.0
#pragma once
// The shared nested model every format's round-trip test uses: every reflection tier, every
// container, every leaf kind and every dtype. Formats that cannot hold strings or complex numbers
// leave the optional parts that carry them empty.

#include <array>
#include <complex>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/api.hpp"

namespace ckpt_test {

// Tier 3: a plain aggregate.
struct Dense {
  ckpt::tensor<float> kernel;
  std::vector<float> bias;
  bool operator==(const Dense&) const = default;
};

// Tier 2: private state, renamed keys.
class Attention {
 public:
  template <class V>
  void trackable(V& v) {
    v("query", query_);
    v("key", key_);
    v("scale", scale_);
  }
  ckpt::tensor<ckpt::bfloat16> query_;
  ckpt::tensor<ckpt::float16> key_;
  double scale_ = 0;
  bool operator==(const Attention&) const = default;
};

// Tier 1: described from outside.
struct Norm {
  std::array<float, 4> gamma{};
  std::array<double, 4> beta{};
  bool operator==(const Norm&) const = default;
};

struct Block {
  Dense dense;
  Attention attention;
  Norm norm;
  bool operator==(const Block&) const = default;
};

struct Scalars {
  float f32 = 0;
  double f64 = 0;
  std::int8_t i8 = 0;
  std::int16_t i16 = 0;
  std::int32_t i32 = 0;
  std::int64_t i64 = 0;
  std::uint8_t u8 = 0;
  std::uint16_t u16 = 0;
  std::uint32_t u32 = 0;
  std::uint64_t u64 = 0;
  bool flag = false;
  ckpt::float16 f16;
  ckpt::bfloat16 bf16;
  bool operator==(const Scalars&) const = default;
};

struct Complex {
  std::complex<float> c64;
  ckpt::tensor<std::complex<double>> c128;
  bool operator==(const Complex&) const = default;
};

struct Text {
  std::string name;
  std::vector<std::string> vocab;
  ckpt::tensor<std::string> table;
  bool operator==(const Text&) const = default;
};

struct Model {
  std::vector<Block> blocks;
  std::array<Dense, 2> heads;
  std::map<std::string, Dense> adapters;
  std::optional<Dense> projection;
  std::optional<Dense> unused;
  Scalars scalars;
  ckpt::tensor<std::int32_t> empty_rows;  // a zero-sized dimension
  ckpt::tensor<bool> mask;
  std::vector<std::int64_t> ids;
  std::optional<Complex> complex;
  std::optional<Text> text;
  bool operator==(const Model&) const = default;
};

// A bit pattern generator, so every tensor holds distinct, reproducible values.
inline float value_at(int seed, std::size_t i) {
  const std::uint64_t mixed = static_cast<std::uint64_t>(seed) * 7919u + i * 104729u;
  return static_cast<float>(mixed % 2003) / 97.0f - 10.0f;
}

inline ckpt::tensor<float> make_floats(ckpt::shape s, int seed) {
  ckpt::tensor<float> t(std::move(s));
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = value_at(seed, i);
  return t;
}

inline Dense make_dense(std::uint64_t in, std::uint64_t out, int seed) {
  Dense d;
  d.kernel = make_floats({in, out}, seed);
  for (std::uint64_t i = 0; i < out; ++i) d.bias.push_back(value_at(seed + 1, i));
  return d;
}

struct model_parts {
  bool strings = true;
  bool complex = true;
};

inline Model make_model(model_parts parts = {}) {
  Model m;
  for (int b = 0; b < 3; ++b) {
    Block block;
    block.dense = make_dense(4, 3, b * 10);
    block.attention.query_ = ckpt::tensor<ckpt::bfloat16>({2, 3});
    block.attention.key_ = ckpt::tensor<ckpt::float16>({3});
    for (std::size_t i = 0; i < 6; ++i) block.attention.query_[i] = ckpt::bfloat16(value_at(b, i));
    for (std::size_t i = 0; i < 3; ++i) block.attention.key_[i] = ckpt::float16(value_at(b + 5, i));
    block.attention.scale_ = 0.125 * (b + 1);
    block.norm.gamma = {1.0f, 2.0f, 3.0f, float(b)};
    block.norm.beta = {-0.0, 1e-300, std::numeric_limits<double>::denorm_min(), 1e300};
    m.blocks.push_back(std::move(block));
  }
  m.heads = {make_dense(3, 2, 40), make_dense(3, 1, 50)};
  m.adapters["lora_a"] = make_dense(2, 2, 60);
  m.adapters["lora_b"] = make_dense(1, 2, 70);
  m.projection = make_dense(5, 1, 80);

  m.scalars.f32 = -std::numeric_limits<float>::infinity();
  m.scalars.f64 = std::numeric_limits<double>::max();
  m.scalars.i8 = -128;
  m.scalars.i16 = -32768;
  m.scalars.i32 = std::numeric_limits<std::int32_t>::min();
  m.scalars.i64 = std::numeric_limits<std::int64_t>::min() + 1;
  m.scalars.u8 = 255;
  m.scalars.u16 = 65535;
  m.scalars.u32 = 4294967295u;
  m.scalars.u64 = std::numeric_limits<std::uint64_t>::max() - 2;  // beyond double's 2^53
  m.scalars.flag = true;
  m.scalars.f16 = ckpt::float16::from_bits(0x8001);    // the smallest negative subnormal
  m.scalars.bf16 = ckpt::bfloat16::from_bits(0x7f7f);  // the largest finite

  m.empty_rows = ckpt::tensor<std::int32_t>({0, 3});
  m.mask = ckpt::tensor<bool>({2, 2}, {true, false, false, true});
  m.ids = {0, -1, std::numeric_limits<std::int64_t>::max(), 9007199254740993};  // 2^53 + 1
  if (parts.complex) {
    m.complex.emplace();
    m.complex->c64 = {1.5f, -2.25f};
    m.complex->c128 = ckpt::tensor<std::complex<double>>({2}, {{0.1, 0.2}, {-1e-310, 3e300}});
  }
  if (parts.strings) {
    m.text.emplace();
    m.text->name = "ckpt \"test\" \xc3\xa9\n";  // quotes, UTF-8, newline
    m.text->vocab = {"", "a", std::string("nul\0byte", 8), "\xe2\x82\xac"};
    m.text->table = ckpt::tensor<std::string>({2, 1}, {"row0", "row1"});
  }
  return m;
}

// Bitwise comparison for floating-point leaves, where NaN and -0.0 must survive exactly.
template <class T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace ckpt_test

template <>
struct ckpt::fields<ckpt_test::Norm> {
  static constexpr auto value =
      ckpt::members("gamma", &ckpt_test::Norm::gamma, "beta", &ckpt_test::Norm::beta);
};
