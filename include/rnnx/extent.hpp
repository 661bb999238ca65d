#pragma once
// rnnx::dyn: a size chosen at run time, where a layer's template takes a size (the idea of
// Eigen's Dynamic and std::dynamic_extent): rnnx::lstm<rnnx::dyn, rnnx::dyn> is an LSTM whose
// input and hidden sizes are constructor arguments, run by the same engine, schedule and
// kernels as rnnx::lstm<1, 32> (engine/, kernels/).
//
// extent<N> carries one size: nothing for a constant (value() is a constant expression, so
// code written over extents folds to what it would be over the constant), the size itself
// for dyn.

#include <cstddef>
#include <limits>

#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

inline constexpr std::size_t dyn = std::numeric_limits<std::size_t>::max();

template <std::size_t N>
struct extent {
  static constexpr bool is_dynamic = false;
  constexpr extent() noexcept = default;
  static constexpr std::size_t value() noexcept { return N; }
  friend constexpr bool operator==(extent, extent) noexcept { return true; }
};

template <>
struct extent<dyn> {
  static constexpr bool is_dynamic = true;
  std::size_t size = 0;
  constexpr extent() noexcept = default;
  constexpr explicit extent(std::size_t n) noexcept : size(n) {}
  constexpr std::size_t value() const noexcept { return size; }
  friend constexpr bool operator==(extent, extent) noexcept = default;
};

}  // namespace RNNX_NAMESPACE
