// SPDX-License-Identifier: Apache-2.0
// The ckpt tool on real TensorFlow checkpoints: inspect prints what inspect_checkpoint prints
// (checked against the independent checker's reports), --tensor and --json, verify on good and
// damaged bundles, convert keeping TF's bytes, and a round trip through safetensors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../support/cli.hpp"
#include "../support/files.hpp"
#include "../support/fixtures.hpp"
#include "../support/scratch_dir.hpp"
#include "../support/tf_reports.hpp"
#include "ckpt/ckpt.hpp"

namespace fs = std::filesystem;
using ckpt_test::run_ckpt;
using ckpt_test::scratch_dir;
using ckpt_test::slurp;
using ckpt_test::spit;
using nlohmann::json;

namespace {

const fs::path fixtures = ckpt_test::fixtures_dir();

// The lines inspect_checkpoint prints for a bundle, from the report: "key (DT_X) [d0,d1]",
// sorted by key.
std::string expected_listing(const json& report) {
  std::vector<std::string> lines;
  for (const auto& e : report["bundle"]["entries"]) {
    std::string shape = "[";
    for (std::size_t d = 0; d < e["shape"].size(); ++d) {
      if (d) shape += ',';
      shape += std::to_string(e["shape"][d].get<std::uint64_t>());
    }
    lines.push_back(e["key"].get<std::string>() + " (" + e["dtype"].get<std::string>() + ") " +
                    shape + "]");
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("inspect on tf_half_plus_two_v1 prints inspect_checkpoint's lines", "[cli][tf]") {
  const fs::path dir = fixtures / "tf/tf_half_plus_two_v1";
  if (!ckpt_test::fixture_present(dir)) return;
  // FIXTURES.md: a, b, c are DT_FLOAT scalars.
  const std::string expected = "a (DT_FLOAT) []\nb (DT_FLOAT) []\nc (DT_FLOAT) []\n";
  for (const fs::path& path :
       {dir / "variables/variables", dir / "variables/variables.index", dir}) {
    INFO(path.string());
    const auto r = run_ckpt("inspect " + path.string());
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out == expected);
  }
  const auto b = run_ckpt("inspect --tensor b " + dir.string());
  CHECK(b.status == 0);
  CHECK(b.out == "tensor_name:  b\n2.0\n");
}

TEST_CASE("inspect lists every fixture bundle as tfverify recorded it", "[cli][tf]") {
  if (!ckpt_test::tf_fixtures_present()) return;
  const auto all = ckpt_test::tfverify_reports();
  CHECK(all.size() == 27);
  for (const auto& [prefix, report] : all) {
    INFO(prefix);
    const auto r = run_ckpt("inspect " + (fixtures / prefix).string());
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out == expected_listing(report));
  }
}

TEST_CASE("inspect eos ckpt-5: listing, --tensor by key or path, --json", "[cli][tf]") {
  const fs::path prefix = fixtures / "tf/eos_checkpoint_manager/ckpt-5";
  if (!ckpt_test::fixture_present(prefix)) return;
  const auto listing = run_ckpt("inspect " + prefix.string());
  REQUIRE(listing.status == 0);
  const auto lines = lines_of(listing.out);
  CHECK(lines.size() == 38);  // 37 tensors and the object graph, as tfverify lists them
  CHECK(std::is_sorted(lines.begin(), lines.end()));
  for (const char* line : {
           "_CHECKPOINTABLE_OBJECT_GRAPH (DT_STRING) []",
           "net/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE (DT_DOUBLE) [60,128]",
           "net/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/"
           "VARIABLE_VALUE (DT_DOUBLE) [60,128]",
           "save_counter/.ATTRIBUTES/VARIABLE_VALUE (DT_INT64) []",
           "step/.ATTRIBUTES/VARIABLE_VALUE (DT_INT32) []",
           "optimizer/beta_1/.ATTRIBUTES/VARIABLE_VALUE (DT_FLOAT) []",
       })
    CHECK(std::count(lines.begin(), lines.end(), line) == 1);

  const json report = ckpt_test::tfverify_reports().at("tf/eos_checkpoint_manager/ckpt-5");
  const std::string bias_key = "net/layer_with_weights-4/bias/.ATTRIBUTES/VARIABLE_VALUE";
  json expected_bias;
  for (const auto& e : report["bundle"]["entries"])
    if (e["key"] == bias_key) expected_bias = e["values"];
  REQUIRE(expected_bias.is_array());
  // By stored key and by canonical path: the same entry, printed under its key.
  for (const std::string& name : {bias_key, std::string("net/layer_with_weights-4/bias")}) {
    INFO(name);
    const auto r = run_ckpt("inspect --tensor " + name + " " + prefix.string());
    REQUIRE(r.status == 0);
    const auto out = lines_of(r.out);
    REQUIRE(out.size() == 2);
    CHECK(out[0] == "tensor_name:  " + bias_key);
    CHECK(json::parse(out[1]) == expected_bias);
  }
  const auto step = run_ckpt("inspect --tensor step " + prefix.string());
  CHECK(step.out == "tensor_name:  step/.ATTRIBUTES/VARIABLE_VALUE\n6\n");

  const auto r = run_ckpt("inspect --json " + prefix.string());
  REQUIRE(r.status == 0);
  const json doc = json::parse(r.out);
  CHECK(doc["format"] == "tf");
  CHECK(doc["entries"].size() == 38);
  std::map<std::string, json> by_key;
  for (const auto& e : doc["entries"]) by_key[e["key"]] = e;
  const auto& kernel = by_key.at("net/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(kernel["path"] == "net/layer_with_weights-0/kernel");
  CHECK(kernel["dtype"] == "float64");
  CHECK(kernel["shape"] == json::array({60, 128}));
  CHECK(kernel["bytes"] == 60 * 128 * 8);
  CHECK(kernel["checksum"] == "ok");
  CHECK(by_key.at("net/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/v/.ATTRIBUTES/"
                  "VARIABLE_VALUE")["path"] ==
        "net/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/v");
}

TEST_CASE("inspect --tensor prints string tensors and SavedModel values", "[cli][tf]") {
  const fs::path strings = fixtures / "tf/tf_old_string_tensors/foo";
  const fs::path sharded = fixtures / "tf/tf_trt_2.0_saved_model_sharded";
  if (!ckpt_test::fixture_present(strings) || !ckpt_test::fixture_present(sharded)) return;
  const auto s = run_ckpt("inspect --tensor strs " + strings.string());
  REQUIRE(s.status == 0);
  const auto out = lines_of(s.out);
  REQUIRE(out.size() == 2);
  CHECK(out[0] == "tensor_name:  strs");
  CHECK(json::parse(out[1]) == json::array({"hello", "", "x01", std::string(1024, 'c')}));

  const auto v = run_ckpt("inspect --tensor v " + sharded.string());
  CHECK(v.status == 0);
  CHECK(v.out == "tensor_name:  v/.ATTRIBUTES/VARIABLE_VALUE\n[[[1.0]]]\n");
}

TEST_CASE("verify passes every fixture and names what a flipped byte breaks", "[cli][tf]") {
  if (!ckpt_test::tf_fixtures_present()) return;
  for (const auto& [prefix, report] : ckpt_test::tfverify_reports()) {
    INFO(prefix);
    const auto r = run_ckpt("verify " + (fixtures / prefix).string());
    CHECK(r.status == 0);
    CHECK(r.out.find("OK") != std::string::npos);
    CHECK(r.err.empty());
  }

  const fs::path source = fixtures / "tf/tf_half_plus_two_v1/variables/variables";
  scratch_dir s("ckpt-cli-tf");
  const auto copy = [&](const std::string& name) {
    fs::copy_file(source.string() + ".index", s / (name + ".index"));
    fs::copy_file(source.string() + ".data-00000-of-00001", s / (name + ".data-00000-of-00001"));
    return s / name;
  };
  // The data file is a=0.5, b=2.0, c=3.0 at offsets 0, 4, 8 (FIXTURES.md): byte 5 is b's.
  const auto bad_data = copy("bad_data");
  std::string data = slurp(bad_data.string() + ".data-00000-of-00001");
  REQUIRE(data.size() == 12);
  data[5] = static_cast<char>(data[5] ^ 0x01);
  spit(bad_data.string() + ".data-00000-of-00001", data);
  const auto r = run_ckpt("verify " + bad_data.string());
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("'b'") != std::string::npos);
  CHECK(r.err.find("checksum") != std::string::npos);
  CHECK(r.err.find(bad_data.string()) != std::string::npos);

  // A byte inside the index's data block: its block CRC no longer matches.
  const auto bad_index = copy("bad_index");
  std::string index = slurp(bad_index.string() + ".index");
  index[10] = static_cast<char>(index[10] ^ 0x40);
  spit(bad_index.string() + ".index", index);
  const auto ri = run_ckpt("verify " + bad_index.string());
  CHECK(ri.status == 1);
  CHECK(ri.out.empty());
  CHECK(ri.err.find("bad_index.index") != std::string::npos);
  CHECK(ri.err.find("CRC32C") != std::string::npos);
}

TEST_CASE("convert PREFIX OUT_PREFIX keeps every uncompressed fixture byte for byte", "[cli][tf]") {
  if (!ckpt_test::tf_fixtures_present()) return;
  scratch_dir s("ckpt-cli-tf");
  std::size_t identical = 0, n = 0;
  for (const auto& [prefix, report] : ckpt_test::tfverify_reports()) {
    if (!report["bundle"]["index"]["compressed_blocks"].empty()) continue;  // Snappy: not kept
    INFO(prefix);
    const fs::path in = fixtures / prefix;
    const fs::path out = s / ("out" + std::to_string(n++)) / fs::path(prefix).filename();
    fs::create_directories(out.parent_path());
    const auto r = run_ckpt("convert " + in.string() + " " + out.string());
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    bool same = slurp(out.string() + ".index") == slurp(in.string() + ".index");
    CHECK(same);
    const auto& files = report["bundle"]["data_files"];
    CHECK(files.size() == report["bundle"]["header"]["num_shards"]);
    for (const auto& f : files) {
      const std::string name = f["file"];
      INFO(name);
      const std::string data_suffix = name.substr(name.find(".data-"));
      const bool data_same = slurp(out.string() + data_suffix) == slurp(in.parent_path() / name);
      CHECK(data_same);
      same = same && data_same;
    }
    // Nothing else written beside the bundle.
    CHECK(std::distance(fs::directory_iterator(out.parent_path()), fs::directory_iterator()) ==
          static_cast<std::ptrdiff_t>(1 + files.size()));
    identical += same;
  }
  CHECK(identical == 23);  // 27 bundles, 4 with a Snappy block
}

TEST_CASE("convert a TF1 checkpoint to safetensors and back to tf1", "[cli][tf]") {
  const fs::path in = fixtures / "tf/tf_contrib_bundle_checkpoint/bundle_checkpoint";
  if (!ckpt_test::fixture_present(in)) return;
  scratch_dir s("ckpt-cli-tf");
  const auto st = s / "bundle.safetensors";
  const auto back = s / "back";
  REQUIRE(run_ckpt("convert " + in.string() + " " + st.string()).status == 0);
  CHECK(ckpt::reader(st).format() == "safetensors");
  CHECK(ckpt::reader(st).contains("some_scope.indices"));
  const auto r = run_ckpt("convert " + st.string() + " " + back.string() + " --format tf1");
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());

