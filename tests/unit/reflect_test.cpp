// SPDX-License-Identifier: Apache-2.0
// The generic machinery: reflection tiers, containers, paths, strict and lenient loads, renaming
// and conversion, through an in-memory format so no file format is involved.
#include <catch2/catch.hpp>

#include "../support/memory_format.hpp"
#include "../support/model.hpp"

using namespace ckpt_test;

namespace {

template <class T>
memory_store store_of(const T& object) {
  memory_store store;
  memory_writer writer(store);
  ckpt::save_to(object, writer);
  return store;
}

template <class T>
void load_store(T& object, const memory_store& store, const ckpt::load_options& options = {}) {
  memory_reader reader(store);
  ckpt::load_from(object, reader, options);
}

struct Plain {
  int step = 0;
  std::vector<float> weights_v2;
  double _private_like = 0;
};

struct Twice {
  template <class V>
  void trackable(V& v) {
    v("x", a);
    v("x", b);
  }
  float a = 0, b = 0;
};

}  // namespace

TEST_CASE("aggregate member names come from the compiler", "[reflect]") {
  constexpr auto& names = ckpt::detail::member_names_v<Plain>;
  STATIC_REQUIRE(names.size() == 3);
  STATIC_REQUIRE(names[0] == "step");
  STATIC_REQUIRE(names[1] == "weights_v2");
  STATIC_REQUIRE(names[2] == "_private_like");
}

TEST_CASE("every tier and container yields canonical paths", "[reflect]") {
  const Model model = make_model();
  const auto paths = store_of(model).paths();
  const std::vector<std::string> expected_some = {"blocks/0/dense/kernel",
                                                  "blocks/2/attention/query",
                                                  "blocks/1/attention/scale",
                                                  "blocks/0/norm/gamma",
                                                  "heads/1/bias",
                                                  "adapters/lora_a/kernel",
                                                  "projection/kernel",
                                                  "scalars/u64",
                                                  "mask",
                                                  "complex/c128",
                                                  "text/vocab",
                                                  "empty_rows"};
  for (const auto& p : expected_some) CHECK(std::count(paths.begin(), paths.end(), p) == 1);
  for (const auto& p : paths) CHECK(!p.starts_with("unused"));
  // Declaration order is kept: it is what formats with ordered layouts (Keras) rely on.
  CHECK(paths.front() == "blocks/0/dense/kernel");
  CHECK(paths[1] == "blocks/0/dense/bias");
}

TEST_CASE("a model round-trips through the generic machinery", "[reflect]") {
  const Model original = make_model();
  const auto store = store_of(original);
  Model loaded;
  load_store(loaded, store);
  CHECK(loaded == original);
  CHECK(loaded.blocks.size() == 3);
  CHECK(!loaded.unused.has_value());
  CHECK(loaded.empty_rows.shape() == ckpt::shape{0, 3});
}

TEST_CASE("containers are sized from the file", "[reflect]") {
  const Model original = make_model();
  const auto store = store_of(original);
  Model loaded;
  loaded.blocks.resize(7);
  loaded.adapters["stale"] = make_dense(1, 1, 1);
  loaded.unused = make_dense(1, 1, 2);
  load_store(loaded, store);
  CHECK(loaded.blocks.size() == 3);
  CHECK(loaded.adapters.count("stale") == 0);
  CHECK(!loaded.unused);
}

TEST_CASE("a container is rebuilt from the sorted names of its stored children", "[reflect]") {
  // Stored paths sort "a-b/..." < "a.b/..." < "a/..." ('-' and '.' sort before '/'), while the
  // names sort "a" < "a-b" < "a.b"; container_traits promises rebuild sorted, distinct keys.
  const ckpt::key_index keys({{"m/a-b/x", 0}, {"m/a.b/x", 1}, {"m/a/x", 2}, {"m/a/y", 3}});
  CHECK(keys.children("m") == std::vector<std::string>{"a", "a-b", "a.b"});

  std::map<std::string, Dense> layers;
  layers["a"] = make_dense(1, 1, 1);
  layers["a-b"] = make_dense(1, 2, 2);
  layers["a.b"] = make_dense(2, 1, 3);
  std::map<std::string, Dense> loaded;
  loaded["stale"] = make_dense(1, 1, 4);
  load_store(loaded, store_of(layers));
  CHECK(loaded == layers);
}

