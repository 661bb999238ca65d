#pragma once
// rnnx::dynamic models from the weight format of docs/weights-format.md, with the architecture
// read from the file, and from typed models:
//   load_network<T = float>(path), network_from_string<T>(text), network_from_json<T>(json)
//   save_weights(model, path), weights_to_string(model)   byte-identical to the typed writer's
//   from_typed(typed_model)                                  through visit_attributes/parameters
// Every malformed document is an rnnx::weights_error naming the layer and field. Sizes and
// shapes are checked against the document before anything is allocated.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "rnnx/dynamic/network.hpp"
#include "rnnx/io/layer_description.hpp"
#include "rnnx/io/weights.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/layers/dense.hpp"

namespace RNNX_NAMESPACE::dynamic {

namespace detail {

/// The largest size a weight file may declare for one layer dimension.
inline constexpr std::size_t max_size = std::size_t(1) << 20;

/// The size fields and options of one layer, as read from a JSON layer object.
class json_fields {
 public:
  json_fields(const nlohmann::json& j, const std::string& where) : j_(j), where_(where) {}

  std::size_t size(std::string_view key) const {
    const nlohmann::json& v = field(key);
    if (!v.is_number_unsigned() || v.get<std::size_t>() == 0 || v.get<std::size_t>() > max_size)
      throw weights_error(where_ + ": field '" + std::string(key) + "' must be an integer in [1, " +
                          std::to_string(max_size) + "], found " + rnnx::detail::json_text(v));
    return v.get<std::size_t>();
  }
  std::string text(std::string_view key) const {
    const nlohmann::json& v = field(key);
    if (!v.is_string())
      throw weights_error(where_ + ": field '" + std::string(key) + "' must be a string, found " +
                          rnnx::detail::json_kind(v));
    return v.get<std::string>();
  }
  const std::set<std::string>& read() const noexcept { return read_; }

 private:
  const nlohmann::json& field(std::string_view key) const {
    read_.emplace(key);
    const auto it = j_.find(std::string(key));
    if (it == j_.end())
      throw weights_error(where_ + ": field '" + std::string(key) + "' is missing");
    return *it;
  }

  const nlohmann::json& j_;
  const std::string& where_;
  mutable std::set<std::string> read_;
};

/// The same, collected from a typed layer's visit_attributes.
class attribute_fields {
 public:
  template <class L>
  static attribute_fields of() {
    attribute_fields a;
    L::visit_attributes([&](std::string_view key, auto value) {
      if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
        a.values_.emplace_back(std::string(key), std::string(std::string_view(value)));
      } else {
        a.values_.emplace_back(std::string(key), static_cast<std::size_t>(value));
      }
    });
    return a;
  }
  std::size_t size(std::string_view key) const { return std::get<std::size_t>(find(key)); }
  std::string text(std::string_view key) const { return std::get<std::string>(find(key)); }

