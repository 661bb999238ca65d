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

#include "rnnx/io/weights.hpp"
#include "rnnx/kernels/unroll.hpp"

namespace rnnx {

/// Whether `document` holds weights for Net's architecture: a weight document (format and
/// version) with Net's number of layers, each of Net's type, sizes and options, in a dtype
/// that loads into Net's scalar (float32 into float or double, float64 into double only). The
/// parameters are not looked at, so a matching document can still fail to load
/// (load_weights_from_json then says why). Never throws: what it cannot read is no match.
template <class Net>
bool describes_architecture(const nlohmann::json& document) noexcept {
  try {
    if (!document.is_object()) return false;
    const auto format = document.find("format");
    const auto version = document.find("version");
    const auto dtype = document.find("dtype");
    const auto layers = document.find("layers");
    if (format == document.end() || *format != weights_format_name || version == document.end() ||
        *version != weights_format_version || dtype == document.end() || layers == document.end() ||
        !layers->is_array() || layers->size() != Net::layer_count)
      return false;
    if (*dtype != "float32" &&
        !(*dtype == "float64" && std::is_same_v<typename Net::scalar, double>))
      return false;
    bool same = true;
    kernels::unroll<Net::layer_count>([&](auto index) {
      using L = typename Net::template layer_type<index>;
      const nlohmann::json& layer = (*layers)[index];
      if (!same || !layer.is_object()) {
        same = false;
        return;
      }
      const auto type = layer.find("type");
      same = type != layer.end() && *type == L::type_name;
      L::visit_attributes([&](std::string_view key, auto expected) {
        const auto field = layer.find(key);
        if (!same || field == layer.end()) {
          same = false;
        } else if constexpr (std::is_convertible_v<decltype(expected), std::string_view>) {
          same = field->is_string() &&
                 field->template get_ref<const std::string&>() == std::string_view(expected);
        } else {
          same = field->is_number_unsigned() && field->template get<std::size_t>() == expected;
        }
      });
    });
    return same;
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
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  if (!document.is_object()) return "?";
  const auto layers = document.find("layers");
  if (layers == document.end() || !layers->is_array()) return "?";
  std::string text;
  for (const nlohmann::json& layer : *layers) {
    if (!text.empty()) text += " -> ";
    const auto type = layer.is_object() ? layer.find("type") : layer.end();
    if (!layer.is_object() || type == layer.end() || !type->is_string()) {
      text += '?';
      continue;
    }
    std::string fields;
    auto append = [&](const std::string& piece) { fields += (fields.empty() ? "" : ", ") + piece; };
    for (std::string_view key : field_order)
      if (const auto field = layer.find(key); field != layer.end()) append(value_text(*field));
    for (const auto& item : layer.items()) {
      const std::string& key = item.key();
      if (key != "type" && key != "parameters" && key != "name" &&
          std::find(std::begin(field_order), std::end(field_order), key) == std::end(field_order))
        append(key + '=' + value_text(item.value()));
    }
    text += type->get<std::string>() + '<' + fields + '>';
  }
  const auto dtype = document.find("dtype");
  return text + " (" + (dtype == document.end() ? std::string("no dtype") : value_text(*dtype)) +
         ")";
}

}  // namespace rnnx
