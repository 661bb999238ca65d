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

/// W[:, j] += sum_{n < count} g_n * x_n[j]  for j < cols.
/// W is column-major with `rows` rows (a multiple of the SIMD width) and column stride rows;
/// g_n is rows values at g + n * g_stride, x_n is cols values at x + n * x_stride.
/// Tiles of budget.tile_registers registers x budget.tile_columns columns of sums
/// (kernels/schedule.hpp) stay in registers across a block of rows n that stays in L1 for
/// every tile. rows and cols: size_constant or run-time sizes (the tiles do not change the
/// order of any sum).
template <class T, class Rows, class Cols>
inline void accumulate_outer_products_over(const T* g, std::size_t g_stride, const T* x,
                                           std::size_t x_stride, std::size_t count, T* w, Rows rows,
                                           Cols cols) noexcept {
  constexpr std::size_t V = simd::width<T>;
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
      T* col = w + (col0 + c) * rows + reg0 * V;
      unroll<R>([&](auto k) { simd::store(col + k * V, simd::load(col + k * V) + acc[c][k]); });
    });
  };
  // f(size_constant<tile>, first) over [0, n) in tiles of Most, then the rest: constants
  // where n is one.
  const auto tiles = [&]<std::size_t Most, class N>(N n, auto&& f) {
    if constexpr (is_constant<N>) {
      constexpr std::size_t tile_size = std::min<std::size_t>(N::value, Most);
      constexpr std::size_t full = N::value / tile_size * tile_size;
      for (std::size_t i = 0; i < full; i += tile_size) f(size_constant<tile_size>{}, i);
      if constexpr (N::value % tile_size != 0) f(size_constant<N::value % tile_size>{}, full);
    } else {
      std::size_t i = 0;
      for (; i + Most <= n; i += Most) f(size_constant<Most>{}, i);
      with_power_of_two_parts<Most - 1>(n - i, [&](auto part, std::size_t at) { f(part, i + at); });
    }
  };
  const auto regs = [&] {
    if constexpr (is_constant<Rows>)
      return size_constant<Rows::value / V>{};
    else
      return rows / V;
  }();
  for (std::size_t n0 = 0; n0 < count; n0 += rows_per_block) {
    const std::size_t n1 = std::min(count, n0 + rows_per_block);
    tiles.template operator()<budget.tile_registers>(regs, [&](auto r, std::size_t reg0) {
      tiles.template operator()<budget.tile_columns>(cols, [&](auto c, std::size_t col0) {
        tile.template operator()<r(), c()>(reg0, col0, n0, n1);
      });
    });
  }
}

/// accumulate_outer_products_over for Rows x Cols.
template <class T, std::size_t Rows, std::size_t Cols>
inline void accumulate_outer_products(const T* g, std::size_t g_stride, const T* x,
                                      std::size_t x_stride, std::size_t count, T* w) noexcept {
  static_assert(Rows % simd::width<T> == 0);
  accumulate_outer_products_over(g, g_stride, x, x_stride, count, w, size_constant<Rows>{},
                                 size_constant<Cols>{});
}

/// b += sum_{n < count} g_n  (rows values each, a multiple of the SIMD width; a size_constant
/// or a run-time size).
template <class T, class Rows>
inline void accumulate_rows_over(const T* g, std::size_t g_stride, std::size_t count, T* b,
                                 Rows rows) noexcept {
  constexpr std::size_t V = simd::width<T>;
  for (std::size_t k = 0; k < rows / V; ++k) {
    simd::batch<T> sum = simd::load(b + k * V);
    for (std::size_t n = 0; n < count; ++n) sum += simd::load(g + n * g_stride + k * V);
    simd::store(b + k * V, sum);
  }
}

template <class T, std::size_t Rows>
inline void accumulate_rows(const T* g, std::size_t g_stride, std::size_t count, T* b) noexcept {
  static_assert(Rows % simd::width<T> == 0);
  accumulate_rows_over(g, g_stride, count, b, size_constant<Rows>{});
}

/// Transposes a column-major Rows x Cols matrix (column stride `stride`) into a column-major
/// Cols x Rows one with column stride `t_stride`, whose other entries must already be 0.
template <class T>
inline void transpose(const T* w, std::size_t rows, std::size_t cols, std::size_t stride, T* wt,
                      std::size_t t_stride) noexcept {
  for (std::size_t c = 0; c < cols; ++c)
    for (std::size_t r = 0; r < rows; ++r) wt[r * t_stride + c] = w[c * stride + r];
}

}  // namespace RNNX_NAMESPACE::kernels
