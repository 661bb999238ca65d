#pragma once
// The original GRU of Cho et al. (2014): the reset gate scales h *before* the hidden product
// (Keras' reset_after=False), with PyTorch's parameter names and gate rows r, z, n:
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)
//   h' = (1 - z) * n + z * h, written n + z * (h - n)
// n needs r of every unit first: a step is two passes over W_hh (expr/graph.hpp's stages).

#include <cstddef>
#include <string_view>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

struct gru_reset_before_equations {
  static constexpr std::string_view name = "gru_reset_before";
  static constexpr std::string_view header = "rnnx/layers/gru_reset_before.hpp";
  static constexpr std::string_view gate_names = "r, z, n";
  static constexpr std::size_t gates = 3;
  static constexpr auto equations() {
    using namespace expr;
    using expr::sigmoid, expr::tanh;
    constexpr auto r = sigmoid(W<0> + U<0>);
    constexpr auto z = sigmoid(W<1> + U<1>);
    constexpr auto n = tanh(W<2> + U<2>(r * h));
    return next(n + z * (h - n));
  }
};

template <std::size_t In, std::size_t H, class T = float>
class gru_reset_before : public cell<gru_reset_before_equations, In, H, T> {
 public:
  using cell<gru_reset_before_equations, In, H, T>::cell;
  template <class U>
  using rebind = gru_reset_before<In, H, U>;
};

}  // namespace RNNX_NAMESPACE
