#pragma once
// What the Elman RNN, the LSTM and the GRU share: PyTorch's four parameters for G gates,
// the input projection, and the fused recurrent pass that hands each cell the pre-activations
// of all its gates for one register-wide slice of hidden units.
//
// A cell whose last gates multiply an intermediate vector v instead of h (U<k>(v): the
// minimal gated unit, the original GRU) runs two passes over W_hh per step: the first G1
// gates over h, then, once the cell has formed every unit of v, the others over v. Every
// callback of such a cell gets the stage (std::integral_constant 0 or 1) first.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/bf16_pairs.hpp"
#include "rnnx/kernels/matvec.hpp"
#include "rnnx/kernels/outer_product.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/kernels/streams.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

/// The two matrices a recurrent step reads, laid out as recurrent_weights' weight_ih and
/// weight_hh; W is the scalar, or bf16 for copies made by realtime/bf16_weights.hpp.
template <class W>
struct recurrent_matrices {
  const W* input;
  const W* hidden;
};

/// Hidden = false: no W_hh and b_hh (cells whose recurrence is element-wise, as IndRNN's).
/// G1 < G: gates [G1, G) form a second stage (above); W_hh and b_hh are then stored
/// layout::staged_gates, each stage a gate-interleaved matrix of its own.
template <class T, std::size_t G, std::size_t In, std::size_t H, bool Hidden = true,
          std::size_t G1 = G>
struct recurrent_weights {
  static_assert(0 < G1 && G1 <= G && (Hidden || G1 == G));
  static constexpr bool has_hidden = Hidden;
  static constexpr bool two_stage = G1 < G;
  using batch = simd::batch<T>;
  template <std::size_t S>
  using stage_index = std::integral_constant<std::size_t, S>;
  static constexpr std::size_t V = simd::width<T>;
  static constexpr std::size_t Hs = simd::padded<T>(H);
  /// Values per time step of the gate pre-activations (all gates, padded).
  static constexpr std::size_t gate_stride = layout::gate_interleaved<T, G, H>::stride;
  static constexpr std::size_t slices = simd::registers<T>(H);

  /// The gates of stage S, its rows (padded), and where it starts among the rows of b_hh and
  /// of the hidden gate sums (row_offset) and in W_hh (weight_offset).
  template <std::size_t S>
  static constexpr std::size_t stage_gates = S == 0 ? G1 : G - G1;
  template <std::size_t S>
  static constexpr std::size_t stage_rows = stage_gates<S>* Hs;
  template <std::size_t S>
  static constexpr std::size_t row_offset = S == 0 ? 0 : G1* Hs;
  template <std::size_t S>
  static constexpr std::size_t weight_offset = S == 0 ? 0 : G1* Hs* H;
  /// Slices of stage S whose gate sums share one pass over the weights, for K sequences at
  /// once (kernels/schedule.hpp).
  template <std::size_t S, std::size_t K = 1>
  static constexpr std::size_t stage_block_slices = kernels::block_slices(slices, stage_gates<S>,
                                                                          K);
  static constexpr std::size_t block_slices = stage_block_slices<0>;

  /// Where the hidden-side value of gate k of a slice sits in a row of gate sums or gradients
  /// laid out as W_hh's rows (stage by stage, each gate-interleaved).
  static constexpr std::size_t hidden_row(std::size_t k, std::size_t slice) noexcept {
    return k < G1 ? (slice * G1 + k) * V : row_offset<1> + (slice * (G - G1) + (k - G1)) * V;
  }

  template <std::size_t Cols, bool Staged = two_stage>
  struct hidden_parameter_of {
    using type = gate_parameter<T, G, H, Cols>;
  };
  template <std::size_t Cols>
  struct hidden_parameter_of<Cols, true> {
    using staged = layout::staged_gates<T, G, G1, H, Cols>;
    using type = parameter<T, G * H, Cols, staged, staged::size>;
  };
  template <std::size_t Cols>
  using hidden_parameter = typename hidden_parameter_of<Cols>::type;
  using absent = parameter<T, 0, 0, layout::column_major<T, 0>, 0>;

  gate_parameter<T, G, H, In> weight_ih;
  std::conditional_t<Hidden, hidden_parameter<H>, absent> weight_hh;
  gate_parameter<T, G, H, 0> bias_ih;
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

