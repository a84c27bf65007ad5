// SPDX-License-Identifier: Apache-2.0
// A Keras 2 file ckpt writes has the structure of the one tf.keras 2.11 wrote: compared object by
// object with the fixture (attribute names in stored order, HDF5 types, dataspaces, values;
// datasets' types, shapes, layout and values). Also: damaged Keras files and zips give ckpt::error
// and print nothing; `ckpt inspect` and `ckpt convert` on the Keras fixtures.
#include <hdf5.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../support/cli.hpp"
#include "../../support/hdf5_test_support.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"
#include "ckpt/hdf5.hpp"

namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(CKPT_FIXTURES_DIR) / "h5" / name; }

bool have_fixture(const std::string& name) {
  if (fs::exists(fixture(name))) return true;
  WARN("SKIPPED: fixture " << fixture(name) << " is missing");
  return false;
}

// What one attribute or dataset holds, in comparable form.
struct item {
  std::string name;
  hid_t type = -1;  // owned
  std::vector<hsize_t> dims;
  int space_class = -1;
  std::string value;  // strings joined by '\n', or raw bytes
};

std::string read_value(hid_t type, hid_t space, bool attribute, hid_t object) {
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space));
  if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
    std::vector<char*> ptrs(n, nullptr);
    hid_t mem = H5Tcopy(type);
    if (attribute)
      H5Aread(object, mem, ptrs.data());
    else
      H5Dread(object, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
    std::string out;
    for (char* p : ptrs) out += std::string(p ? p : "") + "\n";
    if (n) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
    H5Tclose(mem);
    return out;
  }
  std::string bytes(n * H5Tget_size(type), '\0');
  if (!bytes.empty()) {
    if (attribute)
      H5Aread(object, type, bytes.data());
    else
      H5Dread(object, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
  }
  return bytes;
}

item describe(hid_t object, bool attribute, std::string name) {
  item it;
  it.name = std::move(name);
  it.type = attribute ? H5Aget_type(object) : H5Dget_type(object);
  const hid_t space = attribute ? H5Aget_space(object) : H5Dget_space(object);
  it.space_class = H5Sget_simple_extent_type(space);
  const int rank = H5Sget_simple_extent_ndims(space);
  it.dims.resize(static_cast<std::size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space, it.dims.data(), nullptr);
  it.value = read_value(it.type, space, attribute, object);
  H5Sclose(space);
  return it;
}

struct object_dump {
  std::string path;
  bool is_dataset = false;
  std::vector<item> attributes;  // in stored (native) order
  std::vector<item> data;        // the dataset itself
  int layout = -1;
};

herr_t collect_attribute(hid_t object, const char* name, const H5A_info_t*, void* data) {
  auto& out = *static_cast<std::vector<item>*>(data);
  const hid_t a = H5Aopen(object, name, H5P_DEFAULT);
  out.push_back(describe(a, true, name));
  H5Aclose(a);
  return 0;
}

herr_t collect_object(hid_t root, const char* name, const H5O_info_t* info, void* data) {
  auto& out = *static_cast<std::vector<object_dump>*>(data);
  object_dump d;
  d.path = name;
  const hid_t o = H5Oopen(root, name, H5P_DEFAULT);
  hsize_t index = 0;
  H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_NATIVE, &index, collect_attribute, &d.attributes);
  if (info->type == H5O_TYPE_DATASET) {
    d.is_dataset = true;
    d.data.push_back(describe(o, false, name));
    const hid_t dcpl = H5Dget_create_plist(o);
    d.layout = H5Pget_layout(dcpl);
    H5Pclose(dcpl);
  }
  H5Oclose(o);
  out.push_back(std::move(d));
  return 0;
}

std::vector<object_dump> dump(const fs::path& file) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  std::vector<object_dump> out;
  H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, collect_object, &out);
  H5Fclose(f);
  return out;
}

void close_all(std::vector<object_dump>& objects) {
  for (auto& o : objects) {
    for (auto& a : o.attributes) H5Tclose(a.type);
    for (auto& d : o.data) H5Tclose(d.type);
  }
}

void compare_items(const std::vector<item>& ours, const std::vector<item>& theirs,
                   const std::string& where) {
  INFO(where);
  REQUIRE(ours.size() == theirs.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    INFO("item " << i << " '" << theirs[i].name << "'");
    CHECK(ours[i].name == theirs[i].name);
    CHECK(H5Tequal(ours[i].type, theirs[i].type) > 0);
    CHECK(ours[i].space_class == theirs[i].space_class);
    CHECK(ours[i].dims == theirs[i].dims);
    CHECK(ours[i].value == theirs[i].value);
  }
}

