#pragma once
// The words a cell's equations are written in. Every term is an empty type, so an equation
// such as  c' = f * c + i * g  is a type: the compiler sees the whole graph of a cell and
// derives its fused step and its backward from it (expr/graph.hpp, expr/evaluate.hpp).
// Every value is one register-wide slice of H hidden units; all vectors of a cell have H
// units (the input reaches the equations only through W<k>), so sizes cannot mismatch.
//
//   W<k>        W_ik x + b_ik       rows of gate k of weight_ih, plus bias_ih
//   U<k>        W_hk h + b_hk       rows of gate k of weight_hh, plus bias_hh
//   h, c        the state before the step (c: cells that carry a second vector)
//   p<j>        element-wise parameter vector j (peepholes, IndRNN's recurrent weights)
//   one, zero   constants
//   a + b, a - b, a * b, -a, sigmoid(a), tanh(a), relu(a), identity(a)
//   next(h')    or next(h', c'): what the step produces (h' is also the layer's output)

#include <cstddef>
#include <type_traits>

#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE::expr {

enum class op { input, hidden, state, vector, constant, add, sub, mul, neg, sigmoid, tanh, relu };

/// What every term derives from.
struct node {};
template <class E>
concept expression = std::is_base_of_v<node, E>;

/// The children of a term, in order.
template <class... E>
struct children {};

template <std::size_t K>
struct input_projection : node {
  static constexpr op kind = op::input;
  static constexpr std::size_t index = K;
  using args = children<>;
};

template <std::size_t I>
struct state_vector : node {
  static constexpr op kind = op::state;
  static constexpr std::size_t index = I;
  using args = children<>;
};

/// W_hk v + b_hk. The product runs over the whole vector v, so every unit of v must exist
/// before any unit of the product: with v = h (the state) it is the step's one matrix pass.
template <std::size_t K, class Of>
struct hidden_projection : node {
  static constexpr op kind = op::hidden;
  static constexpr std::size_t index = K;
  using operand = Of;
  using args = children<>;
  /// U<k>(v): the rows of gate k times an intermediate vector v instead of h.
  template <expression E>
  constexpr hidden_projection<K, E> operator()(E) const noexcept {
    return {};
  }
};

template <std::size_t J>
struct elementwise_parameter : node {
  static constexpr op kind = op::vector;
  static constexpr std::size_t index = J;
  using args = children<>;
};

template <int Value>
struct constant : node {
  static constexpr op kind = op::constant;
  static constexpr int value = Value;
  using args = children<>;
};

template <op Kind, class... E>
struct operation : node {
  static constexpr op kind = Kind;
  using args = children<E...>;
};

template <std::size_t K>
inline constexpr input_projection<K> W{};
template <std::size_t K>
inline constexpr hidden_projection<K, state_vector<0>> U{};
inline constexpr state_vector<0> h{};
inline constexpr state_vector<1> c{};
template <std::size_t J>
inline constexpr elementwise_parameter<J> p{};
inline constexpr constant<1> one{};
inline constexpr constant<0> zero{};

template <expression A, expression B>
constexpr operation<op::add, A, B> operator+(A, B) noexcept {
  return {};
}
template <expression A, expression B>
constexpr operation<op::sub, A, B> operator-(A, B) noexcept {
  return {};
}
template <expression A, expression B>
constexpr operation<op::mul, A, B> operator*(A, B) noexcept {
  return {};
}
template <expression A>
constexpr operation<op::neg, A> operator-(A) noexcept {
  return {};
}
template <expression A>
constexpr operation<op::sigmoid, A> sigmoid(A) noexcept {
  return {};
}
template <expression A>
constexpr operation<op::tanh, A> tanh(A) noexcept {
  return {};
}
template <expression A>
constexpr operation<op::relu, A> relu(A) noexcept {
  return {};
}
template <expression A>
constexpr A identity(A) noexcept {
  return {};
}

/// What a step produces: the new h (the layer's output) and, for cells with two state
/// vectors, the new c.
template <expression... E>
struct outputs {
  static_assert(sizeof...(E) == 1 || sizeof...(E) == 2,
                "rnnx::expr::next: a cell's step produces h' or h' and c'");
};
template <expression H>
constexpr outputs<H> next(H) noexcept {
  return {};
}
template <expression H, expression C>
constexpr outputs<H, C> next(H, C) noexcept {
  return {};
}

}  // namespace rnnx::expr
