#pragma once
// LSTM with a coupled input-forget gate (CIFG; Greff et al., "LSTM: A Search Space Odyssey",
// 2017): the forget gate is 1 - i, so the cell has three gate rows i, g, o and a quarter fewer
// weights than the LSTM, at about its accuracy in Greff et al.'s study.
//   i = sigmoid(W_i x + b_ii + U_i h + b_hi)   g = tanh(W_g x + b_ig + U_g h + b_hg)
//   c' = (1 - i) * c + i * g                   h' = sigmoid(W_o x + ... ) * tanh(c')

#include <cstddef>
#include <string_view>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

struct cifg_lstm_equations {
  static constexpr std::string_view name = "cifg_lstm";
  static constexpr std::string_view header = "rnnx/layers/cifg_lstm.hpp";
  static constexpr std::string_view gate_names = "i, g, o";
  static constexpr std::size_t gates = 3;
  static constexpr auto equations() {
    using namespace expr;
    using expr::sigmoid, expr::tanh;
    constexpr auto i = sigmoid(W<0> + U<0>);
    constexpr auto c_next = (one - i) * c + i * tanh(W<1> + U<1>);
    return next(sigmoid(W<2> + U<2>) * tanh(c_next), c_next);
  }
};

template <std::size_t In, std::size_t H, class T = float>
class cifg_lstm : public cell<cifg_lstm_equations, In, H, T> {
 public:
  using cell<cifg_lstm_equations, In, H, T>::cell;
  template <class U>
  using rebind = cifg_lstm<In, H, U>;
};

}  // namespace RNNX_NAMESPACE
