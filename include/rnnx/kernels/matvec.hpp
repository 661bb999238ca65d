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
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::kernels {

using simd::batch;
using simd::width;

/// acc[k] += sum_{j < cols} W[j * stride + k * width] * x[j]  for k < Regs, the columns
/// dealt to accumulation_chains(Regs, cols) chains (kernels/schedule.hpp). W is column-major
/// with column stride `stride` (a multiple of the SIMD width). cols and stride are each a
/// size_constant or a run-time size; the sums are formed in the same order either way.
template <class T, std::size_t Regs, class Cols, class Stride>
[[gnu::always_inline]] inline void accumulate_columns_over(const T* w, const T* x,
                                                           std::array<batch<T>, Regs>& acc,
                                                           Cols cols, Stride stride) noexcept;

/// accumulate_columns_over for a constant column count, its chains side by side in registers.
template <class T, std::size_t Regs, std::size_t Chains, class Cols, class Stride>
inline void accumulate_column_chains(const T* w, const T* x, std::array<batch<T>, Regs>& acc,
                                     Cols cols, Stride stride) noexcept {
  constexpr std::size_t V = width<T>;
  if constexpr (Chains == 1) {
    std::array<batch<T>, Regs> sum;  // local: through the reference it could alias x
    assign_registers(sum, acc);
    for (std::size_t j = 0; j < cols; ++j) {
      const batch<T> xj = simd::broadcast(x[j]);
      const T* col = w + j * stride;
      unroll<Regs>([&](auto k) { sum[k] = simd::fma(simd::load(col + k * V), xj, sum[k]); });
    }
    assign_registers(acc, sum);
  } else {
    // Columns dealt round-robin to `Chains` partial sums, added up at the end.
    std::array<std::array<batch<T>, Regs>, Chains> part;
    fill_registers(part, batch<T>(T(0)));
    assign_registers(part[0], acc);
    const std::size_t full = cols / Chains * Chains;
    for (std::size_t j = 0; j < full; j += Chains) {
      unroll<Chains>([&](auto c) {
        const batch<T> xj = simd::broadcast(x[j + c]);
        const T* col = w + (j + c) * stride;
        unroll<Regs>(
            [&](auto k) { part[c][k] = simd::fma(simd::load(col + k * V), xj, part[c][k]); });
      });
    }
    const auto last = [&](auto c) {
      const batch<T> xj = simd::broadcast(x[full + c]);
      const T* col = w + (full + c) * stride;
      unroll<Regs>(
          [&](auto k) { part[c][k] = simd::fma(simd::load(col + k * V), xj, part[c][k]); });
    };
    unroll<Cols::value - Cols::value / Chains * Chains>(last);
    unroll<Regs>([&](auto k) {
      batch<T> sum = part[0][k];
      unroll<Chains - 1>([&](auto c) { sum += part[c + 1][k]; });
      acc[k] = sum;
    });
  }
}

/// accumulate_column_chains for a chain count known only at run time (a shape of rnnx::dyn
/// sizes): the same partial sums added in the same order, bit for bit, from a few compiled
/// bodies. The chains run side by side in groups of up to chain_group_size(Regs), as a
/// latency-bound single product needs; the groups one after the other, each chain's partial
/// sum added to the total in chain order.
template <class T, std::size_t Regs, class Cols, class Stride>
inline void accumulate_column_chain_groups(const T* w, const T* x, std::array<batch<T>, Regs>& acc,
                                           Cols cols, Stride stride, std::size_t chains) noexcept {
  constexpr std::size_t V = width<T>, most = chain_group_size(Regs);
  std::array<batch<T>, Regs> total;
  assign_registers(total, acc);
  for (std::size_t c0 = 0; c0 < chains; c0 += most) {
    with_constant<most>(
        chains - c0 < most ? chains - c0 : most, [&](auto group) __attribute__((always_inline)) {
          constexpr std::size_t G = group();
          std::array<std::array<batch<T>, Regs>, G> part;
          fill_registers(part, batch<T>(T(0)));
          if (c0 == 0) assign_registers(part[0], total);
          const auto column = [&](std::size_t j, auto g) __attribute__((always_inline)) {
            const batch<T> xj = simd::broadcast(x[j]);
            const T* col = w + j * stride;
            unroll<Regs>([&](auto k) __attribute__((always_inline)) {
              part[g][k] = simd::fma(simd::load(col + k * V), xj, part[g][k]);
            });
          };
          // Chain c takes columns c, c + chains, c + 2 chains, ...
          std::size_t j = c0;
          for (; j + G <= cols; j += chains)
            unroll<G>([&](auto g) __attribute__((always_inline)) { column(j + g, g); });
          if (j < cols)
            unroll<G>([&](auto g) __attribute__((always_inline)) {
              if (j + g < cols) column(j + g, g);
            });
          unroll<G>([&](auto g) __attribute__((always_inline)) {
            if (g == 0 && c0 == 0)
              assign_registers(total, part[0]);
            else
              unroll<Regs>([&](auto k) __attribute__((always_inline)) { total[k] += part[g][k]; });
          });
        });
  }
  assign_registers(acc, total);
}

template <class T, std::size_t Regs, class Cols, class Stride>
[[gnu::always_inline]] inline void accumulate_columns_over(const T* w, const T* x,
                                                           std::array<batch<T>, Regs>& acc,
                                                           Cols cols, Stride stride) noexcept {
  if constexpr (is_constant<Cols>) {
    accumulate_column_chains<T, Regs, accumulation_chains(Regs, Cols::value)>(w, x, acc, cols,
                                                                              stride);
  } else {
    accumulate_column_chain_groups<T, Regs>(w, x, acc, cols, stride,
                                            accumulation_chains(Regs, cols));
  }
}

/// accumulate_columns_over for a W of Cols columns with column stride Stride.
template <class T, std::size_t Regs, std::size_t Cols, std::size_t Stride>
[[gnu::always_inline]] inline void accumulate_columns(const T* w, const T* x,
                                                      std::array<batch<T>, Regs>& acc) noexcept {
  accumulate_columns_over<T, Regs>(w, x, acc, size_constant<Cols>{}, size_constant<Stride>{});
}

/// y = W x + b for a column-major W of `rows` (padded: a multiple of the width) x `cols`,
/// each a size_constant or a run-time size. b == nullptr: no bias.
template <class T, class Rows, class Cols>
inline void matvec_col_major_over(const T* w, const T* x, std::type_identity_t<const T*> b,
                                  std::type_identity_t<T*> y, Rows rows, Cols cols) noexcept {
  constexpr std::size_t V = width<T>;
  const std::size_t regs = rows / V;
  const auto run = [&]<std::size_t Regs>(std::size_t first_reg) {
    std::array<batch<T>, Regs> acc;
    unroll<Regs>(
        [&](auto k) { acc[k] = b ? simd::load(b + (first_reg + k) * V) : batch<T>(T(0)); });
    accumulate_columns_over<T, Regs>(w + first_reg * V, x, acc, cols, rows);
    unroll<Regs>([&](auto k) { simd::store(y + (first_reg + k) * V, acc[k]); });
  };
  if constexpr (is_constant<Rows>) {
    static_assert(Rows::value % V == 0);
    constexpr std::size_t block = block_registers(Rows::value / V);
    constexpr std::size_t blocks = Rows::value / V / block;
    constexpr std::size_t rest = Rows::value / V - blocks * block;
    for (std::size_t blk = 0; blk < blocks; ++blk) run.template operator()<block>(blk * block);
    if constexpr (rest > 0) run.template operator()<rest>(blocks * block);
  } else {
    constexpr std::size_t block = budget.sums;
    std::size_t first = 0;
    for (; first + block <= regs; first += block) run.template operator()<block>(first);
    if (first < regs)
      with_constant<block - 1>(
          regs - first, [&](auto rest) __attribute__((always_inline)) {
            run.template operator()<rest()>(first);
          });
  }
}

/// y = W x + b for a column-major W of Rows (padded) x Cols. Rows is a multiple of the width.
/// b == nullptr: no bias.
template <class T, std::size_t Rows, std::size_t Cols>
[[gnu::always_inline]] inline void matvec_col_major(const T* w, const T* x, const T* b,
                                                    T* y) noexcept {
  matvec_col_major_over(w, x, b, y, size_constant<Rows>{}, size_constant<Cols>{});
}

/// y[r] = <W[r, :], x> + b[r] for a row-major W of `rows` x padded(cols); x padded with
/// zeros. b == nullptr: no bias. Each row's registers dealt round-robin to up to 4 chains.
/// rows and cols: size_constant or run-time sizes.
template <class T, class Rows, class Cols>
inline void matvec_row_major_over(const T* w, const T* x, std::type_identity_t<const T*> b,
                                  std::type_identity_t<T*> y, Rows rows, Cols cols) noexcept {
  constexpr std::size_t V = width<T>;
  const std::size_t regs = simd::registers<T>(cols);
  const std::size_t stride = regs * V;
  const auto run = [&]<std::size_t Chains>() {
    for (std::size_t r = 0; r < rows; ++r) {
      const T* row = w + r * stride;
      std::array<batch<T>, Chains> acc;
      fill_registers(acc, batch<T>(T(0)));
      const auto add = [&](auto c, std::size_t k) {
        acc[c] = simd::fma(simd::load(row + k * V), simd::load(x + k * V), acc[c]);
      };
      if constexpr (is_constant<Cols>) {
        unroll<simd::registers<T>(Cols::value)>(
            [&](auto k) { add(size_constant<k % Chains>{}, k); });
      } else {
        std::size_t k = 0;
        for (; k + Chains <= regs; k += Chains) unroll<Chains>([&](auto c) { add(c, k + c); });
        unroll<Chains - 1>([&](auto c) {
          if (k + c < regs) add(c, k + c);
        });
      }
      unroll<Chains - 1>([&](auto c) { acc[0] += acc[c + 1]; });
      y[r] = simd::reduce_add(acc[0]) + (b ? b[r] : T(0));
    }
  };
  if constexpr (is_constant<Cols>) {
    constexpr std::size_t regs_constant = simd::registers<T>(Cols::value);
    run.template operator() < regs_constant<4 ? regs_constant : 4>();
  } else {
    with_constant<4>(regs < 4 ? regs : 4,
                     [&](auto chains) { run.template operator()<chains()>(); });
  }
}

/// matvec_row_major_over for Rows x Cols.
template <class T, std::size_t Rows, std::size_t Cols>
[[gnu::always_inline]] inline void matvec_row_major(const T* w, const T* x, const T* b,
                                                    T* y) noexcept {
  matvec_row_major_over(w, x, b, y, size_constant<Rows>{}, size_constant<Cols>{});
}

/// Whether a Rows x Cols product is faster as row dot products: when the output would fill
/// less than half a register, the column-major kernel wastes most of its lanes.
template <class T>
constexpr bool prefer_row_major(std::size_t rows, std::size_t /*cols*/) noexcept {
  return rows * 2 <= width<T>;
}

}  // namespace RNNX_NAMESPACE::kernels
