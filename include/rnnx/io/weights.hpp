#pragma once
// Weights load and save in the JSON format of docs/weights-format.md, validated against the
// model type: every mismatch is an rnnx::weights_error naming the layer and the field, and a
// failed load leaves the model unchanged.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rnnx/errors.hpp"
#include "rnnx/io/json_document.hpp"
#include "rnnx/io/layer_signature.hpp"
#include "rnnx/io/load_weights.hpp"
#include "rnnx/io/reference_document.hpp"
#include "rnnx/io/save_weights.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

// Compile time (bench/compile_time.py): what a model type expects of a document is gathered
// into the plain values below, and ordinary inline functions (templated on the scalar at most)
// check documents against them. Every model type shares those functions, so a program
// compiles them, and the nlohmann::json code they use, once; per model type only the
// gathering and the final copy into its parameters remain.

/// Throws weights_error with the pieces' concatenation: one call per message keeps the
/// checks' code small.
[[noreturn]] inline void throw_weights_error(std::initializer_list<std::string_view> pieces) {
  throw weights_error(concat(pieces));
}

/// Checks that j describes a layer like `layer`: an object whose 'type' and attribute fields
/// (sizes, options) equal its own, with no fields beyond those and `other_fields`.
inline void check_layer_fields(const nlohmann::json& j, const std::string& where,
                               const layer_signature& layer,
                               std::initializer_list<std::string_view> other_fields) {
  if (!j.is_object()) throw_weights_error({where, ": must be an object, found ", json_kind(j)});
  const nlohmann::json* const type = find_member(j, "type");
  if (type == nullptr || !type->is_string())
    throw_weights_error({where, ": missing field 'type' (a string)"});
  if (!is_string_equal(*type, layer.type_name))
    throw_weights_error({where, ": type is '", brief(type->get_ref<const std::string&>()),
                         "', the model has ", layer.name});

  for (const layer_attribute& expected : layer.attributes) {
    const nlohmann::json* const field = find_member(j, expected.key);
    if (field == nullptr) throw_weights_error({where, ": field '", expected.key, "' is missing"});
    if (expected.is_text
            ? !is_string_equal(*field, expected.text)
            : !field->is_number_unsigned() || field->get<std::size_t>() != expected.number)
      throw_weights_error({where, ": field '", expected.key, "' is ", json_text(*field),
                           ", the model has ", layer.name, " (", expected.value_text(), ")"});
  }
  for (const auto& member : j.get_ref<const nlohmann::json::object_t&>()) {  // in key order
    const std::string& key = member.first;  // not a structured binding: clang 14 cannot capture it
    const auto is_key = [&](std::string_view known) { return known == key; };
    if (key != "type" && std::none_of(other_fields.begin(), other_fields.end(), is_key) &&
        std::none_of(layer.attributes.begin(), layer.attributes.end(),
                     [&](const layer_attribute& a) { return a.key == key; }))
      throw_weights_error({where, ": unknown field '", brief(key), "'"});
  }
}

/// Whether v is a number, finite in the file and as a T; if so, its value as a T is in `value`.
template <class T>
bool read_finite_value(const nlohmann::json& v, bool file_is_float32, T& value) {
  if (!v.is_number()) return false;
  const double d = v.get<double>();
  value = file_is_float32 ? T(static_cast<float>(d)) : static_cast<T>(d);
  return std::isfinite(d) && std::isfinite(value);
}

/// Why read_finite_value refused v (`what` names it in the message).
template <class T>
[[noreturn]] void throw_not_finite_value(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number()) throw_weights_error({what, " is ", json_kind(v), ", not a number"});
  throw_weights_error({what, " = ", json_text(v), " is not a finite ", dtype_name<T>(), " value"});
}

/// "[3]" or "[12 x 2]": a shape as messages print it.
inline std::string shape_text(const value_shape& shape) {
  return shape.cols == 0
             ? concat({"[", std::to_string(shape.rows), "]"})
             : concat({"[", std::to_string(shape.rows), " x ", std::to_string(shape.cols), "]"});
}

