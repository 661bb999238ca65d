#pragma once
// Where a step reads a cell's two weight matrices (W_ih, W_hh) from, as a policy of the
// executors: the layer's own matrices (layer_weight_source, here), or copies in another
// storage type (bf16: realtime/bf16_weight_source.hpp). Biases, and everything a cell reads
// besides the two matrices, always come from the layer. A source provides, for storage W:
//   project_input(w, x, xg)              xg = W_ih x + b_ih (all gates, interleaved)
//   project_inputs<K>(w, x, xg)          the same for K vectors, each summed as one
//   operand<S>(v)                        v as stage S's block passes read it
//   accumulate_block<S>(w, operand, first, sums)
//                                        sums += the rows of stage S's W_hh from `first`
//                                        (registers of sums: a schedule block) times v
//   stage_products<K, S>(w, v, sums)     sums[k] = W_hh v[k] + b_hh over stage S's rows,
//                                        summed as the block passes sum them
// so that a step, N streams and training's forward give the same bits for one source.

#include <array>
#include <cstddef>

#include "rnnx/engine/schedule.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/matvec.hpp"
#include "rnnx/kernels/streams.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::engine {

/// The matrices the layer holds, in its scalar type.
template <class W>
struct layer_weight_source {
  using T = typename W::scalar;
  using batch = simd::batch<T>;

  const T* input;
  const T* hidden;

  explicit layer_weight_source(const W& w) noexcept
      : input(w.weight_ih.raw()), hidden(w.weight_hh.raw()) {}

  void project_input(const W& w, const T* x, T* xg) const noexcept {
    kernels::matvec_col_major_over(input, x, w.bias_ih.raw(), xg, w.shape().gate_stride(),
                                   w.shape().in_size());
  }
  template <std::size_t K>
  [[gnu::always_inline]] void project_inputs(const W& w, const std::array<const T*, K>& x,
                                             const std::array<T*, K>& xg) const noexcept {
    kernels::matvec_col_major_streams_exact_over(input, x, w.bias_ih.raw(), xg,
                                                 w.shape().gate_stride(), w.shape().in_size());
  }

  template <std::size_t S>
  const T* operand(const T* v) const noexcept {
    return v;
  }
  template <std::size_t S, std::size_t Registers>
  [[gnu::always_inline]] void accumulate_block(const W& w, const T* v, std::size_t first,
                                               std::array<batch, Registers>& sums) const noexcept {
    const auto& shape = w.shape();
    kernels::accumulate_columns_over<T, Registers>(
        hidden + shape.template weight_offset<S>() + first, v, sums, shape.hidden_size(),
        shape.template stage_rows<S>());
  }
  /// accumulate_block for run-time sizes, in `chains` chains (the schedule's for the shape).
  template <std::size_t S, std::size_t Registers>
  [[gnu::always_inline]] void accumulate_block(const W& w, const T* v, std::size_t first,
                                               std::array<batch, Registers>& sums,
                                               std::size_t chains) const noexcept {
    const auto& shape = w.shape();
    kernels::accumulate_column_chain_groups<T, Registers>(
        hidden + shape.template weight_offset<S>() + first, v, sums, shape.hidden_size(),
        shape.template stage_rows<S>(), chains);
  }

  template <std::size_t K, std::size_t S>
  [[gnu::always_inline]] void stage_products(const W& w, const std::array<const T*, K>& v,
                                             const std::array<T*, K>& sums) const noexcept {
    const auto& shape = w.shape();
    kernels::matvec_rows_streams_over(
        hidden + shape.template weight_offset<S>(), v,
        w.bias_hh.raw() + shape.template row_offset<S>(), sums, shape.template stage_rows<S>(),
        shape.hidden_size(), recurrence_schedule<W>::template chains_of<S>(shape),
        kernels::size_constant<0>{}, shape.template stage_registers<S>());
  }
};

}  // namespace RNNX_NAMESPACE::engine