  ckpt::reader original(in), converted(back);
  CHECK(converted.format() == "tf1");
  REQUIRE(converted.entries().size() == original.entries().size());
  for (const auto& e : original.entries()) {
    INFO(e.name);
    REQUIRE(converted.contains(e.name));  // TF1 keys are the paths
    CHECK(converted.find(e.name).dtype == e.dtype);
    CHECK(converted.find(e.name).shape == e.shape);
  }
  CHECK(converted.read<std::int64_t>("some_scope/indices") ==
        original.read<std::int64_t>("some_scope/indices"));
  CHECK(converted.read<float>("some_scope/embeddings") ==
        original.read<float>("some_scope/embeddings"));
  CHECK(run_ckpt("verify " + back.string()).status == 0);
}

TEST_CASE("TF errors exit 1 with the message on stderr", "[cli][tf]") {
  scratch_dir s("ckpt-cli-tf");
  const auto missing = run_ckpt("inspect " + (s / "absent").string());
  CHECK(missing.status == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err.find("absent") != std::string::npos);

  const auto missing_verify = run_ckpt("verify " + (s / "absent.ckpt").string());
  CHECK(missing_verify.status == 1);
  CHECK(missing_verify.err.find("absent.ckpt") != std::string::npos);

  const fs::path prefix = fixtures / "tf/tf_half_plus_two_v1/variables/variables";
  if (!ckpt_test::fixture_present(prefix)) return;
  const auto no_tensor = run_ckpt("inspect --tensor nonexistent " + prefix.string());
  CHECK(no_tensor.status == 1);
  CHECK(no_tensor.out.empty());
  CHECK(no_tensor.err.find("nonexistent") != std::string::npos);

  // A truncated index: reported as a damaged bundle (by prefix and by .index path), not as a
  // missing file or an unknown format.
  const auto cut = s / "cut";
  const std::string index = slurp(prefix.string() + ".index");
  spit(cut.string() + ".index", index.substr(0, index.size() - 7));
  fs::copy_file(prefix.string() + ".data-00000-of-00001", cut.string() + ".data-00000-of-00001");
  const auto truncated = run_ckpt("inspect " + cut.string());
  CHECK(truncated.status == 1);
  CHECK(truncated.out.empty());
  CHECK(truncated.err.find("cut.index") != std::string::npos);
  CHECK(truncated.err.find("magic") != std::string::npos);
  const auto truncated_index = run_ckpt("verify " + cut.string() + ".index");
  CHECK(truncated_index.status == 1);
  CHECK(truncated_index.err.find("magic") != std::string::npos);
  try {
    ckpt::reader r(cut);
    FAIL("a truncated index opened");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
  }

  // Below a file, where no directory can be made: nothing written, the target named.
  const auto blocked = s / "cut.index" / "out";
  const auto r = run_ckpt("convert " + prefix.string() + " " + blocked.string());
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find(blocked.string()) != std::string::npos);
}

