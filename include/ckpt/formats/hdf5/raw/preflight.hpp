// SPDX-License-Identifier: Apache-2.0
#pragma once
// ckpt's own structural check of an HDF5 file's metadata, run before libhdf5 decodes it. libhdf5
// 1.10 decodes several on-disk structures without bounds checks, so a corrupted or hostile file
// could crash it, hang it or make it read uninitialised memory. A `preflight` is made for each
// opened file (checking the superblock, its extension and the root group's object header), and the
// reader asks it to check every object before libhdf5 opens it (object header, every message body,
// an old-style group's whole symbol table, a group's or object's dense link and attribute storage,
// the targets of shared messages) and every variable-length element before libhdf5 reads it
// (global heap collection and object). Each object is checked once per file. Failures are
// errc::bad_format naming the file, the object and the byte offset.
//
// Left to libhdf5 (checksummed, or refused elsewhere): the chunk indexes of chunked datasets and
// the shared-message heap (files using it are refused).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/raw/btree2.hpp"
#include "ckpt/formats/hdf5/raw/chunk_btree.hpp"
#include "ckpt/formats/hdf5/raw/datatype.hpp"
#include "ckpt/formats/hdf5/raw/fractal_heap.hpp"
#include "ckpt/formats/hdf5/raw/global_heap.hpp"
#include "ckpt/formats/hdf5/raw/messages.hpp"
#include "ckpt/formats/hdf5/raw/object_header.hpp"
#include "ckpt/formats/hdf5/raw/source.hpp"
#include "ckpt/formats/hdf5/raw/superblock.hpp"
#include "ckpt/formats/hdf5/raw/symbol_table.hpp"

namespace ckpt::hdf5::raw {

class preflight {
 public:
  // Checks the superblock, the superblock extension and the root group.
  explicit preflight(source src) : src_(std::move(src)) {
    std::lock_guard lock(mutex_);
    sb_ = read_superblock(src_);
    sizes_ = {sb_.offset_size, sb_.length_size};
    if (sb_.extension_address != undefined_address) {
      const auto& ext = check_object_locked(sb_.extension_address, "superblock extension", 0);
      if (ext.facts.btree_k) {
        sb_.group_internal_k = (*ext.facts.btree_k)[1];
        sb_.group_leaf_k = (*ext.facts.btree_k)[2];
      }
    }
    if (sb_.root_btree != undefined_address)
      (void)read_symbol_table(src_, sb_.root_btree, sb_.root_heap, sizes_.offsets, sizes_.lengths,
                              sb_.group_leaf_k, sb_.group_internal_k, "/");
    check_object_locked(sb_.root_address, "/", 0);
  }

  const source& src() const noexcept { return src_; }
  const superblock& super() const noexcept { return sb_; }

  // Checks the object header at `address` (relative to the base address) and everything libhdf5
  // decodes with it. `object` names it in messages.
  void check_object(std::uint64_t address, std::string_view object) {
    std::lock_guard lock(mutex_);
    check_object_locked(address, object, 0);
  }

  // Absolute paths whose objects have all been checked: libhdf5 resolves a path the same way for
  // as long as the file is open read-only, so looking its links up again can be skipped.
  bool path_checked(const std::string& path) {
    std::lock_guard lock(mutex_);
    return checked_paths_.contains(path);
  }
  void mark_path_checked(std::string path) {
    std::lock_guard lock(mutex_);
    checked_paths_.insert(std::move(path));
  }

  // Checks every element of attribute `name` of the object at `address`, if its type is
  // variable-length, against the global heap (compact and dense attributes alike).
  void check_attribute_data(std::uint64_t address, std::string_view name, std::string_view object) {
    std::lock_guard lock(mutex_);
    const auto& o = check_object_locked(address, object, 0);
    for (const auto& a : o.attributes) {
      if (a.name != name) continue;
      const datatype_info type = a.type ? *a.type : resolve_type(a.type_shared, object, 0);
      if (!type.vlen) return;
      const std::string where = std::string(object) + "@" + a.name;
      check_vlen_elements_locked(a.rest.first(static_cast<std::size_t>(a.data_size)),
                                 a.data_address, type, a.space.elements, where);
      return;
    }
  }

