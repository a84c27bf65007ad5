// SPDX-License-Identifier: Apache-2.0
// Containers through ckpt::container_traits: the standard ones added on it (unordered_map, deque,
// unique_ptr, shared_ptr) and user types adapted without library edits, saved and loaded through
// real files.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <ckpt/ckpt.hpp>

#include "../support/scratch_dir.hpp"

namespace test_user {

// A map kept as a sorted vector: children move when keys are inserted, so its rebuild makes every
// key at once and for_each never inserts.
template <class T>
class flat_map {
 public:
  T& operator[](const std::string& key) {
    auto it = find(key);
    if (it == items_.end() || it->first != key) it = items_.insert(it, {key, T{}});
    return it->second;
  }
  std::size_t size() const { return items_.size(); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  void assign(std::span<const std::string> keys) {
    std::vector<std::pair<std::string, T>> fresh;
    fresh.reserve(keys.size());
    for (const auto& key : keys) fresh.emplace_back(key, T{});
    items_ = std::move(fresh);
  }
  bool operator==(const flat_map&) const = default;

 private:
  auto find(const std::string& key) {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const auto& item, const std::string& k) { return item.first < k; });
  }
  std::vector<std::pair<std::string, T>> items_;
};

// At most Capacity items, newest last.
template <class T, std::size_t Capacity>
class bounded {
 public:
  void push(T value) {
    if (items_.size() == Capacity) items_.erase(items_.begin());
    items_.push_back(std::move(value));
  }
  const std::vector<T>& items() const { return items_; }
  std::vector<T>& items() { return items_; }
  bool operator==(const bounded&) const = default;

 private:
  std::vector<T> items_;
};

// Present or not, with a flag of its own.
template <class T>
struct maybe {
  bool present = false;
  T value{};
  bool operator==(const maybe&) const = default;
};

}  // namespace test_user

template <class T>
struct ckpt::container_traits<test_user::flat_map<T>> {
  static constexpr auto kind = ckpt::container_kind::map;
  static void for_each(auto& c, auto&& visit) {
    for (auto& [key, child] : c) visit(key, child);
  }
  static void rebuild(test_user::flat_map<T>& c, std::span<const std::string> keys) {
    c.assign(keys);
  }
};

template <class T, std::size_t Capacity>
struct ckpt::container_traits<test_user::bounded<T, Capacity>> {
  static constexpr auto kind = ckpt::container_kind::sequence;
  static void for_each(auto& c, auto&& visit) {
    for (auto& child : c.items()) visit(child);
  }
  static void rebuild(test_user::bounded<T, Capacity>& c, std::size_t count) {
    if (count > Capacity)
      throw ckpt::error(ckpt::errc::shape_mismatch, "the file holds " + std::to_string(count) +
                                                        " items, at most " +
                                                        std::to_string(Capacity) + " fit");
    c.items().resize(count);
  }
};

template <class T>
struct ckpt::container_traits<test_user::maybe<T>> {
  static constexpr auto kind = ckpt::container_kind::nullable;
  static void for_each(auto& c, auto&& visit) {
    if (c.present) visit(c.value);
  }
  static void rebuild(test_user::maybe<T>& c, bool stored) { c.present = stored; }
};

namespace {

using ckpt_test::scratch_dir;

struct DenseLayer {
  ckpt::tensor<float> kernel;
  std::vector<float> bias;
  bool operator==(const DenseLayer&) const = default;
};

DenseLayer make_dense(std::size_t in, std::size_t out, float seed) {
  DenseLayer d{ckpt::tensor<float>({in, out}), std::vector<float>(out)};
  for (std::size_t i = 0; i < d.kernel.size(); ++i) d.kernel[i] = seed + 0.5f * float(i);
  for (std::size_t i = 0; i < out; ++i) d.bias[i] = -seed - float(i);
  return d;
}

bool same(const std::unique_ptr<DenseLayer>& a, const std::unique_ptr<DenseLayer>& b) {
  return a && b ? *a == *b : a == b;
}
bool same(const std::shared_ptr<DenseLayer>& a, const std::shared_ptr<DenseLayer>& b) {
  return a && b ? *a == *b : a == b;
}

struct Standard {
  std::unordered_map<std::string, DenseLayer> experts;
  std::deque<DenseLayer> stages;
  std::deque<std::int32_t> history;  // a deque of elements is a sequence of scalars
  std::unique_ptr<DenseLayer> head;
  std::shared_ptr<DenseLayer> shared_head;
  std::unique_ptr<DenseLayer> absent_head;
  std::unordered_map<std::string, std::unique_ptr<DenseLayer>> nested;

