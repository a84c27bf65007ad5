// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the TensorBundle reader: the input is one `.index` and one data file,
// `u32le n | n bytes of .index | the data file`. The bundle is opened, and every entry (slice
// entries included) is read with checksums on and verified. Any ckpt::error is a correct answer.
// Seeds in corpus/tf_checkpoint/ come from make_tf_checkpoint_seeds.cpp (ckpt's own writer).
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ckpt/formats/tf_checkpoint/bundle_reader.hpp"

namespace {

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)))
    __builtin_trap();
  ::close(fd);
}

void read_entry(const ckpt::tf_checkpoint::bundle_reader& r,
                const ckpt::tf_checkpoint::bundle_entry& e) {
  try {
    const bool strings = e.dtype == ckpt::dtype::string;
    std::vector<std::string> s(strings ? e.num_elements() : 0);
    const auto bytes = ckpt::checked_byte_size(e.dtype, e.shape);
    std::vector<std::byte> b(!strings && bytes ? *bytes : 0);
    r.read(e, {e.dtype, e.shape, b, s});
    r.verify(e);
  } catch (const ckpt::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string prefix = "/dev/shm/ckpt-fuzz-tf-" + std::to_string(::getpid());
  // Removes the two files when the fuzzer exits normally.
  static const struct remove_at_exit {
    ~remove_at_exit() {
      ::unlink((prefix + ".index").c_str());
      ::unlink((prefix + ".data-00000-of-00001").c_str());
    }
  } cleanup;
  if (size < 4) return 0;
  std::uint32_t n = 0;
  for (int i = 3; i >= 0; --i) n = (n << 8) | data[i];
  if (n > size - 4) n = static_cast<std::uint32_t>(size - 4);
  write_file(prefix + ".index", data + 4, n);
  write_file(prefix + ".data-00000-of-00001", data + 4 + n, size - 4 - n);
  try {
    const ckpt::tf_checkpoint::bundle_reader r(prefix);
    for (const auto& e : r.entries()) read_entry(r, e);
    for (const auto& e : r.slice_entries()) read_entry(r, e);
  } catch (const ckpt::error&) {
  }
  return 0;
}
