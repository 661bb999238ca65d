#pragma once
// Weight gradients as matrix-matrix work: the sum over every (time step, sequence) row of the
// outer product of an output gradient with an input, accumulated in register tiles.

#include <algorithm>
#include <array>
#include <cstddef>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::kernels {

/// W[:, j] += sum_{n < count} g_n * x_n[j]  for j < Cols.
/// W is column-major with Rows rows (a multiple of the SIMD width) and column stride Rows;
/// g_n is Rows values at g + n * g_stride, x_n is Cols values at x + n * x_stride.
/// Tiles of budget.tile_registers registers x budget.tile_columns columns of sums
/// (kernels/schedule.hpp) stay in registers across a block of rows n that stays in L1 for
/// every tile.
template <class T, std::size_t Rows, std::size_t Cols>
inline void accumulate_outer_products(const T* g, std::size_t g_stride, const T* x,
                                      std::size_t x_stride, std::size_t count, T* w) noexcept {
  constexpr std::size_t V = simd::width<T>;
  static_assert(Rows % V == 0);
  constexpr std::size_t regs = Rows / V;
  constexpr std::size_t tile_regs = std::min<std::size_t>(regs, budget.tile_registers);
  constexpr std::size_t tile_cols = std::min<std::size_t>(Cols, budget.tile_columns);
  constexpr std::size_t rows_per_block = 64;
  using B = simd::batch<T>;

  auto tile = [&]<std::size_t R, std::size_t C>(std::size_t reg0, std::size_t col0, std::size_t n0,
                                                std::size_t n1) {
    std::array<std::array<B, R>, C> acc;
    fill_registers(acc, B(T(0)));
    for (std::size_t n = n0; n < n1; ++n) {
      const T* gn = g + n * g_stride + reg0 * V;
      const T* xn = x + n * x_stride + col0;
      std::array<B, R> gr;
      unroll<R>([&](auto k) { gr[k] = simd::load(gn + k * V); });
      unroll<C>([&](auto c) {
        const B xc = simd::broadcast(xn[c]);
        unroll<R>([&](auto k) { acc[c][k] = simd::fma(gr[k], xc, acc[c][k]); });
      });
    }
    unroll<C>([&](auto c) {
      T* col = w + (col0 + c) * Rows + reg0 * V;
      unroll<R>([&](auto k) { simd::store(col + k * V, simd::load(col + k * V) + acc[c][k]); });
    });
  };
  auto columns = [&]<std::size_t R>(std::size_t reg0, std::size_t n0, std::size_t n1) {
    constexpr std::size_t full = Cols / tile_cols * tile_cols;
    for (std::size_t c = 0; c < full; c += tile_cols)
      tile.template operator()<R, tile_cols>(reg0, c, n0, n1);
    if constexpr (Cols % tile_cols != 0)
      tile.template operator()<R, Cols % tile_cols>(reg0, full, n0, n1);
  };
  for (std::size_t n0 = 0; n0 < count; n0 += rows_per_block) {
    const std::size_t n1 = std::min(count, n0 + rows_per_block);
    constexpr std::size_t full = regs / tile_regs * tile_regs;
    for (std::size_t r = 0; r < full; r += tile_regs)
      columns.template operator()<tile_regs>(r, n0, n1);
    if constexpr (regs % tile_regs != 0)
      columns.template operator()<regs % tile_regs>(full, n0, n1);
  }
}

/// b += sum_{n < count} g_n  (Rows values each, a multiple of the SIMD width).
template <class T, std::size_t Rows>
inline void accumulate_rows(const T* g, std::size_t g_stride, std::size_t count, T* b) noexcept {
  constexpr std::size_t V = simd::width<T>;
  static_assert(Rows % V == 0);
  for (std::size_t k = 0; k < Rows / V; ++k) {
    simd::batch<T> sum = simd::load(b + k * V);
    for (std::size_t n = 0; n < count; ++n) sum += simd::load(g + n * g_stride + k * V);
    simd::store(b + k * V, sum);
  }
}

/// Transposes a column-major Rows x Cols matrix (column stride `stride`) into a column-major
/// Cols x Rows one with column stride `t_stride`, whose other entries must already be 0.
template <class T>
inline void transpose(const T* w, std::size_t rows, std::size_t cols, std::size_t stride, T* wt,
                      std::size_t t_stride) noexcept {
  for (std::size_t c = 0; c < cols; ++c)
    for (std::size_t r = 0; r < rows; ++r) wt[r * t_stride + c] = w[c * stride + r];
}

}  // namespace rnnx::kernels
