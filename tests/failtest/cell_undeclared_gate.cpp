// A cell whose equations name a gate it does not declare must not compile.
#include <rnnx/rnnx.hpp>

struct two_gates {
  static constexpr std::string_view name = "two_gates";
  static constexpr std::size_t gates = 2;
  static constexpr auto equations() {
    using namespace rnnx::expr;
#ifdef RNNX_FAILTEST
    return next(sigmoid(W<0> + U<0>) * tanh(W<2> + U<1>));
#else
    return next(sigmoid(W<0> + U<0>) * tanh(W<1> + U<1>));
#endif
  }
};

int main() {
  rnnx::network<rnnx::cell<two_gates, 1, 8>, rnnx::dense<8, 1>> model;
  auto state = model.initial_state();
  return model.step(0.5f, state)[0] > 0.5f;
}
