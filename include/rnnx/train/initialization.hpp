#pragma once
// PyTorch's default initialisation of every parameter, reproducibly from a seed:
//   lstm, gru, rnn (hidden_size H):   all weights and biases ~ U(-1/sqrt(H), 1/sqrt(H))
//   dense (nn.Linear, in_features n): weight and bias ~ U(-1/sqrt(n), 1/sqrt(n))
//   peephole_lstm: its peephole weights like the others, U(-1/sqrt(H), 1/sqrt(H))
//   layers with their own rule (reset_parameters): layer_norm weight 1, bias 0 (nn.LayerNorm);
//   prelu slope 0.25 (nn.PReLU); embedding N(0, 1) (nn.Embedding)
// Values come from one std::mt19937_64 seeded with `seed`, mapped to [0, 1) through their top
// 53 bits (not std::uniform_real_distribution, whose mapping differs between standard
// libraries), in the order layers, parameters (file order), then PyTorch's row-major order.
// Only logical elements are written, so the padding stays zero.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/parameters.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

/// 1/sqrt(hidden_size) for recurrent layers, 1/sqrt(in_features) for dense ones, 0 when the
/// layer has neither attribute.
template <class Layer>
double default_init_bound() {
  std::size_t hidden = 0, in_features = 0;
  Layer::visit_attributes([&](std::string_view key, auto value) {
    if constexpr (std::is_convertible_v<decltype(value), std::size_t> &&
                  !std::is_convertible_v<decltype(value), std::string_view>) {
      if (key == "hidden_size") hidden = value;
      if (key == "in_features") in_features = value;
    }
  });
  const std::size_t fan = hidden != 0 ? hidden : in_features;
  return fan == 0 ? 0.0 : 1.0 / std::sqrt(static_cast<double>(fan));
}

/// [0, 1) from the top 53 bits of one 64-bit draw.
inline double unit_uniform(std::mt19937_64& gen) {
  return static_cast<double>(gen() >> 11) * 0x1.0p-53;
}

}  // namespace detail

/// What a layer with its own initialisation (reset_parameters(draw)) draws from: the same
/// generator, as uniform [0, 1) or standard normal values (Box-Muller, both values used).
class parameter_draw {
 public:
  explicit parameter_draw(std::mt19937_64& gen) noexcept : gen_(gen) {}
  double uniform() noexcept { return detail::unit_uniform(gen_); }
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    constexpr double two_pi = 6.283185307179586476925286766559;
    const double u1 = 1.0 - uniform(), u2 = uniform();  // u1 in (0, 1]
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(two_pi * u2);
    has_spare_ = true;
    return radius * std::cos(two_pi * u2);
  }

 private:
  std::mt19937_64& gen_;
  double spare_ = 0;
  bool has_spare_ = false;
};

/// Fills every parameter of `model` as PyTorch's default initialisation does (see above).
template <class Model>
void initialize(Model& model, std::uint64_t seed) {
  using T = typename Model::scalar;
  std::mt19937_64 gen(seed);
  model.for_each_layer([&](auto, auto& layer) {
    using Layer = std::remove_cvref_t<decltype(layer)>;
    if constexpr (requires(parameter_draw & draw) { layer.reset_parameters(draw); }) {
      parameter_draw draw(gen);
      layer.reset_parameters(draw);
      return;
    }
    const double bound = detail::default_init_bound<Layer>();
    layer.visit_parameters([&](std::string_view name, auto& p) {
      if (bound == 0)
        throw std::invalid_argument(
            "rnnx::initialize: layer " + layer_name<Layer>() + " has parameter " +
            std::string(name) +
            " but neither a hidden_size nor an in_features attribute to derive its bound from");
      const std::size_t cols = p.rank == 1 ? 1 : p.cols;
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)
          p.at(r, c) = static_cast<T>(-bound + 2 * bound * detail::unit_uniform(gen));
    });
  });
}

/// Sets every parameter (padding included) to zero, e.g. to clear accumulated gradients.
template <class Model>
void zero(Model& model) {
  using T = typename Model::scalar;
  for_each_parameter(
      [](std::size_t, std::string_view, std::span<T> p) {
        for (T& x : p) x = T(0);
      },
      model);
}

}  // namespace RNNX_NAMESPACE
