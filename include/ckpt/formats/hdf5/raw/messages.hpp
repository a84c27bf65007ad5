// SPDX-License-Identifier: Apache-2.0
#pragma once
// Validation of the object header message bodies libhdf5 decodes: each body is read field by field
// within its own bytes (raw/source.hpp's cursor fails on any overrun), names must be NUL-terminated
// inside the message, counts and ranks within libhdf5's fixed arrays, addresses inside the file.
// What the preflight needs later (datatype, dataspace, layout, attributes, links, symbol tables,
// shared-message targets) is returned in `message_facts`.

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/core/error.hpp"
#include "ckpt/formats/hdf5/raw/datatype.hpp"
#include "ckpt/formats/hdf5/raw/object_header.hpp"
#include "ckpt/formats/hdf5/raw/source.hpp"

namespace ckpt::hdf5::raw {

struct file_sizes {
  std::size_t offsets = 8, lengths = 8;
};

// A message stored elsewhere (flag "shared"): in another object header (a committed datatype) or
// in the shared-message heap.
struct shared_reference {
  std::uint64_t address = undefined_address;  // object header holding the message
  bool in_heap = false;                       // in the shared-message (fractal) heap
};

struct layout_info {
  unsigned version = 0;
  unsigned layout_class = 1;  // 0 compact, 1 contiguous, 2 chunked
  std::uint64_t address = undefined_address;
  std::uint64_t size = 0;
  std::span<const std::byte> compact;  // the data of a compact layout
  std::uint64_t compact_address = 0;
  std::vector<std::uint64_t> chunk;  // chunk dimensions (without the element-size dimension)
};

struct attribute_message {
  std::string name;
  std::optional<datatype_info> type;  // empty when shared: resolve `type_shared`
  shared_reference type_shared;
  dataspace_info space;
  std::uint64_t data_address = 0;
  std::span<const std::byte> rest;  // the body from the data on
  std::uint64_t data_size = 0;      // elements × element size (checked inside `rest`)
};

namespace detail {

inline bool address_ok(const cursor& c, std::uint64_t address) {
  return address == undefined_address || c.src().contains(address, 1);
}

inline std::uint64_t file_address(cursor& c, std::size_t O, std::string_view what) {
  const std::size_t at = c.pos();
  const std::uint64_t a = c.address(O, what);
  if (!address_ok(c, a)) c.fail_at(std::string(what) + " lies outside the file", at);
  return a;
}

inline void expect_version(cursor& c, unsigned low, unsigned high, std::string_view what) {
  const unsigned v = c.u8(what);
  if (v < low || v > high)
    c.fail_at(std::string(what) + " " + std::to_string(v) + " is not one ckpt knows", c.pos() - 1);
}

inline void flags_within(cursor& c, unsigned flags, unsigned known, std::string_view what) {
  if (flags & ~known)
    c.fail_at(std::string("unknown ") + std::string(what) + " flags", c.pos() - 1);
}

}  // namespace detail

inline shared_reference read_shared(cursor& c, std::size_t O) {
  const std::size_t start = c.pos();
  const unsigned version = c.u8("shared message version");
  const unsigned type = c.u8("shared message type");
  shared_reference r;
  if (version == 1) {
    c.skip(6, "shared message reserved bytes");
    r.address = detail::file_address(c, O, "shared message address");
  } else if (version == 2) {
    r.address = detail::file_address(c, O, "shared message address");
  } else if (version == 3) {
    if (type == 1) {
      c.skip(8, "shared message heap id");
      r.in_heap = true;
    } else if (type == 2) {
      r.address = detail::file_address(c, O, "shared message address");
    } else {
      c.fail_at("shared message of unknown type " + std::to_string(type), start);
    }
  } else {
    c.fail_at("shared message version " + std::to_string(version), start);
  }
  if (!r.in_heap && r.address == undefined_address)
    c.fail_at("shared message has no address", start);
  return r;
}

inline layout_info read_layout(cursor& c, const file_sizes& z) {
  layout_info l;
  const std::size_t start = c.pos();
  l.version = c.u8("layout version");
  const auto bad = [&](const std::string& what) { c.fail_at("layout: " + what, start); };
  if (l.version < 1 || l.version > 4) bad("version " + std::to_string(l.version));
  if (l.version < 3) {
    const unsigned ndims = c.u8("layout rank");
    l.layout_class = c.u8("layout class");
    c.skip(5, "layout reserved bytes");
    if (ndims == 0 || ndims > max_rank + 1) bad("rank " + std::to_string(ndims));
    if (l.layout_class > 2) bad("class " + std::to_string(l.layout_class));
    if (l.layout_class != 0) l.address = detail::file_address(c, z.offsets, "data address");
    for (unsigned i = 0; i < ndims; ++i) {
      const std::uint64_t d = c.u32("layout dimension");
      if (l.layout_class == 2) {
        if (d == 0) bad("chunk dimension 0");
        if (i + 1 < ndims) l.chunk.push_back(d);
      }
    }
    if (l.layout_class == 0) {
      l.size = c.u32("compact data size");
      l.compact_address = c.address();
      c.need(l.size, "compact data");
      l.compact = c.bytes().subspan(c.pos(), static_cast<std::size_t>(l.size));
      c.skip(l.size, "compact data");
    }
    return l;
  }
  l.layout_class = c.u8("layout class");
  switch (l.layout_class) {
    case 0:
      l.size = c.u16("compact data size");
      l.compact_address = c.address();
      c.need(l.size, "compact data");
      l.compact = c.bytes().subspan(c.pos(), static_cast<std::size_t>(l.size));
      c.skip(l.size, "compact data");
      break;
    case 1:
      l.address = detail::file_address(c, z.offsets, "data address");
      l.size = c.uint(z.lengths, "data size");
      break;
    case 2: {
      unsigned flags = 0, width = 4;
      if (l.version == 4) {
        flags = c.u8("chunk flags");
        detail::flags_within(c, flags, 0x03, "chunked layout");
      }
      const unsigned ndims = c.u8("chunk rank");
      if (ndims < 1 || ndims > max_rank + 1) bad("chunk rank " + std::to_string(ndims));
      if (l.version == 3) l.address = detail::file_address(c, z.offsets, "chunk index address");
      if (l.version == 4) {
        width = c.u8("chunk dimension width");
        if (width < 1 || width > 8) bad("chunk dimension width " + std::to_string(width));
      }
      for (unsigned i = 0; i < ndims; ++i) {
        const std::uint64_t d = c.uint(width, "chunk dimension");
        if (d == 0) bad("chunk dimension 0");
        if (l.version == 3 ? i + 1 < ndims : true) l.chunk.push_back(d);
      }
      if (l.version == 4) {
        const unsigned index = c.u8("chunk index type");
        switch (index) {
          case 1:
            if (flags & 0x02) c.skip(z.lengths + 4, "single chunk size and filter mask");
            break;
          case 2:
            break;
          case 3:
            c.skip(1, "fixed array parameters");
            break;
          case 4:
            c.skip(5, "extensible array parameters");
            break;
          case 5:
            c.skip(6, "v2 B-tree parameters");
            break;
          default:
            bad("unknown chunk index type " + std::to_string(index));
        }
        l.address = detail::file_address(c, z.offsets, "chunk index address");
        // Version 4 stores the element size as the last dimension too.
        if (!l.chunk.empty()) l.chunk.pop_back();
      }
      break;
    }
    case 3:
      throw error(errc::unsupported, "uses virtual storage, which ckpt does not follow",
                  c.src().name(), std::string(c.object()), c.src().base() + c.address());
    default:
      bad("class " + std::to_string(l.layout_class));
  }
  return l;
}

inline void read_filters(cursor& c) {
  const std::size_t start = c.pos();
  const unsigned version = c.u8("filter pipeline version");
  if (version < 1 || version > 2)
    c.fail_at("filter pipeline version " + std::to_string(version), start);
  const unsigned count = c.u8("filter count");
  if (count > 32) c.fail_at("more than 32 filters", start + 1);
  if (version == 1) c.skip(6, "filter pipeline reserved bytes");
  for (unsigned i = 0; i < count; ++i) {
    const unsigned id = c.u16("filter id");
    std::uint64_t name_length = 0;
    if (version == 1 || id >= 256) name_length = c.u16("filter name length");
    c.u16("filter flags");
    const unsigned values = c.u16("filter parameter count");
    if (version == 1 && name_length % 8 != 0) c.fail("filter name length is not a multiple of 8");
    if (name_length > 0) {
      c.need(name_length, "filter name");
      const auto name = c.bytes().subspan(c.pos(), static_cast<std::size_t>(name_length));
      if (!std::memchr(name.data(), 0, name.size())) c.fail("filter name is not NUL-terminated");
      c.skip(name_length, "filter name");
    }
    c.skip(std::uint64_t{4} * values, "filter parameters");
    if (version == 1 && values % 2 == 1) c.skip(4, "filter parameter padding");
  }
}

inline void read_fill(cursor& c, unsigned type) {
  if (type == message_type::fill_old) {
    c.skip(c.u32("fill value size"), "fill value");
    return;
  }
  const std::size_t start = c.pos();
  const unsigned version = c.u8("fill value version");
  if (version < 1 || version > 3) c.fail_at("fill value version " + std::to_string(version), start);
  bool defined = false;
  if (version < 3) {
    if (c.u8("allocation time") > 3) c.fail("unknown space allocation time");
    if (c.u8("fill write time") > 2) c.fail("unknown fill write time");
    defined = c.u8("fill defined") != 0;
  } else {
    const unsigned flags = c.u8("fill value flags");
    detail::flags_within(c, flags, 0x3f, "fill value");
    defined = flags & 0x20;
  }
  if (defined) c.skip(c.u32("fill value size"), "fill value");
}

inline attribute_message read_attribute(
    cursor& c, const file_sizes& z,
    const std::function<datatype_info(const shared_reference&)>& resolve_type) {
  attribute_message a;
  const std::size_t start = c.pos();
  const unsigned version = c.u8("attribute version");
  if (version < 1 || version > 3) c.fail_at("attribute version " + std::to_string(version), start);
  unsigned flags = c.u8("attribute flags");
  if (version == 1) flags = 0;
  detail::flags_within(c, flags, 0x03, "attribute");
  const std::uint64_t name_size = c.u16("attribute name size");
  const std::uint64_t type_size = c.u16("attribute datatype size");
  const std::uint64_t space_size = c.u16("attribute dataspace size");
  if (version == 3 && c.u8("attribute name charset") > 1) c.fail("unknown attribute name charset");
  const auto padded = [&](std::uint64_t n) {
    return version == 1 ? (n + 7) & ~std::uint64_t{7} : n;
  };

  if (name_size == 0) c.fail("attribute without a name");
  c.need(padded(name_size), "attribute name");
  const auto name = c.bytes().subspan(c.pos(), static_cast<std::size_t>(name_size));
  const void* nul = std::memchr(name.data(), 0, name.size());
  if (!nul)
    c.fail("attribute name is not NUL-terminated within its " + std::to_string(name_size) +
           " bytes");
  a.name.assign(reinterpret_cast<const char*>(name.data()),
                static_cast<std::size_t>(static_cast<const std::byte*>(nul) - name.data()));
  c.skip(padded(name_size), "attribute name");

  c.need(padded(type_size), "attribute datatype");
  {
    cursor t(c.src(), c.bytes().subspan(c.pos(), static_cast<std::size_t>(type_size)), c.address(),
             c.object());
    if (flags & 0x01)
      a.type_shared = read_shared(t, z.offsets);
    else
      a.type = read_datatype(t, z.offsets);
  }
  c.skip(padded(type_size), "attribute datatype");

  c.need(padded(space_size), "attribute dataspace");
  {
    cursor s(c.src(), c.bytes().subspan(c.pos(), static_cast<std::size_t>(space_size)), c.address(),
             c.object());
    if (flags & 0x02) {
      const auto r = read_shared(s, z.offsets);
      (void)r;
      throw error(errc::unsupported, "attribute '" + a.name + "' has a shared dataspace",
                  c.src().name(), std::string(c.object()), c.src().base() + c.address());
    }
    a.space = read_dataspace(s, z.lengths);
  }
  c.skip(padded(space_size), "attribute dataspace");

  const datatype_info type = a.type ? *a.type : resolve_type(a.type_shared);
  if (__builtin_mul_overflow(a.space.elements, type.size, &a.data_size))
    c.fail("attribute '" + a.name + "' data size overflows");
  a.data_address = c.address();
  a.rest = c.bytes().subspan(c.pos());
  if (a.data_size > c.remaining())
    c.fail("attribute '" + a.name + "' holds " + std::to_string(a.space.elements) +
           " elements of " + std::to_string(type.size) + " bytes, more than the " +
           std::to_string(c.remaining()) + " bytes left in its message");
  return a;
}

// A link message: in an object header (compact storage) or in a group's fractal heap (dense
// storage), checked the same way in both.
struct link_message {
  std::string name;
  unsigned type = 0;                         // 0 hard, 1 soft, 64 external
  std::uint64_t target = undefined_address;  // a hard link's object header
};

namespace link_type {
inline constexpr unsigned hard = 0, soft = 1, external = 64;
}  // namespace link_type

// Reads one link message at the cursor. libhdf5 checks the name and a soft link's value against
// the message, but hands an external link's value to H5L__extern_query and its traversal as is:
// they read the first byte (version and flags) of a value that may be empty, and strlen() the file
// and object names that follow it. So every field is checked here, the external value's too.
inline link_message read_link(cursor& c, std::size_t O) {
  link_message l;
  detail::expect_version(c, 1, 1, "link version");
  const unsigned flags = c.u8("link flags");
  detail::flags_within(c, flags, 0x1f, "link");
  std::size_t type_at = 0;
  std::uint64_t type_address = 0;
  if (flags & 0x08) {
    type_at = c.pos();
    type_address = c.address();
    l.type = c.u8("link type");
    if (l.type != link_type::hard && l.type != link_type::soft && l.type < link_type::external)
      c.fail_at("unknown link type " + std::to_string(l.type), type_at);
  }
  if (flags & 0x04) c.skip(8, "link creation order");
  if (flags & 0x10 && c.u8("link name charset") > 1) c.fail("unknown link name charset");
  const std::uint64_t length = c.uint(std::size_t{1} << (flags & 0x03), "link name length");
  if (length == 0) c.fail("link without a name");
  c.need(length, "link name");
  l.name.assign(reinterpret_cast<const char*>(c.bytes().data() + c.pos()),
                static_cast<std::size_t>(length));
  c.skip(length, "link name");
  if (l.type > link_type::external)
    throw error(errc::unsupported,
                "link '" + l.name + "' has user-defined link type " + std::to_string(l.type) +
                    ", which ckpt does not know",
                c.src().name(), std::string(c.object()), c.src().base() + type_address);
  switch (l.type) {
    case link_type::hard:
      l.target = detail::file_address(c, O, "link target");
      if (l.target == undefined_address) c.fail("hard link '" + l.name + "' without a target");
      break;
    case link_type::soft: {
      const std::size_t at = c.pos();
      const std::uint64_t size = c.u16("soft link value length");
      if (size == 0) c.fail_at("soft link '" + l.name + "' has an empty value", at);
      c.skip(size, "soft link value");
      break;
    }
    default: {  // external: version and flags, file name, NUL, object name, NUL
      const std::size_t at = c.pos();
      const std::uint64_t size = c.u16("external link value length");
      if (size == 0) c.fail_at("external link '" + l.name + "' has an empty value", at);
      c.need(size, "external link value");
      cursor v(c.src(), c.bytes().subspan(c.pos(), static_cast<std::size_t>(size)), c.address(),
               c.object());
      const unsigned head = v.u8("external link version and flags");
      if ((head >> 4) != 0)
        v.fail_at("external link '" + l.name + "' has version " + std::to_string(head >> 4), 0);
      if ((head & 0x0f) > 1) v.fail_at("external link '" + l.name + "' has unknown flags", 0);
      v.skip(detail::terminated_name(v, "external link file name") + 1, "external link file name");
      v.skip(detail::terminated_name(v, "external link object name") + 1,
             "external link object name");
      c.skip(size, "external link value");
      break;
    }
  }
  return l;
}

// Where a group's links or an object's attributes live when there are too many for its header: a
// fractal heap holding the messages, indexed by name (and by creation order when tracked) in
// version 2 B-trees.
struct dense_storage {
  std::uint64_t heap = undefined_address;
  std::uint64_t name_index = undefined_address;
  std::uint64_t order_index = undefined_address;
};

// File space info message (superblock extension): how libhdf5 manages free space. Version 1 is
// decoded with no bounds check, and persistent free-space managers point at structures ckpt does
// not check, so the body must hold every field and persistence is refused.
inline void read_file_space_info(cursor& c, const file_sizes& z) {
  const std::size_t start = c.pos();
  const unsigned version = c.u8("file space info version");
  const auto unsupported_persist = [&](std::size_t at) {
    throw error(errc::unsupported,
                "keeps persistent free-space managers (file space info), which ckpt does not check",
                c.src().name(), std::string(c.object()),
                c.src().base() + c.address() - (c.pos() - at));
  };
  if (version == 0) {
    const unsigned strategy = c.u8("file space strategy");
    c.skip(z.lengths, "free-space section threshold");
    if (strategy < 1 || strategy > 4)
      c.fail_at("unknown file space strategy " + std::to_string(strategy), start + 1);
    if (strategy == 1) {  // every free-space manager persists, one address per kind of space
      c.need(6 * z.offsets, "free-space manager addresses");
      unsupported_persist(start + 1);
    }
    return;
  }
  if (version != 1) c.fail_at("file space info version " + std::to_string(version), start);
  const unsigned strategy = c.u8("file space strategy");
  if (strategy > 3) c.fail_at("unknown file space strategy " + std::to_string(strategy), start + 1);
  const unsigned persist = c.u8("free-space persistence");
  if (persist > 1) c.fail_at("free-space persistence " + std::to_string(persist), start + 2);
  c.skip(z.lengths, "free-space section threshold");
  const std::size_t page_at = c.pos();
  const std::uint64_t page = c.uint(z.lengths, "file space page size");
  if (page < 512 || page > (std::uint64_t{1} << 30))
    c.fail_at("file space page size " + std::to_string(page) + " outside 512 bytes..1 GiB",
              page_at);
  c.skip(2, "page end metadata threshold");
  c.skip(z.offsets, "end of allocation before the free-space managers");
  if (persist) {
    c.need(12 * z.offsets, "free-space manager addresses");
    unsupported_persist(start + 2);
  }
}

// What the preflight needs from an object's messages.
struct message_facts {
  std::optional<datatype_info> type;
  shared_reference type_shared;  // set when the datatype message is shared
  std::optional<dataspace_info> space;
  std::optional<layout_info> layout;
  std::vector<std::uint64_t> fill_sizes;  // sizes of defined fill values
  std::vector<shared_reference> shared;   // every shared message's target
  std::vector<std::uint64_t> hard_links;  // link messages' targets
  std::vector<link_message> links;        // every link message (compact storage)
  std::optional<std::pair<std::uint64_t, std::uint64_t>> symbol_table;  // B-tree, local heap
  std::optional<dense_storage> dense_attributes, dense_links;
  std::optional<std::array<unsigned, 3>> btree_k;  // indexed storage, group internal, group leaf
};

// Validates the body of `m`; facts about it go into `facts`. Attribute messages are validated by
// the caller with read_attribute() (they may need shared datatypes resolved).
inline void check_message(const source& src, const header_message& m, const file_sizes& z,
                          std::string_view object, message_facts& facts) {
  cursor c(src, m.body, m.address, object);
  if (m.flags & message_flag_shared) {
    if (m.type == message_type::attribute || m.type == message_type::datatype ||
        m.type == message_type::dataspace || m.type == message_type::fill ||
        m.type == message_type::filters || m.type == message_type::fill_old) {
      const auto r = read_shared(c, z.offsets);
      if (r.in_heap)
        throw error(errc::unsupported,
                    "message of type " + std::to_string(m.type) +
                        " lives in the shared-message heap, which ckpt does not check",
                    src.name(), std::string(object), src.base() + m.address);
      facts.shared.push_back(r);
      if (m.type == message_type::datatype) facts.type_shared = r;
      return;
    }
    c.fail("message of type " + std::to_string(m.type) + " cannot be shared");
  }
  switch (m.type) {
    case message_type::nil:
    case message_type::continuation:  // read by the object header reader
      return;
    case message_type::dataspace:
      facts.space = read_dataspace(c, z.lengths);
      return;
    case message_type::link_info: {
      detail::expect_version(c, 0, 0, "link info version");
      const unsigned flags = c.u8("link info flags");
      detail::flags_within(c, flags, 0x03, "link info");
      if (flags & 0x01) c.skip(8, "maximum creation index");
      dense_storage d;
      d.heap = detail::file_address(c, z.offsets, "link heap address");
      const std::size_t index_at = c.pos();
      d.name_index = detail::file_address(c, z.offsets, "link name index address");
      if (flags & 0x02)
        d.order_index = detail::file_address(c, z.offsets, "link creation order index address");
      if (d.heap != undefined_address) {
        if (d.name_index == undefined_address)
          c.fail_at("dense link storage without a name index", index_at);
        facts.dense_links = d;
      }
      return;
    }
    case message_type::datatype:
      facts.type = read_datatype(c, z.offsets);
      return;
    case message_type::fill_old:
    case message_type::fill: {
      read_fill(c, m.type);
      return;
    }
    case message_type::link: {
      auto l = read_link(c, z.offsets);
      if (l.type == link_type::hard) facts.hard_links.push_back(l.target);
      facts.links.push_back(std::move(l));
      return;
    }
    case message_type::external:
      throw error(errc::unsupported, "keeps its data in external files, which ckpt does not follow",
                  src.name(), std::string(object), src.base() + m.address);
    case message_type::layout:
      facts.layout = read_layout(c, z);
      return;
    case message_type::group_info: {
      detail::expect_version(c, 0, 0, "group info version");
      const unsigned flags = c.u8("group info flags");
      detail::flags_within(c, flags, 0x03, "group info");
      if (flags & 0x01) c.skip(4, "link phase change values");
      if (flags & 0x02) c.skip(4, "estimated entries");
      return;
    }
    case message_type::filters:
      read_filters(c);
      return;
    case message_type::attribute:  // read_attribute(), by the caller
      return;
    case message_type::comment:
      (void)detail::terminated_name(c, "comment");
      return;
    case message_type::mtime_old:
      c.need(14, "modification time");
      return;
    case message_type::symbol_table: {
      const std::uint64_t btree = detail::file_address(c, z.offsets, "symbol table B-tree address");
      const std::uint64_t heap = detail::file_address(c, z.offsets, "symbol table heap address");
      if (btree == undefined_address || heap == undefined_address)
        c.fail("symbol table without a B-tree or heap");
      facts.symbol_table = {btree, heap};
      return;
    }
    case message_type::mtime:
      detail::expect_version(c, 1, 1, "modification time version");
      c.skip(7, "modification time");
      return;
    case message_type::btree_k: {
      detail::expect_version(c, 0, 0, "B-tree K version");
      std::array<unsigned, 3> k{};
      for (auto& v : k) {
        v = c.u16("B-tree K");
        if (v == 0) c.fail_at("B-tree K of 0", c.pos() - 2);
      }
      facts.btree_k = k;
      return;
    }
    case message_type::driver_info: {
      // libhdf5 hands the body to the file driver named in it; ckpt opens files with the default
      // driver only, as it refuses the driver info block of older superblocks.
      detail::expect_version(c, 0, 0, "driver info version");
      c.need(8, "driver id");
      const std::string driver(reinterpret_cast<const char*>(c.bytes().data() + c.pos()), 8);
      c.skip(8, "driver id");
      const std::uint64_t length = c.u16("driver info length");
      if (length == 0) c.fail("empty driver info");
      c.need(length, "driver info");
      throw error(errc::unsupported,
                  "file needs a special file driver ('" + driver + "', driver info message)",
                  src.name(), std::string(object), src.base() + m.address);
    }
    case message_type::shared_table: {
      // The table locates the shared-message heap, which ckpt does not check (messages stored
      // there are refused too); libhdf5 also sizes an 8-entry array by its index count unchecked.
      detail::expect_version(c, 0, 0, "shared message table version");
      detail::file_address(c, z.offsets, "shared message table address");
      c.u8("shared message index count");
      throw error(errc::unsupported,
                  "file shares object header messages (shared message table), which ckpt does not "
                  "check",
                  src.name(), std::string(object), src.base() + m.address);
    }
    case message_type::fsinfo:
      read_file_space_info(c, z);
      return;
    case message_type::cache_image: {
      // A metadata cache image holds copies of metadata entries which libhdf5 loads in place of
      // the structures they copy, so what the preflight checked would not be what libhdf5 reads.
      // libhdf5 also allocates the image's declared size as it opens the file.
      detail::expect_version(c, 0, 0, "metadata cache image version");
      const std::size_t at = c.pos();
      const std::uint64_t address = c.address(z.offsets, "metadata cache image address");
      const std::uint64_t size = c.uint(z.lengths, "metadata cache image size");
      if (size == 0) c.fail_at("empty metadata cache image", at);
      if (address == undefined_address || !src.contains(address, size))
        c.fail_at("metadata cache image (" + std::to_string(size) + " bytes at " +
                      std::to_string(address) + ") lies outside the " + std::to_string(src.size()) +
                      "-byte file",
                  at);
      throw error(errc::unsupported,
                  "file carries a metadata cache image, whose entries libhdf5 would use in place "
                  "of the metadata ckpt checks",
                  src.name(), std::string(object), src.base() + m.address);
    }
    case message_type::attribute_info: {
      detail::expect_version(c, 0, 0, "attribute info version");
      const unsigned flags = c.u8("attribute info flags");
      detail::flags_within(c, flags, 0x03, "attribute info");
      if (flags & 0x01) c.skip(2, "maximum creation index");
      dense_storage d;
      d.heap = detail::file_address(c, z.offsets, "attribute heap address");
      const std::size_t index_at = c.pos();
      d.name_index = detail::file_address(c, z.offsets, "attribute name index address");
      if (flags & 0x02)
        d.order_index =
            detail::file_address(c, z.offsets, "attribute creation order index address");
      if (d.heap != undefined_address) {
        if (d.name_index == undefined_address)
          c.fail_at("dense attribute storage without a name index", index_at);
        facts.dense_attributes = d;
      }
      return;
    }
    case message_type::refcount:
      detail::expect_version(c, 0, 0, "reference count version");
      c.u32("reference count");
      return;
    default:
      return;  // unknown to ckpt: libhdf5 keeps it undecoded (or refuses it by its flags)
  }
}

}  // namespace ckpt::hdf5::raw
