#pragma once
// Light GRU (Li-GRU; Ravanelli et al., "Light Gated Recurrent Units for Speech Recognition",
// 2018): no reset gate, and a ReLU candidate; gate rows z, n. (The paper batch-normalises the
// input projections; put an rnnx::layer_norm before the layer for that.)
//   z = sigmoid(W_z x + b_iz + U_z h + b_hz)    n = relu(W_n x + b_in + U_n h + b_hn)
//   h' = z * h + (1 - z) * n

#include <cstddef>
#include <string_view>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

struct light_gru_equations {
  static constexpr std::string_view name = "light_gru";
  static constexpr std::string_view header = "rnnx/layers/light_gru.hpp";
  static constexpr std::string_view gate_names = "z, n";
  static constexpr std::size_t gates = 2;
  static constexpr auto equations() {
    using namespace expr;
    constexpr auto z = expr::sigmoid(W<0> + U<0>);
    return next(z * h + (one - z) * expr::relu(W<1> + U<1>));
  }
};

template <std::size_t In, std::size_t H, class T = float>
class light_gru : public cell<light_gru_equations, In, H, T> {
 public:
  using cell<light_gru_equations, In, H, T>::cell;
  template <class U>
  using rebind = light_gru<In, H, U>;
};

}  // namespace RNNX_NAMESPACE