  bool operator==(const Standard& o) const {
    if (experts != o.experts || stages != o.stages || history != o.history) return false;
    if (!same(head, o.head) || !same(shared_head, o.shared_head)) return false;
    if (!same(absent_head, o.absent_head) || nested.size() != o.nested.size()) return false;
    for (const auto& [key, child] : nested) {
      auto it = o.nested.find(key);
      if (it == o.nested.end() || !same(child, it->second)) return false;
    }
    return true;
  }
};

Standard make_standard() {
  Standard s;
  s.experts["zeta"] = make_dense(2, 2, 1);
  s.experts["alpha"] = make_dense(1, 3, 2);
  s.experts["mid"] = make_dense(3, 1, 3);
  s.stages = {make_dense(2, 1, 4), make_dense(1, 1, 5)};
  s.history = {3, -1, 4, 1, 5, 9, 2, 6, 5, 3, 5};  // eleven: "history/10" sorts before "history/2"
  s.head = std::make_unique<DenseLayer>(make_dense(2, 3, 6));
  s.shared_head = std::make_shared<DenseLayer>(make_dense(3, 2, 7));
  s.nested["inner"] = std::make_unique<DenseLayer>(make_dense(1, 2, 8));
  return s;
}

struct User {
  test_user::flat_map<DenseLayer> blocks;
  test_user::bounded<DenseLayer, 3> recent;
  test_user::maybe<DenseLayer> extra;
  test_user::maybe<DenseLayer> missing_extra;
  bool operator==(const User&) const = default;
};

User make_user() {
  User u;
  // Stored paths put "blocks/encoder-1/..." before "blocks/encoder/...": flat_map's rebuild
  // relies on getting its keys sorted.
  u.blocks["encoder"] = make_dense(2, 2, 10);
  u.blocks["encoder-1"] = make_dense(1, 2, 12);
  u.blocks["decoder"] = make_dense(2, 1, 11);
  for (int i = 0; i < 5; ++i) u.recent.push(make_dense(1, 1, 20.0f + float(i)));
  u.extra = {true, make_dense(1, 2, 30)};
  return u;
}

// No default constructor: a null pointer to it cannot be filled.
struct Sized {
  explicit Sized(std::size_t n) : values(n) {}
  std::vector<float> values;
  template <class V>
  void trackable(V& v) {
    v("values", values);
  }
};

std::vector<std::string> stored_paths(const std::filesystem::path& file) {
  ckpt::reader reader(file);
  std::vector<std::string> paths;
  for (const auto& e : reader.entries()) paths.push_back(e.path);
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::string> leaf_paths(const auto& object) {
  std::vector<std::string> paths;
  ckpt::for_each_leaf(
      object, [&](const std::string& path, const ckpt::tensor_view&) { paths.push_back(path); });
  return paths;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("unordered_map, deque, unique_ptr and shared_ptr round-trip", "[containers]") {
  const char* file_name = GENERATE("model.safetensors", "model.json");
  scratch_dir dir("containers");
  const auto file = dir / file_name;
  const Standard original = make_standard();
  ckpt::save(original, file);

  Standard loaded;
  ckpt::load(loaded, file);
  CHECK(loaded == original);
  REQUIRE(loaded.head);
  REQUIRE(loaded.shared_head);
  CHECK(!loaded.absent_head);
  CHECK(loaded.history.size() == 11);
  CHECK(loaded.history[10] == 5);
  REQUIRE(loaded.nested.count("inner") == 1);
  CHECK(loaded.nested["inner"] != nullptr);

  const auto paths = stored_paths(file);
  for (const char* expected :
       {"experts/alpha/kernel", "experts/zeta/bias", "stages/0/kernel", "stages/1/bias",
        "history/0", "history/10", "head/kernel", "shared_head/bias", "nested/inner/kernel"})
    CHECK(contains(paths, expected));
  for (const auto& p : paths) CHECK(!p.starts_with("absent_head"));
}

TEST_CASE("safetensors keys name container children with dots", "[containers]") {
  scratch_dir dir("containers");
  const auto file = dir / "model.safetensors";
  ckpt::save(make_standard(), file);
  ckpt::reader reader(file);
  std::vector<std::string> names;
  for (const auto& e : reader.entries()) names.push_back(e.name);
  CHECK(contains(names, "experts.mid.kernel"));
  CHECK(contains(names, "stages.1.kernel"));
  CHECK(contains(names, "history.10"));
  CHECK(contains(names, "head.bias"));
  CHECK(contains(names, "nested.inner.bias"));
}

TEST_CASE("an unordered_map saves its children in key order", "[containers]") {
  std::unordered_map<std::string, std::int32_t> counts;
  for (int i = 0; i < 50; ++i) counts[std::to_string(i * 37 % 101)] = i;
  struct Holder {
    std::unordered_map<std::string, std::int32_t> counts;
  };
  const Holder holder{counts};
  const auto paths = leaf_paths(holder);
  REQUIRE(paths.size() == 50);
  CHECK(std::is_sorted(paths.begin(), paths.end()));
}

TEST_CASE("absent pointers: saved as nothing, loaded as null, created when the file has them",
          "[containers]") {
  struct Net {
    std::unique_ptr<DenseLayer> head;
    std::shared_ptr<DenseLayer> tail;
    std::vector<float> body;
  };
  scratch_dir dir("containers");
  const auto file = dir / "net.json";

  Net null_net;
  null_net.body = {1, 2, 3};
  ckpt::save(null_net, file);
  CHECK(stored_paths(file) == std::vector<std::string>{"body"});

  SECTION("a strict load of a file without them leaves them null, with no missing-key error") {
    Net loaded;
    ckpt::load(loaded, file);
    CHECK(!loaded.head);
    CHECK(!loaded.tail);
    CHECK(loaded.body == null_net.body);
  }
  SECTION("pointers the file lacks are reset, with or without allow_missing") {
    ckpt::load_options lenient;
    lenient.allow_missing = true;
    for (const auto& options : {ckpt::load_options{}, lenient}) {
      Net loaded;
      loaded.head = std::make_unique<DenseLayer>(make_dense(1, 1, 1));
      loaded.tail = std::make_shared<DenseLayer>(make_dense(1, 1, 2));
      ckpt::load(loaded, file, options);
      CHECK(!loaded.head);
      CHECK(!loaded.tail);
    }
  }
  SECTION("null pointers are created when the file has entries under them") {
    Net full;
    full.head = std::make_unique<DenseLayer>(make_dense(2, 2, 3));
    full.tail = std::make_shared<DenseLayer>(make_dense(1, 2, 4));
    full.body = {4};
    ckpt::save(full, file);
    Net loaded;
    ckpt::load(loaded, file);
    REQUIRE(loaded.head);
    REQUIRE(loaded.tail);
    CHECK(*loaded.head == *full.head);
    CHECK(*loaded.tail == *full.tail);
  }
  SECTION("a shared object is loaded in place, so its other owners see the values") {
    Net full;
    full.tail = std::make_shared<DenseLayer>(make_dense(1, 2, 5));
    ckpt::save(full, file);
    Net loaded;
    loaded.tail = std::make_shared<DenseLayer>();
    const std::shared_ptr<DenseLayer> other_owner = loaded.tail;
    ckpt::load(loaded, file);
    CHECK(loaded.tail == other_owner);
    CHECK(*other_owner == *full.tail);
  }
}

TEST_CASE("a pointer to a type without a default constructor is filled only when set",
          "[containers]") {
  struct Holder {
    std::unique_ptr<Sized> sized;
  };
  scratch_dir dir("containers");
  const auto file = dir / "sized.safetensors";
  Holder original;
  original.sized = std::make_unique<Sized>(3);
  original.sized->values = {1, 2, 3};
  ckpt::save(original, file);

  Holder null_holder;
  try {
    ckpt::load(null_holder, file);
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::unsupported);
    CHECK(e.key() == "sized");
    CHECK(e.file() == file.string());
  }
  Holder set_holder;
  set_holder.sized = std::make_unique<Sized>(0);
  ckpt::load(set_holder, file);
  CHECK(set_holder.sized->values == original.sized->values);
}

TEST_CASE("user containers adapted through container_traits round-trip", "[containers]") {
  const char* file_name = GENERATE("user.safetensors", "user.json");
  scratch_dir dir("containers");
  const auto file = dir / file_name;
  const User original = make_user();
  REQUIRE(original.recent.items().size() == 3);
  ckpt::save(original, file);

  const auto paths = stored_paths(file);
  CHECK(contains(paths, "blocks/decoder/kernel"));
  CHECK(contains(paths, "blocks/encoder/bias"));
  CHECK(contains(paths, "blocks/encoder-1/kernel"));
  CHECK(contains(paths, "recent/2/kernel"));
  CHECK(!contains(paths, "recent/3/kernel"));
  CHECK(contains(paths, "extra/bias"));
  for (const auto& p : paths) CHECK(!p.starts_with("missing_extra"));

  User loaded;
  loaded.missing_extra = {true, make_dense(1, 1, 99)};
  ckpt::load(loaded, file);
  CHECK(!loaded.missing_extra.present);
  loaded.missing_extra.value = {};
  CHECK(loaded == original);
}

TEST_CASE("a user container's rebuild error names the container's path", "[containers]") {
  struct Long {
    std::deque<DenseLayer> recent;
  };
  struct Short {
    test_user::bounded<DenseLayer, 3> recent;
  };
  scratch_dir dir("containers");
  const auto file = dir / "long.safetensors";
  Long many;
  for (int i = 0; i < 4; ++i) many.recent.push_back(make_dense(1, 1, float(i)));
  ckpt::save(many, file);
  Short few;
  try {
    ckpt::load(few, file);
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::shape_mismatch);
    CHECK(e.key() == "recent");
    CHECK(std::string(e.what()).find("at most 3") != std::string::npos);
  }
}

TEST_CASE("containers are checked before the first tensor is read", "[containers]") {
  struct Stored {
    std::deque<DenseLayer> stages;
    std::unordered_map<std::string, std::vector<double>> extras;
  };
  struct Wanted {
    std::deque<DenseLayer> stages;
    std::unordered_map<std::string, std::vector<float>> extras;
  };
  scratch_dir dir("containers");
  const auto file = dir / "model.safetensors";
  Stored stored{{make_dense(1, 1, 1)}, {{"scale", {2.0}}}};
  ckpt::save(stored, file);

  Wanted wanted;
  wanted.stages.push_back(make_dense(1, 1, 42));
  const DenseLayer before = wanted.stages[0];
  try {
    ckpt::load(wanted, file);
    FAIL("no error");
  } catch (const ckpt::error& e) {
    CHECK(e.code() == ckpt::errc::dtype_mismatch);
  }
  CHECK(wanted.stages[0] == before);  // not a byte of the file was read into it

  SECTION("a gap in a deque's indices is refused") {
    Stored gap{{make_dense(1, 1, 1), make_dense(1, 1, 2), make_dense(1, 1, 3)}, {}};
    ckpt::save(gap, file);
    ckpt::load_options skip_middle;
    skip_middle.rename_prefix = {{"stages/1", "unused"}};
    skip_middle.allow_unexpected = true;
    Wanted loaded;
    try {
      ckpt::load(loaded, file, skip_middle);
      FAIL("no error");
    } catch (const ckpt::error& e) {
      CHECK(e.code() == ckpt::errc::bad_format);
      CHECK(e.key() == "stages");
    }
  }
}

TEST_CASE("map keys become path components and must be usable as one", "[containers]") {
  struct Holder {
    std::unordered_map<std::string, std::vector<float>> weights;
  };
  scratch_dir dir("containers");
  Holder bad;
  bad.weights["a/b"] = {1};
  CHECK_THROWS_AS(ckpt::save(bad, dir / "bad.json"), ckpt::error);
  Holder empty_key;
  empty_key.weights[""] = {1};
  CHECK_THROWS_AS(ckpt::save(empty_key, dir / "bad.json"), ckpt::error);
}
