// SPDX-License-Identifier: Apache-2.0
#pragma once
// The global heap, where HDF5 keeps variable-length data (strings and sequences): a variable-length
// element on disk is a 4-byte sequence length, the address of a global heap collection ("GCOL")
// and a 4-byte object index. libhdf5 1.10 reads such an element by walking the collection's
// objects by their declared sizes (a free-space object of size 0 walks forever, a huge size wraps
// the pointer), indexing its object table with the element's index unchecked, and copying the
// object's declared size into a buffer sized from the element's sequence length.
//
// This checks a collection the way libhdf5 walks it: inside the file, signature and version, at
// least the smallest size libhdf5 writes, objects tiling it exactly (free space at least its own
// header); and each element: a referenced index (>= 1) that the walk found, whose object holds
// exactly sequence length × base size bytes. Element address 0 means "no data" and is not read.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

struct heap_collection {
  std::uint64_t size = 0;                          // of the whole collection
  std::map<std::uint32_t, std::uint64_t> objects;  // index -> size in bytes
};

inline heap_collection read_heap_collection(const source& src, std::uint64_t address, std::size_t L,
                                            std::string_view object) {
  const std::uint64_t header = 8 + L;
  const auto head = src.read(address, header, "global heap collection", object);
  cursor h(src, head, address, object);
  if (!h.match("GCOL")) h.fail_at("global heap collection has no GCOL signature", 0);
  if (h.u8("global heap version") != 1) h.fail_at("global heap collection version is not 1", 4);
  h.skip(3, "reserved");
  const std::uint64_t size = h.uint(L, "global heap collection size");
  if (size < 4096)  // libhdf5 never writes smaller collections, and reads 4096 bytes first
    h.fail_at("global heap collection of " + std::to_string(size) + " bytes, under 4096", 8);
  const auto bytes = src.read(address, size, "global heap collection", object);
  cursor c(src, bytes, address, object);
  c.seek(static_cast<std::size_t>(header));
  const std::uint64_t object_header = 8 + L;
  heap_collection out;
  out.size = size;
  while (c.pos() < bytes.size()) {
    const std::size_t start = c.pos();
    if (bytes.size() - start < object_header) break;  // too small for an object: free space
    const std::uint32_t index = c.u16("heap object index");
    c.skip(6, "heap object reference count");
    const std::uint64_t object_size = c.uint(L, "heap object size");
    std::uint64_t step = 0;
    if (index == 0) {
      // The free-space object's size counts its own header.
      if (object_size < object_header)
        c.fail_at("global heap free space of " + std::to_string(object_size) +
                      " bytes, smaller than its header",
                  start);
      step = object_size;
    } else {
      std::uint64_t padded = 0;
      if (__builtin_add_overflow(object_size, std::uint64_t{7}, &padded))
        c.fail_at("global heap object size overflows", start);
      step = object_header + (padded & ~std::uint64_t{7});
      if (step < object_header) c.fail_at("global heap object size overflows", start);
      if (!out.objects.emplace(index, object_size).second)
        c.fail_at("global heap object index " + std::to_string(index) + " appears twice", start);
    }
    if (step > bytes.size() - start)
      c.fail_at(
          "global heap object of " + std::to_string(object_size) + " bytes overruns its collection",
          start);
    c.seek(start + static_cast<std::size_t>(step));
  }
  return out;
}

// A variable-length element as stored.
struct vlen_reference {
  std::uint32_t length = 0;
  std::uint64_t collection = 0;
  std::uint32_t index = 0;
};

inline vlen_reference read_vlen_reference(cursor& c, std::size_t O) {
  vlen_reference r;
  r.length = c.u32("sequence length");
  r.collection = c.uint(O, "heap collection address");
  r.index = c.u32("heap object index");
  return r;
}

}  // namespace ckpt::hdf5::raw
