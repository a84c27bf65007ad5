// SPDX-License-Identifier: Apache-2.0
// The ckpt command-line program, run as a user would run it.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
  // Nested by shape as the JSON format nests them: a scalar is a bare value.
  std::map<std::string, nlohmann::json> values;
  for (const auto& e : doc["entries"]) values[e["key"]] = e["values"];
  CHECK(values.at("scalars/u64").get<std::uint64_t>() ==
        std::numeric_limits<std::uint64_t>::max() - 2);
  CHECK(values.at("text/table") == nlohmann::json::parse(R"([["row0"], ["row1"]])"));
  CHECK(values.at("mask") == nlohmann::json::parse("[[true, false], [false, true]]"));
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

TEST_CASE("help prints usage on stdout and exits 0", "[cli]") {
  for (const std::string args : {"help", "--help", "-h"}) {
    INFO(args);
    const auto r = run_ckpt(args);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    for (const char* verb : {"ckpt inspect PATH", "ckpt convert IN OUT", "ckpt verify PATH"})
      CHECK(r.out.find(verb) != std::string::npos);
    CHECK(r.out.find("safetensors") != std::string::npos);  // the registered formats
  }
  // Every verb's help documents every option it takes.
  const std::map<std::string, std::vector<std::string>> options = {
      {"inspect", {"--json", "--values", "--all-values", "--tensor NAME", "--format NAME"}},
      {"convert", {"--format NAME", "--from NAME"}},
      {"verify", {"--format NAME"}}};
  for (const auto& [verb, flags] : options)
    for (const std::string& args :
         {verb + " --help", verb + " -h", "help " + verb, verb + " some/path --help"}) {
      INFO(args);
      const auto r = run_ckpt(args);
      CHECK(r.status == 0);
      CHECK(r.err.empty());
      CHECK(r.out.starts_with("usage: ckpt " + verb));
      for (const auto& flag : flags) CHECK(r.out.find("  " + flag) != std::string::npos);
    }

  // Mistakes exit 2 and say where to look.
  const auto nothing = run_ckpt("");
  CHECK(nothing.status == 2);
  CHECK(nothing.out.empty());
  CHECK(nothing.err.find("usage: ckpt") != std::string::npos);
  for (const std::string args : {"help frobnicate", "frobnicate"}) {
    const auto r = run_ckpt(args);
    CHECK(r.status == 2);
    CHECK(r.err.find("frobnicate") != std::string::npos);
  }
  const auto unknown = run_ckpt("inspect --bogus x.json");
  CHECK(unknown.status == 2);
  CHECK(unknown.out.empty());
  CHECK(unknown.err.find("unknown option --bogus") != std::string::npos);
  CHECK(unknown.err.find("ckpt inspect --help") != std::string::npos);
  const auto misplaced = run_ckpt("verify --from json x.json");
  CHECK(misplaced.status == 2);
  CHECK(misplaced.err.find("--from") != std::string::npos);
  CHECK(run_ckpt("inspect --format").status == 2);       // a value is missing
  CHECK(run_ckpt("convert only_one.json").status == 2);  // OUT is missing
}

TEST_CASE("errors name the tool's flags, not the library's fields", "[cli]") {
  scratch_dir s("ckpt-cli");
  const auto no_field_names = [](const std::string& err) {
    CHECK(err.find("save_options") == std::string::npos);
    CHECK(err.find("load_options") == std::string::npos);
    CHECK(err.find("known: ") != std::string::npos);
    CHECK(err.find("safetensors") != std::string::npos);
  };
  // A directory whose name tells no format and that holds no checkpoint state.
  const auto run_dir = s / "run_dir.v2";
  fs::create_directories(run_dir);
  for (const std::string verb : {"inspect ", "verify "}) {
    const auto r = run_ckpt(verb + run_dir.string());
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find(run_dir.string()) != std::string::npos);
    CHECK(r.err.find("pass --format NAME") != std::string::npos);
    no_field_names(r.err);
  }

  const auto good = s / "model.safetensors";
  ckpt::save(ckpt_test::make_model({.strings = false, .complex = false}), good);
  const auto out = run_ckpt("convert " + good.string() + " " + (s / "model.weird").string());
  CHECK(out.status == 1);
  CHECK(out.err.find("model.weird") != std::string::npos);
  CHECK(out.err.find("pass --format NAME") != std::string::npos);
  no_field_names(out.err);
  CHECK_FALSE(fs::exists(s / "model.weird"));

  const auto unknown_input = s / "weights.bin";
  std::ofstream(unknown_input) << "not a checkpoint";
  const auto in = run_ckpt("convert " + unknown_input.string() + " " + (s / "x.json").string());
  CHECK(in.status == 1);
  CHECK(in.err.find("weights.bin") != std::string::npos);
  CHECK(in.err.find("pass --from NAME") != std::string::npos);
  no_field_names(in.err);

  // A format name the registry does not know is a command-line mistake.
  const auto nope = run_ckpt("inspect --format nope " + good.string());
  CHECK(nope.status == 2);
  CHECK(nope.err.find("--format: no format named 'nope'") != std::string::npos);
  no_field_names(nope.err);
  // Named, the format is used whatever the file is called.
  const auto named = s / "model.bin";
  fs::copy_file(good, named);
  const auto r = run_ckpt("inspect --format safetensors " + named.string());
  CHECK(r.status == 0);
  CHECK(r.out.starts_with(named.string() + ": safetensors, "));
}

