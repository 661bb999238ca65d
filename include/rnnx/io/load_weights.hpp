#pragma once
// rnnx::load_weights and load_weights_from_string: a weight file (docs/weights-format.md) into a
// model, every mismatch an rnnx::weights_error naming the layer and field, the model unchanged
// on error.
//
// Header-only (the default), the JSON reader is compiled in every translation unit that loads
// weights: nlohmann::json and ~140 KiB of code. Linking the CMake target rnnx::io instead
// compiles the reader once, in its own library, and defines RNNX_COMPILED_IO: this header then
// includes no JSON code, and a translation unit that loads a model only gathers what the model
// expects (io/layer_signature.hpp) and copies the validated values in (bench/compile_time.py).

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rnnx/errors.hpp"
#include "rnnx/io/layer_signature.hpp"
#include "rnnx/isa.hpp"

namespace rnnx::io {

/// What the reader checks a weight document against (built by load_weights from the model).
struct weight_request {
  std::vector<layer_parameters> layers;  // the model's, in order
  std::string model_description;         // network::description()
  std::string source;                    // how messages name the document: its path, or "JSON"
  bool has_io_sizes = true;              // false: a model of two sequences (no "reference")
  std::size_t in_size = 0, out_size = 0;
  std::size_t max_file_bytes = 0;  // load_options::max_file_bytes, or 0
  std::size_t budget = 0;          // the limit when max_file_bytes is 0
};

// The compiled reader (rnnx::io, RNNX_COMPILED_IO): the parameter values of the weight file at
// `path` (or of JSON `text`), validated against `request`, in the model's order. They throw
// rnnx::weights_error.
void read_weight_file(const std::filesystem::path& path, const weight_request& request,
                      std::vector<float>& values);
void read_weight_file(const std::filesystem::path& path, const weight_request& request,
                      std::vector<double>& values);
void read_weight_text(std::string_view text, const weight_request& request,
                      std::vector<float>& values);
void read_weight_text(std::string_view text, const weight_request& request,
                      std::vector<double>& values);

}  // namespace rnnx::io

namespace RNNX_NAMESPACE {

/// How files are read. max_file_bytes: a larger file is refused before it is read or
/// parsed; 0 picks a few times the largest file the model's type can need (every value
/// written at full length), so a runaway or hostile file cannot exhaust memory.
struct load_options {
  std::size_t max_file_bytes = 0;
};

namespace detail {

/// A few times the longest text a weight file of Net can be: each value at most ~32 bytes
/// ("-1.2345678901234567e-308, "; the model's size in values bounds their number, padding
/// included), plus each layer's fields.
template <class Net>
constexpr std::size_t weight_file_budget() noexcept {
  return 4 * (32 * (sizeof(Net) / sizeof(typename Net::scalar)) + 1024 * Net::layer_count) + 65536;
}

inline std::size_t file_limit(const load_options& options, std::size_t budget) {
  return options.max_file_bytes != 0 ? options.max_file_bytes : budget;
}

/// What a weight document for `model` must hold; `source` names it in messages.
template <class Net>
io::weight_request weight_request_of(const Net& model, std::string source) {
  io::weight_request request;
  request.layers.reserve(Net::layer_count);
  model.for_each_layer(
      [&](auto, const auto& layer) { request.layers.push_back(layer_parameters_of(layer)); });
  request.model_description = Net::description();
  request.source = std::move(source);
  if constexpr (requires { Net::in_size + Net::out_size; }) {
    request.in_size = Net::in_size;
    request.out_size = Net::out_size;
  } else {
    request.has_io_sizes = false;
  }
  request.budget = weight_file_budget<Net>();
  return request;
}

/// Copies validated values (each parameter row-major, in visit order) into the model.
template <class Net, class T>
void assign_weights(Net& model, const std::vector<T>& values) {
  std::size_t next = 0;
  model.for_each_layer([&](auto, auto& layer) {
    layer.visit_parameters([&](std::string_view, auto& p) {
      if constexpr (std::remove_cvref_t<decltype(p)>::rank == 1) {
        for (std::size_t r = 0; r < p.rows; ++r) p.at(r) = values[next++];
      } else {
        for (std::size_t r = 0; r < p.rows; ++r)
          for (std::size_t c = 0; c < p.cols; ++c) p.at(r, c) = values[next++];
      }
    });
  });
}

// The reader the two functions below use: the compiled one, or the header-only one of
// io/weight_reader.hpp (parse_weight_file, parse_weight_text).
#if defined(RNNX_COMPILED_IO)
template <class T>
std::vector<T> weight_values_of_file(const std::filesystem::path& path,
                                     const io::weight_request& request) {
  std::vector<T> values;
  io::read_weight_file(path, request, values);
  return values;
}
template <class T>
std::vector<T> weight_values_of_text(std::string_view text, const io::weight_request& request) {
  std::vector<T> values;
  io::read_weight_text(text, request, values);
  return values;
}
#else
template <class T>
std::vector<T> parse_weight_file(const std::filesystem::path& path,
                                 const io::weight_request& request);
template <class T>
std::vector<T> parse_weight_text(std::string_view text, const io::weight_request& request);
template <class T>
std::vector<T> weight_values_of_file(const std::filesystem::path& path,
                                     const io::weight_request& request) {
  return parse_weight_file<T>(path, request);
}
template <class T>
std::vector<T> weight_values_of_text(std::string_view text, const io::weight_request& request) {
  return parse_weight_text<T>(text, request);
}
#endif

}  // namespace detail

/// Reads weights from a file in the format of docs/weights-format.md (options: see
/// load_options). Throws weights_error; on error the model is unchanged: the whole document
/// (with its "reference", if any: rnnx/io/reference.hpp) is validated before the first value
/// is written.
template <class Net>
void load_weights(Net& model, const std::filesystem::path& path, load_options options = {}) {
  io::weight_request request = detail::weight_request_of(model, path.string());
  request.max_file_bytes = options.max_file_bytes;
  detail::assign_weights(model, detail::weight_values_of_file<typename Net::scalar>(path, request));
}

/// Reads weights from JSON text.
template <class Net>
void load_weights_from_string(Net& model, std::string_view text) {
  detail::assign_weights(model, detail::weight_values_of_text<typename Net::scalar>(
                                    text, detail::weight_request_of(model, "JSON")));
}

}  // namespace RNNX_NAMESPACE

#if !defined(RNNX_COMPILED_IO)
#include "rnnx/io/weights.hpp"  // the header-only reader (io/weight_reader.hpp, through it)
#endif
