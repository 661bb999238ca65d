#pragma once
// The training executor: the recurrence of training's forward and backward over a batch of
// sequences, and the parameter gradients once the cell has turned every step's kept values
// into gate gradients. Sequences run as a batch: row t * batch_size + b of every buffer holds
// time step t of sequence b, padded like a step's vectors. The forward sums every gate in the
// order the single step does (engine/step.hpp), so a sequence trains on the bits it streams.

#include <algorithm>
#include <array>
#include <cstddef>

#include "rnnx/engine/schedule.hpp"
#include "rnnx/engine/step.hpp"
#include "rnnx/engine/weight_source.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/matvec.hpp"
#include "rnnx/kernels/outer_product.hpp"
#include "rnnx/kernels/streams.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace RNNX_NAMESPACE::engine {

/// What a cell's forward keeps for its backward, and the backward's scratch. Buffers only
/// grow, so a training loop allocates during its first batch and never again.
template <class W>
struct recurrence_tape {
  using T = typename W::scalar;
  simd::aligned_vector<T> initial_h;  // batch rows: h before step 0
  simd::aligned_vector<T> gates;      // rows: the cell's gate values, then their gradients
  simd::aligned_vector<T> dh;         // batch rows: dL/dh flowing back into the step before
  // batch rows: dL/dh of the final states from outside the layer (an encoder's final state
  // feeding a decoder), used by the next backward when given
  simd::aligned_vector<T> final_dh;
  bool final_dh_given = false;
  // W_ih^T and W_hh^T, column-major, so that W^T d runs on the forward kernel.
  simd::aligned_vector<T> weight_ih_t;
  simd::aligned_vector<T> weight_hh_t;
  simd::aligned_vector<T> sums;  // a sequence group's gate sums (run-time sizes only)
  typename W::shape_type shape;

  /// Buffers for a batch (the layer concept's call: a typed cell knows its shape).
  void prepare(std::size_t batch_size, std::size_t steps) requires(!W::sized_at_run_time) {
    prepare(typename W::shape_type{}, batch_size, steps);
  }
  /// Buffers for a batch of `batch_size` sequences of `steps` steps of a cell of this shape.
  void prepare(const typename W::shape_type& of, std::size_t batch_size, std::size_t steps) {
    shape = of;
    // The transposes' padding must stay zero: new buffers when the shape changes.
    if (weight_ih_t.size() != shape.in_stride() * shape.gate_stride())
      weight_ih_t.assign(shape.in_stride() * shape.gate_stride(), T(0));
    if (W::has_hidden && weight_hh_t.size() != shape.hidden_stride() * shape.gate_stride())
      weight_hh_t.assign(shape.hidden_stride() * shape.gate_stride(), T(0));
    if constexpr (W::sized_at_run_time)
      grow(sums, recurrence_schedule<W>::sequence_group * shape.gate_stride());
    grow(initial_h, batch_size * shape.hidden_stride());
    grow(gates, batch_size * steps * shape.gate_stride());
    grow(dh, batch_size * shape.hidden_stride());
  }
  static void grow(simd::aligned_vector<T>& v, std::size_t size) {
    if (v.size() < size) v.resize(size);
  }
};

/// Records dL/dh_T of each sequence (h_of(b): its padded values) for the next backward.
template <class W, class HOf>
inline void give_final_h_gradient(recurrence_tape<W>& tape, std::size_t batch_size, HOf&& h_of) {
  const std::size_t hs = tape.shape.hidden_stride();
  tape.grow(tape.final_dh, batch_size * hs);
  for (std::size_t b = 0; b < batch_size; ++b)
    std::copy_n(h_of(b), hs, tape.final_dh.data() + b * hs);
  tape.final_dh_given = true;
}

/// h before step t of sequence b: the previous output row, or the initial state.
template <class W>
inline const typename W::scalar* previous_h(const recurrence_tape<W>& tape,
                                            const typename W::scalar* ys, std::size_t batch_size,
                                            std::size_t t, std::size_t b) noexcept {
  const std::size_t hs = tape.shape.hidden_stride();
  return t == 0 ? tape.initial_h.data() + b * hs : ys + ((t - 1) * batch_size + b) * hs;
}

