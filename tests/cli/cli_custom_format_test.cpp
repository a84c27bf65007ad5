// SPDX-License-Identifier: Apache-2.0
// A format registered outside the library gets every verb of the tool: examples/
// custom_format_tool registers the example's `text` format and hands its command line to the
// tool's verbs, with no change to the tool.

#include <catch2/catch.hpp>
#include <fstream>

#include "../../examples/text_format.hpp"
#include "../support/cli.hpp"
#include "../support/scratch_dir.hpp"

namespace fs = std::filesystem;

namespace {

struct TextModel {
  ckpt::tensor<float> kernel;
  std::vector<std::int64_t> ids;
};

const bool text_registered = text_format::register_format();

fs::path example_tool() {
  const char* build = std::getenv("CKPT_BUILD_DIR");
  return build ? fs::path(build) / "examples" / "custom_format_tool" : fs::path();
}

}  // namespace

TEST_CASE("the example's tool inspects, converts and verifies the example's format", "[cli]") {
  const auto tool = example_tool();
  if (!fs::exists(tool)) {
    WARN("SKIPPED: " << tool << " is not built (CKPT_BUILD_EXAMPLES and CKPT_BUILD_TOOLS)");
    return;
  }
  ckpt_test::scratch_dir dir("ckpt-cli-custom");
  const TextModel model{ckpt::tensor<float>({2, 2}, {1, 2, 3, 4}), {7, 8, 9}};
  const auto text = dir / "model.ckpt.txt";
  ckpt::save(model, text);

  // The stock tool does not know the format; it says which flag would name one.
  const auto stock = ckpt_test::run_ckpt("inspect " + text.string());
  CHECK(stock.status != 0);

  auto r = ckpt_test::run_program(tool, "inspect " + text.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("text"));
  CHECK_THAT(r.out, Catch::Contains("kernel"));
  CHECK_THAT(r.out, Catch::Contains("float32"));

  r = ckpt_test::run_program(tool,
                             "convert " + text.string() + " " + (dir / "m.safetensors").string());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("2 tensors"));
  TextModel back;
  ckpt::load(back, dir / "m.safetensors");
  CHECK(back.kernel == model.kernel);
  CHECK(back.ids == model.ids);

  r = ckpt_test::run_program(tool, "convert " + (dir / "m.safetensors").string() + " " +
                                       (dir / "again.ckpt.txt").string());
  REQUIRE(r.status == 0);
  TextModel again;
  ckpt::load(again, dir / "again.ckpt.txt");
  CHECK(again.ids == model.ids);

  // A manager directory of the format: verify reads its latest checkpoint, and a damaged one
  // fails with exit status 1.
  {
    ckpt::manager m{dir / "run", {.max_to_keep = 2, .format = "text", .sync = false}};
    for (int step = 1; step <= 3; ++step) m.save(model, step);
  }
  r = ckpt_test::run_program(tool, "verify " + (dir / "run").string());
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  std::ofstream(dir / "run" / "ckpt-3.ckpt.txt", std::ios::app) << "broken line\n";
  r = ckpt_test::run_program(tool, "verify " + (dir / "run").string());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("ckpt-3.ckpt.txt"));
}
