#pragma once
// Weights load and save in the JSON format of docs/weights-format.md, validated against the
// model type: every mismatch is an rnnx::weights_error naming the layer and the field, and a
// failed load leaves the model unchanged.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "rnnx/io/json_document.hpp"
#include "rnnx/layers/layer.hpp"

namespace rnnx {

struct weights_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr std::string_view weights_format_name = "rnnx.weights";
inline constexpr int weights_format_version = 1;

namespace detail {

template <class T>
constexpr std::string_view dtype_name() {
  return std::is_same_v<T, float> ? "float32" : "float64";
}

inline std::string json_kind(const nlohmann::json& j) {
  return j.is_string()    ? "a string"
         : j.is_null()    ? "null"
         : j.is_boolean() ? "a boolean"
         : j.is_array()   ? "an array"
         : j.is_object()  ? "an object"
                          : "a number";
}

/// Checks that j describes a layer like L: an object whose 'type' and attribute fields (sizes,
/// options) equal L's, with no fields beyond those and `other_fields`.
template <class L>
void check_layer_fields(const nlohmann::json& j, const std::string& where,
                        std::set<std::string> other_fields) {
  if (!j.is_object()) throw weights_error(where + ": must be an object, found " + json_kind(j));
  const auto type = j.find("type");
  if (type == j.end() || !type->is_string())
    throw weights_error(where + ": missing field 'type' (a string)");
  if (type->get<std::string>() != L::type_name)
    throw weights_error(where + ": type is '" + type->get<std::string>() + "', the model has " +
                        layer_name<L>());

  std::set<std::string>& known = other_fields;
  known.emplace("type");
  L::visit_attributes([&](std::string_view key, auto expected) {
    known.emplace(key);
    const auto field = j.find(std::string(key));
    const std::string what = where + ": field '" + std::string(key) + "'";
    if (field == j.end()) throw weights_error(what + " is missing");
    if constexpr (std::is_convertible_v<decltype(expected), std::string_view>) {
      if (!field->is_string() || field->get<std::string>() != std::string_view(expected))
        throw weights_error(what + " is " + field->dump() + ", the model has " + layer_name<L>() +
                            " (" + std::string(expected) + ")");
    } else {
      if (!field->is_number_unsigned() || field->get<std::size_t>() != expected)
        throw weights_error(what + " is " + field->dump() + ", the model has " + layer_name<L>() +
                            " (" + std::to_string(expected) + ")");
    }
  });
  for (const auto& item : j.items())
    if (!known.count(item.key()))
      throw weights_error(where + ": unknown field '" + item.key() + "'");
}

/// One value of a file: a number, finite in the file and as a T (`what` names it in messages).
template <class T>
T read_finite_value(const nlohmann::json& v, const std::string& what, bool file_is_float32) {
  if (!v.is_number()) throw weights_error(what + " is " + json_kind(v) + ", not a number");
  const double d = v.get<double>();
  const T value = file_is_float32 ? T(static_cast<float>(d)) : static_cast<T>(d);
  if (!std::isfinite(d) || !std::isfinite(value))
    throw weights_error(what + " = " + v.dump() + " is not a finite " +
                        std::string(dtype_name<T>()) + " value");
  return value;
}

/// Reads one validated layer into `layer`; `where` names the layer in messages.
template <class L>
void read_layer(L& layer, const nlohmann::json& j, const std::string& where, bool file_is_float32) {
  using T = typename L::scalar;
  check_layer_fields<L>(j, where, {"parameters", "name"});

  static const nlohmann::json no_parameters = nlohmann::json::object();
  const auto params_it = j.find("parameters");
  const nlohmann::json& params = params_it == j.end() ? no_parameters : *params_it;
  if (!params.is_object())
    throw weights_error(where + ": 'parameters' must be an object, found " + json_kind(params));

  std::set<std::string> expected_names;
  auto read_value = [&](const nlohmann::json& v, const std::string& what) -> T {
    return read_finite_value<T>(v, what, file_is_float32);
  };
  layer.visit_parameters([&](std::string_view name_view, auto& p) {
    const std::string name(name_view);
    expected_names.insert(name);
    const std::string what = where + ": parameter '" + name + "'";
    const auto it = params.find(name);
    if (it == params.end()) throw weights_error(what + " is missing");
    const nlohmann::json& v = *it;
    std::string shape(1, '[');
    shape += std::to_string(p.rows);
    if (p.rank == 2) shape += " x " + std::to_string(p.cols);
    shape += ']';
    if (!v.is_array() || v.size() != p.rows)
      throw weights_error(what + " must be " + (p.rank == 1 ? "a list of " : "a list of ") +
                          std::to_string(p.rows) + (p.rank == 1 ? " numbers" : " rows") +
                          " (shape " + shape + "), found " +
                          (v.is_array() ? std::to_string(v.size()) + " entries" : json_kind(v)));
    for (std::size_t r = 0; r < p.rows; ++r) {
      if constexpr (std::remove_cvref_t<decltype(p)>::rank == 1) {
        p.at(r) = read_value(v[r], what + "[" + std::to_string(r) + "]");
      } else {
        const nlohmann::json& row = v[r];
        if (!row.is_array() || row.size() != p.cols)
          throw weights_error(
              what + " row " + std::to_string(r) + " must hold " + std::to_string(p.cols) +
              " numbers (shape " + shape + "), found " +
              (row.is_array() ? std::to_string(row.size()) + " entries" : json_kind(row)));
        for (std::size_t c = 0; c < p.cols; ++c)
          p.at(r, c) =
              read_value(row[c], what + "[" + std::to_string(r) + "][" + std::to_string(c) + "]");
      }
    }
  });
  for (const auto& item : params.items())
    if (!expected_names.count(item.key()))
      throw weights_error(where + ": unknown parameter '" + item.key() + "' for " +
                          layer_name<L>());
}

template <class T>
void append_number(std::string& out, T value) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);  // shortest exact form
  out.append(buf, result.ptr);
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

/// The document's layer list and whether its values are float32, after checking the fields
/// every rnnx file starts with: format and version (a weight file's by default; state files'
/// in realtime/state.hpp), dtype (a float64 file does not fill a float model: it would be
/// rounded) and that 'layers' is a list.
template <class T>
std::pair<const nlohmann::json*, bool> read_header(
    const nlohmann::json& document, const std::string& where,
    std::string_view format_name = weights_format_name,
    int format_version = weights_format_version) {
  if (!document.is_object()) throw weights_error(where + ": the document must be a JSON object");
  const auto format = document.find("format");
  if (format == document.end() || *format != format_name)
    throw weights_error(where + ": field 'format' must be \"" + std::string(format_name) + "\"");
  const auto version = document.find("version");
  if (version == document.end() || *version != format_version)
    throw weights_error(where + ": field 'version' must be " + std::to_string(format_version) +
                        ", found " +
                        (version == document.end() ? std::string("none") : version->dump()));
  const auto dtype = document.find("dtype");
  if (dtype == document.end() || (*dtype != "float32" && *dtype != "float64"))
    throw weights_error(where + ": field 'dtype' must be \"float32\" or \"float64\"");
  const bool file_is_float32 = *dtype == "float32";
  if (!file_is_float32 && std::is_same_v<T, float>)
    throw weights_error(where +
                        ": the file holds float64 values and the model is float32; they would be "
                        "rounded. Export as float32 or use a double model");
  const auto layers = document.find("layers");
  if (layers == document.end() || !layers->is_array())
    throw weights_error(where + ": field 'layers' (a list) is missing");
  return {&*layers, file_is_float32};
}

/// read_header, and that the document lists as many layers as Net has.
template <class Net>
std::pair<const nlohmann::json*, bool> read_network_header(
    const nlohmann::json& document, const std::string& where,
    std::string_view format_name = weights_format_name,
    int format_version = weights_format_version) {
  const auto header =
      read_header<typename Net::scalar>(document, where, format_name, format_version);
  if (header.first->size() != Net::layer_count)
    throw weights_error(where + ": the file has " + std::to_string(header.first->size()) +
                        " layers, the model " + Net::description() + " has " +
                        std::to_string(Net::layer_count));
  return header;
}

}  // namespace detail

