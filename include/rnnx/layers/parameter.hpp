#pragma once
// A layer parameter as the file format and optimisers see it: a PyTorch name and shape, with
// element access that hides the packed layout the kernels read.

#include <array>
#include <cstddef>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

namespace layout {

/// Rows of G gates of H units each (PyTorch: gate-major, row = gate * H + unit), stored so that
/// one register-wide slice of units holds all G gates next to each other: a kernel pass over a
/// slice yields every gate of those units while they are still in registers. Column-major.
template <class T, std::size_t G, std::size_t H>
struct gate_interleaved {
  static constexpr std::size_t stride = G * simd::padded<T>(H);
  static constexpr std::size_t row(std::size_t r) noexcept {
    constexpr std::size_t V = simd::width<T>;
    const std::size_t gate = r / H, unit = r % H;
    return unit / V * G * V + gate * V + unit % V;
  }
  static constexpr std::size_t index(std::size_t r, std::size_t c) noexcept {
    return c * stride + row(r);
  }
};

/// Rows of G gates (Cols columns; 0: a vector) in two stages read by two passes: gates
/// [0, G1) then [G1, G), each stage a gate_interleaved matrix of its own, the second after
/// the first. A cell whose gates G1.. multiply an intermediate vector (U<k>(v)) needs its
/// first stage's units all done before the second pass starts; each pass reads one
/// contiguous stretch.
template <class T, std::size_t G, std::size_t G1, std::size_t H, std::size_t Cols>
struct staged_gates {
  static_assert(0 < G1 && G1 < G);
  using first = gate_interleaved<T, G1, H>;
  using second = gate_interleaved<T, G - G1, H>;
  /// Where the second stage starts.
  static constexpr std::size_t second_offset = first::stride * (Cols == 0 ? 1 : Cols);
  static constexpr std::size_t size = G * simd::padded<T>(H) * (Cols == 0 ? 1 : Cols);
  static constexpr std::size_t index(std::size_t r, std::size_t c) noexcept {
    return r < G1 * H ? first::index(r, c) : second_offset + second::index(r - G1 * H, c);
  }
};

/// The gate rows above with sizes chosen at run time (rnnx::dyn): G gates of H units, the first
/// G1 in a first stage (G1 == G: gate_interleaved, else staged_gates), Cols columns (0: a
/// vector). The same index as the compile-time layouts give for the same sizes.
template <class T>
struct dynamic_gate_rows {
  std::size_t gates = 1, first_gates = 1, hidden = 0, cols = 0;

  constexpr std::size_t columns() const noexcept { return cols == 0 ? 1 : cols; }
  constexpr std::size_t size() const noexcept {
    return gates * simd::padded<T>(hidden) * columns();
  }
  constexpr std::size_t index(std::size_t r, std::size_t c) const noexcept {
    constexpr std::size_t V = simd::width<T>;
    const std::size_t Hs = simd::padded<T>(hidden), unit = r % hidden;
    std::size_t gate = r / hidden, stage_gates = first_gates, offset = 0;
    if (gate >= first_gates) {
      offset = first_gates * Hs * columns();
      gate -= first_gates;
      stage_gates = gates - first_gates;
    }
    return offset + c * stage_gates * Hs + unit / V * stage_gates * V + gate * V + unit % V;
  }
  friend constexpr bool operator==(const dynamic_gate_rows&, const dynamic_gate_rows&) = default;
};

/// Plain column-major with rows padded to whole registers.
template <class T, std::size_t Rows>
struct column_major {
  static constexpr std::size_t stride = simd::padded<T>(Rows);
  static constexpr std::size_t index(std::size_t r, std::size_t c) noexcept {
    return c * stride + r;
  }
};

/// Row-major with each row padded to whole registers.
template <class T, std::size_t Cols>
struct row_major {
  static constexpr std::size_t stride = simd::padded<T>(Cols);
  static constexpr std::size_t index(std::size_t r, std::size_t c) noexcept {
    return r * stride + c;
  }
};

}  // namespace layout

/// Rows x Cols values (Cols == 0: a vector of Rows) in a padded, aligned, zero-initialised
/// block. The padding stays zero, so kernels may read it.
template <class T, std::size_t Rows, std::size_t Cols, class Layout, std::size_t Size>
struct parameter {
  using scalar = T;
  static constexpr std::size_t rows = Rows;
  static constexpr std::size_t cols = Cols;
  static constexpr std::size_t rank = Cols == 0 ? 1 : 2;
  static constexpr std::size_t count = Cols == 0 ? Rows : Rows * Cols;

  alignas(simd::alignment) std::array<T, Size> data{};

  constexpr T& at(std::size_t r, std::size_t c = 0) noexcept { return data[Layout::index(r, c)]; }
  constexpr const T& at(std::size_t r, std::size_t c = 0) const noexcept {
    return data[Layout::index(r, c)];
  }
  constexpr const T* raw() const noexcept { return data.data(); }

  friend constexpr bool operator==(const parameter&, const parameter&) = default;
};

/// A parameter whose sizes are chosen at run time (rnnx::dyn), in a run-time Layout (one with
/// size() and index(r, c)): the members of parameter, with rows, cols and count values and
/// rank() (as rnnx::dynamic's parameter views).
template <class T, class Layout>
struct dynamic_parameter {
  using scalar = T;
  std::size_t rows = 0, cols = 0, count = 0;
  Layout layout{};
  simd::aligned_vector<T> data;

  dynamic_parameter() = default;
  dynamic_parameter(std::size_t r, std::size_t c, const Layout& l)
      : rows(r), cols(c), count(c == 0 ? r : r * c), layout(l), data(l.size(), T(0)) {}
  // Explicit: a visitor that takes the parameter by value (auto p, right for the views
  // rnnx::dynamic's dense layers pass) would fill a copy and leave the layer as it was; this
  // way it does not compile. Layers holding parameters still copy and move as usual.
  explicit dynamic_parameter(const dynamic_parameter&) = default;
  dynamic_parameter(dynamic_parameter&&) noexcept = default;
  dynamic_parameter& operator=(const dynamic_parameter&) = default;
  dynamic_parameter& operator=(dynamic_parameter&&) noexcept = default;

  std::size_t rank() const noexcept { return cols == 0 ? 1 : 2; }

  T& at(std::size_t r, std::size_t c = 0) noexcept { return data[layout.index(r, c)]; }
  const T& at(std::size_t r, std::size_t c = 0) const noexcept { return data[layout.index(r, c)]; }
  const T* raw() const noexcept { return data.data(); }

  friend bool operator==(const dynamic_parameter&, const dynamic_parameter&) = default;
};

/// The weights (G*H x Cols) or biases (Cols == 0) of a gated recurrent cell.
template <class T, std::size_t G, std::size_t H, std::size_t Cols>
using gate_parameter = parameter<T, G * H, Cols, layout::gate_interleaved<T, G, H>,
                                 layout::gate_interleaved<T, G, H>::stride*(Cols == 0 ? 1 : Cols)>;

template <class T, std::size_t Rows, std::size_t Cols>
using column_major_matrix =
    parameter<T, Rows, Cols, layout::column_major<T, Rows>, simd::padded<T>(Rows) * Cols>;

template <class T, std::size_t Rows, std::size_t Cols>
using row_major_matrix =
    parameter<T, Rows, Cols, layout::row_major<T, Cols>, Rows * simd::padded<T>(Cols)>;

template <class T, std::size_t N>
using vector_parameter = parameter<T, N, 0, layout::column_major<T, N>, simd::padded<T>(N)>;

}  // namespace RNNX_NAMESPACE