/// Appends the `count` values of `list` (a vector, or one row of a matrix) to `out`; a value
/// that is not a finite T is named `what`[index] in the message.
template <class T>
void read_value_list(const nlohmann::json& list, std::size_t count, const std::string& what,
                     bool file_is_float32, std::vector<T>& out) {
  const auto& values = list.get_ref<const nlohmann::json::array_t&>();
  for (std::size_t i = 0; i < count; ++i) {
    T value{};
    if (!read_finite_value(values[i], file_is_float32, value))
      throw_not_finite_value<T>(values[i], concat({what, "[", std::to_string(i), "]"}));
    out.push_back(value);
  }
}

/// Appends the values of parameter `shape` (`v`, as the file holds it) to `out`, row-major.
template <class T>
void read_parameter_values(const nlohmann::json& v, const std::string& what,
                           const value_shape& shape, bool file_is_float32, std::vector<T>& out) {
  if (!v.is_array() || v.size() != shape.rows)
    throw_weights_error({what, " must be a list of ",
                         shape.cols == 0 ? count_text(shape.rows, "number", "numbers")
                                         : count_text(shape.rows, "row", "rows"),
                         " (shape ", shape_text(shape), "), found ", found_text(v)});
  if (shape.cols == 0) {
    read_value_list(v, shape.rows, what, file_is_float32, out);
    return;
  }
  const auto& rows = v.get_ref<const nlohmann::json::array_t&>();
  for (std::size_t r = 0; r < shape.rows; ++r) {
    if (!rows[r].is_array() || rows[r].size() != shape.cols)
      throw_weights_error({what, " row ", std::to_string(r), " must hold ",
                           count_text(shape.cols, "number", "numbers"), " (shape ",
                           shape_text(shape), "), found ", found_text(rows[r])});
    read_value_list(rows[r], shape.cols, concat({what, "[", std::to_string(r), "]"}),
                    file_is_float32, out);
  }
}

/// Throws if `object` has a member none of `shapes` names: "<where>: unknown <noun> '<key>'
/// for <layer>" (noun: "parameter", "state").
inline void check_known_names(const nlohmann::json& object, const std::vector<value_shape>& shapes,
                              const std::string& where, std::string_view noun,
                              const layer_signature& layer) {
  for (const auto& member : object.get_ref<const nlohmann::json::object_t&>())
    if (std::none_of(shapes.begin(), shapes.end(),
                     [&](const value_shape& s) { return s.name == member.first; }))
      throw_weights_error(
          {where, ": unknown ", noun, " '", brief(member.first), "' for ", layer.name});
}

/// Appends the values of one validated layer's parameters to `out`, each row-major, in the
/// layer's order; `where` names the layer in messages.
template <class T>
void read_layer_parameters(const nlohmann::json& j, const std::string& where,
                           const layer_parameters& layer, bool file_is_float32,
                           std::vector<T>& out) {
  check_layer_fields(j, where, layer.signature, {"parameters", "name"});
  static const nlohmann::json no_parameters = nlohmann::json::object();
  const nlohmann::json* const found = find_member(j, "parameters");
  const nlohmann::json& params = found == nullptr ? no_parameters : *found;
  if (!params.is_object())
    throw_weights_error({where, ": 'parameters' must be an object, found ", json_kind(params)});
  for (const value_shape& shape : layer.parameters) {
    const std::string what = concat({where, ": parameter '", shape.name, "'"});
    const nlohmann::json* const v = find_member(params, shape.name);
    if (v == nullptr) throw_weights_error({what, " is missing"});
    read_parameter_values(*v, what, shape, file_is_float32, out);
  }
  check_known_names(params, layer.parameters, where, "parameter", layer.signature);
}

/// "<where>: layer 1 (dense<32, 1, identity>)": how messages name a layer of a document.
inline std::string layer_where(const std::string& where, std::size_t index,
                               const layer_signature& layer) {
  return concat({where, ": layer ", std::to_string(index), " (", layer.name, ")"});
}