  // The datatype and layout of the dataset at `address` (checked first).
  std::pair<datatype_info, layout_info> dataset_storage(std::uint64_t address,
                                                        std::string_view object) {
    std::lock_guard lock(mutex_);
    const auto& o = check_object_locked(address, object, 0);
    if (!o.facts.layout) src_.fail("dataset has no layout message", address, object);
    const datatype_info type =
        o.facts.type ? *o.facts.type : resolve_type(o.facts.type_shared, object, 0);
    return {type, *o.facts.layout};
  }

  // Checks every object reachable from the root through hard links, every variable-length
  // attribute and every contiguous or compact variable-length dataset; returns how many objects
  // it checked. The reader checks lazily what it visits; this is the whole-file form (tests,
  // tools).
  std::size_t check_everything(std::size_t max_objects = 1'000'000) {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::uint64_t, std::string>> stack{{sb_.root_address, "/"}};
    std::set<std::uint64_t> done;
    while (!stack.empty()) {
      const auto [address, path] = stack.back();
      stack.pop_back();
      if (!done.insert(address).second) continue;
      if (done.size() > max_objects) throw error(errc::limit, "too many objects", src_.name());
      const auto& o = check_object_locked(address, path, 0);
      for (const auto& a : o.attributes) {
        const datatype_info type = a.type ? *a.type : resolve_type(a.type_shared, path, 0);
        check_vlen_elements_locked(a.rest.first(static_cast<std::size_t>(a.data_size)),
                                   a.data_address, type, a.space.elements, path + "@" + a.name);
      }
      if (o.facts.layout && o.facts.space) {
        const datatype_info type =
            o.facts.type ? *o.facts.type : resolve_type(o.facts.type_shared, path, 0);
        const auto& l = *o.facts.layout;
        if (type.vlen && l.layout_class == 0)
          check_vlen_elements_locked(l.compact, l.compact_address, type, o.facts.space->elements,
                                     path);
        if (type.vlen && l.layout_class == 1 && l.address != undefined_address) {
          std::uint64_t bytes = 0;
          if (__builtin_mul_overflow(o.facts.space->elements, type.size, &bytes))
            src_.fail("variable-length data size overflows", l.address, path);
          check_vlen_elements_locked(src_.read(l.address, bytes, "variable-length data", path),
                                     l.address, type, o.facts.space->elements, path);
        }
      }
      for (const auto& [name, child] : o.children)
        stack.emplace_back(child, (path == "/" ? path : path + "/") + name);
    }
    return done.size();
  }

  // Checks `count` variable-length elements of `type` stored at file address `address`.
  void check_vlen_data(std::uint64_t address, std::uint64_t count, const datatype_info& type,
                       std::string_view object) {
    std::lock_guard lock(mutex_);
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(count, type.size, &bytes))
      src_.fail("variable-length data size overflows", address, object);
    const auto data = src_.read(address, bytes, "variable-length data", object);
    check_vlen_elements_locked(data, address, type, count, object);
  }

  // Checks variable-length elements held in memory (read from file address `address`).
  void check_vlen_elements(std::span<const std::byte> data, std::uint64_t address,
                           const datatype_info& type, std::uint64_t count,
                           std::string_view object) {
    std::lock_guard lock(mutex_);
    check_vlen_elements_locked(data, address, type, count, object);
  }

 private:
  static constexpr unsigned max_shared_depth = 8;
  // The heap ID sizes libhdf5 uses for dense links and dense attributes.
  static constexpr std::size_t link_heap_id_length = 7, attribute_heap_id_length = 8;

  struct checked {
    object_header header;
    message_facts facts;
    std::vector<std::vector<std::byte>> dense_messages;  // attribute messages from dense storage
    std::vector<attribute_message> attributes;  // point into header's chunks or dense_messages
    std::vector<std::pair<std::string, std::uint64_t>> children;  // a group's members
  };

