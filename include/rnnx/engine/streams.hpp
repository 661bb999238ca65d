#pragma once
// The N-stream executor: one streaming step of N independent states at once. For each stream
// k: xg = W_ih x[k] + b_ih, then, slice by slice, cell(slice, xg of the slice, W_hh h[k] + b_hh
// of the slice's gates, k). Every sum is formed in the order the single step forms it
// (engine/step.hpp), so each stream gets the bits of its own step with the same weight source;
// groups of the schedule's step_group streams share each weight load when
// streams_share_loads (else the streams run one after the other). Unlike the single step, the
// gate sums go through memory (L1): the sums of K streams for a slice's G gates would not fit
// in registers, and sharing the loads matters more. Reads all of every h[k] before any cell
// writes. A two-stage cell gets cell(stage, slice, ..., k) for the first stage of every stream
// of a group, then the second over v[k].

#include <algorithm>
#include <array>
#include <cstddef>

#include "rnnx/engine/schedule.hpp"
#include "rnnx/engine/step.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/streams.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::engine {

template <std::size_t N, class W, class Source, class Cell>
inline void step_streams(const W& w, const Source& source,
                         const std::array<const typename W::scalar*, N>& x,
                         const std::array<const typename W::scalar*, N>& h,
                         const std::array<const typename W::scalar*, N>& v, Cell&& cell) noexcept {
  using T = typename W::scalar;
  using schedule = recurrence_schedule<W>;
  constexpr std::size_t V = W::V, group_size = schedule::step_group;
  alignas(simd::alignment) T xg[N][W::gate_stride];
  if constexpr (!schedule::streams_share_loads) {
    for (std::size_t k = 0; k < N; ++k) {
      source.project_input(w, x[k], xg[k]);
      const auto one = [&](auto... a) __attribute__((always_inline)) { cell(a..., k); };
      recur(w, source, xg[k], h[k], v[k], one);
    }
    return;
  }
  alignas(simd::alignment) T hg[group_size][W::gate_stride];
  kernels::for_stream_groups<N, group_size>([&](auto group, auto first) {
    constexpr std::size_t K = decltype(group)::value;
    std::array<const T*, K> xs;
    std::array<T*, K> xgs, hgs;
    std::array<std::array<const T*, K>, 2> operands{};
    kernels::unroll<K>([&](auto k) {
      xs[k] = x[first + k];
      operands[0][k] = h[first + k];
      operands[1][k] = v[first + k];
      xgs[k] = xg[first + k];
      hgs[k] = hg[k];
    });
    source.template project_inputs<K>(w, xs, xgs);
    kernels::unroll<W::stages>([&](auto stage) __attribute__((always_inline)) {
      constexpr std::size_t S = decltype(stage)::value, gates = W::template stage_gates<S>;
      source.template stage_products<K, S>(w, operands[S], hgs);
      for (std::size_t k = 0; k < K; ++k) {
        for (std::size_t slice = 0; slice < W::slices; ++slice) {
          std::array<simd::batch<T>, gates> sums;
          kernels::unroll<gates>(
              [&](auto g) { sums[g] = simd::load(hg[k] + (slice * gates + g) * V); });
          call_stage<W, S>(cell, slice, xg[first + k] + slice * W::gates * V, sums.data(),
                           first + k);
        }
      }
    });
  });
}

/// step_streams over the states of a cell that carries its output h: h[k] is s[k]->h, and
/// each state's h becomes y[k] once every stream has read its own (v: see step_streams).
template <std::size_t N, class W, class Source, class State, class Cell>
inline void step_states(const W& w, const Source& source,
                        const std::array<const typename W::scalar*, N>& x,
                        const std::array<State*, N>& s, const std::array<typename W::scalar*, N>& y,
                        const std::array<const typename W::scalar*, N>& v, Cell&& cell) noexcept {
  std::array<const typename W::scalar*, N> h;
  for (std::size_t k = 0; k < N; ++k) h[k] = s[k]->h.data();
  step_streams<N>(w, source, x, h, v, cell);
  for (std::size_t k = 0; k < N; ++k) std::copy_n(y[k], s[k]->h.padded_size, s[k]->h.data());
}

}  // namespace RNNX_NAMESPACE::engine