// Each run captures its output in a scratch directory of its own; `dir` stays for the call sites.
ckpt_test::cli_result run_ckpt(const std::string& args, const ckpt_test::scratch_dir&) {
  return ckpt_test::run_ckpt(args);
}

// The ckpt tool reads Keras files once it includes <ckpt/hdf5.hpp>; until then these tests skip.
bool tool_reads_keras(const ckpt_test::scratch_dir& dir) {
  const auto r =
      run_ckpt("inspect --json " + fixture("keras2_tf2.11_conv2d_save_weights.h5").string(), dir);
  if (r.status != 0 && (r.err.find("cannot tell the format") != std::string::npos ||
                        r.err.find("no format named") != std::string::npos)) {
    WARN("SKIPPED: the ckpt tool is built without the HDF5 formats: " << r.err);
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("A Keras 2 file ckpt writes matches tf.keras 2.11's attribute by attribute",
          "[keras][structure]") {
  const std::string name = "keras2_tf2.11_conv2d_save_weights.h5";
  if (!have_fixture(name)) return;
  // A struct mirroring the model, filled with the fixture's values.
  struct Conv {
    ckpt::tensor<float> kernel, bias;
  };
  struct Model {
    Conv conv2d;
  } m;
  ckpt::load(m, fixture(name));
  ckpt_test::scratch_dir dir("ckpt-keras");
  ckpt::save_options options;
  options.format = "keras2";
  ckpt::save(m, dir / "ours.h5", options);

  auto ours = dump(dir / "ours.h5");
  auto theirs = dump(fixture(name));
  REQUIRE(ours.size() == theirs.size());
  for (std::size_t i = 0; i < theirs.size(); ++i) {
    INFO("object " << theirs[i].path);
    CHECK(ours[i].path == theirs[i].path);
    CHECK(ours[i].is_dataset == theirs[i].is_dataset);
    CHECK(ours[i].layout == theirs[i].layout);
    compare_items(ours[i].attributes, theirs[i].attributes, "attributes of " + theirs[i].path);
    compare_items(ours[i].data, theirs[i].data, "data of " + theirs[i].path);
  }
  close_all(ours);
  close_all(theirs);
}

TEST_CASE("Damaged Keras files and zips give ckpt::error and print nothing", "[keras][corrupt]") {
  ckpt_test::scratch_dir dir("ckpt-keras");
  std::vector<std::string> names = {
      "keras2_tf2.11_conv2d_save_weights.h5", "keras2_2.0.0_dense3layer_save_weights.h5",
      "keras2_2.3.1_dense_batchnorm_full_model.h5", "keras3_nested_container.weights.h5",
      "keras3_nested_container.keras"};
  std::size_t damaged = 0, refused = 0;
  for (const auto& name : names) {
    if (!have_fixture(name)) continue;
    const std::string bytes = ckpt_test::read_bytes(fixture(name));
    std::vector<std::string> variants;
    for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{100}, bytes.size() / 3,
                            bytes.size() / 2, bytes.size() - 1})
      variants.push_back(bytes.substr(0, cut));
    // Flip bytes across the file: headers, names, B-trees, heaps, zip directory.
    for (std::size_t step = 1; step < 64; ++step) {
      std::string flipped = bytes;
      flipped[bytes.size() * step / 64] ^= 0x5a;
      variants.push_back(std::move(flipped));
    }
    const std::string ext = name.ends_with(".keras") ? ".keras" : ".h5";
    for (std::size_t i = 0; i < variants.size(); ++i) {
      const auto path = dir / ("damaged" + std::to_string(i) + ext);
      ckpt_test::write_bytes(path, variants[i]);
      ++damaged;
      ckpt_test::stderr_capture capture;
      try {
        ckpt::reader r(path);
        for (const auto& e : r.entries()) (void)r.read<float>(e.name, ckpt::conversion::any);
      } catch (const ckpt::error&) {
        ++refused;
      }
      INFO(name << " variant " << i);
      CHECK(capture.finish().empty());
    }
  }
  CHECK(refused > 0);
  INFO(refused << " of " << damaged << " damaged files refused");
}

