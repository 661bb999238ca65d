#pragma once
// The layer concept: the only interface through which network<> composes layers, and through
// which I/O, code generation and optimisers see a layer.
//
// A layer L<..., T> provides
//   scalar, in_size, out_size, type_name      what it is
//   rebind<U>                                 the same layer with scalar type U
//   state                                     its recurrent state (no_state when stateless)
//   forward_sequence(xs, steps, state, ys)    a whole sequence, rows padded to whole registers
//   step(x, state, y) const noexcept          one time step (streaming_layer; all but layers
//                                             that look ahead, e.g. bidirectional)
//   visit_attributes(f)                       f(name, size or option): the format's fields
//   visit_parameters(f)                       f(name, parameter&) in file order
//   describe(d)                               its sizes as formulas of the attributes, for
//                                             tools that see no instance
//                                             (io/layer_description.hpp): d.input(dim),
//                                             d.output(dim), d.parameter(name, rows[, cols]) in
//                                             file order, and what the attributes allow (d.choices,
//                                             d.fraction, d.one_or)
// and, for training (train/bptt.hpp), over a batch of sequences stored row t * batch + b:
//   tape                                      what forward keeps for backward; prepare(batch,
//                                             steps) grows it, so buffers are reused
//   forward_train(xs, batch, steps, states, tape, ys)
//                                             states[b]: initial state in, final state out
//   backward(xs, ys, dys, batch, steps, tape, grads, dxs)
//                                             adds dL/dparameters to grads (a layer of the same
//                                             type), writes dL/dxs unless dxs is null; may
//                                             overwrite dys; padding of dys must be 0

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

/// The state of a layer that has none.
struct no_state {
  constexpr void reset() noexcept {}
  /// Visits nothing: see the recurrent states' visit (f(name, span of values) per vector).
  template <class F>
  constexpr void visit(F&&) const noexcept {}
  friend constexpr bool operator==(const no_state&, const no_state&) = default;
};

/// The tape of a layer whose backward needs nothing beyond its inputs and outputs.
struct no_tape {
  constexpr void prepare(std::size_t, std::size_t) noexcept {}
};

/// A size in a layer's description (describe(d)): factor times the attribute named
/// `attribute` ("hidden_size", 4 for LSTM's gate rows), or the constant `factor` when
/// `attribute` is empty.
struct dimension {
  std::string_view attribute;
  std::size_t factor = 1;
  constexpr dimension(std::string_view name, std::size_t times = 1) noexcept
      : attribute(name), factor(times) {}
  constexpr dimension(const char* name, std::size_t times = 1) noexcept
      : attribute(name), factor(times) {}
  static constexpr dimension constant(std::size_t n) noexcept { return {std::string_view(), n}; }
};

namespace detail {
struct attribute_probe {
  void operator()(std::string_view, std::size_t) const {}
  void operator()(std::string_view, std::string_view) const {}
};
struct parameter_probe {
  template <class P>
  void operator()(std::string_view, P&) const {}
};
}  // namespace detail

template <class L>
concept layer = requires(const L& cl, L& l, typename L::state& s, const typename L::scalar* x,
                         typename L::scalar* y) {
  typename L::scalar;
  { L::in_size } -> std::convertible_to<std::size_t>;
  { L::out_size } -> std::convertible_to<std::size_t>;
  { L::type_name } -> std::convertible_to<std::string_view>;
  cl.forward_sequence(x, std::size_t{}, s, y);
  s.reset();
  L::visit_attributes(detail::attribute_probe{});
  l.visit_parameters(detail::parameter_probe{});
};

/// A layer that can run one step at a time (all but those that look ahead in time, such as
/// bidirectional<Cell>): what network::step needs.
template <class L>
concept streaming_layer = layer<L> && requires(const L& cl, typename L::state& s,
                                               const typename L::scalar* x, typename L::scalar* y) {
  { cl.step(x, s, y) }
  noexcept;
};

template <class L>
concept trainable_layer = layer<L> &&
    requires(const L& cl, L& grads, typename L::tape& tp, typename L::state* s,
             const typename L::scalar* x, typename L::scalar* y) {
  tp.prepare(std::size_t{}, std::size_t{});
  cl.forward_train(x, std::size_t{}, std::size_t{}, s, tp, y);
  cl.backward(x, x, y, std::size_t{}, std::size_t{}, tp, grads, y);
};

/// "lstm<1, 32>", "dense<32, 1, tanh>": how messages name a layer.
template <class L>
std::string layer_name() {
  std::string name(L::type_name);
  name += '<';
  bool first = true;
  L::visit_attributes([&](std::string_view, auto value) {
    if (!first) name += ", ";
    first = false;
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
      name += std::string_view(value);
    } else {
      name += std::to_string(value);
    }
  });
  name += '>';
  return name;
}

}  // namespace RNNX_NAMESPACE

namespace RNNX_NAMESPACE {

/// The scalar types layers are built for.
template <class T>
inline constexpr bool is_supported_scalar_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

}  // namespace RNNX_NAMESPACE