  /// The layouts of bf16 copies of weight_ih and weight_hh (realtime/bf16_weights.hpp):
  /// entry (row position p of the gate layout, column j) at index(p, j).
  using bf16_input_layout =
      kernels::bf16_pair_layout<gate_stride, In, kernels::bf16_block_rows<gate_stride>>;
  using bf16_hidden_layout = std::conditional_t<
      two_stage,
      kernels::bf16_staged_layout<stage_rows<0>, stage_block_slices<0> * G1 * V, stage_rows<1>,
                                  stage_block_slices<1>*(G - G1) * V, H>,
      kernels::bf16_pair_layout<gate_stride, H, block_slices * G * V>>;

  recurrent_matrices<T> matrices() const noexcept { return {weight_ih.raw(), weight_hh.raw()}; }

  /// xg = W_ih x + b_ih for every gate, in the interleaved gate layout; W_ih read from w_ih
  /// (weight_ih, or a copy of it in another type).
  template <class W>
  void project_input(const T* x, T* xg, const W* w_ih) const noexcept {
    if constexpr (std::is_same_v<W, bf16>) {
      kernels::matvec_bf16_pairs<gate_stride, In>(w_ih, x, bias_ih.raw(), xg);
    } else {
      kernels::matvec_col_major<T, gate_stride, In>(w_ih, x, bias_ih.raw(), xg);
    }
  }
  void project_input(const T* x, T* xg) const noexcept { project_input(x, xg, weight_ih.raw()); }

  /// For each slice of hidden units: hg = W_hh h + b_hh for its G gates, kept in registers,
  /// then cell(slice, xg of the slice, hg). Reads all of h before any cell writes. A
  /// two-stage cell gets cell(stage, slice, xg, hg) for stage 0 (the first G1 gates over h),
  /// then for stage 1 (the others over v, which the stage-0 calls have written).
  template <class Cell>
  void recur(const T* xg, const T* h, Cell&& cell) const noexcept {
    recur(xg, h, nullptr, cell, weight_hh.raw());
  }
  /// recur with W_hh read from w_hh: weight_hh, or a bf16 copy in bf16_hidden_layout (then
  /// h too is rounded to bf16 for the products; sums and state stay float).
  /// Inlined where the schedule says (RNNX_INLINE_PASS, kernels/schedule.hpp), as is the pass
  /// of each stage.
  template <class Cell, class W>
  RNNX_INLINE_PASS void recur(const T* xg, const T* h, const T* v, Cell&& cell,
                              const W* w_hh) const noexcept {
    if constexpr (!Hidden) {
      for (std::size_t slice = 0; slice < slices; ++slice)
        cell(slice, xg + slice * G * V, static_cast<const batch*>(nullptr));
    } else {
      recur_stage<0>(xg, h, cell, w_hh);
      if constexpr (two_stage) recur_stage<1>(xg, v, cell, w_hh);
    }
  }

  /// One pass of recur: stage S's gate sums over `operand` (h or v), block by block.
  template <std::size_t S, class Cell, class W>
  RNNX_INLINE_PASS void recur_stage(const T* xg, const T* operand, Cell& cell,
                                    const W* w_hh) const noexcept {
    constexpr std::size_t gates = stage_gates<S>, blocks = stage_block_slices<S>;
    constexpr std::size_t regs = blocks * gates;
    constexpr std::size_t pairs = bf16_hidden_layout::pairs;
    [[maybe_unused]] alignas(simd::alignment) std::uint32_t h_pairs[simd::bf16_pair_words<pairs>];
    if constexpr (std::is_same_v<W, bf16>) simd::to_bf16_pairs<pairs>(operand, h_pairs);
    const T* bias = bias_hh.raw() + row_offset<S>;
    for (std::size_t first = 0; first < slices; first += blocks) {
      const std::size_t offset = first * gates * V;
      std::array<batch, regs> hg;
      kernels::unroll<regs>([&](auto k) { hg[k] = simd::load(bias + offset + k * V); });
      if constexpr (std::is_same_v<W, bf16>) {
        kernels::accumulate_column_pairs<regs, pairs>(
            w_hh + bf16_hidden_layout::block_start(row_offset<S> + offset), h_pairs, hg);
      } else {
        kernels::accumulate_columns<T, regs, H, stage_rows<S>>(w_hh + weight_offset<S> + offset,
                                                               operand, hg);
      }
      kernels::unroll<blocks>([&](auto s) {
        const std::size_t slice = first + s;
        call<S>(cell, slice, xg + slice * G * V, hg.data() + s * gates);
      });
    }
  }

