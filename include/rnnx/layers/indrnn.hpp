#pragma once
// Independently recurrent neural network (IndRNN; Li et al., "Independently Recurrent Neural
// Network (IndRNN): Building A Longer and Deeper RNN", 2018): each unit sees only its own past,
// through one recurrent weight per unit (the vector weight_hh) instead of a matrix, so the step
// has no W_hh pass and long sequences train without exploding through it.
//   h' = relu(W_ih x + b_ih + weight_hh * h)      (* element-wise)

#include <array>
#include <cstddef>
#include <string_view>

#include "rnnx/expr/cell.hpp"
#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

struct indrnn_equations {
  static constexpr std::string_view name = "indrnn";
  static constexpr std::string_view header = "rnnx/layers/indrnn.hpp";
  static constexpr std::size_t gates = 1;
  static constexpr std::array<std::string_view, 1> vectors{"weight_hh"};
  static constexpr auto equations() {
    using namespace expr;
    return next(expr::relu(W<0> + p<0> * h));
  }
};

template <std::size_t In, std::size_t H, class T = float>
class indrnn : public cell<indrnn_equations, In, H, T> {
 public:
  using cell<indrnn_equations, In, H, T>::cell;
  template <class U>
  using rebind = indrnn<In, H, U>;
};

}  // namespace RNNX_NAMESPACE