 private:
  const std::variant<std::size_t, std::string>& find(std::string_view key) const {
    for (const auto& [k, v] : values_)
      if (k == key) return v;
    throw weights_error("rnnx::dynamic::from_typed: the layer has no attribute '" +
                        std::string(key) + "'");
  }
  std::vector<std::pair<std::string, std::variant<std::size_t, std::string>>> values_;
};

/// The layer type `Typed` (a typed layer at any sizes) as files describe it
/// (io/layer_description.hpp): the dynamic layers take their field names, the options' allowed
/// values and their parameter shapes from the same description the typed loader and
/// rnnx-codegen read.
template <class Typed>
const layer_description& description_of() {
  static const layer_description described = describe_layer<Typed>();
  return described;
}

/// The value of option `key`, one of the description's choices for it.
template <class Fields>
activation_function option(const Fields& fields, std::string_view key, const std::string& where,
                           const layer_description& described) {
  const std::string value = fields.text(key);
  std::vector<std::string> choices;
  for (const attribute_rule& rule : described.attributes)
    if (rule.key == key) choices = rule.choices;
  const auto act = activation_named(value);
  if (!act || std::find(choices.begin(), choices.end(), value) == choices.end()) {
    std::string expected = choices.size() == 2 ? choices[0] + " or " + choices[1] : "one of ";
    for (std::size_t i = 0; choices.size() != 2 && i < choices.size(); ++i)
      expected += (i == 0 ? "" : ", ") + choices[i];
    throw weights_error(where + ": field '" + std::string(key) + "' is " +
                        rnnx::detail::json_text(value) + "; expected " + expected);
  }
  return *act;
}

/// The parameter shapes of `described` at the sizes `fields` holds.
template <class Fields>
std::vector<parameter_shape> shapes_of(const layer_description& described, const Fields& fields) {
  auto size = [&](const size_formula& f) {
    return f.attribute.empty() ? f.factor : f.factor * fields.size(f.attribute);
  };
  std::vector<parameter_shape> shapes;
  for (const parameter_formula& p : described.parameters)
    shapes.push_back({p.name, size(p.shape[0]), p.shape.size() > 1 ? size(p.shape[1]) : 0});
  return shapes;
}

/// Builds the layer named `type` from its fields; `check(shapes)` sees the parameter shapes
/// the layer will have before its storage is allocated.
template <class T, class Fields, class Check>
typename basic_network<T>::layer make_layer(std::string_view type, const Fields& fields,
                                            const std::string& where, Check&& check) {
  using layer = typename basic_network<T>::layer;
  // Each dynamic layer and the typed layer whose description it reads.
  auto build = [&]<class Typed>(std::type_identity<Typed>, auto make) {
    const layer_description& described = description_of<Typed>();
    const std::size_t in = fields.size(described.input.attribute);
    const std::size_t out = fields.size(described.output.attribute);
    const std::vector<parameter_shape> shapes = shapes_of(described, fields);
    auto with_option = [&](std::string_view key) { return option(fields, key, where, described); };
    return make(in, out, with_option, shapes);
  };
  if (type == "dense")
    return build(std::type_identity<rnnx::dense<1, 1>>{},
                 [&](auto in, auto out, auto opt, auto& s) {
                   const activation_function act = opt("activation");
                   check(std::span<const parameter_shape>(s));
                   return layer(std::in_place_type<dense<T>>, in, out, act);
                 });
  if (type == "activation")
    return build(std::type_identity<rnnx::activation<1, rnnx::identity>>{},
                 [&](auto n, auto, auto opt, auto& s) {
                   const activation_function act = opt("function");
                   check(std::span<const parameter_shape>(s));
                   return layer(std::in_place_type<activation<T>>, n, act);
                 });
  if (type == "rnn")
    return build(std::type_identity<rnnx::rnn<1, 1>>{},
                 [&](auto in, auto hidden, auto opt, auto& s) {
                   const activation_function act = opt("nonlinearity");
                   check(std::span<const parameter_shape>(s));
                   if (act == activation_function::relu)
                     return layer(std::in_place_type<rnn_relu<T>>, in, hidden);
                   return layer(std::in_place_type<rnn_tanh<T>>, in, hidden);
                 });
  // Every other cell: built by its name, from its typed declaration's description.
  std::optional<layer> made;
  // Typed and dynamic types in pairs: clang does not take rnnx::lstm (four parameters) for a
  // template template parameter of three.
  const auto cell = [&]<class Typed, class Dynamic>() {
    if (made || type != Typed::type_name) return;
    made = build(std::type_identity<Typed>{}, [&](auto in, auto hidden, auto, auto& s) {
      check(std::span<const parameter_shape>(s));
      return layer(std::in_place_type<Dynamic>, in, hidden);
    });
  };
  cell.template operator()<rnnx::lstm<1, 1, T>, lstm<T>>();
  cell.template operator()<rnnx::peephole_lstm<1, 1, T>, peephole_lstm<T>>();
  cell.template operator()<rnnx::gru<1, 1, T>, gru<T>>();
  cell.template operator()<rnnx::gru_reset_before<1, 1, T>, gru_reset_before<T>>();
  cell.template operator()<rnnx::mgu<1, 1, T>, mgu<T>>();
  cell.template operator()<rnnx::cifg_lstm<1, 1, T>, cifg_lstm<T>>();
  cell.template operator()<rnnx::light_gru<1, 1, T>, light_gru<T>>();
  cell.template operator()<rnnx::indrnn<1, 1, T>, indrnn<T>>();
  if (made) return std::move(*made);
  throw weights_error(where + ": unknown layer type '" + rnnx::detail::brief(type) +
                      "' (expected dense, activation, rnn, lstm, peephole_lstm, gru, "
                      "gru_reset_before, mgu, cifg_lstm, light_gru or indrnn)");
}

inline std::string shape_text(const parameter_shape& s) {
  std::string text(1, '[');  // appended piecewise: g++ 12 warns falsely (-Wrestrict) on "x" + s
  text += std::to_string(s.rows);
  if (s.cols != 0) {
    text += " x ";
    text += std::to_string(s.cols);
  }
  text += ']';
  return text;
}

/// Reads layer `index` of a weight document.
template <class T>
typename basic_network<T>::layer read_layer(const nlohmann::json& j, const std::string& where,
                                            bool file_is_float32) {
  if (!j.is_object())
    throw weights_error(where + ": must be an object, found " + rnnx::detail::json_kind(j));
  const auto type = j.find("type");
  if (type == j.end() || !type->is_string())
    throw weights_error(where + ": missing field 'type' (a string)");
  static const nlohmann::json no_parameters = nlohmann::json::object();
  const auto params_it = j.find("parameters");
  const nlohmann::json& params = params_it == j.end() ? no_parameters : *params_it;
  if (!params.is_object())
    throw weights_error(where + ": 'parameters' must be an object, found " +
                        rnnx::detail::json_kind(params));

  const json_fields fields(j, where);
  auto check_shapes = [&](std::span<const parameter_shape> shapes) {
    for (const auto& item : j.items())
      if (item.key() != "type" && item.key() != "parameters" && item.key() != "name" &&
          !fields.read().count(item.key()))
        throw weights_error(where + ": unknown field '" + rnnx::detail::brief(item.key()) + "'");
    for (const auto& s : shapes) {
      const std::string what = where + ": parameter '" + std::string(s.name) + "'";
      const auto it = params.find(std::string(s.name));
      if (it == params.end()) throw weights_error(what + " is missing");
      if (!it->is_array() || it->size() != s.rows)
        throw weights_error(what + " must be a list of " +
                            (s.cols ? rnnx::detail::count_text(s.rows, "row", "rows")
                                    : rnnx::detail::count_text(s.rows, "number", "numbers")) +
                            " (shape " + shape_text(s) + "), found " +
                            rnnx::detail::found_text(*it));
      if (s.cols)
        for (std::size_t r = 0; r < s.rows; ++r) {
          const nlohmann::json& row = (*it)[r];
          if (!row.is_array() || row.size() != s.cols)
            throw weights_error(what + " row " + std::to_string(r) + " must hold " +
                                rnnx::detail::count_text(s.cols, "number", "numbers") + " (shape " +
                                shape_text(s) + "), found " + rnnx::detail::found_text(row));
        }
    }
    for (const auto& item : params.items()) {
      bool expected = false;
      for (const auto& s : shapes) expected = expected || s.name == item.key();
      if (!expected)
        throw weights_error(where + ": unknown parameter '" + rnnx::detail::brief(item.key()) +
                            "'");
    }
  };
  auto layer = make_layer<T>(type->get<std::string>(), fields, where, check_shapes);

  auto read_value = [&](const nlohmann::json& v, const std::string& what) -> T {
    if (!v.is_number())
      throw weights_error(what + " is " + rnnx::detail::json_kind(v) + ", not a number");
    const double d = v.get<double>();
    const T value = file_is_float32 ? T(static_cast<float>(d)) : static_cast<T>(d);
    if (!std::isfinite(d) || !std::isfinite(value))
      throw weights_error(what + " = " + rnnx::detail::json_text(v) + " is not a finite " +
                          std::string(rnnx::detail::dtype_name<T>()) + " value");
    return value;
  };
  std::visit(
      [&](auto& l) {
        l.visit_parameters([&](std::string_view name, auto&& p) {
          const nlohmann::json& v = params.at(std::string(name));
          const std::string what = where + ": parameter '" + std::string(name) + "'";
          for (std::size_t r = 0; r < p.rows; ++r) {
            if (p.rank() == 1) {
              p.at(r) = read_value(v[r], what + "[" + std::to_string(r) + "]");
            } else {
              for (std::size_t c = 0; c < p.cols; ++c)
                p.at(r, c) = read_value(
                    v[r][c], what + "[" + std::to_string(r) + "][" + std::to_string(c) + "]");
            }
          }
        });
      },
      layer);
  return layer;
}

}  // namespace detail

