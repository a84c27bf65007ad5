// SPDX-License-Identifier: Apache-2.0
// ckpt inspect: what a checkpoint holds, as a table, the format's own listing, or JSON.

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "checkpoint_path.hpp"
#include "ckpt/api.hpp"
#include "format_choice.hpp"
#include "output.hpp"
#include "verbs.hpp"

namespace ckpt_tool {

namespace {

constexpr std::string_view inspect_options[] = {"--json", "--values", "--all-values", "--tensor",
                                                "--format"};

constexpr std::string_view inspect_usage =
    "usage: ckpt inspect PATH [--json] [--values | --all-values] [--tensor NAME] [--format NAME]\n"
    "\n"
    "Lists every entry of the checkpoint at PATH: its key as stored, dtype, shape, stored bytes\n"
    "and checksum status. A format with a listing of its own is listed that way, sorted by key\n"
    "(TensorFlow checkpoints as inspect_checkpoint lists them: \"key (DT_FLOAT) [2,3]\"). A\n"
    "directory holding a `checkpoint` state file stands for the latest checkpoint it names;\n"
    "which one is noted on stderr.\n"
    "\n"
    "  --json          one JSON document: format, checkpoint, entries\n"
    "  --values        print values too, nested by shape and spelled as the JSON format spells\n"
    "                  them: \"NaN\", \"Infinity\", \"-Infinity\", -0.0, and {\"base64\": "
    "\"...\"}\n"
    "                  for strings that are not UTF-8. Tensors of more than 1000 elements show\n"
    "                  the first and last 3 entries of each longer dimension around ... (in JSON,\n"
    "                  the string \"...\" and \"abbreviated\": true on the entry)\n"
    "  --all-values    print every value, however many\n"
    "  --tensor NAME   only the entry stored under NAME (its key or its path), with its values\n"
    "  --format NAME   read PATH as this format instead of telling it from the file\n"
    "  -h, --help      print this help\n";

struct shown_entry {
  const ckpt::entry* entry;
  ckpt::checksum_status checksum = ckpt::checksum_status::none;
  std::string values;  // spelled, when asked for
  bool abbreviated = false;
};

void append_json_entry(std::string& out, const shown_entry& s, bool values) {
  const ckpt::entry& e = *s.entry;
  out += "    {\n      \"key\": ";
  append_text(out, e.name);
  if (e.path != e.name) {
    out += ",\n      \"path\": ";
    append_text(out, e.path);
  }
  out += ",\n      \"dtype\": \"";
  out += ckpt::name(e.dtype);
  out += "\",\n      \"shape\": ";
  out += ckpt::to_string(e.shape);
  out += ",\n      \"bytes\": " + std::to_string(e.bytes);
  out += ",\n      \"checksum\": \"";
  out += ckpt::to_string(s.checksum);
  out += '"';
  if (values) {
    out += ",\n      \"values\": " + s.values;
    if (s.abbreviated) out += ",\n      \"abbreviated\": true";
  }
  out += "\n    }";
}

std::string json_document(const std::string& format, const std::string& checkpoint,
                          const std::vector<shown_entry>& shown, bool values) {
  std::string out = "{\n  \"format\": ";
  append_text(out, format);
  out += ",\n  \"checkpoint\": ";
  append_text(out, checkpoint);
  out += ",\n  \"entries\": [";
  for (std::size_t i = 0; i < shown.size(); ++i) {
    out += i ? ",\n" : "\n";
    append_json_entry(out, shown[i], values);
  }
  out += shown.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

// The format's own listing: one line per entry, or with values the key and then the values, as
// TensorFlow's inspect_checkpoint prints a tensor ("tensor_name:  key").
std::string own_listing(const std::function<std::string(const ckpt::entry&)>& line,
                        const std::vector<shown_entry>& shown, bool values) {
  std::string out;
  for (const auto& s : shown)
    out +=
        values ? "tensor_name:  " + s.entry->name + "\n" + s.values + "\n" : line(*s.entry) + "\n";
  return out;
}

// `text` padded with spaces to `width`, on the right or (for numbers) on the left.
std::string padded(std::string_view text, std::size_t width, bool align_right = false) {
  const std::string fill(width > text.size() ? width - text.size() : 0, ' ');
  return align_right ? fill + std::string(text) : std::string(text) + fill;
}

std::string table(const std::string& checkpoint, const std::string& format,
                  std::size_t total_entries, const std::vector<shown_entry>& shown, bool values) {
  std::size_t key_width = 3;
  for (const auto& s : shown) key_width = std::max(key_width, s.entry->name.size());
  const auto row = [&](std::string_view key, std::string_view dtype, const std::string& shape,
                       const std::string& bytes, std::string_view checksum) {
    return padded(key, key_width) + "  " + padded(dtype, 10) + "  " + padded(shape, 16) + "  " +
           padded(bytes, 12, true) + "  " + std::string(checksum) + "\n";
  };
  std::string out =
      checkpoint + ": " + format + ", " + std::to_string(total_entries) + " entries\n";
  out += row("key", "dtype", "shape", "bytes", "checksum");
  for (const auto& s : shown) {
    const ckpt::entry& e = *s.entry;
    out += row(e.name, ckpt::name(e.dtype), ckpt::to_string(e.shape), std::to_string(e.bytes),
               ckpt::to_string(s.checksum));
    if (values) out += "  " + s.values + "\n";
  }
  return out;
}

int inspect(const arguments& a) {
  if (a.positional.size() != 1) throw usage_error("inspect takes one PATH");
  const auto located = locate_checkpoint(a.positional[0]);
  const std::string checkpoint = located.path.string();
  ckpt::reader file(located.path,
                    {.format = format_to_read(located.path, a.format, "--format").name});
  const auto& entries = file.entries();
  const auto format = registered_format(file.format());
  const auto listing_line = format ? format->listing_line : nullptr;

  std::vector<shown_entry> shown;
  for (const auto& e : entries)
    if (a.tensor.empty() || e.name == a.tensor || e.path == a.tensor)
      shown.push_back({&e, ckpt::checksum_status::none, {}, false});
  if (!a.tensor.empty() && shown.empty())
    throw ckpt::error(ckpt::errc::missing_key, "no entry has this key or path", checkpoint,
                      a.tensor);
  // A format's own tools list keys in sorted order.
  if (listing_line)
    std::stable_sort(shown.begin(), shown.end(), [](const shown_entry& x, const shown_entry& y) {
      return x.entry->name < y.entry->name;
    });

  const value_style style{.json = a.json, .abbreviate = !a.all_values};
  ckpt::entry_buffer buffer;
  for (auto& s : shown) {
    s.checksum = file.verify(s.entry->name);
    if (!a.values) continue;
    const ckpt::tensor_view values = file.read_stored(s.entry->name, buffer);
    try {
      s.values = spell_values(values, style);
      s.abbreviated = is_abbreviated(values, style);
    } catch (ckpt::error& e) {
      e.with_key(s.entry->name).with_file(checkpoint);
      throw;
    }
  }

  // Printed only once everything was read, so a damaged entry leaves stdout empty.
  std::string out;
  if (a.json)
    out = json_document(file.format(), checkpoint, shown, a.values);
  else if (listing_line)
    out = own_listing(listing_line, shown, a.values);
  else
    out = table(checkpoint, file.format(), entries.size(), shown, a.values);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

const verb inspect_verb = {"inspect", "list a checkpoint's entries, optionally with values",
                           inspect_usage, inspect_options, inspect};

}  // namespace ckpt_tool
