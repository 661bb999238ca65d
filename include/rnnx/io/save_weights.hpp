#pragma once
// rnnx::save_weights and weights_to_string: a model's weights in the format of
// docs/weights-format.md, each value written so that it reads back bit-identically, the file
// replaced only once the new one is whole (io/files.hpp). No JSON library: writing is text.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>

#include "rnnx/errors.hpp"
#include "rnnx/io/files.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"

namespace RNNX_NAMESPACE {

inline constexpr std::string_view weights_format_name = "rnnx.weights";
inline constexpr int weights_format_version = 1;

namespace detail {

template <class T>
constexpr std::string_view dtype_name() {
  return std::is_same_v<T, float> ? "float32" : "float64";
}

template <class T>
void append_number(std::string& out, T value) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);  // shortest exact form
  out.append(buf, result.ptr);
}

/// A weight file holds finite numbers only (JSON has no NaN or infinity): a model that holds
/// one (after a diverged training run) is refused rather than written as a file that no
/// loader reads.
[[noreturn]] inline void refuse_non_finite(std::size_t layer, std::string_view layer_name,
                                           std::string_view parameter, std::size_t row,
                                           std::size_t col, bool matrix, double value) {
  std::string at = "[" + std::to_string(row) + "]";
  if (matrix) at += "[" + std::to_string(col) + "]";
  throw weights_error(concat({"rnnx: cannot write the weights: layer ", std::to_string(layer), " (",
                              layer_name, ") ", parameter, at, " is ",
                              std::isnan(value) ? "nan"
                              : value > 0       ? "inf"
                                                : "-inf",
                              "; a weight file holds finite values only"}));
}

/// append_number for value (row, col) of a parameter, refusing a non-finite one.
template <class T>
void append_weight(std::string& out, T value, std::size_t layer, std::string_view layer_name,
                   std::string_view parameter, std::size_t row, std::size_t col, bool matrix) {
  if (!std::isfinite(value))
    refuse_non_finite(layer, layer_name, parameter, row, col, matrix, double(value));
  append_number(out, value);
}

/// `{"format": ..., "version": ..., "dtype": ..., "layers": [` as every rnnx file starts.
template <class T>
std::string document_start(std::string_view format_name, int format_version) {
  return "{\n  \"format\": \"" + std::string(format_name) +
         "\",\n  \"version\": " + std::to_string(format_version) + ",\n  \"dtype\": \"" +
         std::string(dtype_name<T>()) + "\",\n  \"layers\": [";
}

/// `"type": "lstm", "input_size": 1, "hidden_size": 32`: what describes a layer like L.
template <class L>
void append_layer_fields(std::string& out) {
  out += "\"type\": \"" + std::string(L::type_name) + "\"";
  L::visit_attributes([&](std::string_view key, auto value) {
    out += ", \"" + std::string(key) + "\": ";
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
      // piece by piece: chained + here trips g++ 12's false -Wrestrict (GCC PR 105329)
      out += '"';
      out += std::string_view(value);
      out += '"';
    } else {
      out += std::to_string(value);
    }
  });
}

/// Appends `"name": [...]` for one parameter: rows x cols values from at(r, c), or a vector
/// of `rows` values when cols == 0; `first` for a layer's first parameter. A non-finite value
/// is refused naming layer `layer` (`shown`), the parameter and the index.
template <class At>
void append_parameter(std::string& out, bool first, std::string_view name, std::size_t rows,
                      std::size_t cols, At&& at, std::size_t layer, std::string_view shown) {
  out += first ? "\n      \"" : ",\n      \"";
  out += name;
  out += "\": [";
  for (std::size_t r = 0; r < rows; ++r) {
    if (r > 0) out += ", ";
    if (cols == 0) {
      append_weight(out, at(r, 0), layer, shown, name, r, 0, false);
    } else {
      out += "[";
      for (std::size_t c = 0; c < cols; ++c) {
        if (c > 0) out += ", ";
        append_weight(out, at(r, c), layer, shown, name, r, c, true);
      }
      out += "]";
    }
  }
  out += "]";
}

}  // namespace detail

/// The model's weights as JSON text; every value reads back bit-identically. Throws
/// weights_error naming the layer and parameter if a value is not finite.
template <class Net>
std::string weights_to_string(const Net& model) {
  using T = typename Net::scalar;
  std::string out = detail::document_start<T>(weights_format_name, weights_format_version);
  model.for_each_layer([&](auto index, const auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    out += index == 0 ? "\n    {" : ",\n    {";
    detail::append_layer_fields<L>(out);
    out += ",\n     \"parameters\": {";
    const std::string shown = layer_name<L>();
    bool first_param = true;
    layer.visit_parameters([&](std::string_view name, const auto& p) {
      constexpr bool vector = std::remove_cvref_t<decltype(p)>::rank == 1;
      detail::append_parameter(
          out, first_param, name, p.rows, vector ? 0 : p.cols,
          [&](std::size_t r, std::size_t c) {
            if constexpr (vector)
              return p.at(r);
            else
              return p.at(r, c);
          },
          index, shown);
      first_param = false;
    });
    out += first_param ? "}}" : "\n     }}";
  });
  out += "\n  ]\n}\n";
  return out;
}

/// Writes the model's weights to a file, replacing it only once the whole new file is on
/// disk (detail::replace_file). Throws weights_error, and leaves any previous file as it was,
/// if a value is not finite (naming the layer and parameter) or the file cannot be written.
template <class Net>
void save_weights(const Net& model, const std::filesystem::path& path) {
  detail::write_document<weights_error>(path, weights_to_string(model), "rnnx::save_weights");
}

}  // namespace RNNX_NAMESPACE