/// A model with the architecture and weights of `document` (already parsed JSON).
/// Throws weights_error.
template <class T = float>
basic_network<T> network_from_json(const nlohmann::json& document,
                                   const std::string& source = "JSON") {
  const std::string where = "rnnx::dynamic::load_weights(" + source + ")";
  // Plain variables, not a structured binding: clang 14 cannot capture those in lambdas.
  const auto header = rnnx::detail::read_header<T>(document, where);
  const nlohmann::json* const layers = header.first;
  const bool file_is_float32 = header.second;
  if (layers->empty()) throw weights_error(where + ": field 'layers' (a non-empty list) is empty");

  std::vector<typename basic_network<T>::layer> built;
  built.reserve(layers->size());
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const nlohmann::json& j = (*layers)[i];
    std::string layer_where = where + ": layer " + std::to_string(i);
    if (j.is_object() && j.contains("type") && j["type"].is_string())
      layer_where += " (" + rnnx::detail::brief(j["type"].get_ref<const std::string&>()) + ")";
    built.push_back(detail::read_layer<T>(j, layer_where, file_is_float32));
  }
  std::optional<basic_network<T>> network;
  try {
    network.emplace(std::move(built));
  } catch (const std::invalid_argument& e) {
    throw weights_error(where + ": " + e.what());
  }
  rnnx::detail::check_reference(document, where, network->in_size(), network->out_size());
  return std::move(*network);
}

