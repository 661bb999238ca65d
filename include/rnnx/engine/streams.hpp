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

/// Where step_streams of a cell with run-time sizes keeps each stream's gate projections and
/// sums (gate_stride values each): buffers of its own, as it cannot size them on the stack.
template <class T, std::size_t N>
struct stream_buffers {
  std::array<T*, N> xg{}, hg{};
};

/// The same buffers on the stack, for a typed cell.
template <class W, std::size_t N, std::size_t Group, bool Dynamic = W::sized_at_run_time>
struct fixed_stream_buffers {
  alignas(simd::alignment) typename W::scalar xg[N][W::gate_stride];
  alignas(simd::alignment) typename W::scalar hg[Group][W::gate_stride];
};
template <class W, std::size_t N, std::size_t Group>
struct fixed_stream_buffers<W, N, Group, true> {};

template <std::size_t N, class W, class Source, class Cell>
inline void step_streams(const W& w, const Source& source,
                         const std::array<const typename W::scalar*, N>& x,
                         const std::array<const typename W::scalar*, N>& h,
                         const std::array<const typename W::scalar*, N>& v, Cell&& cell,
                         const stream_buffers<typename W::scalar, N>& buffers = {}) noexcept {
  using T = typename W::scalar;
  using schedule = recurrence_schedule<W>;
  constexpr std::size_t V = W::V, group_size = schedule::step_group;
  const auto& shape = w.shape();
  // A typed cell's buffers are on the stack; a cell with run-time sizes brings its own.
  [[maybe_unused]] fixed_stream_buffers<W, N, group_size> fixed;
  const auto xg = [&](std::size_t k) __attribute__((always_inline))->T* {
    if constexpr (W::sized_at_run_time)
      return buffers.xg[k];
    else
      return fixed.xg[k];
  };
  // Stream `stream`, the k-th of its group.
  const auto hg = [&](std::size_t stream, std::size_t k) __attribute__((always_inline))->T* {
    if constexpr (W::sized_at_run_time)
      return buffers.hg[stream];
    else
      return fixed.hg[k];
  };
  bool share_loads;
  if constexpr (W::sized_at_run_time)
    share_loads = schedule::streams_share_loads_of(shape);
  else
    share_loads = schedule::streams_share_loads;
  if (!share_loads) {
    for (std::size_t k = 0; k < N; ++k) {
      source.project_input(w, x[k], xg(k));
      const auto one = [&](auto... a) __attribute__((always_inline)) { cell(a..., k); };
      recur(w, source, xg(k), h[k], v[k], one);
    }
    return;
  }
  kernels::for_stream_groups<N, group_size>([&](auto group, auto first) {
    constexpr std::size_t K = decltype(group)::value;
    std::array<const T*, K> xs;
    std::array<T*, K> xgs, hgs;
    std::array<std::array<const T*, K>, 2> operands{};
    kernels::unroll<K>([&](auto k) {
      xs[k] = x[first + k];
      operands[0][k] = h[first + k];
      operands[1][k] = v[first + k];
      xgs[k] = xg(first + k);
      hgs[k] = hg(first + k, k);
    });
    source.template project_inputs<K>(w, xs, xgs);
    kernels::unroll<W::stages>([&](auto stage) __attribute__((always_inline)) {
      constexpr std::size_t S = decltype(stage)::value, gates = W::template stage_gates<S>;
      source.template stage_products<K, S>(w, operands[S], hgs);
      for (std::size_t k = 0; k < K; ++k) {
        for (std::size_t slice = 0; slice < shape.slices(); ++slice) {
          std::array<simd::batch<T>, gates> sums;
          kernels::unroll<gates>(
              [&](auto g) { sums[g] = simd::load(hgs[k] + (slice * gates + g) * V); });
          call_stage<W, S>(cell, slice, xgs[k] + slice * W::gates * V, sums.data(), first + k);
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
                        const std::array<const typename W::scalar*, N>& v, Cell&& cell,
                        const stream_buffers<typename W::scalar, N>& buffers = {}) noexcept {
  std::array<const typename W::scalar*, N> h;
  for (std::size_t k = 0; k < N; ++k) h[k] = s[k]->h.data();
  step_streams<N>(w, source, x, h, v, cell, buffers);
  for (std::size_t k = 0; k < N; ++k) std::copy_n(y[k], w.shape().padded_hidden(), s[k]->h.data());
}

}  // namespace RNNX_NAMESPACE::engine
