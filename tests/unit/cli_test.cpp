// The ckpt command-line program, run as a user would run it.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/cli.hpp"
#include "../support/model.hpp"
#include "../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"

namespace {

namespace fs = std::filesystem;

using ckpt_test::run_ckpt;
using ckpt_test::scratch_dir;

}  // namespace

TEST_CASE("inspect --json lists every entry as stored", "[cli]") {
  scratch_dir s("ckpt-cli");
  const auto file = s / "model.safetensors";
  const auto model = ckpt_test::make_model({.strings = false, .complex = false});
  ckpt::save(model, file);

  const auto r = run_ckpt("inspect --json " + file.string());
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["format"] == "safetensors");
  std::map<std::string, nlohmann::json> by_key;
  for (const auto& e : doc["entries"]) by_key[e["key"]] = e;
  CHECK(by_key.size() == ckpt::reader(file).entries().size());
  const auto& kernel = by_key.at("blocks.1.dense.kernel");
  CHECK(kernel["dtype"] == "float32");
  CHECK(kernel["shape"] == nlohmann::json::array({4, 3}));
  CHECK(kernel["bytes"] == 48);
  CHECK(kernel["checksum"] == "none");
  CHECK(by_key.at("blocks.0.attention.query")["dtype"] == "bfloat16");
  CHECK(by_key.at("scalars.u64")["shape"] == nlohmann::json::array());
}

TEST_CASE("inspect --values prints exact values", "[cli]") {
  scratch_dir s("ckpt-cli");
  const auto file = s / "model.json";
  ckpt::save(ckpt_test::make_model(), file);
  const auto r = run_ckpt("inspect --json --values " + file.string());
  REQUIRE(r.status == 0);
  const auto doc = nlohmann::json::parse(r.out);
  for (const auto& e : doc["entries"]) {
    if (e["key"] == "scalars/u64")
      CHECK(e["values"][0].get<std::uint64_t>() == std::numeric_limits<std::uint64_t>::max() - 2);
    if (e["key"] == "text/table") CHECK(e["values"] == nlohmann::json::array({"row0", "row1"}));
    if (e["key"] == "mask") CHECK(e["values"] == nlohmann::json::array({true, false, false, true}));
  }
  const auto table = run_ckpt("inspect --values " + file.string());
  REQUIRE(table.status == 0);
  CHECK(table.out.find("blocks/2/norm/gamma") != std::string::npos);
  CHECK(table.out.find("[1.0,2.0,3.0,2.0]") != std::string::npos);
}

TEST_CASE("convert copies every tensor between formats", "[cli]") {
  scratch_dir s("ckpt-cli");
  const auto model = ckpt_test::make_model({.strings = false, .complex = false});
  const auto st = s / "model.safetensors", js = s / "model.json", back = s / "back.safetensors";
  ckpt::save(model, st);
  REQUIRE(run_ckpt("convert " + st.string() + " " + js.string()).status == 0);
  REQUIRE(run_ckpt("convert " + js.string() + " " + back.string()).status == 0);
  for (const auto& file : {js, back}) {
    ckpt_test::Model loaded;
    ckpt::load(loaded, file);
    CHECK(loaded == model);
  }
  // An explicit --format wins over the extension.
  const auto odd = s / "weights.bin";
  REQUIRE(run_ckpt("convert " + st.string() + " " + odd.string() + " --format json").status == 0);
  CHECK(ckpt::reader(odd, {.format = "json"}).format() == "json");
}

TEST_CASE("a bad file exits non-zero with the error on stderr", "[cli]") {
  scratch_dir s("ckpt-cli");
  const auto bad = s / "bad.safetensors";
  const std::string header_beyond_file("\x08\0\0\0\0\0\0\0{}", 10);
  std::ofstream(bad, std::ios::binary) << header_beyond_file;
  const auto r = run_ckpt("inspect " + bad.string());
  CHECK(r.status != 0);
  CHECK(r.out.empty());
  CHECK(r.err.find(bad.string()) != std::string::npos);

  const auto missing = run_ckpt("inspect " + (s / "absent.safetensors").string());
  CHECK(missing.status != 0);
  CHECK(missing.err.find("absent.safetensors") != std::string::npos);
  CHECK(run_ckpt("frobnicate").status == 2);
}
