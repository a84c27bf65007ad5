// SPDX-License-Identifier: Apache-2.0
// Paths that are not files (a FIFO, a device, a directory, dangling and looping symbolic links,
// names too long for the system) give a ckpt::error naming the path from every format, detected or
// named, without blocking and without printing; file names that are not UTF-8 are bytes to ckpt,
// as to the system, and load.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/model.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/api.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

// Every registered format's name, and "" for detection by contents, with whether the format reads
// a path as a TensorFlow prefix (whose files are PATH.index and PATH.data-*).
std::vector<std::pair<std::string, bool>> formats() {
  std::vector<std::pair<std::string, bool>> names{{"", false}};
  for (const auto& f : ckpt::registered_formats())
    names.emplace_back(f.name, f.name == "tf" || f.name == "tf1");
  return names;
}

// Checks that every format refuses `path` with `code`, naming it, and prints nothing; in a child,
// so that a hang (a FIFO opened for reading waits for a writer) ends at an alarm. A format that
// reads the path as a TensorFlow prefix names PATH.index instead, with `index_code`; so does
// detection where the name has no extension a format claims.
void check_refused(const scratch_dir& dir, const fs::path& path, ckpt::errc code,
                   ckpt::errc index_code = ckpt::errc::not_found, bool detected_as_prefix = false) {
  for (const auto& [name, prefix] : formats()) {
    // Named copies: a lambda cannot capture a structured binding before C++20 compilers that
    // implement P1091.
    const std::string format = name;
    const bool reads_prefix = prefix;
    INFO("path " << path << ", format '" << format << "'");
    const auto r = run_in_child(
        dir / "stderr.txt",
        [&] {
          ckpt::load_options options;
          options.format = format;
          ckpt::open_reader(path, options);
        },
        10);
    INFO(r.message);
    CHECK(r.status == 1);  // 0: opened; 2: not a ckpt::error; 128 + SIGALRM (142): blocked
    if (reads_prefix || (format.empty() && detected_as_prefix)) {
      CHECK(r.code == index_code);
      CHECK(r.file == path.string() + ".index");
    } else {
      CHECK(r.code == code);
      CHECK(r.file == path.string());
    }
    CHECK(r.printed == "");
  }
}

}  // namespace

TEST_CASE("a FIFO, a device or a directory is refused as not a file", "[hostile][paths]") {
  scratch_dir dir("ckpt-paths");
  const fs::path fifo = dir / "model.safetensors";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  check_refused(dir, fifo, ckpt::errc::io);
  check_refused(dir, "/dev/zero", ckpt::errc::io, ckpt::errc::not_found, true);
  fs::create_directory(dir / "weights.h5");
  check_refused(dir, dir / "weights.h5", ckpt::errc::io);
}

TEST_CASE("dangling and looping symbolic links are refused", "[hostile][paths]") {
  scratch_dir dir("ckpt-paths");
  fs::create_symlink(dir / "absent.safetensors", dir / "dangling.safetensors");
  check_refused(dir, dir / "dangling.safetensors", ckpt::errc::not_found);
  fs::create_symlink(dir / "loop-b.h5", dir / "loop-a.h5");
  fs::create_symlink(dir / "loop-a.h5", dir / "loop-b.h5");
  check_refused(dir, dir / "loop-a.h5", ckpt::errc::io);
}

TEST_CASE("a name longer than the system allows is refused", "[hostile][paths]") {
  scratch_dir dir("ckpt-paths");
  check_refused(dir, dir / (std::string(300, 'w') + ".safetensors"), ckpt::errc::io,
                ckpt::errc::io);
}

TEST_CASE("file names that are not UTF-8 save and load in every writable format",
          "[hostile][paths]") {
  scratch_dir dir("ckpt-paths");
  const Dense saved = make_dense(3, 2, 7);
  int written = 0;
  for (const auto& f : ckpt::registered_formats()) {
    if (!f.create || f.extensions.empty()) continue;
    INFO("format " << f.name);
    const fs::path path = dir / ("\xff\xfe-" + f.name + f.extensions.front());
    ckpt::save_options save;
    save.format = f.name;
    try {
      ckpt::save(saved, path, save);
    } catch (const ckpt::error& e) {
      // A layout that cannot hold this struct (Keras wants layers) is not what is tested here.
      INFO(e.what());
      CHECK(e.code() == ckpt::errc::unsupported);
      continue;
    }
    Dense loaded;
    ckpt::load_options load;
    load.format = f.name;
    ckpt::load(loaded, path, load);
    CHECK(loaded == saved);
    ++written;
  }
  CHECK(written >= 4);  // safetensors, json, tf, hdf5 at least
}
