#pragma once
// The single-step executor: one time step of one stream, the cell's product stages in order,
// each a pass over its rows of W_hh block by block (engine/schedule.hpp) whose gate sums stay
// in registers from the matrix pass to the cell's update of the slice. And a whole sequence:
// the input projections in chunks ahead of the recurrence, which does not depend on them.
//
// The cell is a callback: cell(slice, xg, hg) with xg the slice's input projections (memory)
// and hg the sums W_hh h + b_hh of the slice's gates (registers); a two-stage cell gets the
// stage first, cell(stage, slice, xg, hg), std::integral_constant 0 over h, then 1 over v, which
// the stage-0 calls have written.

#include <algorithm>
#include <array>
#include <cstddef>

#include "rnnx/engine/schedule.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace RNNX_NAMESPACE::engine {

/// cell(args...), or cell(stage, args...) for a two-stage cell.
template <class W, std::size_t S, class Cell, class... A>
[[gnu::always_inline]] inline void call_stage(Cell& cell, A&&... a) {
  if constexpr (W::two_stage)
    cell(typename W::template stage_index<S>{}, static_cast<A&&>(a)...);
  else
    cell(static_cast<A&&>(a)...);
}

/// One pass of recur: stage S's gate sums over `operand` (h or v), block by block.
/// Inlined where the schedule says (RNNX_INLINE_PASS, kernels/schedule.hpp), as is recur.
template <std::size_t S, class W, class Source, class Cell>
RNNX_INLINE_PASS inline void recur_stage(const W& w, const Source& source,
                                         const typename W::scalar* xg,
                                         const typename W::scalar* operand, Cell& cell) noexcept {
  using T = typename W::scalar;
  using schedule = recurrence_schedule<W>;
  constexpr std::size_t V = W::V, gates = W::template stage_gates<S>;
  const auto& shape = w.shape();
  const auto v = source.template operand<S>(operand);
  const T* bias = w.bias_hh.raw() + shape.template row_offset<S>();
  // The gate sums of `count` slices from `first` in registers, then the cell on each slice.
  const auto block = [&](std::size_t first, auto count, auto... chains)
      __attribute__((always_inline)) {
    constexpr std::size_t registers = count() * gates;
    const std::size_t offset = first * gates * V;
    std::array<simd::batch<T>, registers> hg;
    kernels::unroll<registers>([&](auto k) { hg[k] = simd::load(bias + offset + k * V); });
    source.template accumulate_block<S>(w, v, offset, hg, chains...);
    kernels::unroll<count()>([&](auto s) {
      const std::size_t slice = first + s;
      call_stage<W, S>(cell, slice, xg + slice * W::gates * V, hg.data() + s * gates);
    });
  };
  if constexpr (W::sized_at_run_time) {
    // Blocks of the most slices a pass holds, then the rest in power-of-two blocks: a row's
    // sum does not depend on its block, only on the chains, which are the typed pass's
    // (schedule).
    constexpr std::size_t most = kernels::most_block_slices(gates);
    const std::size_t slices = shape.slices(), chains = schedule::template chain_count<S>(shape);
    std::size_t first = 0;
    for (; first + most <= slices; first += most)
      block(first, kernels::size_constant<most>{}, chains);
    if constexpr (most > 1)
      kernels::with_power_of_two_parts<most - 1>(
          slices - first, [&](auto count, std::size_t at) { block(first + at, count, chains); });
  } else {
    constexpr std::size_t blocks = schedule::template block_slices<S>;
    for (std::size_t first = 0; first < W::slices; first += blocks)
      block(first, kernels::size_constant<blocks>{});
  }
}

/// For each slice of hidden units, stage by stage: hg = W_hh h + b_hh (over v for a second
/// stage) for the stage's gates, kept in registers, then cell(slice, xg of the slice, hg).
/// Reads all of h before any cell writes.
template <class W, class Source, class Cell>
RNNX_INLINE_PASS inline void recur(const W& w, const Source& source, const typename W::scalar* xg,
                                   const typename W::scalar* h, const typename W::scalar* v,
                                   Cell&& cell) noexcept {
  using batch = simd::batch<typename W::scalar>;
  if constexpr (W::stages == 0) {
    for (std::size_t slice = 0; slice < w.shape().slices(); ++slice)
      cell(slice, xg + slice * W::gates * W::V, static_cast<const batch*>(nullptr));
  } else {
    const std::array<const typename W::scalar*, 2> operands{h, v};
    kernels::unroll<W::stages>([&](auto s) __attribute__((always_inline)) {
      recur_stage<decltype(s)::value>(w, source, xg, operands[s], cell);
    });
  }
}

/// Runs `advance(xg_t, y_t)` over a sequence, computing the input projections in chunks
/// ahead of the recurrence.
template <class W, class Source, class Advance>
inline void run_sequence(const W& w, const Source& source, const typename W::scalar* xs,
                         std::size_t steps, typename W::scalar* ys, Advance&& advance) {
  constexpr std::size_t chunk = 32;
  const auto& shape = w.shape();
  const std::size_t gate_stride = shape.gate_stride();
  simd::aligned_vector<typename W::scalar> xg(chunk * gate_stride);
  for (std::size_t t0 = 0; t0 < steps; t0 += chunk) {
    const std::size_t n = std::min(chunk, steps - t0);
    for (std::size_t i = 0; i < n; ++i)
      source.project_input(w, xs + (t0 + i) * shape.in_stride(), xg.data() + i * gate_stride);
    for (std::size_t i = 0; i < n; ++i)
      advance(xg.data() + i * gate_stride, ys + (t0 + i) * shape.hidden_stride());
  }
}

}  // namespace RNNX_NAMESPACE::engine
