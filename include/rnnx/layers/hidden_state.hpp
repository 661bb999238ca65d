#pragma once
// The state of a recurrent cell that carries only its output h (Elman RNN, both GRUs): one
// type per scalar and size, so such states pass between cells (an encoder's final state
// starting a decoder) by plain assignment.

#include <cstddef>

#include "rnnx/simd/padded_array.hpp"

namespace rnnx {

template <class T, std::size_t H>
struct hidden_state {
  simd::padded_array<T, H> h;
  constexpr void reset() noexcept { h.fill_zero(); }
  /// f("h", span of the H values): the state's vectors by name (realtime/state.hpp).
  template <class F>
  constexpr void visit(F&& f) {
    f("h", h.values());
  }
  template <class F>
  constexpr void visit(F&& f) const {
    f("h", h.values());
  }
  friend constexpr bool operator==(const hidden_state&, const hidden_state&) = default;
};

}  // namespace rnnx
