// SPDX-License-Identifier: Apache-2.0
// Quick start: define a model as plain structs, save it in every format ckpt has (HDF5 and the
// Keras layouts too when built with them), load each file back into a fresh model and check every
// tensor.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include <ckpt/ckpt.hpp>
#ifdef CKPT_EXAMPLE_WITH_HDF5
#include <ckpt/hdf5.hpp>  // HDF5 (.h5) and the Keras formats join the list (target ckpt::hdf5)
#endif

struct Dense {
  ckpt::tensor<float> kernel;  // N-D, row-major
  std::vector<float> bias;     // 1-D
};

struct Encoder {
  std::vector<Dense> layers;  // children "0", "1", ...
};

struct Model {
  Encoder encoder;
  Dense head;
  ckpt::tensor<ckpt::bfloat16> embedding;
  std::int64_t step = 0;  // a scalar is a rank-0 tensor
};

Dense make_dense(std::uint64_t in, std::uint64_t out, float seed) {
  Dense d{ckpt::tensor<float>({in, out}), std::vector<float>(out)};
  for (std::size_t i = 0; i < d.kernel.size(); ++i) d.kernel[i] = seed + 0.25f * float(i);
  for (std::size_t i = 0; i < out; ++i) d.bias[i] = -seed - float(i);
  return d;
}

// Keras files hold Keras' own structure rather than any struct: one member per layer, named as
// Keras names it, one field per weight (examples/keras_weights.cpp reads a real one).
struct KerasModel {
  Dense dense;
  Dense dense_1;
};

// Every leaf's dtype, shape and bytes by path, to compare two models tensor by tensor.
template <class M>
std::map<std::string, ckpt::tensor_view> leaves(const M& m) {
  std::map<std::string, ckpt::tensor_view> out;
  ckpt::for_each_leaf(m,
                      [&](const std::string& path, const ckpt::tensor_view& t) { out[path] = t; });
  return out;
}

bool same(const ckpt::tensor_view& a, const ckpt::tensor_view& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.bytes.size() == b.bytes.size() &&
         (a.bytes.empty() || std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) == 0);
}

// Saves `model` in `format` under `dir`, loads it into a fresh M, prints one line per tensor and
// returns how many did not come back identical.
template <class M>
int round_trip(const ckpt::format_info& format, const M& model, const std::filesystem::path& dir) {
  const auto format_dir = dir / format.name;
  const auto path = format_dir / format.file_name("model");  // "model.safetensors", "model", ...
  std::string error;
  M loaded;
  try {
    ckpt::save(model, path, {.format = format.name});
    ckpt::load(loaded, path);  // the format is detected
  } catch (const ckpt::error& e) {
    error = e.what();
  }
  std::uintmax_t bytes = 0;
  if (std::filesystem::exists(format_dir))
    for (const auto& f : std::filesystem::recursive_directory_iterator(format_dir))
      if (f.is_regular_file()) bytes += f.file_size();
  int failures = 0;
  const auto expected = leaves(model), got = leaves(loaded);
  for (const auto& [name, tensor] : expected) {
    const bool ok = error.empty() && got.count(name) && same(tensor, got.at(name));
    failures += !ok;
    std::printf("%-12s %-22s %8ju  %-24s %s\n", format.name.c_str(),
                path.filename().string().c_str(), bytes, name.c_str(), ok ? "OK" : "FAIL");
  }
  if (!error.empty()) std::printf("  error: %s\n", error.c_str());
  return failures;
}

int main() {
  Model model;
  model.encoder.layers = {make_dense(4, 8, 1.0f), make_dense(8, 8, 2.0f)};
  model.head = make_dense(8, 2, 3.0f);
  model.embedding = ckpt::tensor<ckpt::bfloat16>({3, 4});
  for (std::size_t i = 0; i < model.embedding.size(); ++i)
    model.embedding[i] = ckpt::bfloat16(0.5f * float(i));
  model.step = 1000;
  const KerasModel keras_model{make_dense(4, 8, 1.0f), make_dense(8, 2, 2.0f)};

  const auto dir = std::filesystem::temp_directory_path() / "ckpt_quickstart";
  std::filesystem::remove_all(dir);
  int failures = 0, formats = 0;
  std::printf("%-12s %-22s %8s  %-24s %s\n", "format", "file", "bytes", "tensor", "result");
  for (const auto& format : ckpt::registered_formats()) {
    if (!format.create) continue;
    ++formats;
    failures += format.capabilities.any_paths ? round_trip(format, model, dir)
                                              : round_trip(format, keras_model, dir);
  }
  std::filesystem::remove_all(dir);
  if (formats == 0) ++failures;
  std::printf("%d formats: %s\n", formats,
              failures ? "some tensors did not round-trip" : "every tensor round-tripped");
  return failures ? 1 : 0;
}
