#pragma once
// Matrix-vector products with bf16 weights in the column-pair layout vdpbf16ps reads: for
// each pair of columns (2p, 2p + 1), the rows one after the other, each row's two values
// side by side. One register of it holds 16 rows x 2 columns: half the bytes and half the
// instructions of the float kernels' two columns (kernels/matvec.hpp).

#include <array>
#include <cstddef>
#include <cstdint>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/matvec.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"
#include "rnnx/simd/bf16.hpp"

namespace RNNX_NAMESPACE::kernels {

/// A Rows (padded) x Cols matrix in the column-pair layout, in blocks of BlockRows rows (the
/// rows one pass of a kernel keeps in registers; the last block may be shorter): each block
/// holds all its column pairs one after the other, so a pass reads one contiguous stretch.
/// A missing last column is zero.
template <std::size_t Rows, std::size_t Cols, std::size_t BlockRows>
struct bf16_pair_layout {
  static constexpr std::size_t pairs = (Cols + 1) / 2;
  static constexpr std::size_t size = pairs * 2 * Rows;
  static constexpr std::size_t rows = Rows;
  static constexpr std::size_t cols = Cols;
  /// Where the block starting at row `first` (a multiple of BlockRows) begins.
  static constexpr std::size_t block_start(std::size_t first) noexcept { return first * 2 * pairs; }
  static constexpr std::size_t index(std::size_t row, std::size_t col) noexcept {
    const std::size_t first = row / BlockRows * BlockRows;
    const std::size_t block_rows = Rows - first < BlockRows ? Rows - first : BlockRows;
    return block_start(first) + col / 2 * 2 * block_rows + (row - first) * 2 + col % 2;
  }
  /// Where entry (row, col) is in the float matrix it is copied from (column-major).
  static constexpr std::size_t source_index(std::size_t row, std::size_t col) noexcept {
    return col * Rows + row;
  }
};

/// The two stages of a layout::staged_gates matrix (Rows1 rows, then Rows2 rows, each stage
/// column-major of its own), each in the column-pair layout with blocks of its own.
template <std::size_t Rows1, std::size_t BlockRows1, std::size_t Rows2, std::size_t BlockRows2,
          std::size_t Cols>
struct bf16_staged_layout {
  using first = bf16_pair_layout<Rows1, Cols, BlockRows1>;
  using second = bf16_pair_layout<Rows2, Cols, BlockRows2>;
  static constexpr std::size_t pairs = first::pairs;
  static constexpr std::size_t size = first::size + second::size;
  static constexpr std::size_t rows = Rows1 + Rows2;
  static constexpr std::size_t cols = Cols;
  /// Where the block starting at row `first` of either stage begins.
  static constexpr std::size_t block_start(std::size_t first_row) noexcept {
    return first_row * 2 * pairs;
  }
  static constexpr std::size_t index(std::size_t row, std::size_t col) noexcept {
    return row < Rows1 ? first::index(row, col) : first::size + second::index(row - Rows1, col);
  }
  static constexpr std::size_t source_index(std::size_t row, std::size_t col) noexcept {
    return row < Rows1 ? col * Rows1 + row : Rows1 * Cols + col * Rows2 + (row - Rows1);
  }
};

/// acc[k] += sum_j W[row register k, j] * x[j] over the Pairs column pairs (x as
/// simd::bf16_pair words) of one block of Regs registers of rows (w: the block's start), the
/// pairs dealt round-robin to independent chains as accumulate_columns does, for latency.
template <std::size_t Regs, std::size_t Pairs>
inline void accumulate_column_pairs(const bf16* w, const std::uint32_t* x,
                                    std::array<simd::batch<float>, Regs>& acc) noexcept {
  constexpr std::size_t V = simd::width<float>;
  constexpr std::size_t chains = accumulation_chains(Regs, Pairs);
  std::array<std::array<simd::batch<float>, Regs>, chains> part;
  fill_registers(part, simd::batch<float>(0.0f));
  assign_registers(part[0], acc);
  auto column_pair = [&](std::size_t p, auto c) {
    const bf16* block = w + p * 2 * Regs * V;
    unroll<Regs>(
        [&](auto k) { part[c][k] = simd::dot_pairs(part[c][k], block + k * 2 * V, x[p]); });
  };
  constexpr std::size_t full = Pairs / chains * chains;
  for (std::size_t p = 0; p < full; p += chains)
    unroll<chains>([&](auto c) { column_pair(p + c, c); });
  unroll<Pairs - full>([&](auto c) { column_pair(full + c, c); });
  unroll<Regs>([&](auto k) {
    simd::batch<float> sum = part[0][k];
    unroll<chains - 1>([&](auto c) { sum += part[c + 1][k]; });
    acc[k] = sum;
  });
}

/// One block of a bf16 pair matrix for K vectors at once: registers [0, Count) of the block
/// (w: its start; PairStride: 2 * its rows) of y[k] = W x[k] + b (b and y[k] at the block's
/// first row), every row summed exactly as accumulate_column_pairs<Regs, Pairs> sums it with
/// Chains chains (partial sums parked in y, as matvec_rows_streams does), so each vector gets
/// the bits of its own product; each weight register is loaded once for the K vectors.
template <std::size_t Pairs, std::size_t PairStride, std::size_t K, std::size_t Chains,
          std::size_t Count>
inline void matvec_pairs_block_streams(const bf16* w, const std::array<const std::uint32_t*, K>& x,
                                       const float* b, const std::array<float*, K>& y) noexcept {
  constexpr std::size_t V = simd::width<float>;
  constexpr std::size_t block = stream_block_registers<K>(Count);
  auto run = [&]<std::size_t R>(std::size_t first) {
    unroll<Chains>([&](auto c) {
      std::array<std::array<simd::batch<float>, R>, K> acc;
      unroll<K>([&](auto k) {
        unroll<R>([&](auto r) {
          acc[k][r] = c == 0 ? simd::load(b + (first + r) * V) : simd::batch<float>(0.0f);
        });
      });
      for (std::size_t p = c; p < Pairs; p += Chains) {
        const bf16* pair = w + p * PairStride + first * 2 * V;
        unroll<R>([&](auto r) {
          unroll<K>(
              [&](auto k) { acc[k][r] = simd::dot_pairs(acc[k][r], pair + r * 2 * V, x[k][p]); });
        });
      }
      unroll<K>([&](auto k) {
        unroll<R>([&](auto r) {
          float* out = y[k] + (first + r) * V;
          simd::store(out, c == 0 ? acc[k][r] : simd::load(out) + acc[k][r]);
        });
      });
    });
  };
  constexpr std::size_t full = Count / block * block;
  for (std::size_t r = 0; r < full; r += block) run.template operator()<block>(r);
  if constexpr (full < Count) run.template operator()<Count - full>(full);
}

/// Rows of a block of matvec_bf16_pairs: as many as matvec_col_major keeps in registers.
template <std::size_t Rows>
inline constexpr std::size_t bf16_block_rows =
    block_registers(Rows / simd::width<float>) * simd::width<float>;

/// y = W x + b for W (Rows x Cols) in bf16_pair_layout<Rows, Cols, bf16_block_rows<Rows>>; x
/// is a padded vector of Cols values (its zero padding completes an odd last pair).
template <std::size_t Rows, std::size_t Cols>
inline void matvec_bf16_pairs(const bf16* w, const float* x, const float* b, float* y) noexcept {
  constexpr std::size_t V = simd::width<float>;
  static_assert(Rows % V == 0);
  using layout = bf16_pair_layout<Rows, Cols, bf16_block_rows<Rows>>;
  constexpr std::size_t regs = Rows / V;
  constexpr std::size_t block = bf16_block_rows<Rows> / V;
  alignas(simd::alignment) std::uint32_t xp[simd::bf16_pair_words<layout::pairs>];
  simd::to_bf16_pairs<layout::pairs>(x, xp);
  auto run = [&]<std::size_t R>(std::size_t first) {
    std::array<simd::batch<float>, R> acc;
    unroll<R>([&](auto k) { acc[k] = simd::load(b + (first + k) * V); });
    accumulate_column_pairs<R, layout::pairs>(w + layout::block_start(first * V), xp, acc);
    unroll<R>([&](auto k) { simd::store(y + (first + k) * V, acc[k]); });
  };
  constexpr std::size_t full = regs / block * block;
  for (std::size_t r = 0; r < full; r += block) run.template operator()<block>(r);
  if constexpr (full < regs) run.template operator()<regs - full>(full);
}

}  // namespace rnnx::kernels
