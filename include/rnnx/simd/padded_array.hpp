#pragma once
// Fixed-size, cache-line aligned storage whose length is padded to whole SIMD registers.
// The padding lanes are kept at zero: kernels read them, and zero is the one value that
// cannot turn a valid result into NaN.

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <span>

#include "rnnx/isa.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::simd {

template <class T, std::size_t N>
struct alignas(alignment) padded_array {
  static constexpr std::size_t size = N;
  static constexpr std::size_t padded_size = padded<T>(N);

  std::array<T, padded_size> storage{};

  constexpr T& operator[](std::size_t i) noexcept { return storage[i]; }
  constexpr const T& operator[](std::size_t i) const noexcept { return storage[i]; }
  constexpr T* data() noexcept { return storage.data(); }
  constexpr const T* data() const noexcept { return storage.data(); }

  /// The N meaningful values, without the padding.
  constexpr std::span<T, N> values() noexcept { return std::span<T, N>(storage.data(), N); }
  constexpr std::span<const T, N> values() const noexcept {
    return std::span<const T, N>(storage.data(), N);
  }

  constexpr void fill_zero() noexcept { storage.fill(T(0)); }

  friend constexpr bool operator==(const padded_array&, const padded_array&) = default;
};

/// The same storage with its length chosen at run time (N == rnnx::dyn, extent.hpp): on the
/// heap, allocated once when it is made.
template <class T>
struct padded_array<T, std::numeric_limits<std::size_t>::max()> {
  std::size_t size = 0;
  std::size_t padded_size = 0;
  aligned_vector<T> storage;

  padded_array() = default;
  explicit padded_array(std::size_t n) : size(n), padded_size(padded<T>(n)), storage(padded_size) {}

  T& operator[](std::size_t i) noexcept { return storage[i]; }
  const T& operator[](std::size_t i) const noexcept { return storage[i]; }
  T* data() noexcept { return storage.data(); }
  const T* data() const noexcept { return storage.data(); }
  std::span<T> values() noexcept { return std::span<T>(storage.data(), size); }
  std::span<const T> values() const noexcept { return std::span<const T>(storage.data(), size); }
  void fill_zero() noexcept { std::fill(storage.begin(), storage.end(), T(0)); }

  friend bool operator==(const padded_array&, const padded_array&) = default;
};

}  // namespace RNNX_NAMESPACE::simd