TEST_CASE("strict loads name the missing and the unexpected key", "[reflect]") {
  Model original = make_model();
  auto store = store_of(original);

  SECTION("missing") {
    store.tensors.erase(store.tensors.begin() + 3);
    Model loaded;
    try {
      load_store(loaded, store);
      FAIL("no error");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::missing_key);
      CHECK(e.key() == "blocks/0/attention/key");
    }
    ckpt::load_options lenient;
    lenient.allow_missing = true;
    CHECK_NOTHROW(load_store(loaded, store, lenient));
  }
  SECTION("unexpected") {
    store.tensors.push_back(
        {"blocks/0/extra", {ckpt::dtype::float32, {}, std::vector<std::byte>(4), {}}});
    Model loaded;
    try {
      load_store(loaded, store);
      FAIL("no error");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::unexpected_key);
      CHECK(e.key() == "blocks/0/extra");
    }
    ckpt::load_options lenient;
    lenient.allow_unexpected = true;
    load_store(loaded, store, lenient);
    CHECK(loaded == original);
  }
  SECTION("a gap in a sequence") {
    std::erase_if(store.tensors, [](auto& t) { return t.first.starts_with("blocks/1/"); });
    Model loaded;
    CHECK_THROWS_MATCHES(load_store(loaded, store), ckpt::error,
                         Catch::Matchers::Predicate<ckpt::error>([](const ckpt::error& e) {
                           return e.code() == ckpt::errc::bad_format && e.key() == "blocks";
                         }));
  }
}

TEST_CASE("dtype and shape mismatches are errors unless conversion is allowed", "[reflect]") {
  struct Half {
    ckpt::tensor<ckpt::float16> w;
  };
  struct Full {
    ckpt::tensor<float> w;
  };
  struct Fixed {
    std::array<float, 3> w;
  };
  Half half{ckpt::tensor<ckpt::float16>({2})};
  half.w[0] = ckpt::float16(1.5f);
  half.w[1] = ckpt::float16(-65504.0f);
  const auto store = store_of(half);

  Full full;
  try {
    load_store(full, store);
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::dtype_mismatch);
    CHECK(std::string(e.what()).find("float16") != std::string::npos);
  }
  ckpt::load_options widen;
  widen.convert = ckpt::conversion::lossless;
  load_store(full, store, widen);
  CHECK(full.w == ckpt::tensor<float>({2}, {1.5f, -65504.0f}));

  // Narrowing needs the explicit `any`.
  const auto wide = store_of(full);
  Half back;
  CHECK_THROWS_AS(load_store(back, wide, widen), ckpt::error);
  widen.convert = ckpt::conversion::any;
  load_store(back, wide, widen);
  CHECK(back.w == half.w);

  Fixed fixed;
  try {
    load_store(fixed, wide);
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::shape_mismatch);
    CHECK(e.key() == "w");
  }
}

TEST_CASE("renames map stored paths onto fields", "[reflect]") {
  struct Stored {
    std::map<std::string, Dense> model;
  };
  Stored stored;
  stored.model["encoder"] = make_dense(2, 2, 1);
  stored.model["head"] = make_dense(2, 1, 2);
  const auto store = store_of(stored);

  struct Mine {
    Dense enc;
    Dense out;
  };
  Mine mine;
  ckpt::load_options options;
  options.rename_prefix = {{"model/encoder", "enc"}};
  options.rename = {{"model/head/kernel", "out/kernel"}, {"model/head/bias", "out/bias"}};
  load_store(mine, store, options);
  CHECK(mine.enc == stored.model["encoder"]);
  CHECK(mine.out == stored.model["head"]);
}

TEST_CASE("names that cannot be paths are refused", "[reflect]") {
  std::map<std::string, std::vector<float>> bad{{"a/b", {1.0f}}};
  memory_store store;
  memory_writer writer(store);
  CHECK_THROWS_AS(ckpt::save_to(bad, writer), ckpt::error);

  Twice twice;
  CHECK_THROWS_MATCHES(
      ckpt::save_to(twice, writer), ckpt::error,
      Catch::Matchers::Predicate<ckpt::error>([](const ckpt::error& e) { return e.key() == "x"; }));
}

TEST_CASE("error messages name file, key and offset", "[error]") {
  ckpt::error e(ckpt::errc::checksum_mismatch, "stored 0x1, computed 0x2", "model.ckpt.index",
                "dense/kernel", 42);
  CHECK(std::string(e.what()) ==
        "model.ckpt.index: entry 'dense/kernel': stored 0x1, computed 0x2 (at byte 42)");
  ckpt::error inner(ckpt::errc::io, "short read");
  inner.with_key("k").with_file("f");
  CHECK(std::string(inner.what()) == "f: entry 'k': short read");
}
