// ckpt: inspect and convert checkpoint files in any format ckpt reads.
//
//   ckpt inspect PATH [--json] [--values] [--tensor NAME] [--format NAME]
//   ckpt convert IN OUT [--format NAME] [--from NAME]
//   ckpt verify PATH [--format NAME]

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/ckpt.hpp"
#include "ckpt/hdf5.hpp"

namespace {

constexpr const char* usage =
    "usage: ckpt inspect PATH [--json] [--values] [--tensor NAME] [--format NAME]\n"
    "       ckpt convert IN OUT [--format NAME] [--from NAME]\n"
    "       ckpt verify PATH [--format NAME]\n"
    "\n"
    "inspect  lists every entry (key as stored, dtype, shape, bytes, checksum status);\n"
    "         TensorFlow checkpoints are listed as inspect_checkpoint lists them;\n"
    "         --tensor NAME prints one entry with its values\n"
    "convert  copies every tensor into OUT; its format comes from OUT's extension or --format;\n"
    "         a TensorFlow checkpoint written to a prefix with no --format keeps its layout\n"
    "verify   reads every entry and checks every checksum the format has; exits 1 naming the\n"
    "         first bad one\n";

struct arguments {
  std::vector<std::string> positional;
  bool json = false, values = false;
  std::string format, from, tensor;
};

arguments parse(int argc, char** argv) {
  arguments a;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--json")
      a.json = true;
    else if (arg == "--values")
      a.values = true;
    else if (arg == "--format")
      a.format = value();
    else if (arg == "--from")
      a.from = value();
    else if (arg == "--tensor")
      a.tensor = value();
    else if (arg.starts_with("--"))
      throw std::invalid_argument("unknown option " + arg);
    else
      a.positional.push_back(arg);
  }
  return a;
}

// Values of one tensor as a flat JSON array, in row-major order.
nlohmann::ordered_json values_of(const ckpt::tensor_view& t) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  if (t.dtype == ckpt::dtype::string) {
    for (const auto& s : t.strings) out.push_back(s);
    return out;
  }
  auto each = [&](auto sample, auto&& fn) {
    using T = decltype(sample);
    for (const T& v : t.as<T>()) out.push_back(fn(v));
  };
  auto same = [](auto v) { return v; };
  auto as_float = [](auto v) { return static_cast<float>(v); };
  auto complex = [](auto v) { return nlohmann::ordered_json::array({v.real(), v.imag()}); };
  switch (t.dtype) {
    case ckpt::dtype::float32:
      each(float{}, same);
      break;
    case ckpt::dtype::float64:
      each(double{}, same);
      break;
    case ckpt::dtype::float16:
      each(ckpt::float16{}, as_float);
      break;
    case ckpt::dtype::bfloat16:
      each(ckpt::bfloat16{}, as_float);
      break;
    case ckpt::dtype::int8:
    case ckpt::dtype::qint8:
      each(std::int8_t{}, same);
      break;
    case ckpt::dtype::int16:
    case ckpt::dtype::qint16:
      each(std::int16_t{}, same);
      break;
    case ckpt::dtype::int32:
    case ckpt::dtype::qint32:
      each(std::int32_t{}, same);
      break;
    case ckpt::dtype::int64:
      each(std::int64_t{}, same);
      break;
    case ckpt::dtype::uint16:
    case ckpt::dtype::quint16:
      each(std::uint16_t{}, same);
      break;
    case ckpt::dtype::uint32:
      each(std::uint32_t{}, same);
      break;
    case ckpt::dtype::uint64:
      each(std::uint64_t{}, same);
      break;
    case ckpt::dtype::bool_:
      each(bool{}, same);
      break;
    case ckpt::dtype::complex64:
      each(std::complex<float>{}, complex);
      break;
    case ckpt::dtype::complex128:
      each(std::complex<double>{}, complex);
      break;
    default:
      each(std::uint8_t{}, same);
      break;  // uint8, quint8 and the raw 1-byte types
  }
  return out;
}