/// Reads a model from JSON text.
template <class T = float>
basic_network<T> network_from_string(std::string_view text) {
  return network_from_json<T>(
      rnnx::detail::parse_json_text<weights_error>(text, "rnnx::dynamic::load_weights"));
}

/// Reads a model from a file in the format of docs/weights-format.md.
/// A file larger than options.max_file_bytes (0: 1 GiB) is refused unread: sizes are not
/// known before the file is read.
template <class T = float>
basic_network<T> load_network(const std::filesystem::path& path, load_options options = {}) {
  return network_from_json<T>(
      rnnx::detail::read_json_file<weights_error>(path, "rnnx::dynamic::load_weights",
                                                  rnnx::detail::file_limit(options, 1u << 30)),
      path.string());
}

/// The model as JSON text, byte for byte what rnnx::weights_to_string writes for the same
/// typed model; every value reads back bit-identically.
template <class T>
std::string weights_to_string(const basic_network<T>& model) {
  std::string out = rnnx::detail::document_start<T>(weights_format_name, weights_format_version);
  model.for_each_layer([&](std::size_t index, const auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    out += index == 0 ? "\n    {" : ",\n    {";
    out += "\"type\": \"" + std::string(L::type_name) + "\"";
    layer.visit_attributes([&](std::string_view key, auto value) {
      out += ", \"" + std::string(key) + "\": ";
      if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
        out += "\"" + std::string(std::string_view(value)) + "\"";
      } else {
        out += std::to_string(value);
      }
    });
    out += ",\n     \"parameters\": {";
    bool first_param = true;
    layer.visit_parameters([&](std::string_view name, auto&& p) {
      rnnx::detail::append_parameter(
          out, first_param, name, p.rows, p.rank() == 1 ? 0 : p.cols,
          [&](std::size_t r, std::size_t c) { return p.rank() == 1 ? p.at(r) : p.at(r, c); }, index,
          L::type_name);
      first_param = false;
    });
    out += first_param ? "}}" : "\n     }}";
  });
  out += "\n  ]\n}\n";
  return out;
}

/// Writes the model's weights to a file; throws weights_error if it cannot be written.
template <class T>
void save_weights(const basic_network<T>& model, const std::filesystem::path& path) {
  rnnx::detail::write_document<weights_error>(path, weights_to_string(model),
                                              "rnnx::dynamic::save_weights");
}

/// The runtime-sized copy of a typed model (rnnx::network<...> or basic_network<T, ...>):
/// same layers, sizes and parameters, read through visit_attributes and visit_parameters.
template <class Net>
basic_network<typename Net::scalar> from_typed(const Net& model) {
  using T = typename Net::scalar;
  std::vector<typename basic_network<T>::layer> layers;
  layers.reserve(Net::layer_count);
  model.for_each_layer([&](auto, const auto& typed) {
    using L = std::remove_cvref_t<decltype(typed)>;
    auto layer =
        detail::make_layer<T>(L::type_name, detail::attribute_fields::of<L>(),
                              "rnnx::dynamic::from_typed", [](std::span<const parameter_shape>) {});
    std::visit(
        [&](auto& dyn) {
          typed.visit_parameters([&](std::string_view name, const auto& p) {
            dyn.visit_parameters([&](std::string_view dyn_name, auto&& q) {
              if (dyn_name != name) return;
              for (std::size_t r = 0; r < p.rows; ++r)
                for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c)
                  q.at(r, c) = p.at(r, c);
            });
          });
        },
        layer);
    layers.push_back(std::move(layer));
  });
  return basic_network<T>(std::move(layers));
}

}  // namespace RNNX_NAMESPACE::dynamic