  /// cell(args...), or cell(stage, args...) for a two-stage cell.
  template <std::size_t S, class Cell, class... A>
  [[gnu::always_inline]] static void call(Cell& cell, A&&... a) {
    if constexpr (two_stage)
      cell(stage_index<S>{}, static_cast<A&&>(a)...);
    else
      cell(static_cast<A&&>(a)...);
  }

  /// Sequences advanced together by recur_streams, sharing each weight load.
  static constexpr std::size_t stream_group = kernels::budget.sequence_group;

  /// f(std::integral_constant<std::size_t, K>, first) for groups of K sequences covering
  /// [0, count): groups of stream_group, then single sequences.
  template <class F>
  static void for_stream_groups(std::size_t count, F&& f) {
    std::size_t first = 0;
    for (; first + stream_group <= count; first += stream_group)
      f(std::integral_constant<std::size_t, stream_group>{}, first);
    for (; first < count; ++first) f(std::integral_constant<std::size_t, 1>{}, first);
  }

  /// recur for K sequences at once: cell(k, slice, hg) for each; each weight register is
  /// loaded once for all K. K = 1 is exactly recur's arithmetic (so training's forward of a
  /// single sequence equals streaming bit for bit). One stage: S, over operands[k].
  template <std::size_t K, std::size_t S = 0, class Cell>
  void recur_streams(const std::array<const T*, K>& operands, Cell&& cell) const noexcept {
    if constexpr (!Hidden) {
      for (std::size_t k = 0; k < K; ++k)
        for (std::size_t slice = 0; slice < slices; ++slice)
          cell(k, slice, static_cast<const batch*>(nullptr));
    } else {
      constexpr std::size_t gates = stage_gates<S>, blocks = stage_block_slices<S, K>;
      constexpr std::size_t regs = blocks * gates;
      const T* bias = bias_hh.raw() + row_offset<S>;
      const T* w = weight_hh.raw() + weight_offset<S>;
      for (std::size_t first = 0; first < slices; first += blocks) {
        const std::size_t offset = first * gates * V;
        std::array<std::array<batch, regs>, K> hg;
        kernels::unroll<K>([&](auto k) {
          kernels::unroll<regs>([&](auto r) { hg[k][r] = simd::load(bias + offset + r * V); });
        });
        if constexpr (K == 1) {
          kernels::accumulate_columns<T, regs, H, stage_rows<S>>(w + offset, operands[0], hg[0]);
        } else {
          kernels::accumulate_columns_streams<T, regs, H, stage_rows<S>, K>(w + offset, operands,
                                                                            hg);
        }
        kernels::unroll<K>([&](auto k) {
          kernels::unroll<blocks>(
              [&](auto s) { cell(std::size_t{k}, first + s, hg[k].data() + s * gates); });
        });
      }
    }
  }

  // ---- streaming several independent states at once ---------------------------------------
  /// The accumulation chains of recur's pass over stage S of W_hh (see
  /// kernels::accumulation_chains).
  template <std::size_t S = 0>
  static constexpr std::size_t recur_chains =
      kernels::accumulation_chains(stage_block_slices<S>* stage_gates<S>, H);
  /// Streams whose step shares each weight load.
  static constexpr std::size_t step_group = kernels::budget.step_group;
  /// Whether sharing weight loads between streams pays: not while the weights sit in L1
  /// (48 KB here), where steps of independent streams one after the other already overlap
  /// in the out-of-order core and the shared pass only adds its trips through memory
  /// (measured: bench/streams_bench.cpp, LSTM and GRU at H = 32 against 64).
  static constexpr bool streams_share_loads =
      Hidden && sizeof(weight_hh) + sizeof(weight_ih) > std::size_t{32} * 1024;