/// Stage S's gate sums for K sequences at once: cell(k, slice, hg) for each, hg = W_hh
/// operands[k] + b_hh of the slice's gates in registers; each weight register is loaded once
/// for all K. K = 1 is exactly the single step's arithmetic.
template <std::size_t K, std::size_t S, class W, class Cell>
RNNX_INLINE_PASS inline void stage_sums(const W& w,
                                        const std::array<const typename W::scalar*, K>& operands,
                                        Cell&& cell) noexcept {
  using T = typename W::scalar;
  using schedule = recurrence_schedule<W>;
  constexpr std::size_t V = W::V, gates = W::template stage_gates<S>;
  constexpr std::size_t blocks = schedule::template block_slices<S, K>;
  constexpr std::size_t registers = schedule::template block_registers<S, K>;
  const T* bias = w.bias_hh.raw() + W::template row_offset<S>;
  const T* weights = w.weight_hh.raw() + W::template weight_offset<S>;
  for (std::size_t first = 0; first < W::slices; first += blocks) {
    const std::size_t offset = first * gates * V;
    std::array<std::array<simd::batch<T>, registers>, K> hg;
    kernels::unroll<K>([&](auto k) {
      kernels::unroll<registers>([&](auto r) { hg[k][r] = simd::load(bias + offset + r * V); });
    });
    if constexpr (K == 1) {
      kernels::accumulate_columns<T, registers, W::hidden_size, W::template stage_rows<S>>(
          weights + offset, operands[0], hg[0]);
    } else {
      kernels::accumulate_columns_streams<T, registers, W::hidden_size, W::template stage_rows<S>,
                                          K>(weights + offset, operands, hg);
    }
    kernels::unroll<K>([&](auto k) {
      kernels::unroll<blocks>(
          [&](auto s) { cell(std::size_t{k}, first + s, hg[k].data() + s * gates); });
    });
  }
}

/// stage_sums for a cell with run-time sizes: the sums through `buffer` (K gate rows), as
/// recur_stage forms them for such a cell, in the same order (one chain for K > 1, as above).
/// (A function of its own: a buffer parameter on stage_sums made g++ inline less of a typed
/// cell's training; AVX-512 LSTM H = 128, B = 16: 18% slower, measured side by side.)
template <std::size_t K, std::size_t S, class W, class Cell>
inline void stage_sums_through(const W& w, const std::array<const typename W::scalar*, K>& operands,
                               Cell&& cell, typename W::scalar* buffer) noexcept {
  using T = typename W::scalar;
  constexpr std::size_t V = W::V, gates = W::template stage_gates<S>;
  const auto& shape = w.shape();
  std::array<T*, K> sums;
  for (std::size_t k = 0; k < K; ++k) sums[k] = buffer + k * shape.gate_stride();
  kernels::matvec_rows_streams_over(
      w.weight_hh.raw() + shape.template weight_offset<S>(), operands,
      w.bias_hh.raw() + shape.template row_offset<S>(), sums, shape.template stage_rows<S>(),
      shape.hidden_size(),
      K == 1 ? recurrence_schedule<W>::template chain_count<S>(shape) : std::size_t{1},
      std::size_t{0}, shape.template stage_registers<S>());
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t slice = 0; slice < shape.slices(); ++slice) {
      std::array<simd::batch<T>, gates> hg;
      kernels::unroll<gates>(
          [&](auto g) { hg[g] = simd::load(sums[k] + (slice * gates + g) * V); });
      cell(k, slice, hg.data());
    }
}

