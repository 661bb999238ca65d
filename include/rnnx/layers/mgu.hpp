#pragma once
// Minimal gated unit (Zhou et al., "Minimal Gated Unit for Recurrent Neural Networks", 2016):
// one forget gate that both resets h for the candidate and mixes it in; gate rows f, n.
//   f = sigmoid(W_f x + b_if + U_f h + b_hf)
//   n = tanh(W_n x + b_in + U_n (f * h) + b_hn)
//   h' = (1 - f) * h + f * n, written h + f * (n - h)

#include <cstddef>
#include <string_view>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

struct mgu_equations {
  static constexpr std::string_view name = "mgu";
  static constexpr std::string_view header = "rnnx/layers/mgu.hpp";
  static constexpr std::string_view gate_names = "f, n";
  static constexpr std::size_t gates = 2;
  static constexpr auto equations() {
    using namespace expr;
    constexpr auto f = expr::sigmoid(W<0> + U<0>);
    constexpr auto n = expr::tanh(W<1> + U<1>(f * h));
    return next(h + f * (n - h));
  }
};

template <std::size_t In, std::size_t H, class T = float>
class mgu : public cell<mgu_equations, In, H, T> {
 public:
  using cell<mgu_equations, In, H, T>::cell;
  template <class U>
  using rebind = mgu<In, H, U>;
};

}  // namespace RNNX_NAMESPACE
