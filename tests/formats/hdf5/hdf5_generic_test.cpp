// SPDX-License-Identifier: Apache-2.0
// The generic HDF5 layout: round trips of the shared model with every storage option, every dtype
// bit-exact, the structure libhdf5 sees (groups, types, filters), and refused options.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <numeric>
#include <thread>

#include "../../support/files.hpp"
#include "../../support/hdf5_test_support.hpp"
#include "../../support/model.hpp"
#include "../../support/scratch_dir.hpp"
#include "ckpt/hdf5.hpp"

using namespace ckpt_test;
namespace fs = std::filesystem;

namespace {

struct storage_variant {
  const char* name;
  ckpt::storage_options storage;
};

std::vector<storage_variant> storage_variants() {
  std::vector<storage_variant> cases;
  cases.push_back({"contiguous", {}});
  ckpt::storage_options chunked;
  chunked.layout = ckpt::storage_layout::chunked;
  cases.push_back({"chunked", chunked});
  ckpt::storage_options tiny = chunked;
  tiny.chunk_bytes = 8;  // many chunks per tensor, partial edge chunks
  tiny.checksum = true;
  cases.push_back({"chunked 8-byte chunks + fletcher32", tiny});
  ckpt::storage_options shuffle;
  shuffle.shuffle = true;
  cases.push_back({"shuffle", shuffle});
  ckpt::storage_options deflate;
  deflate.shuffle = true, deflate.deflate_level = 6, deflate.checksum = true;
  cases.push_back({"shuffle + deflate + fletcher32", deflate});
  ckpt::storage_options zstd1;
  zstd1.shuffle = true, zstd1.zstd_level = 1;
  cases.push_back({"shuffle + zstd 1", zstd1});
  ckpt::storage_options zstd3;
  zstd3.zstd_level = 3, zstd3.checksum = true, zstd3.chunk_bytes = 16;
  cases.push_back({"zstd 3 + fletcher32, small chunks", zstd3});
  ckpt::storage_options fletcher;
  fletcher.checksum = true;
  cases.push_back({"fletcher32 only", fletcher});
  return cases;
}

// The filter ids of a dataset, in pipeline order, and whether it is chunked (libhdf5's view).
struct layout_seen {
  bool chunked = false;
  std::vector<H5Z_filter_t> filters;
};

layout_seen dataset_layout(const fs::path& file, const char* dataset) {
  ckpt::hdf5::quiet_errors quiet;
  ckpt::hdf5::file_handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  REQUIRE(f.valid());
  ckpt::hdf5::dataset_handle d(H5Dopen2(f.get(), dataset, H5P_DEFAULT));
  REQUIRE(d.valid());
  ckpt::hdf5::plist_handle dcpl(H5Dget_create_plist(d.get()));
  layout_seen seen;
  seen.chunked = H5Pget_layout(dcpl.get()) == H5D_CHUNKED;
  for (int i = 0; i < H5Pget_nfilters(dcpl.get()); ++i) {
    unsigned flags = 0, config = 0;
    std::size_t n = 0;
    seen.filters.push_back(H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &n, nullptr,
                                          0, nullptr, &config));
  }
  return seen;
}

}  // namespace

TEST_CASE("the shared model round-trips through the generic layout with every storage option",
          "[hdf5]") {
  const Model original = make_model();
  for (const auto& c : storage_variants()) {
    SECTION(c.name) {
      scratch_dir dir("ckpt-hdf5");
      const fs::path path = dir / "model.h5";
      ckpt::save_options options;
      options.storage = c.storage;
      stderr_capture err;
      ckpt::save(original, path, options);
      Model loaded;
      ckpt::load(loaded, path);
      CHECK(err.finish().empty());
      CHECK(dir.file_count() == 1);  // no temporary left behind
      CHECK(loaded == original);
      CHECK(same_bits(loaded.scalars.f16, original.scalars.f16));
      CHECK(same_bits(loaded.scalars.bf16, original.scalars.bf16));
      CHECK(same_bits(loaded.blocks[0].norm.beta[0], -0.0));
      CHECK(loaded.text->vocab[2] == std::string("nul\0byte", 8));

      ckpt::reader reader(path);
      CHECK(reader.format() == "hdf5");
      CHECK(reader.metadata().at("layout") == "generic");
      CHECK(reader.find("blocks/1/dense/kernel").shape == ckpt::shape{4, 3});
      CHECK(reader.find("blocks/1/attention/query").dtype == ckpt::dtype::bfloat16);

      const auto kernel = dataset_layout(path, "/blocks/0/dense/kernel");
      const bool wants_chunks = ckpt::hdf5::wants_chunks(c.storage);
      CHECK(kernel.chunked == wants_chunks);
      std::vector<H5Z_filter_t> expected;
      if (c.storage.shuffle) expected.push_back(H5Z_FILTER_SHUFFLE);
      if (c.storage.deflate_level >= 0) expected.push_back(H5Z_FILTER_DEFLATE);
      if (c.storage.zstd_level > 0) expected.push_back(32015);
      if (c.storage.checksum) expected.push_back(H5Z_FILTER_FLETCHER32);
      CHECK(kernel.filters == expected);
      // Scalars cannot be chunked in HDF5; they stay contiguous under every option.
      CHECK_FALSE(dataset_layout(path, "/scalars/f32").chunked);
      CHECK(reader.verify("blocks/0/dense/kernel") ==
            (c.storage.checksum ? ckpt::checksum_status::ok : ckpt::checksum_status::none));
    }
  }
}

