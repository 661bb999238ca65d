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

#include <array>
#include <cstddef>
#include <type_traits>

#include "rnnx/engine/schedule.hpp"
#include "rnnx/extent.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

/// The sizes of a cell's gate block, each a constant or chosen at run time (rnnx::dyn). A size
/// that depends only on constants comes as a kernels::size_constant, so the executors and
/// kernels, written once over these functions, compile for a typed cell as if the numbers
/// were written in them.
template <class T, std::size_t G, std::size_t G1, std::size_t In, std::size_t H>
struct gate_block_shape {
  static constexpr std::size_t V = simd::width<T>;
  [[no_unique_address]] extent<In> in;
  [[no_unique_address]] extent<H> hidden;

  constexpr auto in_size() const noexcept {
    return of_input([](std::size_t n) { return n; });
  }
  constexpr auto in_stride() const noexcept {
    return of_input([](std::size_t n) { return simd::padded<T>(n); });
  }
  constexpr auto hidden_size() const noexcept {
    return of_hidden([](std::size_t h) { return h; });
  }
  /// Hidden units padded to whole registers: the stride of every row of h.
  constexpr auto padded_hidden() const noexcept {
    return of_hidden([](std::size_t h) { return simd::padded<T>(h); });
  }
  constexpr auto hidden_stride() const noexcept { return padded_hidden(); }
  /// Values per time step of the gate pre-activations (all gates, padded).
  constexpr auto gate_stride() const noexcept {
    return of_hidden([](std::size_t h) { return G * simd::padded<T>(h); });
  }
  /// Register-wide slices of hidden units.
  constexpr auto slices() const noexcept {
    return of_hidden([](std::size_t h) { return simd::registers<T>(h); });
  }
  /// Stage S's rows (padded), and where it starts among the rows of b_hh and of the hidden
  /// gate sums (row_offset) and in W_hh (weight_offset).
  template <std::size_t S>
  constexpr auto stage_rows() const noexcept {
    return of_hidden([](std::size_t h) { return (S == 0 ? G1 : G - G1) * simd::padded<T>(h); });
  }
  template <std::size_t S>
  constexpr auto stage_registers() const noexcept {
    return of_hidden([](std::size_t h) { return (S == 0 ? G1 : G - G1) * simd::registers<T>(h); });
  }
  template <std::size_t S>
  constexpr auto row_offset() const noexcept {
    return of_hidden([](std::size_t h) { return S == 0 ? 0 : G1 * simd::padded<T>(h); });
  }
  template <std::size_t S>
  constexpr auto weight_offset() const noexcept {
    return of_hidden([](std::size_t h) { return S == 0 ? 0 : G1 * simd::padded<T>(h) * h; });
  }
  /// Where the hidden-side value of gate k of a slice sits in a row of gate sums or gradients
  /// laid out as W_hh's rows (stage by stage, each gate-interleaved).
  constexpr std::size_t hidden_row(std::size_t k, std::size_t slice) const noexcept {
    return k < G1 ? (slice * G1 + k) * V : row_offset<1>() + (slice * (G - G1) + (k - G1)) * V;
  }
  /// For a run-time hidden size: each stage's accumulation chains, which the schedule
  /// (engine/schedule.hpp) works out once, when the cell is sized, rather than at every step.
  struct no_chains {
    friend constexpr bool operator==(no_chains, no_chains) noexcept = default;
  };
  [[no_unique_address]] std::conditional_t<H == dyn, std::array<std::size_t, 2>, no_chains>
      stage_chains{};

  friend constexpr bool operator==(const gate_block_shape&, const gate_block_shape&) = default;

 private:
  /// f(size) as a size_constant when the size is a constant, else its run-time value.
  template <class F>
  constexpr auto of_hidden(F f) const noexcept {
    if constexpr (H != dyn)
      return kernels::size_constant<f(H)>{};
    else
      return f(hidden.value());
  }
  template <class F>
  constexpr auto of_input(F f) const noexcept {
    if constexpr (In != dyn)
      return kernels::size_constant<f(In)>{};
    else
      return f(in.value());
  }
};

/// The shape's sizes as constants, for a cell whose sizes are all constants.
template <class Shape, std::size_t G, bool Dynamic>
struct gate_block_constants {
  friend constexpr bool operator==(const gate_block_constants&,
                                   const gate_block_constants&) = default;
};
template <class Shape, std::size_t G>
struct gate_block_constants<Shape, G, false> {
  static constexpr Shape shape_constant{};
  static constexpr std::size_t in_size = shape_constant.in_size();
  static constexpr std::size_t hidden_size = shape_constant.hidden_size();
  static constexpr std::size_t Hs = shape_constant.padded_hidden();
  static constexpr std::size_t in_stride = shape_constant.in_stride();
  static constexpr std::size_t hidden_stride = shape_constant.hidden_stride();
  static constexpr std::size_t gate_stride = shape_constant.gate_stride();
  static constexpr std::size_t slices = shape_constant.slices();
  template <std::size_t S>
  static constexpr std::size_t stage_rows = shape_constant.template stage_rows<S>();
  template <std::size_t S>
  static constexpr std::size_t row_offset = shape_constant.template row_offset<S>();
  template <std::size_t S>
  static constexpr std::size_t weight_offset = shape_constant.template weight_offset<S>();
  static constexpr std::size_t hidden_row(std::size_t k, std::size_t slice) noexcept {
    return shape_constant.hidden_row(k, slice);
  }
  friend constexpr bool operator==(const gate_block_constants&,
                                   const gate_block_constants&) = default;
};

