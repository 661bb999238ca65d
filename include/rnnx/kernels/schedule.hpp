#pragma once
// How the kernels spend the register file, decided here and nowhere else, per instruction set:
// how many registers of sums one pass over a matrix keeps, how many independent accumulation
// chains a latency-bound product is split into, how many slices of a cell's gates share a
// pass, how many streams share each weight load, and the tiles of the weight gradients.
//
// Every path that must give the same bits (step, forward, the N-stream step, training's
// forward) reads the same numbers from here, so it sums in the same order.
//
// Two register files:
//  - 32 registers (AVX-512, AArch64 NEON): 16 registers of sums, up to 24 live accumulators
//    across chains; 8 streams share each weight load (8 x 2 sums + 8 broadcasts + a weight);
//    training advances 4 sequences at once (4 x one slice's 4 LSTM gates).
//  - 16 registers (SSE2, AVX2): the AVX-512 numbers spill there (LSTM H = 32 kept 2 of its 16
//    sums on the stack; GRU spilled 10 of 24 and stopped being inlined). 12 sums or 12
//    accumulators leave room for the broadcast operand and the weights in flight; 4 streams
//    share a load (4 x 2 sums + 4 broadcasts + a weight = 13); training advances 2 sequences.

#include <cstddef>

#include "rnnx/isa.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::kernels {

/// The register budget of one instruction set (see the top of this file).
struct register_budget {
  /// Registers of sums a pass over the columns keeps live (one vector).
  std::size_t sums;
  /// Live partial sums when a pass splits its columns into independent chains.
  std::size_t accumulators;
  /// No chain gets fewer columns than this: shorter chains cost more adds than they save.
  std::size_t min_chain_columns;
  /// Streams whose step shares each weight load (gate sums parked in L1 between passes).
  std::size_t step_group;
  /// Registers of sums when vectors share a pass: K vectors get stream_sums / K rows each.
  std::size_t stream_sums;
  /// Sequences training's forward advances together, every gate sum of a slice in registers.
  std::size_t sequence_group;
  /// Weight-gradient tiles: registers of rows x columns of sums (accumulate_outer_products).
  std::size_t tile_registers, tile_columns;
};

inline constexpr register_budget wide_register_file{16, 24, 4, 8, 16, 4, 4, 4};
inline constexpr register_budget narrow_register_file{12, 12, 4, 4, 8, 2, 4, 2};

/// The budget of the instruction set this translation unit is compiled for.
inline constexpr register_budget budget =
    simd::vector_registers >= 32 ? wide_register_file : narrow_register_file;

/// On a register file of 16, recur's passes over W_hh are forced inline: g++ left them calls
/// there, the gate sums going through the stack to the cell (AVX2: LSTM(1->16) steps 1.7x
/// slower). With 32 registers g++'s own choice is faster (forced: AVX-512 LSTM(1->32)
/// streams 3.5% slower).
#if RNNX_VECTOR_REGISTERS >= 32
#define RNNX_INLINE_PASS
#else
#define RNNX_INLINE_PASS [[gnu::always_inline]]
#endif

/// Registers of rows handled per pass over the columns of a single vector's product.
constexpr std::size_t block_registers(std::size_t registers) noexcept {
  return registers < budget.sums ? registers : budget.sums;
}

/// Independent accumulation chains per output register. A streaming step waits for the
/// whole sum before the next step can start, so latency matters as much as throughput:
/// splitting the columns over chains shortens each chain, up to budget.accumulators live
/// partial sums and chains of no fewer than budget.min_chain_columns columns.
constexpr std::size_t accumulation_chains(std::size_t registers, std::size_t columns) noexcept {
  std::size_t chains = registers >= budget.accumulators ? 1 : budget.accumulators / registers;
  while (chains > 1 && columns / chains < budget.min_chain_columns) --chains;
  return chains;
}

/// The chains of a product whose column count is known only at run time (rnnx::dynamic):
/// as for a product of a few chains' worth of columns.
constexpr std::size_t accumulation_chains(std::size_t registers) noexcept {
  return accumulation_chains(registers, 4 * budget.min_chain_columns);
}

/// Chains that run side by side when a chain count known only at run time (rnnx::dyn
/// sizes) is split into groups of compiled size: up to budget.accumulators partial sums, and
/// at most 8 chains, so that a one-register pass compiles 8 bodies rather than 24.
constexpr std::size_t chain_group_size(std::size_t registers) noexcept {
  const std::size_t g = budget.accumulators / registers;
  return g < 1 ? 1 : g > 8 ? 8 : g;
}

/// Registers of rows per pass when K vectors share it: K of them stay within stream_sums.
template <std::size_t K>
constexpr std::size_t stream_block_registers(std::size_t registers) noexcept {
  const std::size_t r = budget.stream_sums / K == 0 ? 1 : budget.stream_sums / K;
  return r < registers ? r : registers;
}

/// The most slices of a cell's `gates` gate sums that share one pass over W_hh for K vectors.
constexpr std::size_t most_block_slices(std::size_t gates, std::size_t K = 1) noexcept {
  if (gates == 0) gates = 1;
  const std::size_t sums = K == 1 ? budget.sums : budget.stream_sums;
  const std::size_t s = sums / (K * gates);
  return s < 1 ? 1 : s;
}

/// Slices (one register of hidden units each) of a cell whose `gates` gate sums share one
/// pass over W_hh for K vectors, out of `slices`: a divisor of slices, so every pass has the
/// same shape.
constexpr std::size_t block_slices(std::size_t slices, std::size_t gates,
                                   std::size_t K = 1) noexcept {
  std::size_t s = most_block_slices(gates, K);
  if (s > slices) s = slices;
  while (slices % s != 0) --s;
  return s;
}

}  // namespace RNNX_NAMESPACE::kernels
