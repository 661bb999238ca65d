// A cell whose products read two different intermediate vectors must not compile: a step
// has one second matrix pass.
#include <rnnx/rnnx.hpp>

struct two_operands {
  static constexpr std::string_view name = "two_operands";
  static constexpr std::size_t gates = 3;
  static constexpr auto equations() {
    using namespace rnnx::expr;
    constexpr auto r = sigmoid(W<0> + U<0>);
#ifdef RNNX_FAILTEST
    return next(tanh(W<1> + U<1>(r * h)) + tanh(W<2> + U<2>(r + h)));
#else
    return next(tanh(W<1> + U<1>(r * h)) + tanh(W<2> + U<2>(r * h)));
#endif
  }
};

int main() {
  rnnx::network<rnnx::cell<two_operands, 1, 8>, rnnx::dense<8, 1>> model;
  auto state = model.initial_state();
  return model.step(0.5f, state)[0] > 0.5f;
}
