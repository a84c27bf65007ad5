// SPDX-License-Identifier: Apache-2.0
#pragma once
// An in-memory format for tests of the generic machinery: it keeps copies of what it is given.

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ckpt/api.hpp"

namespace ckpt_test {

struct stored_tensor {
  ckpt::dtype dtype;
  ckpt::shape shape;
  std::vector<std::byte> bytes;
  std::vector<std::string> strings;
};

struct memory_store {
  std::vector<std::pair<std::string, stored_tensor>> tensors;  // in write order

  const stored_tensor& at(const std::string& path) const {
    for (auto& [p, t] : tensors)
      if (p == path) return t;
    throw std::out_of_range(path);
  }
  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (auto& [p, t] : tensors) out.push_back(p);
    return out;
  }
};

class memory_writer : public ckpt::format_writer {
 public:
  explicit memory_writer(memory_store& store) : store_(store) {}
  void write(const std::vector<ckpt::named_tensor>& tensors) override {
    store_.tensors.clear();
    for (const auto& t : tensors)
      store_.tensors.push_back({t.path,
                                {t.tensor.dtype,
                                 t.tensor.shape,
                                 {t.tensor.bytes.begin(), t.tensor.bytes.end()},
                                 {t.tensor.strings.begin(), t.tensor.strings.end()}}});
  }

 private:
  memory_store& store_;
};

class memory_reader : public ckpt::format_reader {
 public:
  explicit memory_reader(const memory_store& store) : store_(store) {
    for (auto& [p, t] : store.tensors) entries_.push_back({p, p, t.dtype, t.shape, t.bytes.size()});
  }
  std::string format() const override { return "memory"; }
  const std::vector<ckpt::entry>& entries() const override { return entries_; }
  void read(std::size_t i, const ckpt::mutable_tensor_view& out) override {
    const auto& t = store_.tensors[i].second;
    if (t.dtype == ckpt::dtype::string)
      std::copy(t.strings.begin(), t.strings.end(), out.strings.begin());
    else if (!t.bytes.empty())
      std::memcpy(out.bytes.data(), t.bytes.data(), t.bytes.size());
  }

 private:
  const memory_store& store_;
  std::vector<ckpt::entry> entries_;
};

}  // namespace ckpt_test
