// SPDX-License-Identifier: Apache-2.0
#pragma once
// The user-facing calls: ckpt::save, ckpt::load and ckpt::reader.

#include <algorithm>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/codec/convert.hpp"
#include "ckpt/core/error.hpp"
#include "ckpt/core/options.hpp"
#include "ckpt/core/tensor.hpp"
#include "ckpt/formats/entry_buffer.hpp"
#include "ckpt/formats/format.hpp"
#include "ckpt/formats/registry.hpp"
#include "ckpt/reflect/tree.hpp"

namespace ckpt {

// Every leaf of `object` with its canonical path, in visiting order. Duplicate paths (two children
// of one trackable() given the same name) are an error rather than a silently lost tensor.
template <class T>
std::vector<named_tensor> collect_tensors(const T& object) {
  static_assert(!leaf<T>, "ckpt::save takes a struct or container of tensors, not a bare tensor");
  std::vector<named_tensor> tensors;
  for_each_leaf(object, [&](const std::string& path, tensor_view view) {
    tensors.push_back({path, std::move(view)});
  });
  std::vector<const std::string*> paths;
  paths.reserve(tensors.size());
  for (const auto& t : tensors) paths.push_back(&t.path);
  std::sort(paths.begin(), paths.end(), [](auto* a, auto* b) { return *a < *b; });
  auto dup =
      std::adjacent_find(paths.begin(), paths.end(), [](auto* a, auto* b) { return *a == *b; });
  if (dup != paths.end())
    throw error(errc::bad_format, "two tensors have the same path", {}, **dup);
  return tensors;
}

template <class T>
void save_to(const T& object, format_writer& writer) {
  writer.write(collect_tensors(object));
}

template <class T>
void save(const T& object, const std::filesystem::path& path, const save_options& options = {}) {
  auto tensors = collect_tensors(object);
  try {
    create_writer(format_for_save(path, options.format), path, options)->write(tensors);
  } catch (error& e) {
    e.with_file(path.string());
    throw;
  }
}

namespace detail {

inline std::string renamed(const std::string& stored, const load_options& options) {
  if (auto it = options.rename.find(stored); it != options.rename.end()) return it->second;
  for (const auto& [from, to] : options.rename_prefix) {
    if (!stored.starts_with(from)) continue;
    if (stored.size() == from.size()) return to;
    if (from.empty() || stored[from.size()] == '/') {
      std::string rest = stored.substr(from.empty() ? 0 : from.size() + 1);
      return to.empty() ? rest : to + "/" + rest;
    }
  }
  return stored;
}

inline std::string and_more(std::size_t n) {
  return n > 1 ? " (and " + std::to_string(n - 1) + " more)" : "";
}

}  // namespace detail

// Reads entry `index` into `out`, directly when the dtypes agree, else through a buffer of the
// stored dtype and a conversion (which the caller has already allowed).
inline void read_converted(format_reader& reader, std::size_t index,
                           const mutable_tensor_view& out) {
  const entry& e = reader.entries()[index];
  if (out.dtype == e.dtype) return reader.read(index, out);
  entry_buffer stored;
  convert(read_entry(reader, index, stored), out);
}

// Reads every matched entry into `object`. Keys, dtypes and containers are all checked before the
// first tensor is read, so a mismatched file fails without reading tensor data.
template <class T>
void load_from(T& object, format_reader& reader, const load_options& options = {}) {
  const auto& entries = reader.entries();
  std::vector<std::pair<std::string, std::size_t>> paths;
  paths.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i)
    paths.emplace_back(detail::renamed(entries[i].path, options), i);
  const key_index keys(std::move(paths));
  load_plan plan = plan_load(object, keys);

  if (!plan.missing.empty() && !options.allow_missing)
    throw error(errc::missing_key,
                "the file has no entry for this field" + detail::and_more(plan.missing.size()), {},
                plan.missing.front());
  if (!options.allow_unexpected) {
    std::vector<bool> bound(entries.size());
    for (const auto& b : plan.bindings) bound[b.entry] = true;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (entries[i].bookkeeping) bound[i] = true;
    const auto extra = static_cast<std::size_t>(std::count(bound.begin(), bound.end(), false));
    if (extra > 0) {
      const auto first =
          static_cast<std::size_t>(std::find(bound.begin(), bound.end(), false) - bound.begin());
      throw error(errc::unexpected_key,
                  "no field takes this stored entry" + detail::and_more(extra), {},
                  entries[first].name);
    }
  }
  for (const auto& b : plan.bindings) {
    const auto& e = entries[b.entry];
    if (!convertible(e.dtype, b.leaf_dtype, options.convert))
      throw error(
          errc::dtype_mismatch,
          "stored as " + describe(e.dtype) + " but the field '" + b.path + "' is " +
              describe(b.leaf_dtype) +
              (options.convert == conversion::none ? " (load_options::convert allows conversion)"
                                                   : ""),
          {}, e.name);
  }
  for (const auto& b : plan.bindings) {
    const auto& e = entries[b.entry];
    try {
      read_converted(reader, b.entry, b.prepare(e.dtype, e.shape));
    } catch (error& err) {
      err.with_key(e.name);
      throw;
    }
  }
}

inline std::unique_ptr<format_reader> open_reader(const std::filesystem::path& path,
                                                  const load_options& options = {}) {
  try {
    return format_for_load(path, options.format).open(path, options);
  } catch (error& e) {
    e.with_file(path.string());
    throw;
  }
}

