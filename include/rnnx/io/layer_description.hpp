#pragma once
// A layer type as a tool sees it without an instance: its name, its attributes and what they
// allow, the C++ template and header that declare it, and its input, output and parameter
// shapes as formulas of the attributes ("weight_ih: [4 * hidden_size, input_size]"). Gathered
// from the layer's own visit_attributes and describe(d) (layers/layer.hpp), so no table of
// layer types exists here: rnnx-codegen reads the same facts through the schema of
// io/layer_schema.hpp, and the dynamic factory through describe_layer.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"

namespace RNNX_NAMESPACE {

/// factor * the attribute `attribute`, or the constant `factor` when `attribute` is empty.
struct size_formula {
  std::string attribute;
  std::size_t factor = 1;
  friend bool operator==(const size_formula&, const size_formula&) = default;
};

/// One attribute field (in the order the format lists them) and the values it allows.
struct attribute_rule {
  enum class kind_type { size, option, fraction, cell };
  std::string key;
  kind_type kind = kind_type::size;
  std::vector<std::string> choices;  // an option's allowed values
  std::string one_or;                // a size that must be 1 or this attribute's value
  friend bool operator==(const attribute_rule&, const attribute_rule&) = default;
};

/// A parameter's name and shape: one formula per dimension (rows, then columns).
struct parameter_formula {
  std::string name;
  std::vector<size_formula> shape;
  friend bool operator==(const parameter_formula&, const parameter_formula&) = default;
};

struct layer_description {
  std::string type;          // the format's 'type'
  std::string cpp_template;  // takes the attributes in order: cpp_template<1, 32>
  std::string header;        // what declares it; empty for a user's layer that does not say
  std::string gate_names;    // a cell's gate rows, in weight_ih's order ("i, f, g, o")
  bool is_cell = false;      // a recurrent cell, which bidirectional can wrap
  std::vector<attribute_rule> attributes;
  size_formula input, output;
  std::vector<parameter_formula> parameters;
  /// A layer wrapping a cell (bidirectional): the attribute naming the cell, the suffix of its
  /// second copy of the cell's parameters, and how many cell outputs it concatenates. The
  /// wrapper's attributes, parameters and sizes above already include the cell's.
  std::string wrapped_key, reverse_suffix;
  std::size_t output_factor = 1;
  std::vector<layer_description> wrapped;  // the cell (zero or one)
  /// The sizes of the instance described (describe_layer<L>), for size_of.
  std::vector<std::pair<std::string, std::size_t>> sizes;

  /// A formula's value for this instance's sizes.
  std::size_t size_of(const size_formula& f) const {
    if (f.attribute.empty()) return f.factor;
    for (const auto& [key, value] : sizes)
      if (key == f.attribute) return f.factor * value;
    return 0;  // describe_layer checks that every formula names a size
  }
};

namespace detail {

/// The `d` a layer's describe(d) fills.
class description_builder {
 public:
  explicit description_builder(layer_description& d) : d_(d) {}

  void header(std::string_view h) { d_.header = h; }
  void cpp_template(std::string_view t) { d_.cpp_template = t; }
  void gate_names(std::string_view g) { d_.gate_names = g; }
  void cell() { d_.is_cell = true; }
  template <class Names>
  void choices(std::string_view key, const Names& names) {
    attribute_rule& rule = find(key);
    rule.kind = attribute_rule::kind_type::option;
    for (std::string_view name : names) rule.choices.emplace_back(name);
  }
  void fraction(std::string_view key) { find(key).kind = attribute_rule::kind_type::fraction; }
  void one_or(std::string_view key, std::string_view other) { find(key).one_or = other; }
  void input(dimension dim) { d_.input = formula(dim); }
  void output(dimension dim) { d_.output = formula(dim); }
  void parameter(std::string_view name, dimension rows) {
    d_.parameters.push_back({std::string(name), {formula(rows)}});
  }
  void parameter(std::string_view name, dimension rows, dimension cols) {
    d_.parameters.push_back({std::string(name), {formula(rows), formula(cols)}});
  }
  template <class Cell>
  void wrap(std::string_view key, std::string_view reverse_suffix, std::size_t output_factor);

 private:
  attribute_rule& find(std::string_view key) {
    for (attribute_rule& rule : d_.attributes)
      if (rule.key == key) return rule;
    throw std::logic_error(concat_key("describe(d) names no attribute '", key));
  }
  size_formula formula(dimension dim) {
    if (!dim.attribute.empty()) find(dim.attribute);  // an attribute this layer has
    return {std::string(dim.attribute), dim.factor};
  }
  static std::string concat_key(std::string_view text, std::string_view key) {
    std::string message(text);
    message += key;
    message += '\'';
    return message;
  }
  layer_description& d_;
};

}  // namespace detail

/// L's description (describe(d) and visit_attributes), with L's sizes for size_of.
template <class L>
layer_description describe_layer() {
  static_assert(
      requires(detail::description_builder & d) { L::describe(d); },
      "rnnx::describe_layer<L>: L has no describe(d) (see layers/layer.hpp)");
  layer_description d;
  d.type = L::type_name;
  d.cpp_template = "rnnx::" + d.type;
  L::visit_attributes([&](std::string_view key, auto value) {
    attribute_rule rule{std::string(key), attribute_rule::kind_type::size, {}, {}};
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>)
      rule.kind = attribute_rule::kind_type::option;
    else
      d.sizes.emplace_back(std::string(key), static_cast<std::size_t>(value));
    d.attributes.push_back(std::move(rule));
  });
  detail::description_builder builder(d);
  L::describe(builder);
  return d;
}

template <class Cell>
void detail::description_builder::wrap(std::string_view key, std::string_view reverse_suffix,
                                       std::size_t output_factor) {
  layer_description cell = describe_layer<Cell>();
  find(key).kind = attribute_rule::kind_type::cell;
  d_.wrapped_key = key;
  d_.reverse_suffix = reverse_suffix;
  d_.output_factor = output_factor;
  // The wrapper's attributes already list the cell's (visit_attributes); take their rules.
  for (const attribute_rule& rule : cell.attributes) find(rule.key) = rule;
  d_.input = cell.input;
  d_.output = {cell.output.attribute, cell.output.factor * output_factor};
  d_.parameters = cell.parameters;
  for (const parameter_formula& p : cell.parameters)
    d_.parameters.push_back({p.name + std::string(reverse_suffix), p.shape});
  d_.wrapped.push_back(std::move(cell));
}

}  // namespace RNNX_NAMESPACE
