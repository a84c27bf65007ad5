// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for SavedModel directories: the input is three files,
// `u32le n | saved_model.pb (n bytes) | u32le m | variables/variables.index (m bytes) |
// variables/variables.data-00000-of-00001 (the rest)`, written into a directory of this process in
// /dev/shm (a length past the end takes what is left). The directory is opened as ckpt::load opens
// one (the format detected from what is there, so the TF2 object graph is bound to paths when the
// bundle has one) and every entry is read, viewed and verified. Any ckpt::error is a correct
// answer. Seeds in corpus/savedmodel/ are the small SavedModel fixtures and bundles ckpt writes
// (make_seeds.cpp).
// The .index table checks a CRC32C over each block, so a mutation inside one would nearly always
// end there. With the top bit of m set, the CRC32Cs of the index, metaindex and (uncompressed
// index block only) data blocks are recomputed before the files are written. The custom mutator
// mostly mutates one of the three files and frames them again, setting that bit half the time.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ckpt/codec/crc32c.hpp"
#include "ckpt/formats/tf_checkpoint.hpp"
#include "fuzz_reader.hpp"

namespace {

constexpr std::uint32_t repair_bit = 0x80000000u;

struct parts {
  std::array<std::vector<std::uint8_t>, 3> files;  // saved_model.pb, .index, data file
  bool repair = false;
};

parts split(const std::uint8_t* data, std::size_t size) {
  parts p;
  for (int i = 0; i < 2; ++i) {
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < 4 && k < size; ++k) n |= std::uint32_t{data[k]} << (8 * k);
    const std::size_t header = std::min<std::size_t>(size, 4);
    data += header, size -= header;
    if (i == 1) p.repair = (n & repair_bit) != 0, n &= ~repair_bit;
    const std::size_t taken = std::min<std::size_t>(n, size);
    p.files[static_cast<std::size_t>(i)].assign(data, data + taken);
    data += taken, size -= taken;
  }
  p.files[2].assign(data, data + size);
  return p;
}

std::vector<std::uint8_t> join(const parts& p) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < 3; ++i) {
    if (i < 2) {
      auto n = static_cast<std::uint32_t>(p.files[i].size());
      if (i == 1 && p.repair) n |= repair_bit;
      for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::uint8_t>(n >> (8 * k)));
    }
    out.insert(out.end(), p.files[i].begin(), p.files[i].end());
  }
  return out;
}

// A varint at `at` (advanced past it), or false if it runs past `end` or over 64 bits.
bool varint(const std::vector<std::uint8_t>& b, std::size_t& at, std::size_t end,
            std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && at < end; shift += 7) {
    const std::uint8_t c = b[at++];
    v |= std::uint64_t{c & 0x7fu} << shift;
    if (!(c & 0x80)) return true;
  }
  return false;
}

// Writes the masked CRC32C of the block at [offset, offset + size) and its type byte into its
// trailer, if all of it lies inside the table.
bool repair_block(std::vector<std::uint8_t>& t, std::uint64_t offset, std::uint64_t size) {
  if (offset > t.size() || size > t.size() - offset || t.size() - offset - size < 5) return false;
  std::uint32_t crc = ckpt::crc32c(t.data() + offset, size);
  crc = ckpt::crc32c(t.data() + offset + size, 1, crc);
  const std::uint32_t masked = ckpt::crc32c_mask(crc);
  for (int k = 0; k < 4; ++k)
    t[offset + size + 1 + static_cast<std::size_t>(k)] =
        static_cast<std::uint8_t>(masked >> (8 * k));
  return true;
}

// The footer names the metaindex and index blocks; the index block's values name the data blocks.
void repair_table(std::vector<std::uint8_t>& t) {
  if (t.size() < 48) return;
  std::size_t at = t.size() - 48;
  std::uint64_t meta_offset, meta_size, index_offset, index_size;
  if (!varint(t, at, t.size(), meta_offset) || !varint(t, at, t.size(), meta_size) ||
      !varint(t, at, t.size(), index_offset) || !varint(t, at, t.size(), index_size))
    return;
  repair_block(t, meta_offset, meta_size);
  if (!repair_block(t, index_offset, index_size) || t[index_offset + index_size] != 0 ||
      index_size < 4)
    return;
  const std::size_t end = index_offset + index_size;
  std::uint32_t restarts = 0;
  for (int k = 0; k < 4; ++k)
    restarts |= std::uint32_t{t[end - 4 + static_cast<std::size_t>(k)]} << (8 * k);
  if (restarts > (index_size - 4) / 4) return;
  const std::size_t entries_end = end - 4 - 4 * std::size_t{restarts};
  at = index_offset;
  while (at < entries_end) {
    std::uint64_t shared, unshared, value, offset, size;
    if (!varint(t, at, entries_end, shared) || !varint(t, at, entries_end, unshared) ||
        !varint(t, at, entries_end, value) || unshared > entries_end - at)
      return;
    at += unshared;
    if (value > entries_end - at) return;
    std::size_t handle = at;
    at += value;
    if (varint(t, handle, at, offset) && varint(t, handle, at, size)) repair_block(t, offset, size);
  }
}

void write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  ckpt_fuzz::write_file(path, bytes.data(), bytes.size());
}

}  // namespace

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned seed) {
  std::minstd_rand random(seed);
  if (random() % 4 == 0) return LLVMFuzzerMutate(data, size, max_size);
  parts p = split(data, size);
  // The graph file is only looked for, so it is mutated least.
  const unsigned pick = random() % 8;
  auto& file = p.files[pick == 0 ? 0 : pick < 5 ? 1 : 2];
  const std::size_t used = file.size();
  file.resize(used + 64 + used / 8);
  file.resize(LLVMFuzzerMutate(file.data(), used, file.size()));
  p.repair = random() % 2 == 0;
  const auto out = join(p);
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& dir = ckpt_fuzz::scratch("savedmodel");
  static const bool made = std::filesystem::create_directories(dir + "/variables");
  (void)made;
  parts p = split(data, size);
  if (p.repair) repair_table(p.files[1]);
  write(dir + "/saved_model.pb", p.files[0]);
  write(dir + "/variables/variables.index", p.files[1]);
  write(dir + "/variables/variables.data-00000-of-00001", p.files[2]);
  ckpt_fuzz::read_path(dir, "");
  return 0;
}