TEST_CASE("every fixed-size dtype round-trips bit for bit", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5");
  const fs::path path = dir / "dtypes.h5";
  std::vector<ckpt::dtype> dtypes;
  for (const auto& row : ckpt::detail::dtype_table)
    if (row.size > 0) dtypes.push_back(row.type);
  REQUIRE(dtypes.size() >= 28);

  // Every byte value in every position, except bool, whose elements are 0 or 1 only.
  std::vector<std::vector<std::byte>> buffers;
  std::vector<ckpt::named_tensor> tensors;
  for (auto t : dtypes) {
    const std::size_t size = ckpt::element_size(t);
    const std::uint64_t count = 256;
    auto& bytes = buffers.emplace_back(count * size);
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<std::byte>(t == ckpt::dtype::bool_ ? (i * 7 / 3) % 2
                                                                : (i * 131 + i / 256) % 256);
    tensors.push_back({"dtypes/" + std::string(ckpt::name(t)),
                       ckpt::tensor_view{t, {16, count / 16}, bytes, {}}});
  }
  for (const auto& storage :
       {ckpt::storage_options{},
        ckpt::storage_options{.shuffle = true, .zstd_level = 1, .checksum = true}}) {
    ckpt::save_options options;
    options.storage = storage;
    ckpt::format_for_save(path, "").create(path, options)->write(tensors);
    ckpt::reader reader(path);
    REQUIRE(reader.entries().size() == dtypes.size());
    for (std::size_t i = 0; i < dtypes.size(); ++i) {
      INFO(ckpt::name(dtypes[i]));
      const auto& e = reader.find(tensors[i].path);
      CHECK(e.dtype == dtypes[i]);
      CHECK(e.shape == tensors[i].tensor.shape);
      std::vector<std::byte> back(buffers[i].size());
      reader.impl().read(static_cast<std::size_t>(&e - reader.entries().data()),
                         {e.dtype, e.shape, back, {}});
      CHECK(std::memcmp(back.data(), buffers[i].data(), back.size()) == 0);
    }
  }
}

TEST_CASE("the generic layout marks its root and keeps metadata", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5");
  const fs::path path = dir / "meta.hdf5";
  struct Small {
    std::vector<float> w{1, 2, 3};
  };
  ckpt::save_options options;
  options.metadata = {{"step", "42"}, {"note", "caf\xc3\xa9 \"q\""}};
  ckpt::save(Small{}, path, options);

  ckpt::hdf5::quiet_errors quiet;
  auto f = ckpt::hdf5::file::open(path);
  const auto root = f.root();
  CHECK(ckpt::hdf5::read_string(root.id(), root.site, "ckpt_layout") == "generic");
  CHECK(ckpt::hdf5::read_numbers<std::int32_t>(root.id(), root.site, "ckpt_layout_version") ==
        std::vector<std::int32_t>{1});
  CHECK(ckpt::format_for_load(path, "").name == "hdf5");

  ckpt::reader reader(path);
  CHECK(reader.metadata().at("step") == "42");
  CHECK(reader.metadata().at("note") == "caf\xc3\xa9 \"q\"");
}

TEST_CASE("a generic file whose groups Keras would use is still detected as generic", "[hdf5]") {
  // Members named like Keras 3's root groups; only the generic marker tells the layouts apart.
  struct Inner {
    std::vector<float> kernel{1, 2};
  };
  struct LooksLikeKeras3 {
    Inner layers;
    Inner vars;
    Inner optimizer;
  };
  scratch_dir dir("ckpt-hdf5");
  const fs::path path = dir / "keras_like.h5";
  ckpt::save(LooksLikeKeras3{}, path);
  CHECK(ckpt::format_for_load(path, "").name == "hdf5");
  for (const auto& f : ckpt::registered_formats())
    if (f.name != "hdf5" && f.detect) CHECK_FALSE(f.detect(path));
  ckpt::reader reader(path);
  CHECK(reader.format() == "hdf5");
  CHECK(reader.contains("layers/kernel"));
  LooksLikeKeras3 loaded;
  loaded.vars.kernel = {0, 0};
  ckpt::load(loaded, path);
  CHECK(loaded.vars.kernel == std::vector<float>{1, 2});
}

