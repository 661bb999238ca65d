#pragma once
// The states of recurrent cells: h alone (Elman RNN, the GRUs) or h and c (the LSTMs); one
// type per scalar and size, so such states pass between cells (an encoder's final state
// starting a decoder) by plain assignment.

#include <cstddef>

#include "rnnx/isa.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace RNNX_NAMESPACE {

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

}  // namespace RNNX_NAMESPACE

namespace RNNX_NAMESPACE {

/// The state of a cell that carries a second vector c beside its output h (the LSTMs).
template <class T, std::size_t H>
struct hidden_cell_state {
  simd::padded_array<T, H> h;
  simd::padded_array<T, H> c;
  constexpr void reset() noexcept {
    h.fill_zero();
    c.fill_zero();
  }
  /// f("h", span), then f("c", span): the state's vectors by name (realtime/state.hpp).
  template <class F>
  constexpr void visit(F&& f) {
    f("h", h.values());
    f("c", c.values());
  }
  template <class F>
  constexpr void visit(F&& f) const {
    f("h", h.values());
    f("c", c.values());
  }
  friend constexpr bool operator==(const hidden_cell_state&, const hidden_cell_state&) = default;
};

}  // namespace RNNX_NAMESPACE
