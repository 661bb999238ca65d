#pragma once
// Elman recurrent layer, exactly torch.nn.RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh),
// act = tanh or relu.

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/layers/activation_functions.hpp"

namespace RNNX_NAMESPACE {

template <class Act>
struct rnn_equations {
  static constexpr std::string_view name = "rnn";
  static constexpr std::string_view header = "rnnx/layers/rnn.hpp";
  static constexpr std::size_t gates = 1;
  static constexpr auto equations() {
    using namespace expr;
    if constexpr (std::is_same_v<Act, rnnx::relu>)
      return next(expr::relu(W<0> + U<0>));
    else
      return next(expr::tanh(W<0> + U<0>));
  }
  template <class F>
  static void visit_attributes(F&& f) {
    f("nonlinearity", Act::name);
  }
  template <class D>
  static void describe(D& d) {
    d.choices("nonlinearity", std::array<std::string_view, 2>{tanh::name, relu::name});
  }
};

template <std::size_t In, std::size_t H, class Act = tanh, class T = float>
class rnn : public cell<rnn_equations<Act>, In, H, T> {
  static_assert(std::is_same_v<Act, tanh> || std::is_same_v<Act, relu>,
                "rnnx::rnn<In, H, Act>: the nonlinearity must be rnnx::tanh or rnnx::relu "
                "(as torch.nn.RNN)");

 public:
  using cell<rnn_equations<Act>, In, H, T>::cell;
  template <class U>
  using rebind = rnn<In, H, Act, U>;
};

}  // namespace RNNX_NAMESPACE