TEST_CASE("convert into directories that do not exist makes them, as TensorFlow's save does",
          "[cli][tf]") {
  const fs::path prefix = fixtures / "tf/tf_half_plus_two_v1/variables/variables";
  if (!ckpt_test::fixture_present(prefix)) return;
  scratch_dir s("ckpt-cli-tf");
  const auto nowhere = s / "no" / "such" / "dir" / "out";
  const auto r = run_ckpt("convert " + prefix.string() + " " + nowhere.string());
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(slurp(nowhere.string() + ".index") == slurp(prefix.string() + ".index"));
  CHECK(run_ckpt("verify " + nowhere.string()).status == 0);
}

TEST_CASE("inspect and verify a CheckpointManager directory read its latest checkpoint",
          "[cli][tf]") {
  for (const auto& [dir, latest] :
       {std::pair{fixtures / "tf/eos_checkpoint_manager", std::string("ckpt-5")},
        std::pair{fixtures / "tf/tf_trt_mnist_ckpt", std::string("model.ckpt-46900")}}) {
    if (!ckpt_test::fixture_present(dir / "checkpoint")) continue;
    INFO(dir.string());
    const std::string chosen = (dir / latest).string();
    const auto r = run_ckpt("inspect " + dir.string());
    CHECK(r.status == 0);
    // stdout is the latest checkpoint's listing byte for byte; the choice is noted on stderr.
    CHECK(r.out == run_ckpt("inspect " + chosen).out);
    CHECK(r.err.find("latest checkpoint " + chosen) != std::string::npos);
    const auto j = run_ckpt("inspect --json " + dir.string());
    REQUIRE(j.status == 0);
    CHECK(json::parse(j.out)["checkpoint"] == chosen);
    const auto v = run_ckpt("verify " + dir.string());
    CHECK(v.status == 0);
    CHECK(v.out.starts_with(chosen + ": OK (tf"));
  }
}