TEST_CASE("Keras-specific damage: listed layers and weights that are missing", "[keras][corrupt]") {
  ckpt_test::scratch_dir dir("ckpt-keras");
  const auto file = dir / "w.h5";
  struct Conv {
    std::vector<float> kernel;
  };
  struct Model {
    Conv conv;
  } m{{{1.0f}}};
  ckpt::save_options options;
  options.format = "keras2";
  ckpt::save(m, file, options);
  {
    ckpt::hdf5::quiet_errors quiet;
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(f >= 0);
    REQUIRE(H5Ldelete(f, "conv/conv/kernel:0", H5P_DEFAULT) >= 0);
    H5Fclose(f);
  }
  ckpt_test::stderr_capture capture;
  try {
    ckpt::reader r(file);
    FAIL("expected an error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::bad_format);
    CHECK(std::string(e.what()).find("conv/conv/kernel:0") != std::string::npos);
    CHECK(e.file() == file.string());
  }
  CHECK(capture.finish().empty());
}

TEST_CASE("ckpt inspect lists every Keras fixture in its layout", "[keras][cli]") {
  ckpt_test::scratch_dir dir("ckpt-keras-cli");
  if (!tool_reads_keras(dir)) return;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"keras2_tf2.11_conv2d_save_weights.h5", "keras2"},
      {"keras2_tf2.11_conv2d_full_model.h5", "keras2"},
      {"keras2_2.0.0_dense3layer_save_weights.h5", "keras2"},
      {"keras2_2.3.1_dense_batchnorm_full_model.h5", "keras2"},
      {"keras2_2.3.1_conv1d_full_model.h5", "keras2"},
      {"keras3_nested_container.weights.h5", "keras3"},
      {"keras3_nested_container.keras", "keras"}};
  for (const auto& [name, format] : cases) {
    if (!have_fixture(name)) continue;
    INFO(name);
    const auto r = run_ckpt("inspect --json " + fixture(name).string(), dir);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc["format"] == format);
    CHECK(doc["entries"].size() == ckpt::reader(fixture(name)).entries().size());
  }
  if (have_fixture("keras2_tf2.11_conv2d_save_weights.h5")) {
    const auto r =
        run_ckpt("inspect --json " + fixture("keras2_tf2.11_conv2d_save_weights.h5").string(), dir);
    const auto doc = nlohmann::json::parse(r.out);
    bool kernel = false;
    for (const auto& e : doc["entries"])
      if (e["key"] == "conv2d/conv2d/kernel:0") {
        kernel = true;
        CHECK(e["shape"] == nlohmann::json::array({3, 3, 1, 1}));
        CHECK(e["dtype"] == "float32");
      }
    CHECK(kernel);
  }
}

TEST_CASE("ckpt convert moves Keras fixtures between the Keras layouts", "[keras][cli]") {
  const std::string k2 = "keras2_2.0.0_dense3layer_save_weights.h5";
  const std::string k3 = "keras3_nested_container.keras";
  if (!have_fixture(k2) || !have_fixture(k3)) return;
  ckpt_test::scratch_dir dir("ckpt-keras-cli");
  if (!tool_reads_keras(dir)) return;
  struct Dense {
    ckpt::tensor<float> kernel, bias;
    bool operator==(const Dense&) const = default;
  };
  struct Dense3Layer {
    Dense fc1_relu, fc2_relu, fc3_relu, output_softmax;
    bool operator==(const Dense3Layer&) const = default;
  };
  Dense3Layer original;
  ckpt::load(original, fixture(k2));
  for (const std::string target : {"a.weights.h5", "b.keras", "c.safetensors"}) {
    INFO(target);
    const auto r = run_ckpt("convert " + fixture(k2).string() + " " + (dir / target).string(), dir);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    Dense3Layer back;
    ckpt::load(back, dir / target);
    CHECK(back == original);
  }
  // .keras -> Keras 2 save_weights, named explicitly.
  const auto r = run_ckpt(
      "convert --format keras2 " + fixture(k3).string() + " " + (dir / "k2.h5").string(), dir);
  REQUIRE(r.status == 0);
  ckpt::reader back(dir / "k2.h5");
  CHECK(back.format() == "keras2");
  CHECK(back.find("dense_3/dense_3/1:0").shape == ckpt::shape{2});
  CHECK(back.read<float>("dense_2/0")[0] == 0.3f);
}
