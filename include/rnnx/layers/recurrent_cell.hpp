#pragma once
// The inference paths of every cell built on recurrent_weights (rnnx::cell, expr/cell.hpp):
// one step, a whole sequence and N streams at once (the executors of engine/step.hpp and
// engine/streams.hpp), each reading the two weight matrices from a weight source: the layer's
// own (engine/weight_source.hpp) or copies of them (realtime/bf16_weight_source.hpp). A cell
// derives from recurrent_cell<Cell, T> and supplies
//   w_                                 its recurrent_weights (engine/recurrent_weights.hpp)
//   update(slice, x, hg, state&, y)    its equations for one slice of units, from the slice's
//                                      input projections x and hidden sums hg (registers),
//                                      writing y (and any state but h: h becomes y afterwards)
// and, when its recurrent_weights are two_stage,
//   stage_scratch                      where one stream's step keeps v (member v) and the
//                                      values its first stage hands to the second
//   update(stage, slice, x, hg, state&, y, stage_scratch&)   for each stage

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

#include "rnnx/engine/recurrent_weights.hpp"
#include "rnnx/engine/step.hpp"
#include "rnnx/engine/streams.hpp"
#include "rnnx/engine/weight_source.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

template <class Cell, class T>
class recurrent_cell {
  using batch = simd::batch<T>;

  template <class State>
  static constexpr bool is_state = std::is_same_v<State, typename Cell::state>;
  template <class C>
  static constexpr bool sized_at_run_time =
      std::remove_cvref_t<decltype(std::declval<const C&>().w_)>::sized_at_run_time;
  template <class C>
  static constexpr bool two_stage =
      std::remove_cvref_t<decltype(std::declval<const C&>().w_)>::two_stage;

 public:
  template <class State>
  requires is_state<State>
  void step(const T* x, State& s, T* y) const noexcept { step(x, s, y, layer_source()); }

  /// step reading the two weight matrices from `source`: copies of them in another storage
  /// type (bf16: realtime/bf16_weights.hpp), everything else from the layer.
  template <class State, class Source>
  requires is_state<State>
  void step(const T* x, State& s, T* y, const Source& source) const noexcept {
    if constexpr (sized_at_run_time<Cell>) {
      source.project_input(weights(), x, s.xg.data());
      advance(s.xg.data(), s, y, source);
    } else {
      alignas(simd::alignment) T xg[std::remove_cvref_t<decltype(weights())>::gate_stride];
      source.project_input(weights(), x, xg);
      advance(xg, s, y, source);
    }
  }

  template <class State>
  requires is_state<State>
  void forward_sequence(const T* xs, std::size_t steps, State& s, T* ys) const {
    const auto source = layer_source();
    engine::run_sequence(weights(), source, xs, steps, ys,
                         [&](const T* xg, T* y) { advance(xg, s, y, source); });
  }

  /// One step of N independent streams (channels) at once: the bits of N single steps, each
  /// weight loaded once per group of streams (engine/streams.hpp).
  template <std::size_t N, class State>
  requires is_state<State>
  void step_streams(const std::array<const T*, N>& x, const std::array<State*, N>& s,
                    const std::array<T*, N>& y) const noexcept {
    step_streams<N>(x, s, y, layer_source());
  }
  /// step_streams reading the two weight matrices from `source` (see step).
  template <std::size_t N, class State, class Source>
  requires is_state<State>
  void step_streams(const std::array<const T*, N>& x, const std::array<State*, N>& s,
                    const std::array<T*, N>& y, const Source& source) const noexcept {
    engine::stream_buffers<T, N> buffers;
    if constexpr (sized_at_run_time<Cell>) {
      for (std::size_t k = 0; k < N; ++k) {
        buffers.xg[k] = s[k]->xg.data();
        buffers.hg[k] = s[k]->hg.data();
      }
    }
    if constexpr (two_stage<Cell>) {
      std::conditional_t<sized_at_run_time<Cell>, std::array<typename Cell::stage_scratch*, N>,
                         std::array<typename Cell::stage_scratch, N>>
          scratch;
      const auto scratch_of = [&](std::size_t k) -> auto& {
        if constexpr (sized_at_run_time<Cell>)
          return *scratch[k];
        else
          return scratch[k];
      };
      std::array<const T*, N> v;
      for (std::size_t k = 0; k < N; ++k) {
        if constexpr (sized_at_run_time<Cell>) scratch[k] = &s[k]->stage;
        v[k] = scratch_of(k).v.data();
      }
      engine::step_states<N>(
          weights(), source, x, s, y, v,
          [&](auto stage, std::size_t slice, const T* xg, const batch* hg, std::size_t k)
              __attribute__((always_inline)) {
                cell().update(stage, slice, xg, hg, *s[k], y[k], scratch_of(k));
              },
          buffers);
    } else {
      engine::step_states<N>(
          weights(), source, x, s, y, {},
          [&](std::size_t slice, const T* xg, const batch* hg, std::size_t k)
              __attribute__((always_inline)) { cell().update(slice, xg, hg, *s[k], y[k]); },
          buffers);
    }
  }

  friend constexpr bool operator==(const recurrent_cell&, const recurrent_cell&) = default;

 private:
  const Cell& cell() const noexcept { return static_cast<const Cell&>(*this); }
  const auto& weights() const noexcept { return cell().w_; }
  auto layer_source() const noexcept {
    return engine::layer_weight_source<std::remove_cvref_t<decltype(weights())>>(weights());
  }

  // Not forced inline (recur is): inlined into forward_sequence's loop, an AVX-512
  // LSTM(1->128) sequence ran 1.33x slower.
  template <class State, class Source>
  void advance(const T* xg, State& s, T* y, const Source& from) const noexcept {
    const Source source = from;  // its matrix pointers in registers, not reloaded per pass
    if constexpr (two_stage<Cell>) {
      const auto run = [&](typename Cell::stage_scratch & scratch) __attribute__((always_inline)) {
        engine::recur(
            weights(), source, xg, s.h.data(), scratch.v.data(),
            [&](auto stage, std::size_t slice, const T* x, const batch* hg) __attribute__((
                always_inline)) { cell().update(stage, slice, x, hg, s, y, scratch); });
      };
      if constexpr (sized_at_run_time<Cell>) {
        run(s.stage);
      } else {
        typename Cell::stage_scratch scratch;
        run(scratch);
      }
    } else {
      engine::recur(
          weights(), source, xg, s.h.data(), nullptr,
          [&](std::size_t slice, const T* x, const batch* hg)
              __attribute__((always_inline)) { cell().update(slice, x, hg, s, y); });
    }
    if constexpr (sized_at_run_time<Cell>)
      std::copy_n(y, s.h.padded_size, s.h.data());
    else
      simd::copy<std::remove_cvref_t<decltype(s.h)>::padded_size>(y, s.h.data());
  }
};

}  // namespace RNNX_NAMESPACE
