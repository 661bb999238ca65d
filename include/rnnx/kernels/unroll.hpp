#pragma once
// Compile-time loop unrolling: the body sees its index as a constant, so arrays of registers
// indexed by it stay in registers.

#include <cstddef>
#include <type_traits>
#include <utility>

namespace rnnx::kernels {

template <std::size_t N, class F>
inline void unroll(F&& body) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (body(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<N>{});
}

}  // namespace rnnx::kernels