template <class T, std::size_t G, std::size_t In, std::size_t H, bool Hidden = true,
          std::size_t G1 = G>
struct recurrent_weights
    : gate_block_constants<gate_block_shape<T, G, G1, In, H>, G, In == dyn || H == dyn> {
  static_assert(0 < G1 && G1 <= G && (Hidden || G1 == G));
  using scalar = T;
  using shape_type = gate_block_shape<T, G, G1, In, H>;
  /// Whether a size is chosen at run time (then the sizes are shape()'s values only).
  static constexpr bool sized_at_run_time = In == dyn || H == dyn;
  static constexpr std::size_t gates = G;
  static constexpr bool has_hidden = Hidden;
  static constexpr bool two_stage = G1 < G;
  /// The cell's product stages over W_hh, in the order a step runs them: none (no W_hh), h,
  /// or h then v.
  static constexpr std::size_t stages = !Hidden ? 0 : two_stage ? 2 : 1;
  template <std::size_t S>
  using stage_index = std::integral_constant<std::size_t, S>;
  static constexpr std::size_t V = simd::width<T>;
  /// The gates of stage S.
  template <std::size_t S>
  static constexpr std::size_t stage_gates = S == 0 ? G1 : G - G1;

  constexpr const shape_type& shape() const noexcept { return shape_; }

  template <std::size_t Cols, bool Staged = two_stage, bool Dynamic = sized_at_run_time>
  struct hidden_parameter_of {
    using type = gate_parameter<T, G, H, Cols>;
  };
  template <std::size_t Cols, bool Staged>
  struct hidden_parameter_of<Cols, Staged, true> {
    using type = dynamic_parameter<T, layout::dynamic_gate_rows<T>>;
  };
  template <std::size_t Cols>
  struct hidden_parameter_of<Cols, true, false> {
    using staged = layout::staged_gates<T, G, G1, H, Cols>;
    using type = parameter<T, G * H, Cols, staged, staged::size>;
  };
  template <std::size_t Cols>
  using hidden_parameter = typename hidden_parameter_of<Cols>::type;
  using absent = parameter<T, 0, 0, layout::column_major<T, 0>, 0>;
  using input_parameter =
      std::conditional_t<sized_at_run_time, dynamic_parameter<T, layout::dynamic_gate_rows<T>>,
                         gate_parameter<T, G, H, In == dyn ? 1 : In>>;
  using input_bias =
      std::conditional_t<sized_at_run_time, dynamic_parameter<T, layout::dynamic_gate_rows<T>>,
                         gate_parameter<T, G, H, 0>>;

  recurrent_weights() requires(!sized_at_run_time) = default;
  /// The zero weights of a cell of `in` inputs and `hidden` units (each must match a size
  /// that is a constant).
  recurrent_weights(std::size_t in, std::size_t hidden) requires(sized_at_run_time)
      : shape_{make_extent<In>(in), make_extent<H>(hidden)},
        weight_ih(G * hidden, in, layout::dynamic_gate_rows<T>{G, G, hidden, in}),
        bias_ih(G * hidden, 0, layout::dynamic_gate_rows<T>{G, G, hidden, 0}) {
    if constexpr (Hidden) {
      weight_hh = {G * hidden, hidden, layout::dynamic_gate_rows<T>{G, G1, hidden, hidden}};
      bias_hh = {G * hidden, 0, layout::dynamic_gate_rows<T>{G, G1, hidden, 0}};
    }
    if constexpr (H == dyn)
      if (hidden > 0)  // else the cell refuses the size
        kernels::unroll<stages>([&](auto stage) {
          shape_.stage_chains[stage] =
              engine::recurrence_schedule<recurrent_weights>::template derive_chain_count<stage>(
                  shape_);
        });
  }

 private:
  template <std::size_t N>
  static constexpr extent<N> make_extent(std::size_t n) noexcept {
    if constexpr (N == dyn)
      return extent<N>(n);
    else
      return extent<N>();
  }
  [[no_unique_address]] shape_type shape_{};

 public:
  input_parameter weight_ih;
  std::conditional_t<Hidden, hidden_parameter<H>, absent> weight_hh;
  input_bias bias_ih;
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
