#pragma once
// How a recurrent cell of one shape spends the register file of the instruction set this
// translation unit is compiled for: the one place that decides, from kernels/schedule.hpp's
// register budget, how many slices of a stage's gates share a pass over W_hh, how many
// accumulation chains a stream product splits into, and how many streams or sequences share
// each weight load. Every executor (engine/step.hpp, streams.hpp, training.hpp) and every
// weight source (the bf16 layout is blocked as the passes read it) reads these numbers, so
// the paths that must give the same bits sum in the same order.

#include <cstddef>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/kernels/unroll.hpp"

namespace RNNX_NAMESPACE::engine {

/// The schedule of a cell with storage Weights (engine/recurrent_weights.hpp). The numbers are
/// constants for a typed cell; for one with run-time sizes (rnnx::dyn) the same rules run on
/// its shape.
template <class Weights>
struct recurrence_schedule {
  using shape_type = typename Weights::shape_type;

  /// Slices of stage S whose gate sums share one pass over the weights, for K sequences at
  /// once.
  template <std::size_t S, std::size_t K = 1>
  static constexpr std::size_t block_slices_of(const shape_type& shape) noexcept {
    return kernels::block_slices(shape.slices(), Weights::template stage_gates<S>, K);
  }
  /// Accumulation chains of a pass over stage S of W_hh (kernels::accumulation_chains).
  template <std::size_t S>
  static constexpr std::size_t derive_chain_count(const shape_type& shape) noexcept {
    return kernels::accumulation_chains(
        block_slices_of<S>(shape) * Weights::template stage_gates<S>, shape.hidden_size());
  }
  /// derive_chain_count, as the shape keeps it when its hidden size is chosen at run time.
  template <std::size_t S>
  static constexpr std::size_t chain_count(const shape_type& shape) noexcept {
    if constexpr (requires { shape.stage_chains[S]; })
      return shape.stage_chains[S];
    else
      return derive_chain_count<S>(shape);
  }
  /// chain_count, a size_constant for a typed cell.
  template <std::size_t S>
  static constexpr auto chains_of(const shape_type& shape) noexcept {
    if constexpr (!Weights::sized_at_run_time)
      return kernels::size_constant<chain_count<S>(shape_type{})>{};
    else
      return chain_count<S>(shape);
  }
  /// The same numbers as constants, for a cell whose sizes are constants.
  template <std::size_t S, std::size_t K = 1>
  static constexpr std::size_t block_slices = block_slices_of<S, K>(shape_type{});
  /// Registers of gate sums one pass of stage S keeps.
  template <std::size_t S, std::size_t K = 1>
  static constexpr std::size_t block_registers =
      block_slices<S, K>* Weights::template stage_gates<S>;
  template <std::size_t S>
  static constexpr std::size_t chains = chain_count<S>(shape_type{});

  /// Streams whose step shares each weight load (engine/streams.hpp).
  static constexpr std::size_t step_group = kernels::budget.step_group;
  /// Whether sharing weight loads between streams pays: not while the weights sit in L1
  /// (48 KB here), where steps of independent streams one after the other already overlap
  /// in the out-of-order core and the shared pass only adds its trips through memory
  /// (measured: bench/streams_bench.cpp, LSTM and GRU at H = 32 against 64).
  static constexpr bool streams_share_loads_of(const shape_type& shape) noexcept {
    return Weights::has_hidden && shape.gate_stride() * (shape.hidden_size() + shape.in_size()) *
                                          sizeof(typename Weights::scalar) >
                                      std::size_t{32} * 1024;
  }
  static constexpr bool streams_share_loads = streams_share_loads_of(shape_type{});

  /// Sequences training's forward advances together, sharing each weight load.
  static constexpr std::size_t sequence_group = kernels::budget.sequence_group;
  /// f(std::integral_constant<std::size_t, K>, first) for groups of K sequences covering
  /// [0, count): groups of sequence_group, then single sequences.
  template <class F>
  static void for_sequence_groups(std::size_t count, F&& f) {
    std::size_t first = 0;
    for (; first + sequence_group <= count; first += sequence_group)
      f(std::integral_constant<std::size_t, sequence_group>{}, first);
    for (; first < count; ++first) f(std::integral_constant<std::size_t, 1>{}, first);
  }
};

}  // namespace RNNX_NAMESPACE::engine