  datatype_info resolve_type(const shared_reference& r, std::string_view object, unsigned depth) {
    if (r.in_heap || r.address == undefined_address)
      src_.fail("shared datatype without an object header", r.address, object);
    const auto& target = check_object_locked(r.address, object, depth + 1);
    if (target.facts.type) return *target.facts.type;
    if (target.facts.type_shared.address != undefined_address)
      return resolve_type(target.facts.type_shared, object, depth + 1);
    src_.fail("shared datatype's object holds no datatype", r.address, object);
  }

  const checked& check_object_locked(std::uint64_t address, std::string_view object,
                                     unsigned depth) {
    if (const auto it = objects_.find(address); it != objects_.end()) return it->second;
    if (depth > max_shared_depth)
      src_.fail("shared messages nest deeper than " + std::to_string(max_shared_depth), address,
                object);
    if (objects_.size() >= 10'000'000) throw error(errc::limit, "too many objects", src_.name());
    checked o;
    o.header = read_object_header(src_, address, sizes_.offsets, sizes_.lengths, object);
    for (const auto& chunk : o.header.chunks) charge(chunk.size(), address, object);
    for (const auto& m : o.header.messages) check_message(src_, m, sizes_, object, o.facts);
    for (const auto& r : o.facts.shared) (void)check_object_locked(r.address, object, depth + 1);
    for (const auto& m : o.header.messages) {
      if (m.type != message_type::attribute || (m.flags & message_flag_shared)) continue;
      cursor c(src_, m.body, m.address, object);
      o.attributes.push_back(read_attribute(
          c, sizes_, [&](const shared_reference& r) { return resolve_type(r, object, depth); }));
    }
    if (o.facts.dense_attributes)
      check_dense_attributes(o, *o.facts.dense_attributes, address, object, depth);
    if (o.facts.dense_links) check_dense_links(o, *o.facts.dense_links, address, object);
    if (o.facts.symbol_table) {
      std::uint64_t bytes = 0;
      for (auto& e : read_symbol_table(src_, o.facts.symbol_table->first,
                                       o.facts.symbol_table->second, sizes_.offsets, sizes_.lengths,
                                       sb_.group_leaf_k, sb_.group_internal_k, object, &bytes))
        o.children.emplace_back(std::move(e.name), e.header);
      charge(bytes, address, object);
    }
    for (const auto& l : o.facts.links)
      if (l.type == link_type::hard) o.children.emplace_back(l.name, l.target);
    // libhdf5 resolves a name to one of two links that share it, which need not be the one the
    // reader checked at its address.
    std::set<std::string_view> names;
    for (const auto& [name, target] : o.children)
      if (!names.insert(name).second)
        src_.fail("group has two links named '" + name + "'", address, object);
    // libhdf5 takes an object with a datatype and a dataspace for a dataset, and fails to open
    // one without a layout only after reading (and, on that error path, leaking) its pipeline.
    const bool has_type = o.facts.type || o.facts.type_shared.address != undefined_address;
    if (has_type && o.facts.space && !o.facts.layout)
      src_.fail("dataset has no layout message", address, object);
    if (o.facts.layout) check_dataset(o, address, object, depth);
    return objects_.emplace(address, std::move(o)).first->second;
  }

  // What the walks of dense storage may read: the rest of the budget charge() enforces.
  walk_limits dense_limits() const {
    walk_limits l;
    const std::uint64_t budget = 4 * src_.size() + (64ull << 20);
    l.max_bytes = budget > parsed_ ? budget - parsed_ : 0;
    return l;
  }