/// The recurrence of training's forward over a batch: for each step, for each group of
/// sequences, the input projections into the tape's gate rows, then
///   cell(b, row, slice, x, h, hg)   (x: the slice's gate rows, h: the slice of h_{t-1}, hg:
///                                   W_hh h + b_hh of the slice's gates)
/// for every slice of every sequence, stage by stage. ys receives h_t, so it holds h_{t-1} of
/// the next step. A two-stage cell gets cell(stage, ...) and writes v of row `row` at
/// operands + row * hidden_stride in stage 0, for stage 1 to read.
template <class W, class Cell>
inline void forward_batch(const W& w, const typename W::scalar* xs, std::size_t batch_size,
                          std::size_t steps, recurrence_tape<W>& tape, const typename W::scalar* ys,
                          Cell&& cell, const typename W::scalar* operands = nullptr) {
  using T = typename W::scalar;
  using batch = simd::batch<T>;
  const layer_weight_source<W> source(w);
  const auto& shape = w.shape();
  for (std::size_t t = 0; t < steps; ++t) {
    recurrence_schedule<W>::for_sequence_groups(batch_size, [&](auto group, std::size_t b0) {
      constexpr std::size_t K = decltype(group)::value;
      std::array<std::array<const T*, K>, 2> of{};
      for (std::size_t k = 0; k < K; ++k) {
        const std::size_t row = t * batch_size + b0 + k;
        source.project_input(w, xs + row * shape.in_stride(),
                             tape.gates.data() + row * shape.gate_stride());
        of[0][k] = previous_h(tape, ys, batch_size, t, b0 + k);
        if constexpr (W::two_stage) of[1][k] = operands + row * shape.hidden_stride();
      }
      const auto slice_of = [&](auto stage, std::size_t k, std::size_t slice, const batch* hg) {
        const std::size_t b = b0 + k, row = t * batch_size + b;
        call_stage<W, decltype(stage)::value>(
            cell, b, row, slice,
            tape.gates.data() + row * shape.gate_stride() + slice * W::gates * W::V,
            of[0][k] + slice * W::V, hg);
      };
      if constexpr (W::stages == 0) {
        for (std::size_t k = 0; k < K; ++k)
          for (std::size_t slice = 0; slice < shape.slices(); ++slice)
            slice_of(std::integral_constant<std::size_t, 0>{}, k, slice, nullptr);
      } else {
        kernels::unroll<W::stages>([&](auto stage) __attribute__((always_inline)) {
          // The typed call exactly as it was: g++'s inlining of the cell into the pass
          // turned on its form (measured both ways on AVX2 and AVX-512, up to 23%).
          if constexpr (W::sized_at_run_time) {
            stage_sums_through<K, decltype(stage)::value>(
                w, of[stage],
                [&](std::size_t k, std::size_t slice, const batch* hg) {
                  slice_of(stage, k, slice, hg);
                },
                tape.sums.data());
          } else {
            stage_sums<K, decltype(stage)::value>(
                w, of[stage], [&](std::size_t k, std::size_t slice, const batch* hg) {
                  slice_of(stage, k, slice, hg);
                });
          }
        });
      }
    });
  }
}

/// W_ih^T and each stage's W_hh^T (stage S's from column row_offset<S>) into the tape.
template <class W>
inline void transpose_into(const W& w, recurrence_tape<W>& tape) noexcept {
  const auto& shape = w.shape();
  kernels::transpose(w.weight_ih.raw(), shape.gate_stride(), shape.in_size(), shape.gate_stride(),
                     tape.weight_ih_t.data(), shape.in_stride());
  kernels::unroll<W::stages>([&](auto stage) {
    constexpr std::size_t S = decltype(stage)::value;
    const std::size_t rows = shape.template stage_rows<S>();
    kernels::transpose(
        w.weight_hh.raw() + shape.template weight_offset<S>(), rows, shape.hidden_size(), rows,
        tape.weight_hh_t.data() + shape.hidden_stride() * shape.template row_offset<S>(),
        shape.hidden_stride());
  });
}

/// dh[k] = W_hh^T dg[k] over the first stage for K rows at once (dg: hidden-side gate
/// gradients of a row, in W_hh's layout); zero for a cell without W_hh.
template <std::size_t K, class W>
inline void hidden_gradient(const recurrence_tape<W>& tape,
                            const std::array<const typename W::scalar*, K>& dg,
                            const std::array<typename W::scalar*, K>& dh) noexcept {
  using T = typename W::scalar;
  const auto& shape = tape.shape;
  if constexpr (W::stages == 0) {
    for (std::size_t k = 0; k < K; ++k) std::fill_n(dh[k], shape.hidden_stride(), T(0));
  } else if constexpr (K == 1) {
    kernels::matvec_col_major_over(tape.weight_hh_t.data(), dg[0], nullptr, dh[0],
                                   shape.hidden_stride(), shape.template stage_rows<0>());
  } else {
    kernels::matvec_rows_streams_over(tape.weight_hh_t.data(), dg, nullptr, dh,
                                      shape.hidden_stride(), shape.template stage_rows<0>(),
                                      kernels::size_constant<1>{}, kernels::size_constant<0>{},
                                      shape.slices());
  }
}

/// dv = W_hh^T dg over the second stage: dL/dv of a two-stage cell's intermediate vector.
template <class W>
inline void operand_gradient(const recurrence_tape<W>& tape, const typename W::scalar* dg,
                             typename W::scalar* dv) noexcept {
  const auto& shape = tape.shape;
  kernels::matvec_col_major_over(
      tape.weight_hh_t.data() + shape.hidden_stride() * shape.template row_offset<1>(),
      dg + shape.template row_offset<1>(), nullptr, dv, shape.hidden_stride(),
      shape.template stage_rows<1>());
}