  /// One streaming step of N states at once. For each stream k: xg = W_ih x[k] + b_ih, then,
  /// slice by slice, cell(k, slice, xg of the slice, W_hh h[k] + b_hh of the slice's gates).
  /// Every sum is formed in the order project_input and recur form it, so each stream gets
  /// the bits of a single step; groups of step_group streams share each weight load (when
  /// streams_share_loads; else the streams run one after the other). Unlike
  /// recur, the gate sums go through memory (L1): the sums of K streams for a slice's G
  /// gates would not fit in registers, and sharing the loads matters more. Reads all of
  /// every h[k] before any cell writes. A two-stage cell gets cell(stage, k, ...) for the
  /// first stage of every stream of a group, then the second over v[k].
  /// With bf16 matrices (W = bf16: copies in the bf16 layouts) each stream gets the bits of
  /// its own bf16 step instead.
  template <std::size_t N, class Cell, class W>
  void step_streams(const std::array<const T*, N>& x, const std::array<const T*, N>& h,
                    const std::array<const T*, N>& v, Cell&& cell,
                    const recurrent_matrices<W>& m) const noexcept {
    alignas(simd::alignment) T xg[N][gate_stride];
    if constexpr (!streams_share_loads) {
      for (std::size_t k = 0; k < N; ++k) {
        project_input(x[k], xg[k], m.input);
        const auto one = [&](auto... a) __attribute__((always_inline)) { cell(a..., k); };
        recur(xg[k], h[k], v[k], one, m.hidden);
      }
      return;
    }
    alignas(simd::alignment) T hg[step_group][gate_stride];
    if constexpr (std::is_same_v<W, bf16>) {
      for (std::size_t k = 0; k < N; ++k) project_input(x[k], xg[k], m.input);
    }
    kernels::for_stream_groups<N, step_group>([&](auto group, auto first) {
      constexpr std::size_t K = decltype(group)::value;
      std::array<const T*, K> xs, hs, vs;
      std::array<T*, K> xgs, hgs;
      kernels::unroll<K>([&](auto k) {
        xs[k] = x[first + k];
        hs[k] = h[first + k];
        vs[k] = v[first + k];
        xgs[k] = xg[first + k];
        hgs[k] = hg[k];
      });
      if constexpr (!std::is_same_v<W, bf16>) {
        kernels::matvec_col_major_streams_exact<T, gate_stride, In, K>(m.input, xs, bias_ih.raw(),
                                                                       xgs);
      }
      const auto stage = [&]<std::size_t S>(stage_index<S>, const std::array<const T*, K>& of) {
        constexpr std::size_t gates = stage_gates<S>;
        if constexpr (std::is_same_v<W, bf16>) {
          recur_bf16_streams<K, S>(m.hidden, of, hgs);
        } else {
          kernels::matvec_rows_streams<T, stage_rows<S>, H, K, recur_chains<S>, 0, slices * gates>(
              m.hidden + weight_offset<S>, of, bias_hh.raw() + row_offset<S>, hgs);
        }
        for (std::size_t k = 0; k < K; ++k) {
          for (std::size_t slice = 0; slice < slices; ++slice) {
            std::array<batch, gates> sums;
            kernels::unroll<gates>(
                [&](auto g) { sums[g] = simd::load(hg[k] + (slice * gates + g) * V); });
            call<S>(cell, slice, xg[first + k] + slice * G * V, sums.data(), first + k);
          }
        }
      };
      stage(stage_index<0>{}, hs);
      if constexpr (two_stage) stage(stage_index<1>{}, vs);
    });
  }

  /// hg[k] = W_hh v[k] + b_hh over the rows of stage S for K streams from the bf16 copy of
  /// W_hh (hg[k] from the stage's first row), block by block as recur's bf16 pass sums them
  /// (bit for bit).
  template <std::size_t K, std::size_t S = 0>
  void recur_bf16_streams(const bf16* w_hh, const std::array<const T*, K>& v,
                          const std::array<T*, K>& hg) const noexcept {
    constexpr std::size_t pairs = bf16_hidden_layout::pairs;
    constexpr std::size_t regs = stage_block_slices<S> * stage_gates<S>;
    constexpr std::size_t block_rows = regs * V;
    constexpr std::size_t chains = kernels::accumulation_chains(regs, pairs);
    alignas(simd::alignment) std::uint32_t h_pairs[K][simd::bf16_pair_words<pairs>];
    std::array<const std::uint32_t*, K> hp;
    for (std::size_t k = 0; k < K; ++k) {
      simd::to_bf16_pairs<pairs>(v[k], h_pairs[k]);
      hp[k] = h_pairs[k];
    }
    for (std::size_t first = 0; first < stage_rows<S>; first += block_rows) {
      std::array<T*, K> out;
      for (std::size_t k = 0; k < K; ++k) out[k] = hg[k] + first;
      kernels::matvec_pairs_block_streams<pairs, 2 * block_rows, K, chains, regs>(
          w_hh + bf16_hidden_layout::block_start(row_offset<S> + first), hp,
          bias_hh.raw() + row_offset<S> + first, out);
    }
  }

