#pragma once
// Compile-time loop unrolling: the body sees its index as a constant, so arrays of registers
// indexed by it stay in registers.

#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE::kernels {

/// Always inlined, like the lambda it expands: in a large translation unit g++ otherwise
/// may leave unroll<8, ...> a call, with every register of the caller's arrays going through
/// memory around it (measured: LSTM(1->32) steps 20% slower in bench/step_bench.cpp).
template <std::size_t N, class F>
[[gnu::always_inline]] inline void unroll(F&& body) {
  [&]<std::size_t... I>(std::index_sequence<I...>) __attribute__((always_inline)) {
    (body(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<N>{});
}

/// A size known at compile time, where a kernel takes either a constant or a run-time size
/// (rnnx::dyn layers): code written over `std::size_t n` with N = size_constant<8> folds as if
/// 8 were written in it.
template <std::size_t N>
using size_constant = std::integral_constant<std::size_t, N>;
template <class N>
inline constexpr bool is_constant = !std::is_same_v<N, std::size_t>;

/// f(size_constant<n>) for a run-time n in [1, Max]: how a run-time size picks one of a few
/// compiled register blockings.
template <std::size_t Max, class F>
[[gnu::always_inline]] inline void with_constant(std::size_t n, F&& f) {
  assert(0 < n && n <= Max);
  [&]<std::size_t... I>(std::index_sequence<I...>) __attribute__((always_inline)) {
    (void)((n == I + 1 ? (f(size_constant<I + 1>{}), true) : false) || ...);
  }
  (std::make_index_sequence<Max>{});
}

/// f(size_constant<p>{}, offset) for each power of two p of n's binary expansion (n <= Max),
/// largest first, offset the sum of the parts before it: a run-time count of registers or
/// slices served by log2(Max) + 1 compiled blockings instead of Max (compile time of every
/// rnnx::dyn model; a sum that does not depend on its block keeps its bits).
template <std::size_t Max, class F>
[[gnu::always_inline]] inline void with_power_of_two_parts(std::size_t n, F&& f) {
  assert(n <= Max);
  constexpr std::size_t top = std::bit_floor(Max);
  std::size_t offset = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) __attribute__((always_inline)) {
    (((n & (top >> I)) != 0 ? (f(size_constant<(top >> I)>{}, offset), offset += top >> I) : 0),
     ...);
  }
  (std::make_index_sequence<std::bit_width(top)>{});
}

/// dst = src for arrays (of arrays) of SIMD registers, one register at a time. g++ 12 with
/// -march=native copies a whole std::array of registers as a memcpy in 256-bit halves through
/// the stack; reloading a 512-bit register from two half stores waits for a failed store
/// forward (measured: 3% of an LSTM(1->32) step).
template <class R, std::size_t N>
[[gnu::always_inline]] inline void assign_registers(std::array<R, N>& dst,
                                                    const std::array<R, N>& src) noexcept {
  unroll<N>([&](auto k) {
    if constexpr (requires { std::tuple_size<R>::value; }) {
      assign_registers(dst[k], src[k]);
    } else {
      dst[k] = src[k];
    }
  });
}

/// Every register of regs (an array, or array of arrays) set to value, one at a time (see
/// assign_registers).
template <class R, std::size_t N, class V>
[[gnu::always_inline]] inline void fill_registers(std::array<R, N>& regs, const V& value) noexcept {
  unroll<N>([&](auto k) {
    if constexpr (requires { std::tuple_size<R>::value; }) {
      fill_registers(regs[k], value);
    } else {
      regs[k] = value;
    }
  });
}

}  // namespace RNNX_NAMESPACE::kernels
