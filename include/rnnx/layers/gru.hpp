#pragma once
// Gated recurrent unit, exactly torch.nn.GRU (gate rows r, z, n; the reset gate scales the
// hidden product with its bias b_hn): h' = (1 - z) * n + z * h, written n + z * (h - n).

#include <cstddef>
#include <string_view>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

struct gru_equations {
  static constexpr std::string_view name = "gru";
  static constexpr std::string_view header = "rnnx/layers/gru.hpp";
  static constexpr std::string_view gate_names = "r, z, n";
  static constexpr std::size_t gates = 3;
  static constexpr auto equations() {
    using namespace expr;
    using expr::sigmoid, expr::tanh;
    constexpr auto r = sigmoid(W<0> + U<0>);
    constexpr auto z = sigmoid(W<1> + U<1>);
    constexpr auto n = tanh(W<2> + r * U<2>);
    return next(n + z * (h - n));
  }
};

template <std::size_t In, std::size_t H, class T = float>
class gru : public cell<gru_equations, In, H, T> {
 public:
  using cell<gru_equations, In, H, T>::cell;
  template <class U>
  using rebind = gru<In, H, U>;
};

}  // namespace RNNX_NAMESPACE
