#pragma once
// What architecture a weight document (docs/weights-format.md) describes, read without loading
// it: whether it is a given model type's, and its layers as text for messages. A program that
// compiles several model types (realtime/model_set.hpp) picks the one a file is for with
// these, and names the file's architecture when none is.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rnnx/io/weights.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

/// Whether `document` is a weight document for a model whose layers are `layers` (in order)
/// and whose scalar is double or not: describes_architecture without the model type, so that
/// every model type of a program shares it. May throw std::bad_alloc only.
inline bool has_architecture(const nlohmann::json& document,
                             const std::vector<layer_signature>& layers, bool model_is_double) {
  if (!document.is_object()) return false;
  const nlohmann::json* const format = find_member(document, "format");
  const nlohmann::json* const version = find_member(document, "version");
  const nlohmann::json* const dtype = find_member(document, "dtype");
  const nlohmann::json* const list = find_member(document, "layers");
  if (format == nullptr || !is_string_equal(*format, weights_format_name) || version == nullptr ||
      !is_number_equal(*version, weights_format_version) || dtype == nullptr || list == nullptr ||
      !list->is_array() || list->size() != layers.size())
    return false;
  if (!is_string_equal(*dtype, "float32") &&
      !(is_string_equal(*dtype, "float64") && model_is_double))
    return false;
  const auto& file_layers = list->get_ref<const nlohmann::json::array_t&>();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const nlohmann::json& layer = file_layers[i];
    if (!layer.is_object()) return false;
    const nlohmann::json* const type = find_member(layer, "type");
    if (type == nullptr || !is_string_equal(*type, layers[i].type_name)) return false;
    for (const layer_attribute& expected : layers[i].attributes) {
      const nlohmann::json* const field = find_member(layer, expected.key);
      if (field == nullptr || (expected.is_text ? !is_string_equal(*field, expected.text)
                                                : !field->is_number_unsigned() ||
                                                      field->get<std::size_t>() != expected.number))
        return false;
    }
  }
  return true;
}

}  // namespace detail

/// Whether `document` holds weights for Net's architecture: a weight document (format and
/// version) with Net's number of layers, each of Net's type, sizes and options, in a dtype
/// that loads into Net's scalar (float32 into float or double, float64 into double only). The
/// parameters are not looked at, so a matching document can still fail to load
/// (load_weights_from_json then says why). Never throws: what it cannot read is no match.
template <class Net>
bool describes_architecture(const nlohmann::json& document) noexcept {
  try {
    std::vector<detail::layer_signature> layers;
    layers.reserve(Net::layer_count);
    kernels::unroll<Net::layer_count>([&](auto index) {
      layers.push_back(detail::layer_signature_of<typename Net::template layer_type<index>>());
    });
    return detail::has_architecture(document, layers, std::is_same_v<typename Net::scalar, double>);
  } catch (...) {  // nothing above throws but allocation
    return false;
  }
}

/// The layers a weight document describes, as rnnx::network::description() names a model's,
/// and its dtype: "lstm<1, 80> -> dense<80, 1, identity> (float32)". Layer fields appear in the
/// order layer_name() prints them; a field the format does not know follows as key=value, and
/// a layer that is not an object or has no string 'type' is shown as "?". For messages only:
/// it does not validate the document.
inline std::string document_architecture(const nlohmann::json& document) {
  // Every attribute field of the format, in the order the layers' visit_attributes lists them
  // (a layer has at most one of each row's sizes).
  static constexpr std::string_view field_order[] = {"cell",
                                                     "input_size",
                                                     "in_features",
                                                     "num_embeddings",
                                                     "normalized_shape",
                                                     "size",
                                                     "hidden_size",
                                                     "out_features",
                                                     "embedding_dim",
                                                     "nonlinearity",
                                                     "activation",
                                                     "function",
                                                     "p"};
  auto value_text = [](const nlohmann::json& v) {
    return v.is_string() ? detail::brief(v.get_ref<const std::string&>()) : detail::json_text(v);
  };
  if (!document.is_object()) return "?";
  const nlohmann::json* const layers = detail::find_member(document, "layers");
  if (layers == nullptr || !layers->is_array()) return "?";
  std::string text;
  for (const nlohmann::json& layer : layers->get_ref<const nlohmann::json::array_t&>()) {
    if (!text.empty()) text += " -> ";
    const nlohmann::json* const type =
        layer.is_object() ? detail::find_member(layer, "type") : nullptr;
    if (type == nullptr || !type->is_string()) {
      text += '?';
      continue;
    }
    std::string fields;
    auto append = [&](const std::string& piece) { fields += (fields.empty() ? "" : ", ") + piece; };
    for (std::string_view key : field_order)
      if (const nlohmann::json* const field = detail::find_member(layer, std::string(key)))
        append(value_text(*field));
    for (const auto& [key, value] : layer.get_ref<const nlohmann::json::object_t&>()) {
      if (key != "type" && key != "parameters" && key != "name" &&
          std::find(std::begin(field_order), std::end(field_order), key) == std::end(field_order))
        append(detail::brief(key) + '=' + value_text(value));
    }
    text += detail::brief(type->get_ref<const std::string&>()) + '<' + fields + '>';
  }
  const nlohmann::json* const dtype = detail::find_member(document, "dtype");
  return text + " (" + (dtype == nullptr ? std::string("no dtype") : value_text(*dtype)) + ")";
}

}  // namespace rnnx
