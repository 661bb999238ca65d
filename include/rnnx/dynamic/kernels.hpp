#pragma once
// Matrix-vector kernels for sizes known only at run time: what rnnx::dynamic layers use.
//
// Written the way a runtime-sized library writes them (BLAS-style register blocking): the
// number of accumulator registers per pass is a compile-time block size, chosen from a small
// set by a switch at run time; trip counts over columns and blocks are run-time values. Data is
// padded to whole registers and aligned, like the typed kernels', so there are no scalar tails.

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::dynamic::kernels {

using rnnx::kernels::fill_registers;
using rnnx::kernels::unroll;
using simd::batch;

/// Calls f(std::integral_constant<std::size_t, n>) for a run-time n in [1, Max].
template <std::size_t Max, class F>
inline void with_constant(std::size_t n, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((n == I + 1 ? (f(std::integral_constant<std::size_t, I + 1>{}), true) : false) || ...);
  }
  (std::make_index_sequence<Max>{});
}

/// acc[k] += sum_{j < cols} W[j * stride + k * width] * x[j]  for k < Regs.
template <class T, std::size_t Regs>
inline void accumulate_columns(const T* w, std::size_t stride, const T* x, std::size_t cols,
                               batch<T>* acc) noexcept {
  constexpr std::size_t V = simd::width<T>;
  constexpr std::size_t C = rnnx::kernels::accumulation_chains(Regs);
  std::array<std::array<batch<T>, Regs>, C> part;
  fill_registers(part, batch<T>(T(0)));
  unroll<Regs>([&](auto k) { part[0][k] = acc[k]; });
  std::size_t j = 0;
  for (; j + C <= cols; j += C) {
    unroll<C>([&](auto c) {
      const batch<T> xj(x[j + c]);
      const T* col = w + (j + c) * stride;
      unroll<Regs>(
          [&](auto k) { part[c][k] = simd::fma(simd::load(col + k * V), xj, part[c][k]); });
    });
  }
  for (; j < cols; ++j) {
    const batch<T> xj(x[j]);
    const T* col = w + j * stride;
    unroll<Regs>([&](auto k) { part[0][k] = simd::fma(simd::load(col + k * V), xj, part[0][k]); });
  }
  unroll<Regs>([&](auto k) {
    batch<T> sum = part[0][k];
    unroll<C - 1>([&](auto c) { sum += part[c + 1][k]; });
    acc[k] = sum;
  });
}

/// Most accumulator registers per pass over the columns (kernels/schedule.hpp).
inline constexpr std::size_t max_block_registers = rnnx::kernels::budget.sums;

/// y = W x + b for a column-major W of `rows` (a multiple of the width) x `cols`, column
/// stride `rows`. b == nullptr: no bias.
template <class T>
inline void matvec_col_major(const T* w, std::size_t rows, std::size_t cols, const T* x, const T* b,
                             T* y) noexcept {
  constexpr std::size_t V = simd::width<T>;
  const std::size_t regs = rows / V;
  auto run = [&](std::size_t first, auto block) {
    constexpr std::size_t R = decltype(block)::value;
    std::array<batch<T>, R> acc;
    unroll<R>([&](auto k) { acc[k] = b ? simd::load(b + (first + k) * V) : batch<T>(T(0)); });
    accumulate_columns<T, R>(w + first * V, rows, x, cols, acc.data());
    unroll<R>([&](auto k) { simd::store(y + (first + k) * V, acc[k]); });
  };
  std::size_t first = 0;
  for (; first + max_block_registers <= regs; first += max_block_registers)
    run(first, std::integral_constant<std::size_t, max_block_registers>{});
  if (first < regs)
    with_constant<max_block_registers - 1>(regs - first, [&](auto block) { run(first, block); });
}

/// y[r] = <W[r, :], x> + b[r] for a row-major W of `rows` x `stride` (stride a multiple of the
/// width, x padded with zeros to it). b == nullptr: no bias.
template <class T>
inline void matvec_row_major(const T* w, std::size_t rows, std::size_t stride, const T* x,
                             const T* b, T* y) noexcept {
  constexpr std::size_t V = simd::width<T>;
  for (std::size_t r = 0; r < rows; ++r) {
    const T* row = w + r * stride;
    std::array<batch<T>, 4> acc;
    fill_registers(acc, batch<T>(T(0)));
    std::size_t k = 0;
    for (; k + 4 * V <= stride; k += 4 * V)
      unroll<4>([&](auto c) {
        acc[c] = simd::fma(simd::load(row + k + c * V), simd::load(x + k + c * V), acc[c]);
      });
    for (; k < stride; k += V) acc[0] = simd::fma(simd::load(row + k), simd::load(x + k), acc[0]);
    y[r] = simd::reduce_add((acc[0] + acc[1]) + (acc[2] + acc[3])) + (b ? b[r] : T(0));
  }
}

}  // namespace rnnx::dynamic::kernels
