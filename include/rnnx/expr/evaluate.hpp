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
#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/simd/batch.hpp"
#include "rnnx/simd/math.hpp"

namespace RNNX_NAMESPACE::expr {

template <class G, class T>
using slice_values = std::array<simd::batch<T>, G::size>;

namespace detail {

template <std::size_t N>
using index = std::integral_constant<std::size_t, N>;

/// The value of node n (not a leaf) from its children's values, get(index<m>) for child m.
template <class G, std::size_t n, class T, class Get>
[[gnu::always_inline]] inline simd::batch<T> apply(const Get& get) noexcept {
  using batch = simd::batch<T>;
  constexpr node_info i = G::nodes[n];
  constexpr auto product_of = [](std::size_t m) { return m != none && G::nodes[m].kind == op::mul; };
  if constexpr (i.kind == op::add && product_of(i.a)) {
    return simd::fma(get(index<G::nodes[i.a].a>{}), get(index<G::nodes[i.a].b>{}),
                     get(index<i.b>{}));
  } else if constexpr (i.kind == op::add && product_of(i.b)) {
    return simd::fma(get(index<G::nodes[i.b].a>{}), get(index<G::nodes[i.b].b>{}),
                     get(index<i.a>{}));
  } else if constexpr (i.kind == op::add) {
    return get(index<i.a>{}) + get(index<i.b>{});
  } else if constexpr (i.kind == op::sub && product_of(i.b)) {
    return simd::fnma(get(index<G::nodes[i.b].a>{}), get(index<G::nodes[i.b].b>{}),
                      get(index<i.a>{}));
  } else if constexpr (i.kind == op::sub && product_of(i.a)) {
    return simd::fms(get(index<G::nodes[i.a].a>{}), get(index<G::nodes[i.a].b>{}),
                     get(index<i.b>{}));
  } else if constexpr (i.kind == op::sub) {
    return get(index<i.a>{}) - get(index<i.b>{});
  } else if constexpr (i.kind == op::mul) {
    return get(index<i.a>{}) * get(index<i.b>{});
  } else if constexpr (i.kind == op::neg) {
    return -get(index<i.a>{});
  } else if constexpr (i.kind == op::sigmoid) {
    return simd::sigmoid(get(index<i.a>{}));
  } else if constexpr (i.kind == op::tanh) {
    return simd::tanh(get(index<i.a>{}));
  } else if constexpr (i.kind == op::relu) {
    return simd::relu(get(index<i.a>{}));
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

/// Which part of a step forward evaluates: all of it, or one stage of a two-stage cell.
enum class stage { whole, first, second };

template <class G, stage S>
constexpr const std::array<bool, G::size>& evaluated_in() noexcept {
  if constexpr (S == stage::first) return G::evaluated_first;
  else if constexpr (S == stage::second) return G::evaluated_second;
  else return G::evaluated;
}

/// Where forward keeps each node: a register of its own for every evaluated operation;
/// leaves are read where they are used, and products fused into their parent's multiply-add
/// are not formed. (An array of registers for every node would be optimised away all the same,
/// but g++ sizes the stack frame from it before that and then declines to inline the step into
/// the caller's loop.)
template <class G, stage S = stage::whole>
struct forward_slots {
  static constexpr std::array<std::size_t, G::size> slot = [] {
    std::array<std::size_t, G::size> s{};
    std::size_t k = 0;
    for (std::size_t n = 0; n < G::size; ++n)
      s[n] = evaluated_in<G, S>()[n] && !is_leaf(G::nodes[n].kind) ? k++ : none;
    return s;
  }();
  static constexpr std::size_t count = [] {
    std::size_t k = 0;
    for (std::size_t n = 0; n < G::size; ++n) k += slot[n] != none;
    return k;
  }();
};

/// One slice's values after forward: get(index<n>) is node n's value. In the second stage
/// the first stage's values come from leaves.carried(index<slot>).
template <class G, class T, class Leaves, stage S = stage::whole>
struct forward_values {
  std::array<simd::batch<T>, forward_slots<G, S>::count> v;
  const Leaves& leaves;
  template <std::size_t n>
  [[gnu::always_inline]] simd::batch<T> get(detail::index<n>) const noexcept {
    constexpr node_info i = G::nodes[n];
    if constexpr (i.kind == op::constant) return simd::batch<T>(T(i.value));
    else if constexpr (S == stage::second && G::carried[n])
      return leaves.carried(detail::index<G::carried_slot[n]>{});
    else if constexpr (is_leaf(i.kind)) return detail::leaf_value<G, n>(leaves);
    else return v[forward_slots<G, S>::slot[n]];
  }
};

/// Every node's value for one slice (of stage S). leaves provides input(k), hidden(k),
/// state(j), vector(j) and, for the second stage, carried(slot) (each index an
/// std::integral_constant) as registers.
template <class G, class T, stage S = stage::whole, class Leaves>
[[gnu::always_inline]] inline forward_values<G, T, Leaves, S> forward(
    const Leaves& leaves) noexcept {
  forward_values<G, T, Leaves, S> f{{}, leaves};
  kernels::unroll<G::size>([&](auto n) __attribute__((always_inline)) {
    if constexpr (forward_slots<G, S>::slot[n] != none)
      f.v[forward_slots<G, S>::slot[n]] =
          detail::apply<G, n, T>([&](auto m) __attribute__((always_inline)) { return f.get(m); });
  });
  return f;
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
      v[n] = detail::apply<G, n, T>([&](auto m) __attribute__((always_inline)) { return v[m]; });
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
/// gradient of h and c, the loss's of y) and, for a two-stage cell, dL/dv through W_hh v.
/// SecondOnly: the second stage's nodes alone (their adjoints need no dL/dv).
template <class G, class T, bool SecondOnly = false, class Seed>
[[gnu::always_inline]] inline void backward(const slice_values<G, T>& v, slice_values<G, T>& adj,
                                            const Seed& seed) noexcept {
  kernels::unroll<G::size>([&](auto k) __attribute__((always_inline)) {
    constexpr std::size_t n = G::size - 1 - k;
    if constexpr (G::differentiable[n] && (!SecondOnly || G::second_stage[n])) {
      constexpr bool seeded = G::is_output(n) || n == G::operand;
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
