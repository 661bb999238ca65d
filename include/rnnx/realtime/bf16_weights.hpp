#pragma once
// A float model whose recurrent layers read their two weight matrices (W_ih, W_hh) from
// bfloat16 copies: each product multiplies a bf16 weight by the bf16-rounded input or h,
// exactly, and sums, activations and the state stay float (simd/bf16.hpp). Half the bytes
// and, with AVX512_BF16 (vdpbf16ps), half the instructions of the float step; elsewhere
// a portable float emulation of the same products. Dense heads, biases, peepholes and
// layer norms stay float (they are small), and so do layers without W_hh (indrnn).
//
//   rnnx::network<rnnx::lstm<1, 128>, rnnx::dense<128, 1>> model;   // trained / loaded
//   auto fast = std::make_unique<rnnx::bf16_weights<decltype(model)>>(model);
//   auto s = fast->initial_state();
//   float y = fast->step(x, s)[0];

#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "rnnx/isa.hpp"
#include "rnnx/realtime/bf16_weight_source.hpp"
#include "rnnx/simd/bf16.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

template <class L>
concept has_recurrent_matrices = std::is_same_v<typename L::scalar, float> && requires {
  requires L::recurrent_weights_type::has_hidden;
};

/// The bf16 copies of one layer's matrices; nothing for a layer that keeps float.
template <class L>
struct bf16_matrices_of {};
template <has_recurrent_matrices L>
struct bf16_matrices_of<L> {
  using source = bf16_weight_source<typename L::recurrent_weights_type>;
  alignas(simd::alignment) std::array<bf16, source::input_layout::size> input{};
  alignas(simd::alignment) std::array<bf16, source::hidden_layout::size> hidden{};
};

template <class... Ls>
auto bf16_storage_for(const boost::hana::tuple<Ls...>&) -> std::tuple<bf16_matrices_of<Ls>...>;

}  // namespace detail

template <class Net>
class bf16_weights {
  static_assert(std::is_same_v<typename Net::scalar, float>,
                "rnnx::bf16_weights: bf16 weight copies are for float models");
  static_assert(Net::streaming,
                "rnnx::bf16_weights: the model must be able to stream (no bidirectional layer)");
  using storage = decltype(detail::bf16_storage_for(std::declval<typename Net::layer_types>()));

 public:
  using model_type = Net;
  using scalar = float;
  using state = typename Net::state;
  static constexpr std::size_t in_size = Net::in_size;
  static constexpr std::size_t out_size = Net::out_size;

  /// Copies the model and rounds its recurrent matrices to bf16 (to nearest, ties to even).
  /// Throws std::invalid_argument naming the weight when one is finite in float but not in
  /// bf16 (from about +-3.396e38 on).
  explicit bf16_weights(const Net& model) : model_(model) {
    model_.for_each_layer([&](auto i, const auto& layer) {
      using L = std::remove_cvref_t<decltype(layer)>;
      if constexpr (detail::has_recurrent_matrices<L>) {
        using source = bf16_weight_source<typename L::recurrent_weights_type>;
        auto& copy = std::get<decltype(i)::value>(matrices_);
        layer.visit_parameters([&](std::string_view name, const auto& p) {
          if (name == "weight_ih")
            round_into<typename source::input_layout>(p, copy.input, i, name);
          if (name == "weight_hh")
            round_into<typename source::hidden_layout>(p, copy.hidden, i, name);
        });
      }
    });
  }

  /// The float model (biases, heads and layers kept in float are read from it).
  const Net& model() const noexcept { return model_; }
  state initial_state() const noexcept { return state{}; }

  /// One time step, as Net::step, with the recurrent matrices read from the bf16 copies.
  std::span<const float, out_size> step(std::span<const float, in_size> x,
                                        state& s) const noexcept {
    return model_.step_layers(
        x, s, [&](auto i, const auto& layer, const float* in, auto& ls, float* out) {
          using L = std::remove_cvref_t<decltype(layer)>;
          if constexpr (detail::has_recurrent_matrices<L>) {
            layer.step(in, ls, out, source_of(layer, i));
          } else {
            layer.step(in, ls, out);
          }
        });
  }
  std::span<const float, out_size> step(float x, state& s) const noexcept requires(in_size == 1) {
    return step(std::span<const float, 1>(&x, 1), s);
  }

  /// N streams at once, as Net's N-stream step (each stream the bits of its own bf16 step).
  template <std::size_t N>
  void step(std::span<const float, N * in_size> x, std::array<state, N>& s,
            std::span<float, N * out_size> y) const noexcept {
    model_.step_layers(
        x, s, y,
        [&](auto i, const auto& layer, const auto& in, const auto& states, const auto& out) {
          using L = std::remove_cvref_t<decltype(layer)>;
          if constexpr (detail::has_recurrent_matrices<L>) {
            layer.template step_streams<N>(in, states, out, source_of(layer, i));
          } else {
            Net::step_layer_streams(layer, in, states, out);
          }
        });
  }

 private:
  template <class L, class Index>
  bf16_weight_source<typename L::recurrent_weights_type> source_of(const L&, Index) const noexcept {
    const auto& copy = std::get<Index::value>(matrices_);
    return {copy.input.data(), copy.hidden.data()};
  }

  /// Copies a matrix of the gate layout into Layout (Layout::source_index: where each entry is).
  /// (Called for every parameter by the generic visitor; only the matrix of Layout's shape is
  /// copied.)
  template <class Layout, class P, std::size_t N, class Index>
  static void round_into(const P& p, std::array<bf16, N>& to, Index i, std::string_view name) {
    constexpr std::size_t rows = Layout::rows;
    if constexpr (P::rank == 2 && N == Layout::size &&
                  rows * P::cols == sizeof(p.data) / sizeof(float)) {
      for (std::size_t j = 0; j < P::cols; ++j)
        for (std::size_t r = 0; r < rows; ++r) {
          const float value = p.data[Layout::source_index(r, j)];
          to[Layout::index(r, j)] = bf16(value);
          if (std::isfinite(value) && !std::isfinite(static_cast<float>(to[Layout::index(r, j)])))
            throw std::invalid_argument("rnnx::bf16_weights: layer " + std::to_string(i) + " " +
                                        std::string(name) + " holds " + std::to_string(value) +
                                        ", beyond the range of bf16");
        }
    }
  }

  Net model_;
  storage matrices_;
};

}  // namespace RNNX_NAMESPACE