// Bytes that are not UTF-8 are shown as U+FFFD rather than failing the whole listing.
std::string dump(const nlohmann::ordered_json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct loaded_values {
  std::vector<std::byte> bytes;
  std::vector<std::string> strings;
  ckpt::tensor_view view;
};

loaded_values read_values(ckpt::format_reader& r, std::size_t i) {
  const auto& e = r.entries()[i];
  loaded_values v;
  if (auto view = r.view(i)) {
    v.view = *view;
    return v;
  }
  ckpt::mutable_tensor_view out{e.dtype, e.shape, {}, {}};
  if (e.dtype == ckpt::dtype::string) {
    v.strings.resize(static_cast<std::size_t>(ckpt::num_elements(e.shape)));
    out.strings = v.strings;
  } else {
    v.bytes.resize(static_cast<std::size_t>(e.bytes));
    out.bytes = v.bytes;
  }
  r.read(i, out);
  v.view = out;
  return v;
}

// A flat row-major list shaped as nested lists, as numpy prints an array.
nlohmann::ordered_json nested(const nlohmann::ordered_json& flat, const ckpt::shape& shape,
                              std::size_t dim = 0, std::size_t offset = 0) {
  if (dim == shape.size()) return flat.at(offset);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  std::size_t stride = 1;
  for (std::size_t d = dim + 1; d < shape.size(); ++d) stride *= static_cast<std::size_t>(shape[d]);
  for (std::size_t i = 0; i < shape[dim]; ++i)
    out.push_back(nested(flat, shape, dim + 1, offset + i * stride));
  return out;
}

bool is_tensorflow(const ckpt::format_reader& r) {
  return r.format() == "tf" || r.format() == "tf1";
}

int inspect(const arguments& a) {
  if (a.positional.size() != 1) throw std::invalid_argument("inspect takes one PATH");
  ckpt::load_options options;
  options.format = a.format;
  ckpt::reader file(a.positional[0], options);
  auto& r = file.impl();
  const auto& entries = r.entries();
  const bool values = a.values || !a.tensor.empty();

  std::vector<std::size_t> shown;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (a.tensor.empty() || entries[i].name == a.tensor || entries[i].path == a.tensor)
      shown.push_back(i);
  if (!a.tensor.empty() && shown.empty())
    throw ckpt::error(ckpt::errc::missing_key, "no entry has this key or path", a.positional[0],
                      a.tensor);
  // TensorFlow's tools list keys in sorted order.
  if (is_tensorflow(r))
    std::sort(shown.begin(), shown.end(),
              [&](std::size_t x, std::size_t y) { return entries[x].name < entries[y].name; });

  nlohmann::ordered_json doc;
  doc["format"] = r.format();
  doc["entries"] = nlohmann::ordered_json::array();
  for (const std::size_t i : shown) {
    const auto& e = entries[i];
    ckpt::checksum_status checksum;
    nlohmann::ordered_json flat;
    try {
      checksum = r.verify(i);
      if (values) flat = values_of(read_values(r, i).view);
    } catch (ckpt::error& err) {
      err.with_key(e.name).with_file(a.positional[0]);
      throw;
    }
    nlohmann::ordered_json item;
    item["key"] = e.name;
    if (e.path != e.name) item["path"] = e.path;
    item["dtype"] = std::string(ckpt::name(e.dtype));
    item["shape"] = e.shape;
    item["bytes"] = e.bytes;
    item["checksum"] = ckpt::to_string(checksum);
    if (values) item["values"] = flat;
    doc["entries"].push_back(std::move(item));
  }
  if (a.json) {
    std::cout << dump(doc, 2) << '\n';
    return 0;
  }

  if (is_tensorflow(r)) {
    // As inspect_checkpoint prints: "key (DT_FLOAT) [2,3]" per tensor, or with values
    // "tensor_name:  key" followed by the value.
    for (std::size_t n = 0; n < shown.size(); ++n) {
      const auto& e = entries[shown[n]];
      const auto& item = doc["entries"][n];
      if (values) {
        std::printf("tensor_name:  %s\n%s\n", e.name.c_str(),
                    dump(nested(item["values"], e.shape)).c_str());
      } else {
        std::string shape = "[";
        for (std::size_t d = 0; d < e.shape.size(); ++d) {
          if (d) shape += ',';
          shape += std::to_string(e.shape[d]);
        }
        std::printf("%s (%s) %s]\n", e.name.c_str(),
                    ckpt::tf_checkpoint::dtype_name(e.dtype).c_str(), shape.c_str());
      }
    }
    return 0;
  }

  std::size_t key_width = 3;
  for (const std::size_t i : shown) key_width = std::max(key_width, entries[i].name.size());
  std::printf("%s: %s, %zu entries\n", a.positional[0].c_str(), r.format().c_str(), entries.size());
  std::printf("%-*s  %-10s  %-16s  %12s  %s\n", int(key_width), "key", "dtype", "shape", "bytes",
              "checksum");
  for (const auto& item : doc["entries"]) {
    std::vector<std::uint64_t> shape = item["shape"];
    std::printf("%-*s  %-10s  %-16s  %12llu  %s\n", int(key_width),
                item["key"].get<std::string>().c_str(), item["dtype"].get<std::string>().c_str(),
                ckpt::to_string(shape).c_str(),
                static_cast<unsigned long long>(item["bytes"].get<std::uint64_t>()),
                item["checksum"].get<std::string>().c_str());
    if (values) std::printf("  %s\n", dump(item["values"]).c_str());
  }
  return 0;
}

// Reads every entry (which checks its structure) and every checksum the format keeps.
int verify(const arguments& a) {
  if (a.positional.size() != 1) throw std::invalid_argument("verify takes one PATH");
  ckpt::load_options options;
  options.format = a.format;
  options.verify_checksums = true;
  ckpt::reader file(a.positional[0], options);
  auto& r = file.impl();
  std::size_t checked = 0;
  for (std::size_t i = 0; i < r.entries().size(); ++i) {
    const auto& e = r.entries()[i];
    try {
      const auto status = r.verify(i);
      if (status == ckpt::checksum_status::mismatch)
        throw ckpt::error(ckpt::errc::checksum_mismatch, "checksum mismatch", a.positional[0],
                          e.name);
      checked += status == ckpt::checksum_status::ok;
      read_values(r, i);
    } catch (ckpt::error& err) {
      err.with_key(e.name).with_file(a.positional[0]);
      throw;
    }
  }
  std::printf("%s: OK (%s, %zu entries, %zu checksums verified)\n", a.positional[0].c_str(),
              r.format().c_str(), r.entries().size(), checked);
  return 0;
}

int convert(const arguments& a) {
  if (a.positional.size() != 2) throw std::invalid_argument("convert takes IN and OUT");
  ckpt::load_options load;
  load.format = a.from;
  auto in = ckpt::open_reader(a.positional[0], load);
  ckpt::save_options save;
  save.format = a.format;
  save.metadata = in->metadata();
  const auto format = ckpt::format_for_save(a.positional[1], a.format);
  try {
    if (is_tensorflow(*in) && a.format.empty() && format.name == "tf") {
      // Entry for entry, object graph and shards included: what TensorFlow wrote comes out
      // byte for byte.
      namespace tf = ckpt::tf_checkpoint;
      tf::copy_bundle(tf::resolve_prefix(a.positional[0]), tf::prefix_for_write(a.positional[1]));
      std::printf("%s (%s) -> %s (%s, layout kept): %zu tensors\n", a.positional[0].c_str(),
                  in->format().c_str(), a.positional[1].c_str(), in->format().c_str(),
                  in->entries().size());
      return 0;
    }
    ckpt::copy_tensors(*in, *format.create(a.positional[1], save));
  } catch (ckpt::error& e) {
    e.with_file(a.positional[1]);
    throw;
  }
  std::printf("%s (%s) -> %s (%s): %zu tensors\n", a.positional[0].c_str(), in->format().c_str(),
              a.positional[1].c_str(), format.name.c_str(), in->entries().size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    const arguments a = parse(argc, argv);
    if (command == "inspect") return inspect(a);
    if (command == "convert") return convert(a);
    if (command == "verify") return verify(a);
    std::fprintf(stderr, "ckpt: unknown command '%s'\n%s", command.c_str(), usage);
    return 2;
  } catch (const ckpt::error& e) {
    std::fprintf(stderr, "ckpt: %s\n", e.what());
    return 1;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "ckpt: %s\n%s", e.what(), usage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckpt: %s\n", e.what());
    return 1;
  }
}
