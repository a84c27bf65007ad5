// ckpt: inspect and convert checkpoint files in any format ckpt reads.
//
//   ckpt inspect PATH [--json] [--values] [--format NAME]
//   ckpt convert IN OUT [--format NAME] [--from NAME]

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
    "usage: ckpt inspect PATH [--json] [--values] [--format NAME]\n"
    "       ckpt convert IN OUT [--format NAME] [--from NAME]\n"
    "\n"
    "inspect  lists every entry (key as stored, dtype, shape, bytes, checksum status)\n"
    "convert  copies every tensor into OUT; its format comes from OUT's extension or --format\n";

struct arguments {
  std::vector<std::string> positional;
  bool json = false, values = false;
  std::string format, from;
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

int inspect(const arguments& a) {
  if (a.positional.size() != 1) throw std::invalid_argument("inspect takes one PATH");
  ckpt::load_options options;
  options.format = a.format;
  ckpt::reader file(a.positional[0], options);
  auto& r = file.impl();
  const auto& entries = r.entries();

  nlohmann::ordered_json doc;
  doc["format"] = r.format();
  doc["entries"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    ckpt::checksum_status checksum;
    nlohmann::ordered_json values;
    try {
      checksum = r.verify(i);
      if (a.values) values = values_of(read_values(r, i).view);
    } catch (ckpt::error& err) {
      err.with_key(e.name).with_file(a.positional[0]);
      throw;
    }
    nlohmann::ordered_json item;
    item["key"] = e.name;
    item["dtype"] = std::string(ckpt::name(e.dtype));
    item["shape"] = e.shape;
    item["bytes"] = e.bytes;
    item["checksum"] = ckpt::to_string(checksum);
    if (a.values) item["values"] = values;
    doc["entries"].push_back(std::move(item));
  }
  if (a.json) {
    std::cout << dump(doc, 2) << '\n';
    return 0;
  }

  std::size_t key_width = 3;
  for (const auto& e : entries) key_width = std::max(key_width, e.name.size());
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
    if (a.values) std::printf("  %s\n", dump(item["values"]).c_str());
  }
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
