// SPDX-License-Identifier: Apache-2.0
// The checkpoint manager over the HDF5 and Keras formats: each checkpoint is one file named by the
// format (format_info::file_name), retention deletes whole checkpoints, and the latest restores.
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"
#include "ckpt/manager.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

struct Dense {
  std::vector<float> kernel;
  std::vector<float> bias;
};
struct LayerModel {
  Dense dense;
  Dense head;
};

LayerModel model_at(float step) {
  return {{{step, step + 1, step + 2}, {step * 10}}, {{-step}, {step / 2}}};
}

// The regular files of `dir` other than the manager's own state and lock files.
std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& item : fs::directory_iterator(dir)) {
    const std::string name = item.path().filename().string();
    if (name.starts_with("checkpoint")) continue;
    names.insert(name);
  }
  return names;
}

}  // namespace

TEST_CASE("the manager keeps, names and restores HDF5 and Keras checkpoints",
          "[hdf5][keras][manager]") {
  struct manager_case {
    const char* format;
    const char* ending;  // what format_info::file_name appends to the stem
  };
  for (const auto& c : {manager_case{"hdf5", ".h5"}, manager_case{"keras2", ".h5"},
                        manager_case{"keras3", ".weights.h5"}, manager_case{"keras", ".keras"}}) {
    SECTION(c.format) {
      scratch_dir dir("ckpt-keras-manager");
      CHECK(ckpt::find_format(c.format).file_name("ckpt-3") == std::string("ckpt-3") + c.ending);
      ckpt::manager_options options;
      options.format = c.format;
      options.max_to_keep = 2;
      options.sync = false;
      {
        ckpt::manager m(dir.path(), options);
        for (int step = 1; step <= 4; ++step) m.save(model_at(static_cast<float>(step)), step);
        CHECK(files_in(dir.path()) == std::set<std::string>{std::string("ckpt-3") + c.ending,
                                                            std::string("ckpt-4") + c.ending});
      }
      ckpt::manager again(dir.path(), options);
      REQUIRE(again.latest());
      CHECK(again.latest()->filename() == std::string("ckpt-4") + c.ending);
      LayerModel restored;
      REQUIRE(again.restore_latest(restored));
      const LayerModel expected = model_at(4);
      CHECK(restored.dense.kernel == expected.dense.kernel);
      CHECK(restored.dense.bias == expected.dense.bias);
      CHECK(restored.head.kernel == expected.head.kernel);
      CHECK(restored.head.bias == expected.head.bias);
      // Read without naming the format, the file is detected as the format that wrote it.
      CHECK(ckpt::reader(*again.latest()).format() == c.format);
    }
  }
}
