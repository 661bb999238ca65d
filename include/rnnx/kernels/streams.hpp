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

/// acc[k][r] += sum_j W[j * stride + r * width] * x[k][j]  for r < Regs, k < K, over the
/// columns j = first, first + step, first + 2 step, ... < cols (step > 1: one accumulation
/// chain of accumulate_columns, see matvec_rows_streams). Sizes: size_constant or run-time.
template <class T, std::size_t Regs, std::size_t K, class Cols, class Stride, class Step>
inline void accumulate_columns_streams_over(const T* w, const std::array<const T*, K>& x,
                                            std::array<std::array<simd::batch<T>, Regs>, K>& acc,
                                            std::size_t first, Cols cols, Stride stride,
                                            Step step) noexcept {
  constexpr std::size_t V = simd::width<T>;
  // A local copy: through the reference the sums could alias x, and would live in memory.
  std::array<std::array<simd::batch<T>, Regs>, K> sum;
  assign_registers(sum, acc);
  for (std::size_t j = first; j < cols; j += step) {
    std::array<simd::batch<T>, K> xj;
    unroll<K>([&](auto k) { xj[k] = simd::broadcast(x[k][j]); });
    const T* col = w + j * stride;
    unroll<Regs>([&](auto r) {
      const simd::batch<T> wr = simd::load(col + r * V);
      unroll<K>([&](auto k) { sum[k][r] = simd::fma(wr, xj[k], sum[k][r]); });
    });
  }
  assign_registers(acc, sum);
}

/// accumulate_columns_streams_over with every size a constant.
template <class T, std::size_t Regs, std::size_t Cols, std::size_t Stride, std::size_t K,
          std::size_t Step = 1>
