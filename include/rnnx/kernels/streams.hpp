#pragma once
// Matrix-vector products for K independent vectors at once (K sequences of a batch, or K
// streams through one model): every weight register is loaded once and used K times, which
// turns the L1/L2-bandwidth-bound single-vector product into FMA-bound work.

#include <array>
#include <cstddef>

#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"

namespace rnnx::kernels {

/// acc[k][r] += sum_{j < Cols} W[j * Stride + r * width] * x[k][j]  for r < Regs, k < K.
template <class T, std::size_t Regs, std::size_t Cols, std::size_t Stride, std::size_t K>
inline void accumulate_columns_streams(
    const T* w, const std::array<const T*, K>& x,
    std::array<std::array<simd::batch<T>, Regs>, K>& acc) noexcept {
  constexpr std::size_t V = simd::width<T>;
  // A local copy: through the reference the sums could alias x, and would live in memory.
  std::array<std::array<simd::batch<T>, Regs>, K> sum = acc;
  for (std::size_t j = 0; j < Cols; ++j) {
    std::array<simd::batch<T>, K> xj;
    unroll<K>([&](auto k) { xj[k] = simd::broadcast(x[k][j]); });
    const T* col = w + j * Stride;
    unroll<Regs>([&](auto r) {
      const simd::batch<T> wr = simd::load(col + r * V);
      unroll<K>([&](auto k) { sum[k][r] = xsimd::fma(wr, xj[k], sum[k][r]); });
    });
  }
  acc = sum;
}

/// Registers of rows per pass for K vectors: K * registers sums stay within 16 registers.
template <std::size_t K>
constexpr std::size_t stream_block_registers(std::size_t registers) noexcept {
  std::size_t r = 16 / K == 0 ? 1 : 16 / K;
  if (r > registers) r = registers;
  return r;
}

/// y[k] = W x[k] (+ b) for K vectors; W column-major Rows (a multiple of the width) x Cols.
template <class T, std::size_t Rows, std::size_t Cols, std::size_t K>
inline void matvec_col_major_streams(const T* w, const std::array<const T*, K>& x, const T* b,
                                     const std::array<T*, K>& y) noexcept {
  constexpr std::size_t V = simd::width<T>;
  static_assert(Rows % V == 0);
  constexpr std::size_t regs = Rows / V;
  constexpr std::size_t block = stream_block_registers<K>(regs);
  constexpr std::size_t full = regs / block * block;
  auto run = [&]<std::size_t R>(std::size_t first) {
    std::array<std::array<simd::batch<T>, R>, K> acc;
    unroll<K>([&](auto k) {
      unroll<R>(
          [&](auto r) { acc[k][r] = b ? simd::load(b + (first + r) * V) : simd::batch<T>(T(0)); });
    });
    accumulate_columns_streams<T, R, Cols, Rows, K>(w + first * V, x, acc);
    unroll<K>([&](auto k) {
      unroll<R>([&](auto r) { simd::store(y[k] + (first + r) * V, acc[k][r]); });
    });
  };
  for (std::size_t first = 0; first < full; first += block) run.template operator()<block>(first);
  if constexpr (full < regs) run.template operator()<regs - full>(full);
}

}  // namespace rnnx::kernels
