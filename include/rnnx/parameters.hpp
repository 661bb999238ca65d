#pragma once
// Walking the parameters of one or more models of the same type in lockstep: what optimisers,
// gradient clipping and initialisation see. A model of the network's own type doubles as its
// gradient and as an optimiser's moment buffers, so "the k-th parameter" means the same tensor
// in all of them.

#include <array>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

/// Parameters per layer that for_each_parameter can zip (a bidirectional peephole LSTM has 14).
inline constexpr std::size_t max_layer_parameters = 16;

template <class Layer>
using parameter_span_t =
    std::conditional_t<std::is_const_v<Layer>, std::span<const typename Layer::scalar>,
                       std::span<typename Layer::scalar>>;

template <class Layer>
struct layer_parameter_spans {
  std::array<parameter_span_t<Layer>, max_layer_parameters> data{};
  std::array<std::string_view, max_layer_parameters> names{};
  std::size_t count = 0;
};

template <class Layer>
layer_parameter_spans<Layer> parameter_spans_of(Layer& layer) {
  layer_parameter_spans<Layer> spans;
  layer.visit_parameters([&](std::string_view name, auto& p) {
    if (spans.count == max_layer_parameters)
      throw std::logic_error("rnnx::for_each_parameter: a layer has more than " +
                             std::to_string(max_layer_parameters) + " parameters");
    spans.names[spans.count] = name;
    spans.data[spans.count] = parameter_span_t<Layer>(p.data);
    ++spans.count;
  });
  return spans;
}

}  // namespace detail

/// f(layer_index, parameter_name, data, other_data...) for every parameter of `model`, with
/// the same parameter of each of `others` (models of the same type). The spans cover the
/// whole padded storage; padding is zero in every model and elementwise updates keep it so.
template <class F, class Model, class... Others>
void for_each_parameter(F&& f, Model& model, Others&... others) {
  static_assert((std::is_same_v<std::remove_const_t<Model>, std::remove_const_t<Others>> && ...),
                "rnnx::for_each_parameter: all models must have the same type");
  kernels::unroll<std::remove_const_t<Model>::layer_count>([&](auto i) {
    const auto first = detail::parameter_spans_of(model.template layer<i>());
    const auto rest = std::make_tuple(detail::parameter_spans_of(others.template layer<i>())...);
    for (std::size_t k = 0; k < first.count; ++k)
      std::apply(
          [&](const auto&... r) { f(std::size_t{i}, first.names[k], first.data[k], r.data[k]...); },
          rest);
  });
}

}  // namespace rnnx
