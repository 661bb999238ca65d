#pragma once
// The layer schema (docs/codegen.md, "The layer schema"): layer types' descriptions
// (io/layer_description.hpp) as one JSON document that tools outside C++ read. rnnx-codegen
// reads codegen/layers.json, which codegen/rnnx-layers.cpp writes for the layers rnnx ships,
// plus any schema a user writes for their own cells:
//
//   int main(int, char** argv) { rnnx::save_layer_schema<janet<1, 1>>(argv[1]); }
//
// The sizes a type is instantiated with do not matter: the schema holds formulas.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "rnnx/errors.hpp"
#include "rnnx/io/files.hpp"
#include "rnnx/io/layer_description.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

inline constexpr std::string_view layer_schema_format_name = "rnnx.layers";
inline constexpr int layer_schema_format_version = 1;

namespace detail {

inline nlohmann::ordered_json formula_json(const size_formula& f) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!f.attribute.empty()) j["attribute"] = f.attribute;
  j["factor"] = f.factor;
  return j;
}

inline std::string_view kind_name(attribute_rule::kind_type kind) {
  switch (kind) {
    case attribute_rule::kind_type::option:
      return "option";
    case attribute_rule::kind_type::fraction:
      return "fraction";
    case attribute_rule::kind_type::cell:
      return "cell";
    case attribute_rule::kind_type::size:
      break;
  }
  return "size";
}

/// One layer type's entry. A wrapper lists only what it adds to the cell it wraps.
inline nlohmann::ordered_json description_json(const layer_description& d) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["type"] = d.type;
  j["cpp_template"] = d.cpp_template;
  if (!d.header.empty()) j["header"] = d.header;
  if (!d.wrapped.empty()) {
    j["wraps"] = {{"key", d.wrapped_key},
                  {"reverse_suffix", d.reverse_suffix},
                  {"output_factor", d.output_factor}};
    return j;
  }
  if (d.is_cell) j["cell"] = true;
  if (!d.gate_names.empty()) j["gate_names"] = d.gate_names;
  nlohmann::ordered_json attributes = nlohmann::ordered_json::array();
  for (const attribute_rule& rule : d.attributes) {
    nlohmann::ordered_json a = {{"key", rule.key}, {"kind", kind_name(rule.kind)}};
    if (!rule.choices.empty()) a["choices"] = rule.choices;
    if (!rule.one_or.empty()) a["one_or"] = rule.one_or;
    attributes.push_back(std::move(a));
  }
  j["attributes"] = std::move(attributes);
  j["input"] = formula_json(d.input);
  j["output"] = formula_json(d.output);
  nlohmann::ordered_json parameters = nlohmann::ordered_json::array();
  for (const parameter_formula& p : d.parameters) {
    nlohmann::ordered_json shape = nlohmann::ordered_json::array();
    for (const size_formula& f : p.shape) shape.push_back(formula_json(f));
    parameters.push_back({{"name", p.name}, {"shape", std::move(shape)}});
  }
  j["parameters"] = std::move(parameters);
  return j;
}

}  // namespace detail

/// The schema of these descriptions, each type once (the first of equal ones; a wrapper's
/// cell is listed too). Two different descriptions of one type are a std::logic_error.
inline nlohmann::ordered_json layer_schema(const std::vector<layer_description>& descriptions) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  auto add = [&](const layer_description& d) {
    nlohmann::ordered_json entry = detail::description_json(d);
    for (const nlohmann::ordered_json& listed : layers) {
      if (listed["type"] != entry["type"]) continue;
      if (listed != entry)
        throw std::logic_error("rnnx::layer_schema: two different descriptions of layer type '" +
                               d.type + "'");
      return;
    }
    layers.push_back(std::move(entry));
  };
  for (const layer_description& d : descriptions) {
    add(d);
    for (const layer_description& cell : d.wrapped) add(cell);
  }
  return {{"format", layer_schema_format_name},
          {"version", layer_schema_format_version},
          {"layers", std::move(layers)}};
}

/// layer_schema of Layers, as the text save_layer_schema writes.
template <class... Layers>
std::string layer_schema_text() {
  return layer_schema({describe_layer<Layers>()...}).dump(2) + '\n';
}

/// Writes the schema of Layers to `path`, replacing the file atomically; on failure an
/// rnnx::weights_error names the path and why, and any previous file is unchanged.
template <class... Layers>
void save_layer_schema(const std::filesystem::path& path) {
  const std::string problem = detail::replace_file(path, layer_schema_text<Layers...>());
  if (!problem.empty()) throw weights_error(problem);
}

}  // namespace RNNX_NAMESPACE