/// The document's layer list and whether its values are float32, after checking the fields
/// every rnnx file starts with: format and version (a weight file's by default; state files'
/// in realtime/state.hpp), dtype (a float64 file does not fill a float model: it would be
/// rounded) and that 'layers' is a list.
inline std::pair<const nlohmann::json*, bool> read_document_header(const nlohmann::json& document,
                                                                   const std::string& where,
                                                                   bool model_is_float32,
                                                                   std::string_view format_name,
                                                                   int format_version) {
  if (!document.is_object()) throw_weights_error({where, ": the document must be a JSON object"});
  const nlohmann::json* const format = find_member(document, "format");
  if (format == nullptr || !is_string_equal(*format, format_name))
    throw_weights_error({where, ": field 'format' must be \"", format_name, "\", found ",
                         format == nullptr ? "none" : json_text(*format)});
  const nlohmann::json* const version = find_member(document, "version");
  if (version == nullptr || !is_number_equal(*version, format_version))
    throw_weights_error({where, ": field 'version' must be ", std::to_string(format_version),
                         ", found ", version == nullptr ? "none" : json_text(*version)});
  const nlohmann::json* const dtype = find_member(document, "dtype");
  const bool file_is_float32 = dtype != nullptr && is_string_equal(*dtype, "float32");
  if (!file_is_float32 && (dtype == nullptr || !is_string_equal(*dtype, "float64")))
    throw_weights_error({where, ": field 'dtype' must be \"float32\" or \"float64\", found ",
                         dtype == nullptr ? "none" : json_text(*dtype)});
  if (!file_is_float32 && model_is_float32)
    throw_weights_error({where,
                         ": the file holds float64 values and the model is float32; they would "
                         "be rounded. Export as float32 or use a double model"});
  const nlohmann::json* const layers = find_member(document, "layers");
  if (layers == nullptr || !layers->is_array())
    throw_weights_error({where, ": field 'layers' (a list) is missing"});
  return {layers, file_is_float32};
}

/// read_document_header for a model of scalar T.
template <class T>
std::pair<const nlohmann::json*, bool> read_header(
    const nlohmann::json& document, const std::string& where,
    std::string_view format_name = weights_format_name,
    int format_version = weights_format_version) {
  return read_document_header(document, where, std::is_same_v<T, float>, format_name,
                              format_version);
}

/// read_document_header, and that the document lists `layer_count` layers, as the model
/// (`model_description`, its network::description()) has.
inline std::pair<const nlohmann::json*, bool> read_network_header(
    const nlohmann::json& document, const std::string& where, bool model_is_float32,
    std::size_t layer_count, const std::string& model_description, std::string_view format_name,
    int format_version) {
  const auto header =
      read_document_header(document, where, model_is_float32, format_name, format_version);
  if (header.first->size() != layer_count)
    throw_weights_error({where, ": the file has ", std::to_string(header.first->size()),
                         " layers, the model ", model_description, " has ",
                         std::to_string(layer_count)});
  return header;
}

/// Every parameter value of a weight document for a model of scalar T whose layers are
/// `layers` (its description `model_description`), validated, in the model's order.
template <class T>
std::vector<T> read_weight_document(const nlohmann::json& document, const std::string& where,
                                    const std::vector<layer_parameters>& layers,
                                    const std::string& model_description) {
  const auto [list, file_is_float32] =
      read_network_header(document, where, std::is_same_v<T, float>, layers.size(),
                          model_description, weights_format_name, weights_format_version);
  const auto& file_layers = list->template get_ref<const nlohmann::json::array_t&>();
  std::vector<T> values;
  for (std::size_t i = 0; i < layers.size(); ++i)
    read_layer_parameters(file_layers[i], layer_where(where, i, layers[i].signature), layers[i],
                          file_is_float32, values);
  return values;
}

}  // namespace detail

}  // namespace RNNX_NAMESPACE

#include "rnnx/io/weight_reader.hpp"  // load_weights_from_json and the header-only reader
