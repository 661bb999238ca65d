#pragma once
// Fixed-size matrix-vector kernels. Every size is a template argument, so each model gets
// loops with constant trip counts that the compiler unrolls and keeps in registers.
//
// Two layouts, chosen per layer shape by `prefer_row_major`:
//  - column-major (y += W[:, j] * x[j]): vectorised over output rows; the sums for a block of
//    rows live in registers for the whole pass over the columns. Used by every recurrent cell.
//  - row-major (y[r] = <W[r, :], x>): vectorised over the inputs; wins when there are fewer
//    outputs than lanes (a Dense(H -> 1) head).

#include <array>
#include <cstddef>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::kernels {

using simd::batch;
using simd::width;

/// acc[k] += sum_{j < Cols} W[j * Stride + k * width] * x[j]  for k < Regs, the columns
/// dealt to accumulation_chains(Regs, Cols) chains (kernels/schedule.hpp).
/// W is column-major with column stride Stride (a multiple of the SIMD width).
template <class T, std::size_t Regs, std::size_t Cols, std::size_t Stride>
inline void accumulate_columns(const T* w, const T* x, std::array<batch<T>, Regs>& acc) noexcept {
  constexpr std::size_t V = width<T>;
  constexpr std::size_t chains = accumulation_chains(Regs, Cols);
  if constexpr (chains == 1) {
    std::array<batch<T>, Regs> sum;  // local: through the reference it could alias x
    assign_registers(sum, acc);
    for (std::size_t j = 0; j < Cols; ++j) {
      const batch<T> xj = simd::broadcast(x[j]);
      const T* col = w + j * Stride;
      unroll<Regs>([&](auto k) { sum[k] = simd::fma(simd::load(col + k * V), xj, sum[k]); });
    }
    assign_registers(acc, sum);
  } else {
    // Columns dealt round-robin to `chains` partial sums, added up at the end.
    std::array<std::array<batch<T>, Regs>, chains> part;
    fill_registers(part, batch<T>(T(0)));
    assign_registers(part[0], acc);
    constexpr std::size_t full = Cols / chains * chains;
    for (std::size_t j = 0; j < full; j += chains) {
      unroll<chains>([&](auto c) {
        const batch<T> xj = simd::broadcast(x[j + c]);
        const T* col = w + (j + c) * Stride;
        unroll<Regs>(
            [&](auto k) { part[c][k] = simd::fma(simd::load(col + k * V), xj, part[c][k]); });
      });
    }
    unroll<Cols - full>([&](auto c) {
      const batch<T> xj = simd::broadcast(x[full + c]);
      const T* col = w + (full + c) * Stride;
      unroll<Regs>(
          [&](auto k) { part[c][k] = simd::fma(simd::load(col + k * V), xj, part[c][k]); });
    });
    unroll<Regs>([&](auto k) {
      batch<T> sum = part[0][k];
      unroll<chains - 1>([&](auto c) { sum += part[c + 1][k]; });
      acc[k] = sum;
    });
  }
}

/// y = W x + b for a column-major W of Rows (padded) x Cols. Rows is a multiple of the width.
/// b == nullptr: no bias.
template <class T, std::size_t Rows, std::size_t Cols>
inline void matvec_col_major(const T* w, const T* x, const T* b, T* y) noexcept {
  constexpr std::size_t V = width<T>;
  static_assert(Rows % V == 0);
  constexpr std::size_t regs = Rows / V;
  constexpr std::size_t block = block_registers(regs);
  constexpr std::size_t blocks = regs / block;
  constexpr std::size_t rest = regs - blocks * block;
  auto run = [&]<std::size_t Regs>(std::size_t first_reg) {
    std::array<batch<T>, Regs> acc;
    unroll<Regs>(
        [&](auto k) { acc[k] = b ? simd::load(b + (first_reg + k) * V) : batch<T>(T(0)); });
    accumulate_columns<T, Regs, Cols, Rows>(w + first_reg * V, x, acc);
    unroll<Regs>([&](auto k) { simd::store(y + (first_reg + k) * V, acc[k]); });
  };
  for (std::size_t blk = 0; blk < blocks; ++blk) run.template operator()<block>(blk * block);
  if constexpr (rest > 0) run.template operator()<rest>(blocks * block);
}

/// y[r] = <W[r, :], x> + b[r] for a row-major W of Rows x padded(Cols); x padded with zeros.
/// b == nullptr: no bias.
template <class T, std::size_t Rows, std::size_t Cols>
inline void matvec_row_major(const T* w, const T* x, const T* b, T* y) noexcept {
  constexpr std::size_t V = width<T>;
  constexpr std::size_t regs = simd::registers<T>(Cols);
  constexpr std::size_t stride = regs * V;
  constexpr std::size_t chains = regs < 4 ? regs : 4;
  for (std::size_t r = 0; r < Rows; ++r) {
    const T* row = w + r * stride;
    std::array<batch<T>, chains> acc;
    fill_registers(acc, batch<T>(T(0)));
    unroll<regs>([&](auto k) {
      acc[k % chains] = simd::fma(simd::load(row + k * V), simd::load(x + k * V), acc[k % chains]);
    });
    unroll<chains - 1>([&](auto c) { acc[0] += acc[c + 1]; });
    y[r] = simd::reduce_add(acc[0]) + (b ? b[r] : T(0));
  }
}

/// Whether a Rows x Cols product is faster as row dot products: when the output would fill
/// less than half a register, the column-major kernel wastes most of its lanes.
template <class T>
constexpr bool prefer_row_major(std::size_t rows, std::size_t /*cols*/) noexcept {
  return rows * 2 <= width<T>;
}

}  // namespace rnnx::kernels
