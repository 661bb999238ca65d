#pragma once
// Long short-term memory, exactly torch.nn.LSTM (gate rows i, f, g, o; both bias vectors).
// The peephole variant (Gers & Schmidhuber; `peephole_lstm`) lets the gates see the cell
// through three more vectors weight_ci, weight_cf, weight_co (element-wise products).

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

struct lstm_equations {
  static constexpr std::string_view name = "lstm";
  static constexpr std::string_view header = "rnnx/layers/lstm.hpp";
  static constexpr std::string_view gate_names = "i, f, g, o";
  static constexpr std::size_t gates = 4;
  static constexpr auto equations() {
    using namespace expr;
    using expr::sigmoid, expr::tanh;
    constexpr auto i = sigmoid(W<0> + U<0>);
    constexpr auto f = sigmoid(W<1> + U<1>);
    constexpr auto c_next = f * c + i * tanh(W<2> + U<2>);
    return next(sigmoid(W<3> + U<3>) * tanh(c_next), c_next);
  }
};

struct peephole_lstm_equations {
  static constexpr std::string_view name = "peephole_lstm";
  static constexpr std::string_view header = "rnnx/layers/lstm.hpp";
  static constexpr std::string_view gate_names = "i, f, g, o";
  static constexpr std::size_t gates = 4;
  static constexpr std::array<std::string_view, 3> vectors{"weight_ci", "weight_cf", "weight_co"};
  static constexpr auto equations() {
    using namespace expr;
    using expr::sigmoid, expr::tanh;
    constexpr auto i = sigmoid(W<0> + U<0> + p<0> * c);
    constexpr auto f = sigmoid(W<1> + U<1> + p<1> * c);
    constexpr auto c_next = f * c + i * tanh(W<2> + U<2>);
    constexpr auto o = sigmoid(W<3> + U<3> + p<2> * c_next);
    return next(o * tanh(c_next), c_next);
  }
};

template <std::size_t In, std::size_t H, class T = float, bool Peephole = false>
class lstm
    : public cell<std::conditional_t<Peephole, peephole_lstm_equations, lstm_equations>, In, H, T> {
 public:
  using cell<std::conditional_t<Peephole, peephole_lstm_equations, lstm_equations>, In, H, T>::cell;
  template <class U>
  using rebind = lstm<In, H, U, Peephole>;
  static constexpr bool has_peepholes = Peephole;
};

/// The LSTM with peephole connections from the cell to its gates (see the equations above).
template <std::size_t In, std::size_t H, class T = float>
using peephole_lstm = lstm<In, H, T, true>;

}  // namespace RNNX_NAMESPACE
