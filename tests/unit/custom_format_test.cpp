// A format defined outside the library (examples/text_format.hpp) works through the public API.
#include <catch2/catch.hpp>
#include <filesystem>

#include "../../examples/text_format.hpp"
#include "../support/model.hpp"

TEST_CASE("a user-defined format round-trips the shared model", "[format]") {
  REQUIRE(text_format::register_format());
  const auto path = std::filesystem::temp_directory_path() / "ckpt_custom_format_test.ckpt.txt";
  const auto model = ckpt_test::make_model({.strings = false, .complex = true});
  ckpt::save(model, path);

  ckpt_test::Model loaded;
  ckpt::load(loaded, path);
  CHECK(loaded == model);

  ckpt::reader r(path);
  CHECK(r.format() == "text");
  CHECK(r.find("blocks/1/attention/key").dtype == ckpt::dtype::float16);
  CHECK(r.read<float>("heads/0/kernel") == model.heads[0].kernel);
  std::filesystem::remove(path);

  // What the format cannot hold is refused with the key, and nothing is left behind.
  const auto text_path = std::filesystem::temp_directory_path() / "ckpt_custom_strings.ckpt.txt";
  try {
    ckpt::save(ckpt_test::make_model(), text_path);
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::unsupported);
    CHECK(e.key() == "text/name");
    CHECK(e.file() == text_path.string());
  }
  CHECK(!std::filesystem::exists(text_path));
}