/// Replaces the model's parameters with those in `document` (already parsed JSON).
/// Throws weights_error; on error the model is unchanged.
template <class Net>
void load_weights_from_json(Net& model, const nlohmann::json& document,
                            const std::string& source = "JSON") {
  const std::string where = "rnnx::load_weights(" + source + ")";
  // Plain variables, not a structured binding: clang 14 cannot capture those in lambdas.
  const auto header = detail::read_network_header<Net>(document, where);
  const nlohmann::json* const layers = header.first;
  const bool file_is_float32 = header.second;

  auto staged = std::make_unique<Net>(model);
  staged->for_each_layer([&](auto index, auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    detail::read_layer(layer, (*layers)[index],
                       where + ": layer " + std::to_string(index) + " (" + layer_name<L>() + ")",
                       file_is_float32);
  });
  model = *staged;
}

/// Reads weights from a file in the format of docs/weights-format.md.
template <class Net>
void load_weights(Net& model, const std::filesystem::path& path) {
  load_weights_from_json(model, detail::read_json_file<weights_error>(path, "rnnx::load_weights"),
                         path.string());
}

/// Reads weights from JSON text.
template <class Net>
void load_weights_from_string(Net& model, std::string_view text) {
  load_weights_from_json(model, detail::parse_json_text<weights_error>(text, "rnnx::load_weights"));
}

/// The model's weights as JSON text; every value reads back bit-identically.
template <class Net>
std::string weights_to_string(const Net& model) {
  using T = typename Net::scalar;
  std::string out = detail::document_start<T>(weights_format_name, weights_format_version);
  model.for_each_layer([&](auto index, const auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    out += index == 0 ? "\n    {" : ",\n    {";
    detail::append_layer_fields<L>(out);
    out += ",\n     \"parameters\": {";
    bool first_param = true;
    layer.visit_parameters([&](std::string_view name, const auto& p) {
      out += first_param ? "\n      \"" : ",\n      \"";
      first_param = false;
      out += std::string(name) + "\": [";
      for (std::size_t r = 0; r < p.rows; ++r) {
        if (r > 0) out += ", ";
        if constexpr (std::remove_cvref_t<decltype(p)>::rank == 1) {
          detail::append_number(out, p.at(r));
        } else {
          out += "[";
          for (std::size_t c = 0; c < p.cols; ++c) {
            if (c > 0) out += ", ";
            detail::append_number(out, p.at(r, c));
          }
          out += "]";
        }
      }
      out += "]";
    });
    out += first_param ? "}}" : "\n     }}";
  });
  out += "\n  ]\n}\n";
  return out;
}

/// Writes the model's weights to a file; throws weights_error if the file cannot be written.
template <class Net>
void save_weights(const Net& model, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw weights_error("rnnx::save_weights: cannot open '" + path.string() + "'");
  out << weights_to_string(model);
  if (!out.flush())
    throw weights_error("rnnx::save_weights: writing '" + path.string() + "' failed");
}

}  // namespace rnnx