template <class T>
void load(T& object, const std::filesystem::path& path, const load_options& options = {}) {
  auto reader = open_reader(path, options);
  try {
    load_from(object, *reader, options);
  } catch (error& e) {
    e.with_file(path.string());
    throw;
  }
}

// Copies every entry of `from` into `to`, keeping canonical paths, and returns how many it wrote;
// the writer's format adds its own bookkeeping entries. Tensors the reader can show in place
// (mapped files) are not copied; the others are read into memory first.
inline std::size_t copy_tensors(format_reader& from, format_writer& to) {
  const auto& entries = from.entries();
  std::vector<named_tensor> tensors;
  std::deque<entry_buffer> buffers;  // stable addresses: the views point into them
  tensors.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const entry& e = entries[i];
    if (e.bookkeeping) continue;
    try {
      tensors.push_back({e.path, read_entry(from, i, buffers.emplace_back())});
    } catch (error& err) {
      err.with_key(e.name);
      throw;
    }
  }
  to.write(tensors);
  return tensors.size();
}

struct conversion_result {
  std::string from_format, to_format;
  std::size_t tensors = 0;   // entries written (bookkeeping entries of the input not counted)
  bool layout_kept = false;  // copied by the output format's native_copy, as stored
};

// Converts the checkpoint at `from` into `to`. When `save.format` is empty and the output format
// can copy what was read in its own layout (TensorFlow to TensorFlow), it does: keys, shards and
// bytes stay as they are. Otherwise every tensor is copied by canonical path.
inline conversion_result convert_file(const std::filesystem::path& from,
                                      const std::filesystem::path& to,
                                      const load_options& load = {}, save_options save = {}) {
  auto in = open_reader(from, load);
  const format_info format = format_for_save(to, save.format);
  conversion_result result{in->format(), format.name, 0, false};
  for (const auto& [k, v] : in->metadata()) save.metadata.emplace(k, v);
  try {
    if (save.format.empty() && format.native_copy) {
      create_parent_directories(to);
      if (format.native_copy(from, *in, to, save)) {
        result.layout_kept = true;
        result.to_format = result.from_format;
        for (const auto& e : in->entries()) result.tensors += !e.bookkeeping;
        return result;
      }
    }
    result.tensors = copy_tensors(*in, *create_writer(format, to, save));
  } catch (error& e) {
    e.with_file(to.string());
    throw;
  } catch (const std::filesystem::filesystem_error& e) {
    throw error(errc::io, e.what(), to.string());
  }
  return result;
}

// Inspects any supported file without a struct.
class reader {
  // Runs fn on the entry's index, adding file and key to any error it throws.
  template <class Fn>
  decltype(auto) guarded(std::string_view key, Fn&& fn) {
    const std::size_t i = index_of(key);
    try {
      return fn(i);
    } catch (error& e) {
      e.with_key(entries()[i].name).with_file(path_.string());
      throw;
    }
  }

 public:
  explicit reader(const std::filesystem::path& path, const load_options& options = {})
      : path_(path), impl_(open_reader(path, options)) {
    const auto& es = entries();
    for (std::size_t i = 0; i < es.size(); ++i) {
      by_name_.emplace(es[i].name, i);
      by_path_.emplace(es[i].path, i);
    }
  }

  std::string format() const { return impl_->format(); }
  const std::vector<entry>& entries() const { return impl_->entries(); }
  std::map<std::string, std::string> metadata() const { return impl_->metadata(); }
  format_reader& impl() noexcept { return *impl_; }

  // The entry stored under `key` (as stored, or its canonical path).
  const entry& find(std::string_view key) const { return entries()[index_of(key)]; }
  bool contains(std::string_view key) const { return lookup(key).has_value(); }

  checksum_status verify(std::string_view key) {
    return guarded(key, [&](std::size_t i) { return impl_->verify(i); });
  }

  // One tensor as stored, any dtype: in place where the format allows, else in `buffer`.
  tensor_view read_stored(std::string_view key, entry_buffer& buffer) {
    return guarded(key, [&](std::size_t i) { return read_entry(*impl_, i, buffer); });
  }

  // One tensor, converted to T where `policy` allows.
  template <element T>
  tensor<T> read(std::string_view key, conversion policy = conversion::none) {
    return guarded(key, [&](std::size_t i) {
      const entry& e = entries()[i];
      if (!convertible(e.dtype, dtype_of<T>, policy))
        throw error(errc::dtype_mismatch,
                    "stored as " + describe(e.dtype) + ", asked for " + describe(dtype_of<T>));
      tensor<T> t;
      read_converted(*impl_, i, tensor_traits<tensor<T>>::prepare(t, e.dtype, e.shape));
      return t;
    });
  }

 private:
  std::optional<std::size_t> lookup(std::string_view key) const {
    for (const auto* index : {&by_name_, &by_path_})
      if (auto it = index->find(key); it != index->end()) return it->second;
    return std::nullopt;
  }
  std::size_t index_of(std::string_view key) const {
    if (auto i = lookup(key)) return *i;
    throw error(errc::missing_key, "no such entry", path_.string(), std::string(key));
  }
  std::filesystem::path path_;
  std::unique_ptr<format_reader> impl_;
  std::map<std::string, std::size_t, std::less<>> by_name_, by_path_;
};

}  // namespace ckpt
