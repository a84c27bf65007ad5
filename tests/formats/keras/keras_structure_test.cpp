// SPDX-License-Identifier: Apache-2.0
// A Keras 2 file ckpt writes has the structure of the one tf.keras 2.11 wrote: compared object by
// object with the fixture (attribute names in stored order, HDF5 types, dataspaces, values;
// datasets' types, shapes, layout and values). Damaged Keras files are
// tests/hostile/keras_hostile_test.cpp's; the ckpt tool on the Keras fixtures is
// tests/cli/cli_hdf5_test.cpp's.
#include <hdf5.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../support/fixtures.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/ckpt.hpp"
#include "ckpt/hdf5.hpp"

namespace {

namespace fs = std::filesystem;

using ckpt_test::h5_fixture;
using ckpt_test::h5_fixture_present;

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

}  // namespace

TEST_CASE("A Keras 2 file ckpt writes matches tf.keras 2.11's attribute by attribute",
          "[keras][structure]") {
  const std::string name = "keras2_tf2.11_conv2d_save_weights.h5";
  if (!h5_fixture_present(name)) return;
  // A struct mirroring the model, filled with the fixture's values.
  struct Conv {
    ckpt::tensor<float> kernel, bias;
  };
  struct Model {
    Conv conv2d;
  } m;
  ckpt::load(m, h5_fixture(name));
  ckpt_test::scratch_dir dir("ckpt-keras");
  ckpt::save_options options;
  options.format = "keras2";
  ckpt::save(m, dir / "ours.h5", options);

  auto ours = dump(dir / "ours.h5");
  auto theirs = dump(h5_fixture(name));
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
