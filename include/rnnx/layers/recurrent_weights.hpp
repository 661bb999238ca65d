#pragma once
// What the Elman RNN, the LSTM and the GRU share: PyTorch's four parameters for G gates,
// the input projection, and the fused recurrent pass that hands each cell the pre-activations
// of all its gates for one register-wide slice of hidden units.

#include <algorithm>
#include <array>
#include <cstddef>

#include "rnnx/kernels/matvec.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/batch.hpp"

namespace rnnx {

template <class T, std::size_t G, std::size_t In, std::size_t H>
struct recurrent_weights {
  using batch = simd::batch<T>;
  static constexpr std::size_t V = simd::width<T>;
  /// Values per time step of the gate pre-activations (all gates, padded).
  static constexpr std::size_t gate_stride = layout::gate_interleaved<T, G, H>::stride;
  static constexpr std::size_t slices = simd::registers<T>(H);
  /// Slices whose gate sums share one pass over the weights (at most 16 registers of sums).
  static constexpr std::size_t block_slices = [] {
    std::size_t s = std::min<std::size_t>(slices, std::max<std::size_t>(1, 16 / G));
    while (slices % s != 0) --s;
    return s;
  }();

  gate_parameter<T, G, H, In> weight_ih;
  gate_parameter<T, G, H, H> weight_hh;
  gate_parameter<T, G, H, 0> bias_ih;
  gate_parameter<T, G, H, 0> bias_hh;

  template <class Self, class F>
  static void visit(Self& self, F&& f) {
    f("weight_ih", self.weight_ih);
    f("weight_hh", self.weight_hh);
    f("bias_ih", self.bias_ih);
    f("bias_hh", self.bias_hh);
  }

  /// xg = W_ih x + b_ih for every gate, in the interleaved gate layout.
  void project_input(const T* x, T* xg) const noexcept {
    kernels::matvec_col_major<T, gate_stride, In>(weight_ih.raw(), x, bias_ih.raw(), xg);
  }

  /// For each slice of hidden units: hg = W_hh h + b_hh for its G gates, kept in registers,
  /// then cell(slice, xg of the slice, hg). Reads all of h before any cell writes.
  template <class Cell>
  void recur(const T* xg, const T* h, Cell&& cell) const noexcept {
    constexpr std::size_t regs = block_slices * G;
    for (std::size_t first = 0; first < slices; first += block_slices) {
      const std::size_t offset = first * G * V;
      std::array<batch, regs> hg;
      kernels::unroll<regs>([&](auto k) { hg[k] = simd::load(bias_hh.raw() + offset + k * V); });
      kernels::accumulate_columns<T, regs, H, gate_stride>(weight_hh.raw() + offset, h, hg);
      kernels::unroll<block_slices>([&](auto s) {
        const std::size_t slice = first + s;
        cell(slice, xg + slice * G * V, hg.data() + s * G);
      });
    }
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

  friend constexpr bool operator==(const recurrent_weights&, const recurrent_weights&) = default;
};

}  // namespace rnnx