  /// step_streams over the states of a cell that carries its output h: h[k] is s[k]->h, and
  /// each state's h becomes y[k] once every stream has read its own (v: see step_streams).
  template <std::size_t N, class State, class W, class Cell>
  void step_states(const std::array<const T*, N>& x, const std::array<State*, N>& s,
                   const std::array<T*, N>& y, const std::array<const T*, N>& v,
                   const recurrent_matrices<W>& m, Cell&& cell) const noexcept {
    std::array<const T*, N> h;
    for (std::size_t k = 0; k < N; ++k) h[k] = s[k]->h.data();
    step_streams<N>(x, h, v, cell, m);
    for (std::size_t k = 0; k < N; ++k) std::copy_n(y[k], s[k]->h.padded_size, s[k]->h.data());
  }

  /// Runs `advance(xg_t, y_t)` over a sequence, computing the input projections in chunks
  /// ahead of the recurrence (they do not depend on it).
  template <class Advance>
  void run_sequence(const T* xs, std::size_t steps, T* ys, Advance&& advance) const {
    constexpr std::size_t chunk = 32;
    constexpr std::size_t in_stride = simd::padded<T>(In);
    constexpr std::size_t out_stride = simd::padded<T>(H);
    simd::aligned_vector<T> xg(chunk * gate_stride);
    for (std::size_t t0 = 0; t0 < steps; t0 += chunk) {
      const std::size_t n = std::min(chunk, steps - t0);
      for (std::size_t i = 0; i < n; ++i)
        project_input(xs + (t0 + i) * in_stride, xg.data() + i * gate_stride);
      for (std::size_t i = 0; i < n; ++i)
        advance(xg.data() + i * gate_stride, ys + (t0 + i) * out_stride);
    }
  }

  // ---- training -------------------------------------------------------------------------
  // Sequences run as a batch: row t * batch_size + b of every buffer holds time step t of
  // sequence b, padded like step's vectors.

  static constexpr std::size_t in_stride = simd::padded<T>(In);
  static constexpr std::size_t hidden_stride = simd::padded<T>(H);

  /// What a cell's forward keeps for its backward, and the backward's scratch. Buffers only
  /// grow, so a training loop allocates during its first batch and never again.
  struct tape_base {
    simd::aligned_vector<T> initial_h;  // batch rows: h before step 0
    simd::aligned_vector<T> gates;      // rows: the cell's gate values, then their gradients
    simd::aligned_vector<T> dh;         // batch rows: dL/dh flowing back into the step before
    // batch rows: dL/dh of the final states from outside the layer (an encoder's final state
    // feeding a decoder), used by the next backward when given
    simd::aligned_vector<T> final_dh;
    bool final_dh_given = false;
    // W_ih^T and W_hh^T, column-major, so that W^T d runs on the forward kernel.
    simd::aligned_vector<T> weight_ih_t = simd::aligned_vector<T>(in_stride * gate_stride, T(0));
    simd::aligned_vector<T> weight_hh_t =
        simd::aligned_vector<T>(Hidden ? hidden_stride * gate_stride : 0, T(0));

    void prepare(std::size_t batch_size, std::size_t steps) {
      grow(initial_h, batch_size * hidden_stride);
      grow(gates, batch_size * steps * gate_stride);
      grow(dh, batch_size * hidden_stride);
    }
    static void grow(simd::aligned_vector<T>& v, std::size_t size) {
      if (v.size() < size) v.resize(size);
    }
  };

  /// Records dL/dh_T of each sequence (h_of(b): its padded values) for the next backward.
  template <class HOf>
  static void give_final_h_gradient(tape_base& tape, std::size_t batch_size, HOf&& h_of) {
    tape_base::grow(tape.final_dh, batch_size * hidden_stride);
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(h_of(b), hidden_stride, tape.final_dh.data() + b * hidden_stride);
    tape.final_dh_given = true;
  }

