#pragma once
// The gate-block storage of a recurrent cell: PyTorch's four parameters for G gates, each
// matrix gate-interleaved (layers/parameter.hpp) so that one pass over it yields every gate of
// a register-wide slice of hidden units, and where each product stage's rows sit.
//
// A cell whose last gates multiply an intermediate vector v instead of h (U<k>(v): the
// minimal gated unit, the original GRU) has two product stages over W_hh per step: the first
// G1 gates over h, then, once the cell has formed every unit of v, the others over v. W_hh and
// b_hh are then stored layout::staged_gates, each stage a gate-interleaved matrix of its own.
// Hidden = false: no W_hh and b_hh (cells whose recurrence is element-wise, as IndRNN's).
//
// How the products are blocked is engine/schedule.hpp's; what runs them, engine/step.hpp,
// engine/streams.hpp and engine/training.hpp; where the matrices are read from (the layer, or
// bf16 copies), engine/weight_source.hpp and realtime/bf16_weight_source.hpp.

#include <cstddef>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

template <class T, std::size_t G, std::size_t In, std::size_t H, bool Hidden = true,
          std::size_t G1 = G>
struct recurrent_weights {
  static_assert(0 < G1 && G1 <= G && (Hidden || G1 == G));
  using scalar = T;
  static constexpr std::size_t gates = G;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t hidden_size = H;
  static constexpr bool has_hidden = Hidden;
  static constexpr bool two_stage = G1 < G;
  /// The cell's product stages over W_hh, in the order a step runs them: none (no W_hh), h,
  /// or h then v.
  static constexpr std::size_t stages = !Hidden ? 0 : two_stage ? 2 : 1;
  template <std::size_t S>
  using stage_index = std::integral_constant<std::size_t, S>;

  static constexpr std::size_t V = simd::width<T>;
  static constexpr std::size_t Hs = simd::padded<T>(H);
  static constexpr std::size_t in_stride = simd::padded<T>(In);
  static constexpr std::size_t hidden_stride = Hs;
  /// Values per time step of the gate pre-activations (all gates, padded).
  static constexpr std::size_t gate_stride = layout::gate_interleaved<T, G, H>::stride;
  /// Register-wide slices of hidden units.
  static constexpr std::size_t slices = simd::registers<T>(H);

  /// The gates of stage S, its rows (padded), and where it starts among the rows of b_hh and
  /// of the hidden gate sums (row_offset) and in W_hh (weight_offset).
  template <std::size_t S>
  static constexpr std::size_t stage_gates = S == 0 ? G1 : G - G1;
  template <std::size_t S>
  static constexpr std::size_t stage_rows = stage_gates<S>* Hs;
  template <std::size_t S>
  static constexpr std::size_t row_offset = S == 0 ? 0 : G1* Hs;
  template <std::size_t S>
  static constexpr std::size_t weight_offset = S == 0 ? 0 : G1* Hs* H;

  /// Where the hidden-side value of gate k of a slice sits in a row of gate sums or gradients
  /// laid out as W_hh's rows (stage by stage, each gate-interleaved).
  static constexpr std::size_t hidden_row(std::size_t k, std::size_t slice) noexcept {
    return k < G1 ? (slice * G1 + k) * V : row_offset<1> + (slice * (G - G1) + (k - G1)) * V;
  }

  template <std::size_t Cols, bool Staged = two_stage>
  struct hidden_parameter_of {
    using type = gate_parameter<T, G, H, Cols>;
  };
  template <std::size_t Cols>
  struct hidden_parameter_of<Cols, true> {
    using staged = layout::staged_gates<T, G, G1, H, Cols>;
    using type = parameter<T, G * H, Cols, staged, staged::size>;
  };
  template <std::size_t Cols>
  using hidden_parameter = typename hidden_parameter_of<Cols>::type;
  using absent = parameter<T, 0, 0, layout::column_major<T, 0>, 0>;

  gate_parameter<T, G, H, In> weight_ih;
  std::conditional_t<Hidden, hidden_parameter<H>, absent> weight_hh;
  gate_parameter<T, G, H, 0> bias_ih;
  std::conditional_t<Hidden, hidden_parameter<0>, absent> bias_hh;

  template <class Self, class F>
  static void visit(Self& self, F&& f) {
    f("weight_ih", self.weight_ih);
    if constexpr (Hidden) f("weight_hh", self.weight_hh);
    f("bias_ih", self.bias_ih);
    if constexpr (Hidden) f("bias_hh", self.bias_hh);
  }
  /// visit's shapes as formulas (layers/layer.hpp's describe).
  template <class D>
  static void describe(D& d) {
    d.parameter("weight_ih", dimension("hidden_size", G), "input_size");
    if constexpr (Hidden) d.parameter("weight_hh", dimension("hidden_size", G), "hidden_size");
    d.parameter("bias_ih", dimension("hidden_size", G));
    if constexpr (Hidden) d.parameter("bias_hh", dimension("hidden_size", G));
  }

  friend constexpr bool operator==(const recurrent_weights&, const recurrent_weights&) = default;
};

}  // namespace RNNX_NAMESPACE
