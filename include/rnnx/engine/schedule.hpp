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

namespace RNNX_NAMESPACE::engine {

/// The schedule of a cell with storage Weights (engine/recurrent_weights.hpp).
template <class Weights>
struct recurrence_schedule {
  /// Slices of stage S whose gate sums share one pass over the weights, for K sequences at
  /// once.
  template <std::size_t S, std::size_t K = 1>
  static constexpr std::size_t block_slices =
      kernels::block_slices(Weights::slices, Weights::template stage_gates<S>, K);
  /// Registers of gate sums one pass of stage S keeps.
  template <std::size_t S, std::size_t K = 1>
  static constexpr std::size_t block_registers =
      block_slices<S, K>* Weights::template stage_gates<S>;
  /// Accumulation chains of a pass over stage S of W_hh (kernels::accumulation_chains).
  template <std::size_t S>
  static constexpr std::size_t chains = kernels::accumulation_chains(block_registers<S>,
                                                                     Weights::hidden_size);

  /// Streams whose step shares each weight load (engine/streams.hpp).
  static constexpr std::size_t step_group = kernels::budget.step_group;
  /// Whether sharing weight loads between streams pays: not while the weights sit in L1
  /// (48 KB here), where steps of independent streams one after the other already overlap
  /// in the out-of-order core and the shared pass only adds its trips through memory
  /// (measured: bench/streams_bench.cpp, LSTM and GRU at H = 32 against 64).
  static constexpr bool streams_share_loads =
      Weights::has_hidden && sizeof(std::declval<const Weights&>().weight_hh) +
                                     sizeof(std::declval<const Weights&>().weight_ih) >
                                 std::size_t{32} * 1024;

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