  /// h before step t of sequence b: the previous output row, or the initial state.
  static const T* previous_h(const tape_base& tape, const T* ys, std::size_t batch_size,
                             std::size_t t, std::size_t b) noexcept {
    return t == 0 ? tape.initial_h.data() + b * hidden_stride
                  : ys + ((t - 1) * batch_size + b) * hidden_stride;
  }

  /// W_ih^T and each stage's W_hh^T (stage S's from column row_offset<S>).
  void transpose_into(tape_base& tape) const noexcept {
    kernels::transpose(weight_ih.raw(), gate_stride, In, gate_stride, tape.weight_ih_t.data(),
                       in_stride);
    if constexpr (Hidden) {
      kernels::transpose(weight_hh.raw(), stage_rows<0>, H, stage_rows<0>, tape.weight_hh_t.data(),
                         hidden_stride);
      if constexpr (two_stage)
        kernels::transpose(weight_hh.raw() + weight_offset<1>, stage_rows<1>, H, stage_rows<1>,
                           tape.weight_hh_t.data() + hidden_stride * row_offset<1>, hidden_stride);
    }
  }

  /// dh = W_hh^T dg over the first stage (dg: hidden-side gate gradients of one row, in
  /// W_hh's layout; for one-stage cells, all of W_hh).
  static void hidden_gradient(const tape_base& tape, const T* dg, T* dh) noexcept {
    if constexpr (!Hidden) {
      std::fill_n(dh, hidden_stride, T(0));
      return;
    } else {
      kernels::matvec_col_major<T, hidden_stride, stage_rows<0>>(tape.weight_hh_t.data(), dg,
                                                                 nullptr, dh);
    }
  }
  /// dv = W_hh^T dg over the second stage: dL/dv of a two-stage cell's intermediate vector.
  static void operand_gradient(const tape_base& tape, const T* dg, T* dv) noexcept {
    kernels::matvec_col_major<T, hidden_stride, stage_rows<1>>(
        tape.weight_hh_t.data() + hidden_stride * row_offset<1>, dg + row_offset<1>, nullptr, dv);
  }

  /// The recurrence of training's forward over a batch: for each step, for each group of
  /// sequences, the input projections into the tape's gate rows, then
  ///   cell(b, row, x, h, hg)   (x: the slice's gate rows, h: the slice of h_{t-1}, hg: W_hh h +
  ///                            b_hh of the slice's gates)
  /// for every slice of every sequence. ys receives h_t, so it holds h_{t-1} of the next step.
  /// A two-stage cell gets cell(stage, ...) and writes v of row `row` at operands + row *
  /// hidden_stride in stage 0, for stage 1 to read.
  template <class Cell>
  void forward_batch(const T* xs, std::size_t batch_size, std::size_t steps, tape_base& tape,
                     const T* ys, Cell&& cell, const T* operands = nullptr) const {
    for (std::size_t t = 0; t < steps; ++t) {
      for_stream_groups(batch_size, [&](auto streams, std::size_t b0) {
        constexpr std::size_t K = decltype(streams)::value;
        std::array<const T*, K> h;
        for (std::size_t k = 0; k < K; ++k) {
          const std::size_t row = t * batch_size + b0 + k;
          project_input(xs + row * in_stride, tape.gates.data() + row * gate_stride);
          h[k] = previous_h(tape, ys, batch_size, t, b0 + k);
        }
        const auto stage = [&](auto s, const std::array<const T*, K>& of) {
          recur_streams<K, decltype(s)::value>(
              of, [&](std::size_t k, std::size_t slice, const batch* hg) {
                const std::size_t b = b0 + k, row = t * batch_size + b;
                call<decltype(s)::value>(cell, b, row, slice,
                                         tape.gates.data() + row * gate_stride + slice * G * V,
                                         h[k] + slice * V, hg);
              });
        };
        stage(stage_index<0>{}, h);
        if constexpr (two_stage) {
          std::array<const T*, K> v;
          for (std::size_t k = 0; k < K; ++k)
            v[k] = operands + (t * batch_size + b0 + k) * hidden_stride;
          stage(stage_index<1>{}, v);
        }
      });
    }
  }

