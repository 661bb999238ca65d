#pragma once
// A cell declared outside rnnx, as a user would: JANET (van der Westhuizen & Lasenby, 2018),
// with the C++ name and header rnnx-codegen spells it by (through the layer schema that
// rnnx::save_layer_schema writes for it).

#include <cstddef>
#include <rnnx/expr/cell.hpp>
#include <string_view>

namespace user {

struct janet_equations {
  static constexpr std::string_view name = "janet";
  static constexpr std::string_view cpp_template = "user::janet";
  static constexpr std::string_view header = "janet_cell.hpp";
  static constexpr std::string_view gate_names = "f, c";
  static constexpr std::size_t gates = 2;
  static constexpr auto equations() {
    using namespace rnnx::expr;
    constexpr auto s = W<0> + U<0>;
    return next(sigmoid(s) * h + (one - sigmoid(s - one)) * tanh(W<1> + U<1>));
  }
};

template <std::size_t In, std::size_t H, class T = float>
class janet : public rnnx::cell<janet_equations, In, H, T> {
 public:
  template <class U>
  using rebind = janet<In, H, U>;
};

}  // namespace user
