#pragma once
// The weight source (engine/weight_source.hpp) of a cell reading bf16 copies of its W_ih and
// W_hh (realtime/bf16_weights.hpp makes them): each product multiplies a bf16 weight by the
// bf16-rounded input or h (v), exactly, in the column-pair layout of kernels/bf16_pairs.hpp,
// blocked as the schedule's passes read it; sums, biases and the state stay float.

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "rnnx/engine/schedule.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/bf16_pairs.hpp"
#include "rnnx/simd/batch.hpp"
#include "rnnx/simd/bf16.hpp"

namespace RNNX_NAMESPACE {

template <class W>
struct bf16_weight_source {
  using T = typename W::scalar;
  using batch = simd::batch<T>;
  using schedule = engine::recurrence_schedule<W>;
  static constexpr std::size_t V = simd::width<T>;

  /// Where entry (row position p of the gate layout, column j) of each copy sits: index(p, j).
  using input_layout = kernels::bf16_pair_layout<W::gate_stride, W::in_size,
                                                 kernels::bf16_block_rows<W::gate_stride>>;
  using hidden_layout = std::conditional_t<
      W::two_stage,
      kernels::bf16_staged_layout<
          W::template stage_rows<0>, schedule::template block_registers<0> * V,
          W::template stage_rows<1>, schedule::template block_registers<1> * V, W::hidden_size>,
      kernels::bf16_pair_layout<W::gate_stride, W::hidden_size,
                                schedule::template block_registers<0> * V>>;
  static constexpr std::size_t pairs = hidden_layout::pairs;

  const bf16* input;
  const bf16* hidden;

  void project_input(const W& w, const T* x, T* xg) const noexcept {
    kernels::matvec_bf16_pairs<W::gate_stride, W::in_size>(input, x, w.bias_ih.raw(), xg);
  }
  template <std::size_t K>
  [[gnu::always_inline]] void project_inputs(const W& w, const std::array<const T*, K>& x,
                                             const std::array<T*, K>& xg) const noexcept {
    for (std::size_t k = 0; k < K; ++k) project_input(w, x[k], xg[k]);
  }

  /// v rounded to bf16, in column pairs.
  struct rounded_operand {
    alignas(simd::alignment) std::uint32_t words[simd::bf16_pair_words<pairs>];
  };
  template <std::size_t S>
  rounded_operand operand(const T* v) const noexcept {
    rounded_operand r;
    simd::to_bf16_pairs<pairs>(v, r.words);
    return r;
  }
  template <std::size_t S, std::size_t Registers>
  [[gnu::always_inline]] void accumulate_block(const W&, const rounded_operand& v,
                                               std::size_t first,
                                               std::array<batch, Registers>& sums) const noexcept {
    kernels::accumulate_column_pairs<Registers, pairs>(
        hidden + hidden_layout::block_start(W::template row_offset<S> + first), v.words, sums);
  }

  template <std::size_t K, std::size_t S>
  [[gnu::always_inline]] void stage_products(const W& w, const std::array<const T*, K>& v,
                                             const std::array<T*, K>& sums) const noexcept {
    constexpr std::size_t registers = schedule::template block_registers<S>;
    constexpr std::size_t block_rows = registers * V;
    constexpr std::size_t chains = kernels::accumulation_chains(registers, pairs);
    std::array<rounded_operand, K> rounded;
    std::array<const std::uint32_t*, K> words;
    for (std::size_t k = 0; k < K; ++k) {
      simd::to_bf16_pairs<pairs>(v[k], rounded[k].words);
      words[k] = rounded[k].words;
    }
    for (std::size_t first = 0; first < W::template stage_rows<S>; first += block_rows) {
      std::array<T*, K> out;
      for (std::size_t k = 0; k < K; ++k) out[k] = sums[k] + first;
      kernels::matvec_pairs_block_streams<pairs, 2 * block_rows, K, chains, registers>(
          hidden + hidden_layout::block_start(W::template row_offset<S> + first), words,
          w.bias_hh.raw() + W::template row_offset<S> + first, out);
    }
  }
};

}  // namespace RNNX_NAMESPACE
