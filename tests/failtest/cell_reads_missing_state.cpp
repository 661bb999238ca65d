// A cell whose equations read c but whose step returns no c' must not compile.
#include <rnnx/rnnx.hpp>

struct forgets_its_cell {
  static constexpr std::string_view name = "forgets_its_cell";
  static constexpr std::size_t gates = 1;
  static constexpr auto equations() {
    using namespace rnnx::expr;
    constexpr auto c_next = c + tanh(W<0> + U<0>);
#ifdef RNNX_FAILTEST
    return next(tanh(c_next));
#else
    return next(tanh(c_next), c_next);
#endif
  }
};

int main() {
  rnnx::network<rnnx::cell<forgets_its_cell, 1, 8>, rnnx::dense<8, 1>> model;
  auto state = model.initial_state();
  return model.step(0.5f, state)[0] > 0.5f;
}