TEST_CASE("inspect and verify DIR use the latest checkpoint its state file names", "[cli]") {
  scratch_dir s("ckpt-cli");
  auto older = ckpt_test::make_model({.strings = false, .complex = false});
  auto newer = older;
  newer.blocks[2].norm.gamma = {9, 8, 7, 6};
  ckpt::save(older, s / "ckpt-1.safetensors");
  ckpt::save(newer, s / "ckpt-2.safetensors");
  std::ofstream(s / "checkpoint") << "model_checkpoint_path: \"ckpt-2.safetensors\"\n"
                                     "all_model_checkpoint_paths: \"ckpt-1.safetensors\"\n"
                                     "all_model_checkpoint_paths: \"ckpt-2.safetensors\"\n";
  const auto latest = (s / "ckpt-2.safetensors").string();

  const auto r = run_ckpt("inspect --json --values " + s.path().string());
  REQUIRE(r.status == 0);
  CHECK(r.err.find("latest checkpoint " + latest) != std::string::npos);  // the choice, named
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["checkpoint"] == latest);
  bool found = false;
  for (const auto& e : doc["entries"])
    if (e["key"] == "blocks.2.norm.gamma") {
      CHECK(e["values"] == nlohmann::json::array({9.0, 8.0, 7.0, 6.0}));
      found = true;
    }
  CHECK(found);
  // The listing is the latest checkpoint's, as if it had been named.
  const auto listing = run_ckpt("inspect " + s.path().string());
  CHECK(listing.status == 0);
  CHECK(listing.out == run_ckpt("inspect " + latest).out);

  const auto v = run_ckpt("verify " + s.path().string());
  CHECK(v.status == 0);
  CHECK(v.out.starts_with(latest + ": OK (safetensors, "));

  // convert takes the directory for its latest checkpoint too.
  const auto copy = s / "copy.json";
  REQUIRE(run_ckpt("convert " + s.path().string() + " " + copy.string()).status == 0);
  ckpt_test::Model loaded;
  ckpt::load(loaded, copy);
  CHECK(loaded == newer);

  // A state naming a checkpoint that is gone: the state file and the name are reported.
  fs::remove(s / "ckpt-2.safetensors");
  const auto gone = run_ckpt("inspect " + s.path().string());
  CHECK(gone.status == 1);
  CHECK(gone.out.empty());
  CHECK(gone.err.find((s / "checkpoint").string()) != std::string::npos);
  CHECK(gone.err.find("ckpt-2.safetensors") != std::string::npos);
  CHECK(run_ckpt("verify " + s.path().string()).status == 1);
}

TEST_CASE("convert reports the number of tensors it wrote", "[cli]") {
  scratch_dir s("ckpt-cli");
  const auto model = ckpt_test::make_model({.strings = false, .complex = false});
  // A TensorFlow checkpoint holds its object graph and save counter besides the model's tensors;
  // neither is carried into another format.
  const auto tf = s / "tf" / "ckpt-1";
  ckpt::save(model, tf);
  const auto st = s / "model.safetensors";
  const auto r = run_ckpt("convert " + tf.string() + " " + st.string());
  REQUIRE(r.status == 0);
  const std::size_t written = ckpt::reader(st).entries().size();
  const std::size_t stored = ckpt::reader(tf).entries().size();
  REQUIRE(written < stored);
  CHECK(r.out == tf.string() + " (tf) -> " + st.string() +
                     " (safetensors): " + std::to_string(written) + " tensors\n");

  // Copied as stored, the count is still the tensors, not the bookkeeping entries.
  const auto kept = s / "kept" / "ckpt-1";
  const auto k = run_ckpt("convert " + tf.string() + " " + kept.string());
  REQUIRE(k.status == 0);
  CHECK(k.out == tf.string() + " (tf) -> " + kept.string() +
                     " (tf, layout kept): " + std::to_string(written) + " tensors\n");
  // Into directories that do not exist yet: they are made.
  const auto deep = s / "a" / "b" / "model.json";
  const auto d = run_ckpt("convert " + st.string() + " " + deep.string());
  CHECK(d.status == 0);
  CHECK(d.out.ends_with(": " + std::to_string(written) + " tensors\n"));
}

// The behaviour tests above show the tool working through the contract; this one keeps its
// sources from reaching around it again.
TEST_CASE("the tool's sources use only the public API and the format contract", "[cli]") {
  const fs::path tools = fs::path(CKPT_SOURCE_DIR) / "tools";
  std::size_t files = 0;
  for (const auto& f : fs::directory_iterator(tools)) {
    const auto ext = f.path().extension();
    if (ext != ".cpp" && ext != ".hpp") continue;
    ++files;
    INFO(f.path().string());
    std::ifstream in(f.path());
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    CHECK(text.find("impl()") == std::string::npos);
    CHECK(text.find("format() ==") == std::string::npos);
    for (const char* other_namespace : {"tf_checkpoint::", "safetensors::", "hdf5::", "keras::"})
      CHECK(text.find(other_namespace) == std::string::npos);
    std::vector<std::string> names = {"hdf5", "keras", "keras2", "keras3"};
    for (const auto& format : ckpt::registered_formats()) names.push_back(format.name);
    for (const auto& name : names) CHECK(text.find('"' + name + '"') == std::string::npos);
  }
  CHECK(files >= 6);
}