TEST_CASE("attribute helpers write and read both string kinds and numbers", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5");
  const fs::path path = dir / "attrs.h5";
  using namespace ckpt::hdf5;
  quiet_errors quiet;
  {
    new_file out(path, false);
    {
      const group root = out.root();
      const group g = require_group(root, "a/b/c");
      write_strings(root.id(), root.site, "fixed", {"input_1", "fc1_relu"}, string_kind::fixed,
                    string_charset::ascii);
      write_strings(root.id(), root.site, "vlen", {"x", "", "\xe2\x82\xac"});
      write_string(root.id(), root.site, "scalar", "tensorflow", string_kind::variable,
                   string_charset::ascii);
      write_numbers<double>(g.id(), g.site, "empty", {});
      write_number<std::int64_t>(g.id(), g.site, "n", -5);
    }
    out.commit();
  }
  auto f = file::open(path);
  const group root = f.root();
  auto fixed = inspect_attribute(root.id(), root.site, "fixed");
  CHECK(fixed.is_string());
  CHECK_FALSE(fixed.variable_string);
  CHECK(fixed.element_size == 8);
  CHECK(read_strings(root.id(), root.site, "fixed") ==
        std::vector<std::string>{"input_1", "fc1_relu"});
  CHECK(read_strings(root.id(), root.site, "vlen") ==
        std::vector<std::string>{"x", "", "\xe2\x82\xac"});
  CHECK(read_string(root.id(), root.site, "scalar") == "tensorflow");
  CHECK(inspect_attribute(root.id(), root.site, "scalar").scalar);
  const group g = open_group(root, "a/b/c");
  const auto empty = inspect_attribute(g.id(), g.site, "empty");
  CHECK(empty.type_class == H5T_FLOAT);
  CHECK(empty.elements == 0);
  CHECK(read_numbers<std::int64_t>(g.id(), g.site, "n") == std::vector<std::int64_t>{-5});
  CHECK(has_child(root, "a/b/c"));
  CHECK_FALSE(has_child(root, "a/x/c"));
  const auto kids = children(open_group(root, "a"));
  REQUIRE(kids.size() == 1);
  CHECK(kids[0].name == "b");
  CHECK(kids[0].kind == child_kind::group);
  // A string read of a numeric attribute is an error naming it, not a crash or a print.
  stderr_capture err;
  CHECK_THROWS_AS(read_strings(g.id(), g.site, "empty"), ckpt::error);
  try {
    open_group(root, "missing");
    FAIL("opened a missing group");
  } catch (const ckpt::error& e) {
    CHECK(std::string(e.what()).find("attrs.h5") != std::string::npos);
    CHECK(e.key() == "/missing");
    CHECK(std::string(e.what()).find("H5Gopen2") != std::string::npos);
  }
  CHECK(err.finish().empty());
}

TEST_CASE("storage options no file can honour are refused", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5");
  struct Small {
    std::vector<float> w{1, 2, 3};
  };
  auto refused = [&](ckpt::storage_options s) {
    ckpt::save_options options;
    options.storage = s;
    try {
      ckpt::save(Small{}, dir / "x.h5", options);
    } catch (const ckpt::error& e) {
      return e.code() == ckpt::errc::unsupported;
    }
    return false;
  };
  CHECK(refused({.deflate_level = 4, .zstd_level = 3}));
  CHECK(refused({.deflate_level = 10}));
  CHECK(refused({.zstd_level = 99}));
  CHECK(refused({.layout = ckpt::storage_layout::chunked, .chunk_bytes = 0}));
  CHECK(dir.file_count() == 0);
}

TEST_CASE("a dataset and a group cannot share a path", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5");
  const fs::path path = dir / "clash.h5";
  const float v[1] = {1};
  const auto bytes = std::as_bytes(std::span(v));
  std::vector<ckpt::named_tensor> tensors = {
      {"a", {ckpt::dtype::float32, {1}, bytes, {}}},
      {"a/b", {ckpt::dtype::float32, {1}, bytes, {}}},
  };
  stderr_capture err;
  CHECK_THROWS_AS(ckpt::format_for_save(path, "").create(path, {})->write(tensors), ckpt::error);
  CHECK(err.finish().empty());
  CHECK(dir.file_count() == 0);
}

TEST_CASE("saving the same tensors twice gives the same bytes in every HDF5 layout", "[hdf5]") {
  scratch_dir dir("ckpt-hdf5-generic");
  struct Layer {
    std::vector<float> kernel;
    std::vector<float> bias;
  };
  struct Layers {
    Layer dense;
    Layer output;
  };
  const Layers layers{{{1, 2, 3, 4}, {0.5f}}, {{5, 6}, {-1}}};
  const Model model = make_model();  // strings, every dtype; saved compressed
  auto save_all = [&](const std::string& suffix) {
    for (const char* format : {"hdf5", "keras2", "keras3"}) {
      ckpt::save_options options;
      options.format = format;
      ckpt::save(layers, dir / (format + suffix), options);
    }
    ckpt::save_options options;
    options.storage.shuffle = true;
    options.storage.zstd_level = 3;
    ckpt::save(model, dir / ("model" + suffix), options);
  };
  save_all("-1.h5");
  // Past the next second, so a stored clock (libhdf5's modification times) would differ.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  save_all("-2.h5");
  for (const char* name : {"hdf5", "keras2", "keras3", "model"}) {
    INFO(name);
    CHECK(slurp(dir / (name + std::string("-1.h5"))) == slurp(dir / (name + std::string("-2.h5"))));
  }
}