  /// The recurrence of backward: for each step from the last, for each group of sequences,
  /// `gates_gradient(t, b, row)` turns the row's kept gate values into gate gradients (reading
  /// tape.dh, dL/dh_t from the step after) and returns the hidden-side ones; then
  /// tape.dh = W_hh^T of them for the step before.
  template <class GatesGradient>
  /// Afterwards tape.dh holds dL/dh_{-1} through W_hh (the initial states' gradient but for
  /// paths around the matrix, which the cell adds).
  static void backward_batch(tape_base& tape, std::size_t batch_size, std::size_t steps,
                             GatesGradient&& gates_gradient) {
    if (tape.final_dh_given) {
      std::copy_n(tape.final_dh.data(), batch_size * hidden_stride, tape.dh.data());
      tape.final_dh_given = false;
    } else {
      std::fill_n(tape.dh.data(), batch_size * hidden_stride, T(0));
    }
    for (std::size_t t = steps; t-- > 0;) {
      for_stream_groups(batch_size, [&](auto streams, std::size_t b0) {
        constexpr std::size_t K = decltype(streams)::value;
        std::array<const T*, K> dg;
        std::array<T*, K> dh;
        for (std::size_t k = 0; k < K; ++k) {
          const std::size_t b = b0 + k;
          dg[k] = gates_gradient(t, b, t * batch_size + b);
          dh[k] = tape.dh.data() + b * hidden_stride;
        }
        hidden_gradient_streams<K>(tape, dg, dh);
      });
    }
  }

  /// dh[k] = W_hh^T dg[k] (first stage) for K rows at once.
  template <std::size_t K>
  static void hidden_gradient_streams(const tape_base& tape, const std::array<const T*, K>& dg,
                                      const std::array<T*, K>& dh) noexcept {
    if constexpr (K == 1 || !Hidden) {
      for (std::size_t k = 0; k < K; ++k) hidden_gradient(tape, dg[k], dh[k]);
    } else {
      kernels::matvec_col_major_streams<T, hidden_stride, stage_rows<0>, K>(tape.weight_hh_t.data(),
                                                                            dg, nullptr, dh);
    }
  }

  /// After the recurrence: parameter gradients from the gate gradients of every row (dgx on
  /// the input side, interleaved like the gates; dgh on the hidden side, in W_hh's layout;
  /// the same buffer when the two are equal), and dL/dx = W_ih^T dgx for every row when dxs
  /// is not null. A two-stage cell's second stage multiplied v: its rows at operands.
  void accumulate_gradients(const tape_base& tape, const T* dgx, const T* dgh, const T* xs,
                            const T* ys, std::size_t batch_size, std::size_t steps,
                            recurrent_weights& grad, T* dxs,
                            const T* operands = nullptr) const noexcept {
    const std::size_t rows = batch_size * steps;
    kernels::accumulate_outer_products<T, gate_stride, In>(dgx, gate_stride, xs, in_stride, rows,
                                                           grad.weight_ih.data.data());
    // h_{t-1}: the initial states for step 0, the outputs shifted by one step after that.
    if constexpr (Hidden) {
      T* dw = grad.weight_hh.data.data();
      kernels::accumulate_outer_products<T, stage_rows<0>, H>(
          dgh, gate_stride, tape.initial_h.data(), hidden_stride, batch_size, dw);
      kernels::accumulate_outer_products<T, stage_rows<0>, H>(
          dgh + batch_size * gate_stride, gate_stride, ys, hidden_stride, rows - batch_size, dw);
      if constexpr (two_stage)
        kernels::accumulate_outer_products<T, stage_rows<1>, H>(
            dgh + row_offset<1>, gate_stride, operands, hidden_stride, rows, dw + weight_offset<1>);
      kernels::accumulate_rows<T, gate_stride>(dgh, gate_stride, rows, grad.bias_hh.data.data());
    }
    kernels::accumulate_rows<T, gate_stride>(dgx, gate_stride, rows, grad.bias_ih.data.data());
    if (dxs != nullptr)
      for (std::size_t n = 0; n < rows; ++n)
        kernels::matvec_col_major<T, in_stride, gate_stride>(
            tape.weight_ih_t.data(), dgx + n * gate_stride, nullptr, dxs + n * in_stride);
  }

  friend constexpr bool operator==(const recurrent_weights&, const recurrent_weights&) = default;
};

}  // namespace RNNX_NAMESPACE
