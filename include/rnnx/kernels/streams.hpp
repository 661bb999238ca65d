#pragma once
// Matrix-vector products for K independent vectors at once (K sequences of a batch, or K
// streams through one model): every weight register is loaded once and used K times, which
// turns the L1/L2-bandwidth-bound single-vector product into FMA-bound work.

#include <array>
#include <cstddef>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/matvec.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::kernels {

/// acc[k][r] += sum_j W[j * Stride + r * width] * x[k][j]  for r < Regs, k < K, over the
/// columns j = First, First + Step, First + 2 Step, ... < Cols (Step > 1: one accumulation
/// chain of accumulate_columns, see matvec_rows_streams).
template <class T, std::size_t Regs, std::size_t Cols, std::size_t Stride, std::size_t K,
          std::size_t Step = 1>
inline void accumulate_columns_streams(const T* w, const std::array<const T*, K>& x,
                                       std::array<std::array<simd::batch<T>, Regs>, K>& acc,
                                       std::size_t first = 0) noexcept {
  constexpr std::size_t V = simd::width<T>;
  // A local copy: through the reference the sums could alias x, and would live in memory.
  std::array<std::array<simd::batch<T>, Regs>, K> sum;
  assign_registers(sum, acc);
  for (std::size_t j = first; j < Cols; j += Step) {
    std::array<simd::batch<T>, K> xj;
    unroll<K>([&](auto k) { xj[k] = simd::broadcast(x[k][j]); });
    const T* col = w + j * Stride;
    unroll<Regs>([&](auto r) {
      const simd::batch<T> wr = simd::load(col + r * V);
      unroll<K>([&](auto k) { sum[k][r] = simd::fma(wr, xj[k], sum[k][r]); });
    });
  }
  assign_registers(acc, sum);
}

/// f(integral_constant<K>, integral_constant<first>) for consecutive groups of K <= Group
/// streams covering [0, N).
template <std::size_t N, std::size_t Group, class F>
inline void for_stream_groups(F&& f) {
  unroll<(N + Group - 1) / Group>([&](auto g) {
    constexpr std::size_t first = decltype(g)::value * Group;
    f(std::integral_constant<std::size_t, (N - first < Group ? N - first : Group)>{},
      std::integral_constant<std::size_t, first>{});
  });
}

/// Registers [First, First + Count) of y[k] = W x[k] (+ b) for K vectors, W column-major with
/// Rows (padded) rows, every row summed exactly as accumulate_columns sums it with Chains
/// chains: columns dealt round-robin to partial sums started from b, 0, 0, ..., added up in
/// order. The chains run one after the other, their partial sums parked in y (L1): the K
/// independent vectors already hide the FMA latency that chains exist for.
template <class T, std::size_t Rows, std::size_t Cols, std::size_t K, std::size_t Chains,
          std::size_t First, std::size_t Count>
inline void matvec_rows_streams(const T* w, const std::array<const T*, K>& x, const T* b,
                                const std::array<T*, K>& y) noexcept {
  constexpr std::size_t V = simd::width<T>;
  constexpr std::size_t block = stream_block_registers<K>(Count);
  auto run = [&]<std::size_t R>(std::size_t first) {
    unroll<Chains>([&](auto c) {
      std::array<std::array<simd::batch<T>, R>, K> acc;
      unroll<K>([&](auto k) {
        unroll<R>([&](auto r) {
          acc[k][r] = c == 0 && b ? simd::load(b + (first + r) * V) : simd::batch<T>(T(0));
        });
      });
      accumulate_columns_streams<T, R, Cols, Rows, K, Chains>(w + first * V, x, acc, c);
      unroll<K>([&](auto k) {
        unroll<R>([&](auto r) {
          T* out = y[k] + (first + r) * V;
          simd::store(out, c == 0 ? acc[k][r] : simd::load(out) + acc[k][r]);
        });
      });
    });
  };
  constexpr std::size_t full = Count / block * block;
  for (std::size_t r = 0; r < full; r += block) run.template operator()<block>(First + r);
  if constexpr (full < Count) run.template operator()<Count - full>(First + full);
}

/// y[k] = W x[k] (+ b) for K vectors; W column-major Rows (a multiple of the width) x Cols.
template <class T, std::size_t Rows, std::size_t Cols, std::size_t K>
inline void matvec_col_major_streams(const T* w, const std::array<const T*, K>& x, const T* b,
                                     const std::array<T*, K>& y) noexcept {
  static_assert(Rows % simd::width<T> == 0);
  matvec_rows_streams<T, Rows, Cols, K, 1, 0, Rows / simd::width<T>>(w, x, b, y);
}

/// y[k] = W x[k] (+ b) for K vectors, every element equal bit for bit to what
/// matvec_col_major<T, Rows, Cols> gives for x[k] alone: its blocks of rows, and their
/// accumulation chains, are reproduced; the K vectors share each weight load.
template <class T, std::size_t Rows, std::size_t Cols, std::size_t K>
inline void matvec_col_major_streams_exact(const T* w, const std::array<const T*, K>& x, const T* b,
                                           const std::array<T*, K>& y) noexcept {
  constexpr std::size_t V = simd::width<T>;
  static_assert(Rows % V == 0);
  constexpr std::size_t regs = Rows / V;
  // matvec_col_major's blocking: blocks of `single` registers, then the rest.
  constexpr std::size_t single = block_registers(regs);
  constexpr std::size_t blocked = regs / single * single;
  matvec_rows_streams<T, Rows, Cols, K, accumulation_chains(single, Cols), 0, blocked>(w, x, b, y);
  if constexpr (blocked < regs)
    matvec_rows_streams<T, Rows, Cols, K, accumulation_chains(regs - blocked, Cols), blocked,
                        regs - blocked>(w, x, b, y);
}

}  // namespace rnnx::kernels