  // A group's links in dense storage: every record of the name index (and of the creation-order
  // index, which libhdf5 reads for lookups and native-order iteration by creation order) resolved
  // in the heap, and each link message found checked as a compact one is.
  void check_dense_links(checked& o, const dense_storage& d, std::uint64_t address,
                         std::string_view object) {
    const auto limits = dense_limits();
    std::uint64_t bytes = 0;
    const auto heap = read_fractal_heap(src_, d.heap, link_heap_id_length, sizes_.offsets,
                                        sizes_.lengths, object, limits, bytes);
    std::set<std::uint64_t> decoded;  // by file address: both indexes name every link
    const auto link_at = [&](std::span<const std::byte> id, std::uint64_t id_address) {
      const auto m = read_heap_object(src_, heap, id, id_address, object);
      // Copied heap objects count against the budget: many records may name one large object.
      limits.spend(bytes, m.bytes.size(), src_, object, id_address);
      if (!decoded.insert(m.address).second) return;
      cursor c(src_, m.bytes, m.address, object);
      auto l = read_link(c, sizes_.offsets);
      if (l.type == link_type::hard) o.children.emplace_back(l.name, l.target);
    };
    // Name records: hash (4 bytes), heap ID; creation-order records: order (8 bytes), heap ID.
    walk_btree2(src_, d.name_index, btree2_type::link_name, 4 + link_heap_id_length, sizes_.offsets,
                sizes_.lengths, object, limits, bytes,
                [&](std::span<const std::byte> r, std::uint64_t at) {
                  link_at(r.subspan(4, link_heap_id_length), at + 4);
                });
    if (d.order_index != undefined_address)
      walk_btree2(src_, d.order_index, btree2_type::link_order, 8 + link_heap_id_length,
                  sizes_.offsets, sizes_.lengths, object, limits, bytes,
                  [&](std::span<const std::byte> r, std::uint64_t at) {
                    link_at(r.subspan(8, link_heap_id_length), at + 8);
                  });
    charge(bytes, address, object);
  }

  // An object's attributes in dense storage: every record of the name index (libhdf5 finds
  // attributes by name; ckpt never iterates them by creation order) resolved in the heap, and each
  // attribute message checked as a compact one is.
  void check_dense_attributes(checked& o, const dense_storage& d, std::uint64_t address,
                              std::string_view object, unsigned depth) {
    const auto limits = dense_limits();
    std::uint64_t bytes = 0;
    const auto heap = read_fractal_heap(src_, d.heap, attribute_heap_id_length, sizes_.offsets,
                                        sizes_.lengths, object, limits, bytes);
    // Records: heap ID, message flags (1 byte), creation order (4), name hash (4).
    walk_btree2(
        src_, d.name_index, btree2_type::attribute_name, attribute_heap_id_length + 9,
        sizes_.offsets, sizes_.lengths, object, limits, bytes,
        [&](std::span<const std::byte> r, std::uint64_t at) {
          const unsigned flags = static_cast<unsigned>(r[attribute_heap_id_length]);
          if ((flags & message_flag_shared) && (flags & message_flag_dont_share))
            src_.fail("attribute record is both shared and not shareable",
                      at + attribute_heap_id_length, object);
          auto m = read_heap_object(src_, heap, r.first(attribute_heap_id_length), at, object);
          limits.spend(bytes, m.bytes.size(), src_, object, at);
          cursor c(src_, m.bytes, m.address, object);
          if (flags & message_flag_shared) {
            const auto target = read_shared(c, sizes_.offsets);
            if (target.in_heap)
              throw error(errc::unsupported,
                          "attribute lives in the shared-message heap, which ckpt does not check",
                          src_.name(), std::string(object), src_.base() + m.address);
            (void)check_object_locked(target.address, object, depth + 1);
            return;
          }
          o.dense_messages.push_back(std::move(m.bytes));
          cursor a(src_, o.dense_messages.back(), m.address, object);
          o.attributes.push_back(read_attribute(a, sizes_, [&](const shared_reference& t) {
            return resolve_type(t, object, depth);
          }));
        });
    charge(bytes, address, object);
  }

