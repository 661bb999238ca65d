#pragma once
// A cell's graph evaluated on one register slice, forward and in reverse. Every value lives
// in an array of registers indexed by compile-time positions, so after inlining the whole
// slice is straight-line code on registers: the gates stay in registers from the matrix pass
// to the state update (the "fusion" of the design), and the backward is the chain rule
// unrolled over the same graph.
//
// Products that feed a sum are written as one fused multiply-add (a * b + c, c - a * b, with
// simd::fma, fused on every instruction set that has FMAs), so the forward of a step, of a
// sequence, of N streams and of training round alike in every inlining context.

#include <array>
#include <cstddef>
#include <type_traits>

#include "rnnx/expr/graph.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"
#include "rnnx/simd/math.hpp"

namespace rnnx::expr {

template <class G, class T>
using slice_values = std::array<simd::batch<T>, G::size>;

namespace detail {

template <std::size_t N>
using index = std::integral_constant<std::size_t, N>;

/// The value of node n from its children's values in v (n: not a leaf).
template <class G, std::size_t n, class T>
[[gnu::always_inline]] inline simd::batch<T> apply(const slice_values<G, T>& v) noexcept {
  using batch = simd::batch<T>;
  constexpr node_info i = G::nodes[n];
  constexpr auto product_of = [](std::size_t m) { return m != none && G::nodes[m].kind == op::mul; };
  if constexpr (i.kind == op::add && product_of(i.a)) {
    return simd::fma(v[G::nodes[i.a].a], v[G::nodes[i.a].b], v[i.b]);
  } else if constexpr (i.kind == op::add && product_of(i.b)) {
    return simd::fma(v[G::nodes[i.b].a], v[G::nodes[i.b].b], v[i.a]);
  } else if constexpr (i.kind == op::add) {
    return v[i.a] + v[i.b];
  } else if constexpr (i.kind == op::sub && product_of(i.b)) {
    return simd::fnma(v[G::nodes[i.b].a], v[G::nodes[i.b].b], v[i.a]);
  } else if constexpr (i.kind == op::sub && product_of(i.a)) {
    return simd::fms(v[G::nodes[i.a].a], v[G::nodes[i.a].b], v[i.b]);
  } else if constexpr (i.kind == op::sub) {
    return v[i.a] - v[i.b];
  } else if constexpr (i.kind == op::mul) {
    return v[i.a] * v[i.b];
  } else if constexpr (i.kind == op::neg) {
    return -v[i.a];
  } else if constexpr (i.kind == op::sigmoid) {
    return simd::sigmoid(v[i.a]);
  } else if constexpr (i.kind == op::tanh) {
    return simd::tanh(v[i.a]);
  } else if constexpr (i.kind == op::relu) {
    return simd::relu(v[i.a]);
  } else {
    static_assert(i.kind == op::constant);
    return batch(T(i.value));
  }
}

/// A leaf's value from the slice's sources (see forward).
template <class G, std::size_t n, class Leaves>
[[gnu::always_inline]] inline auto leaf_value(const Leaves& leaves) noexcept {
  constexpr node_info i = G::nodes[n];
  if constexpr (i.kind == op::input) return leaves.input(index<i.index>{});
  else if constexpr (i.kind == op::hidden) return leaves.hidden(index<i.index>{});
  else if constexpr (i.kind == op::state) return leaves.state(index<i.index>{});
  else return leaves.vector(index<i.index>{});
}

}  // namespace detail

/// Every node's value for one slice (but products fused into their parent's multiply-add).
/// leaves provides input(k), hidden(k), state(j) and
/// vector(j) (each index an std::integral_constant) as registers.
template <class G, class T, class Leaves>
[[gnu::always_inline]] inline void forward(slice_values<G, T>& v, const Leaves& leaves) noexcept {
  kernels::unroll<G::size>([&](auto n) __attribute__((always_inline)) {
    constexpr op kind = G::nodes[n].kind;
    if constexpr (!G::evaluated[n]) {
      // a product that its parent fuses into a multiply-add
    } else if constexpr (is_leaf(kind) && kind != op::constant) {
      v[n] = detail::leaf_value<G, n>(leaves);
    } else {
      v[n] = detail::apply<G, n, T>(v);
    }
  });
}

/// The values backward reads, for one slice: loaded (leaves, outputs, and the values the
/// forward saved: saved(slot)) or recomputed from those (G::plan).
template <class G, class T, class Leaves, class Saved, class Outputs>
[[gnu::always_inline]] inline void recall(slice_values<G, T>& v, const Leaves& leaves,
                                          const Saved& saved, const Outputs& output) noexcept {
  kernels::unroll<G::size>([&](auto n) __attribute__((always_inline)) {
    constexpr op kind = G::nodes[n].kind;
    if constexpr (G::plan.saved[n]) {
      v[n] = saved(detail::index<G::plan.slot[n]>{});
    } else if constexpr (G::is_output(n)) {
      v[n] = output(detail::index<n>{});
    } else if constexpr (kind == op::state || kind == op::vector) {
      v[n] = detail::leaf_value<G, n>(leaves);
    } else if constexpr (G::plan.available[n]) {
      v[n] = detail::apply<G, n, T>(v);
    }
  });
}

namespace detail {

/// Adds parent q's term to node n's adjoint (through q's child slot): the chain rule for
/// each operation, with its derivative written through values backward has.
template <class G, std::size_t n, std::size_t q, std::size_t slot, bool first, class T>
[[gnu::always_inline]] inline void contribute(simd::batch<T>& acc, const slice_values<G, T>& v,
                                              const slice_values<G, T>& adj) noexcept {
  using batch = simd::batch<T>;
  constexpr node_info i = G::nodes[q];
  const batch& d = adj[q];
  const auto scaled = [&](const batch& factor) __attribute__((always_inline)) {
    if constexpr (first) acc = d * factor;
    else acc = simd::fma(d, factor, acc);
  };
  if constexpr (i.kind == op::add || (i.kind == op::sub && slot == 0)) {
    if constexpr (first) acc = d;
    else acc = acc + d;
  } else if constexpr (i.kind == op::sub || i.kind == op::neg) {
    if constexpr (first) acc = -d;
    else acc = acc - d;
  } else if constexpr (i.kind == op::mul) {
    scaled(v[slot == 0 ? i.b : i.a]);
  } else if constexpr (i.kind == op::sigmoid) {
    scaled(simd::fnma(v[q], v[q], v[q]));  // y (1 - y)
  } else if constexpr (i.kind == op::tanh) {
    scaled(simd::fnma(v[q], v[q], batch(T(1))));  // 1 - y^2
  } else {
    static_assert(i.kind == op::relu);
    const batch passed = xsimd::select(v[q] > batch(T(0)), d, batch(T(0)));
    if constexpr (first) acc = passed;
    else acc = acc + passed;
  }
}

}  // namespace detail

/// Reverse mode over one slice: adj[n] = dL/d(node n) for every differentiable node, from
/// v (recall's values) and seed(n): dL/d(output n) from outside the step (the next step's
/// gradient of h and c, the loss's of y).
template <class G, class T, class Seed>
[[gnu::always_inline]] inline void backward(const slice_values<G, T>& v, slice_values<G, T>& adj,
                                            const Seed& seed) noexcept {
  kernels::unroll<G::size>([&](auto k) __attribute__((always_inline)) {
    constexpr std::size_t n = G::size - 1 - k;
    if constexpr (G::differentiable[n]) {
      constexpr bool seeded = G::is_output(n);
      if constexpr (seeded) adj[n] = seed(detail::index<n>{});
      kernels::unroll<G::size>([&](auto q) __attribute__((always_inline)) {
        if constexpr (q > n && G::differentiable[q]) {
          constexpr node_info i = G::nodes[q];
          if constexpr (i.a == n)
            detail::contribute<G, n, q, 0, !seeded && G::first_contribution[n] == 2 * q>(adj[n], v,
                                                                                        adj);
          if constexpr (i.b == n)
            detail::contribute<G, n, q, 1, !seeded && G::first_contribution[n] == 2 * q + 1>(
                adj[n], v, adj);
        }
      });
    }
  });
}

}  // namespace rnnx::expr