/// The recurrence of backward: for each step from the last, for each group of sequences,
/// `gates_gradient(t, b, row)` turns the row's kept gate values into gate gradients (reading
/// tape.dh, dL/dh_t from the step after) and returns the hidden-side ones; then
/// tape.dh = W_hh^T of them for the step before. Afterwards tape.dh holds dL/dh_{-1} through
/// W_hh (the initial states' gradient but for paths around the matrix, which the cell adds).
template <class W, class GatesGradient>
inline void backward_batch(recurrence_tape<W>& tape, std::size_t batch_size, std::size_t steps,
                           GatesGradient&& gates_gradient) {
  using T = typename W::scalar;
  const std::size_t hs = tape.shape.hidden_stride();
  if (tape.final_dh_given) {
    std::copy_n(tape.final_dh.data(), batch_size * hs, tape.dh.data());
    tape.final_dh_given = false;
  } else {
    std::fill_n(tape.dh.data(), batch_size * hs, T(0));
  }
  for (std::size_t t = steps; t-- > 0;) {
    recurrence_schedule<W>::for_sequence_groups(batch_size, [&](auto group, std::size_t b0) {
      constexpr std::size_t K = decltype(group)::value;
      std::array<const T*, K> dg;
      std::array<T*, K> dh;
      for (std::size_t k = 0; k < K; ++k) {
        const std::size_t b = b0 + k;
        dg[k] = gates_gradient(t, b, t * batch_size + b);
        dh[k] = tape.dh.data() + b * hs;
      }
      hidden_gradient<K>(tape, dg, dh);
    });
  }
}

/// After the recurrence: parameter gradients from the gate gradients of every row (dgx on
/// the input side, interleaved like the gates; dgh on the hidden side, in W_hh's layout;
/// the same buffer when the two are equal), and dL/dx = W_ih^T dgx for every row when dxs
/// is not null. A two-stage cell's second stage multiplied v: its rows at operands.
template <class W>
inline void accumulate_gradients(const recurrence_tape<W>& tape, const typename W::scalar* dgx,
                                 const typename W::scalar* dgh, const typename W::scalar* xs,
                                 const typename W::scalar* ys, std::size_t batch_size,
                                 std::size_t steps, W& grad, typename W::scalar* dxs,
                                 const typename W::scalar* operands = nullptr) noexcept {
  using T = typename W::scalar;
  const auto& shape = tape.shape;
  const auto gate_stride = shape.gate_stride();
  const auto H = shape.hidden_size();
  const auto in_stride = shape.in_stride();
  const auto hidden_stride = shape.hidden_stride();
  const std::size_t rows = batch_size * steps;
  kernels::accumulate_outer_products_over(dgx, gate_stride, xs, in_stride, rows,
                                          grad.weight_ih.data.data(), gate_stride, shape.in_size());
  if constexpr (W::has_hidden) {
    // Stage 0 multiplied h_{t-1}: the initial states for step 0, the outputs shifted by one
    // step after that.
    const auto first_rows = shape.template stage_rows<0>();
    T* dw = grad.weight_hh.data.data();
    kernels::accumulate_outer_products_over(dgh, gate_stride, tape.initial_h.data(), hidden_stride,
                                            batch_size, dw, first_rows, H);
    kernels::accumulate_outer_products_over(dgh + batch_size * gate_stride, gate_stride, ys,
                                            hidden_stride, rows - batch_size, dw, first_rows, H);
    if constexpr (W::two_stage)
      kernels::accumulate_outer_products_over(
          dgh + shape.template row_offset<1>(), gate_stride, operands, hidden_stride, rows,
          dw + shape.template weight_offset<1>(), shape.template stage_rows<1>(), H);
    kernels::accumulate_rows_over(dgh, gate_stride, rows, grad.bias_hh.data.data(), gate_stride);
  }
  kernels::accumulate_rows_over(dgx, gate_stride, rows, grad.bias_ih.data.data(), gate_stride);
  if (dxs != nullptr)
    for (std::size_t n = 0; n < rows; ++n)
      kernels::matvec_col_major_over(tape.weight_ih_t.data(), dgx + n * gate_stride, nullptr,
                                     dxs + n * in_stride, in_stride, gate_stride);
}

}  // namespace RNNX_NAMESPACE::engine
