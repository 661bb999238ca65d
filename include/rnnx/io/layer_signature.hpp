#pragma once
// What a model type expects of a weight file, as plain values: each layer's 'type', attribute
// fields and parameter shapes. The checks of io/weights.hpp and the compiled reader of
// io/load_weights.hpp (rnnx::io) read these, so no code that parses JSON depends on a model
// type. The values live in rnnx::io, outside the instruction-set namespaces of rnnx/isa.hpp, so
// one compiled reader serves every variant of a dispatched model.

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"

namespace rnnx::io {

/// One field of a layer that the model fixes: a size or an option, as visit_attributes gives it.
struct layer_attribute {
  std::string key;
  std::string text;        // an option's value, when is_text
  std::size_t number = 0;  // a size's value, otherwise
  bool is_text = false;
  std::string value_text() const { return is_text ? text : std::to_string(number); }
};

/// A layer type as files describe it: its 'type', its attribute fields in visit order, and
/// the name messages give it (layer_name<L>(): "lstm<1, 32>").
struct layer_signature {
  std::string type_name;
  std::vector<layer_attribute> attributes;
  std::string name;

  void add(std::string_view key, std::string_view option) {
    attributes.push_back({std::string(key), std::string(option), 0, true});
  }
  void add(std::string_view key, std::size_t size) {
    attributes.push_back({std::string(key), {}, size, false});
  }
};

/// A named vector or matrix a layer reads from a file: a parameter, or a state vector.
/// cols == 0 for a vector of `rows` values.
struct value_shape {
  std::string name;
  std::size_t rows = 0;
  std::size_t cols = 0;
};

/// A layer of a model as a weight file must hold it.
struct layer_parameters {
  layer_signature signature;
  std::vector<value_shape> parameters;  // in visit_parameters order
};

}  // namespace rnnx::io

namespace RNNX_NAMESPACE {
namespace detail {

using io::layer_attribute;
using io::layer_parameters;
using io::layer_signature;
using io::value_shape;

template <class L>
layer_signature layer_signature_of() {
  layer_signature signature{std::string(L::type_name), {}, layer_name<L>()};
  L::visit_attributes([&](std::string_view key, auto value) {
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>)
      signature.add(key, std::string_view(value));
    else
      signature.add(key, static_cast<std::size_t>(value));
  });
  return signature;
}

template <class L>
layer_parameters layer_parameters_of(const L& layer) {
  layer_parameters described{layer_signature_of<L>(), {}};
  layer.visit_parameters([&](std::string_view name, const auto& p) {
    described.parameters.push_back({std::string(name), p.rows, p.rank == 1 ? 0 : p.cols});
  });
  return described;
}

}  // namespace detail
}  // namespace RNNX_NAMESPACE