[[gnu::always_inline]] inline void accumulate_columns_streams(
    const T* w, const std::array<const T*, K>& x,
    std::array<std::array<simd::batch<T>, Regs>, K>& acc, std::size_t first = 0) noexcept {
  accumulate_columns_streams_over<T, Regs, K>(w, x, acc, first, size_constant<Cols>{},
                                              size_constant<Stride>{}, size_constant<Step>{});
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

/// Registers [first, first + count) of y[k] = W x[k] (+ b) for K vectors, W column-major with
/// `rows` (padded) rows, every row summed exactly as accumulate_columns sums it with `chains`
/// chains: columns dealt round-robin to partial sums started from b, 0, 0, ..., added up in
/// order. The chains run one after the other, their partial sums parked in y (L1): the K
/// independent vectors already hide the FMA latency that chains exist for. Sizes:
/// size_constant or run-time.
template <class T, std::size_t K, class Rows, class Cols, class Chains, class First, class Count>
inline void matvec_rows_streams_over(const T* w, const std::array<const T*, K>& x,
                                     std::type_identity_t<const T*> b, const std::array<T*, K>& y,
                                     Rows rows, Cols cols, Chains chains, First first_reg,
                                     Count count) noexcept {
  constexpr std::size_t V = simd::width<T>;
  const auto run = [&]<std::size_t R>(std::size_t first) {
    if constexpr (K == 1 && !is_constant<Chains>) {
      // One vector: nothing hides the FMA latency but the chains, so they run side by side.
      std::array<simd::batch<T>, R> acc;
      unroll<R>(
          [&](auto r) { acc[r] = b ? simd::load(b + (first + r) * V) : simd::batch<T>(T(0)); });
      accumulate_column_chain_groups<T, R>(w + first * V, x[0], acc, cols, rows, chains);
      unroll<R>([&](auto r) { simd::store(y[0] + (first + r) * V, acc[r]); });
      return;
    }
    const auto chain = [&](auto c) {
      std::array<std::array<simd::batch<T>, R>, K> acc;
      unroll<K>([&](auto k) {
        unroll<R>([&](auto r) {
          acc[k][r] = c == 0 && b ? simd::load(b + (first + r) * V) : simd::batch<T>(T(0));
        });
      });
      accumulate_columns_streams_over<T, R, K>(w + first * V, x, acc, c, cols, rows, chains);
      unroll<K>([&](auto k) {
        unroll<R>([&](auto r) {
          T* out = y[k] + (first + r) * V;
          simd::store(out, c == 0 ? acc[k][r] : simd::load(out) + acc[k][r]);
        });
      });
    };
    if constexpr (is_constant<Chains>)
      unroll<Chains::value>(chain);
    else
      for (std::size_t c = 0; c < chains; ++c) chain(c);
  };
  if constexpr (is_constant<Count>) {
    constexpr std::size_t block = stream_block_registers<K>(Count::value);
    constexpr std::size_t full = Count::value / block * block;
    for (std::size_t r = 0; r < full; r += block) run.template operator()<block>(first_reg + r);
    if constexpr (full < Count::value)
      run.template operator()<Count::value - full>(first_reg + full);
  } else {
    // Blocks of the most registers, then halves of it down to one: a row's sum does not
    // depend on its block, and a handful of compiled blocks serve every size.
    constexpr std::size_t block = stream_block_registers<K>(budget.stream_sums);
    std::size_t r = 0;
    for (; r + block <= count; r += block) run.template operator()<block>(first_reg + r);
    const auto smaller = [&](auto self, auto size) {
      if constexpr (size() > 0) {
        for (; r + size() <= count; r += size()) run.template operator()<size()>(first_reg + r);
        self(self, size_constant<size() / 2>{});
      }
    };
    smaller(smaller, size_constant<block / 2>{});
  }
}

/// matvec_rows_streams_over with every size a constant.
template <class T, std::size_t Rows, std::size_t Cols, std::size_t K, std::size_t Chains,
          std::size_t First, std::size_t Count>
[[gnu::always_inline]] inline void matvec_rows_streams(const T* w, const std::array<const T*, K>& x,
                                                       const T* b,
                                                       const std::array<T*, K>& y) noexcept {
  matvec_rows_streams_over(w, x, b, y, size_constant<Rows>{}, size_constant<Cols>{},
                           size_constant<Chains>{}, size_constant<First>{}, size_constant<Count>{});
}

/// y[k] = W x[k] (+ b) for K vectors; W column-major Rows (a multiple of the width) x Cols.
template <class T, std::size_t Rows, std::size_t Cols, std::size_t K>
inline void matvec_col_major_streams(const T* w, const std::array<const T*, K>& x, const T* b,
                                     const std::array<T*, K>& y) noexcept {
  static_assert(Rows % simd::width<T> == 0);
  matvec_rows_streams<T, Rows, Cols, K, 1, 0, Rows / simd::width<T>>(w, x, b, y);
}

/// y[k] = W x[k] (+ b) for K vectors, every element equal bit for bit to what
/// matvec_col_major_over gives for x[k] alone: its blocks of rows, and their accumulation
/// chains, are reproduced; the K vectors share each weight load. Sizes: size_constant or
/// run-time.
template <class T, std::size_t K, class Rows, class Cols>
inline void matvec_col_major_streams_exact_over(const T* w, const std::array<const T*, K>& x,
                                                std::type_identity_t<const T*> b,
                                                const std::array<T*, K>& y, Rows rows,
                                                Cols cols) noexcept {
  constexpr std::size_t V = simd::width<T>;
  if constexpr (is_constant<Rows> && is_constant<Cols>) {
    static_assert(Rows::value % V == 0);
    constexpr std::size_t regs = Rows::value / V;
    // matvec_col_major's blocking: blocks of `single` registers, then the rest.
    constexpr std::size_t single = block_registers(regs);
    constexpr std::size_t blocked = regs / single * single;
    matvec_rows_streams_over(w, x, b, y, rows, cols,
                             size_constant<accumulation_chains(single, Cols::value)>{},
                             size_constant<0>{}, size_constant<blocked>{});
    if constexpr (blocked < regs)
      matvec_rows_streams_over(w, x, b, y, rows, cols,
                               size_constant<accumulation_chains(regs - blocked, Cols::value)>{},
                               size_constant<blocked>{}, size_constant<regs - blocked>{});
  } else {
    const std::size_t regs = rows / V;
    const std::size_t single = block_registers(regs);
    const std::size_t blocked = regs / single * single;
    matvec_rows_streams_over(w, x, b, y, std::size_t(rows), std::size_t(cols),
                             accumulation_chains(single, cols), std::size_t{0}, blocked);
    if (blocked < regs)
      matvec_rows_streams_over(w, x, b, y, std::size_t(rows), std::size_t(cols),
                               accumulation_chains(regs - blocked, cols), blocked, regs - blocked);
  }
}

/// matvec_col_major_streams_exact_over with every size a constant.
template <class T, std::size_t Rows, std::size_t Cols, std::size_t K>
[[gnu::always_inline]] inline void matvec_col_major_streams_exact(
    const T* w, const std::array<const T*, K>& x, const T* b, const std::array<T*, K>& y) noexcept {
  matvec_col_major_streams_exact_over(w, x, b, y, size_constant<Rows>{}, size_constant<Cols>{});
}

}  // namespace RNNX_NAMESPACE::kernels