  // Consistency of a dataset's datatype, dataspace and layout, which libhdf5 combines unchecked.
  void check_dataset(const checked& o, std::uint64_t address, std::string_view object,
                     unsigned depth) {
    const auto& f = o.facts;
    if (!f.space) src_.fail("dataset has no dataspace message", address, object);
    if (!f.type && f.type_shared.address == undefined_address)
      src_.fail("dataset has no datatype message", address, object);
    const datatype_info type = f.type ? *f.type : resolve_type(f.type_shared, object, depth);
    const auto& l = *f.layout;
    if (l.layout_class == 2 && l.chunk.size() != f.space->dims.size())
      src_.fail("chunk rank " + std::to_string(l.chunk.size()) +
                    " differs from the dataset's rank " + std::to_string(f.space->dims.size()),
                address, object);
    // Layout versions 1 to 3 index chunks with a version 1 B-tree, which libhdf5 descends
    // without loop checks.
    if (l.layout_class == 2 && l.version < 4 && l.address != undefined_address) {
      std::uint64_t bytes = 0;
      check_chunk_btree(src_, l.address, sizes_.offsets, l.chunk.size() + 1, object, bytes);
      charge(bytes, l.address, object);
    }
    if (l.layout_class == 0) {
      std::uint64_t needed = 0;
      if (__builtin_mul_overflow(f.space->elements, type.size, &needed) || needed != l.size)
        src_.fail("compact data of " + std::to_string(l.size) + " bytes, not the " +
                      std::to_string(needed) + " its shape needs",
                  l.compact_address, object);
    }
  }

  const heap_collection& collection(std::uint64_t address, std::string_view object) {
    if (const auto it = heaps_.find(address); it != heaps_.end()) return it->second;
    auto parsed = read_heap_collection(src_, address, sizes_.lengths, object);
    charge(parsed.size, address, object);
    return heaps_.emplace(address, std::move(parsed)).first->second;
  }

  void check_vlen_elements_locked(std::span<const std::byte> data, std::uint64_t address,
                                  const datatype_info& type, std::uint64_t count,
                                  std::string_view object) {
    if (!type.vlen) return;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(count, type.size, &bytes) || bytes > data.size())
      src_.fail("variable-length data shorter than its element count", address, object);
    cursor c(src_, data, address, object);
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::size_t at = c.pos();
      const vlen_reference r = read_vlen_reference(c, sizes_.offsets);
      c.seek(at + static_cast<std::size_t>(type.size));
      if (r.collection == 0) continue;  // no data: libhdf5 reads nothing
      if (r.index == 0)
        c.fail_at("variable-length element refers to heap object 0 (free space)", at);
      const auto& heap = collection(r.collection, object);
      const auto it = heap.objects.find(r.index);
      if (it == heap.objects.end())
        c.fail_at("variable-length element refers to heap object " + std::to_string(r.index) +
                      ", which its collection does not hold",
                  at);
      std::uint64_t expected = 0;
      if (__builtin_mul_overflow(std::uint64_t{r.length}, type.vlen_base_size, &expected) ||
          it->second != expected)
        c.fail_at("variable-length element of " + std::to_string(r.length) +
                      " items refers to a heap object of " + std::to_string(it->second) +
                      " bytes, not " + std::to_string(expected),
                  at);
    }
  }

  // Structures may overlap in a hostile file, so the bytes parsed could grow with the square of
  // the file's size; four times the file (plus 64 MiB) is far more than any real file needs.
  void charge(std::uint64_t bytes, std::uint64_t address, std::string_view object) {
    parsed_ += bytes;
    if (parsed_ > 4 * src_.size() + (64ull << 20))
      throw error(errc::limit, "metadata structures overlap to more than four times the file",
                  src_.name(), std::string(object), address);
  }

  std::uint64_t parsed_ = 0;
  std::recursive_mutex mutex_;
  source src_;
  superblock sb_;
  file_sizes sizes_;
  std::map<std::uint64_t, checked> objects_;
  std::map<std::uint64_t, heap_collection> heaps_;
  std::unordered_set<std::string> checked_paths_;
};

}  // namespace ckpt::hdf5::raw
