// A cell whose first gate multiplies an intermediate vector (U<0>(v)) while a later gate
// multiplies h must not compile: the gates of the second matrix pass come last.
#include <rnnx/rnnx.hpp>

struct second_stage_first {
  static constexpr std::string_view name = "second_stage_first";
  static constexpr std::size_t gates = 2;
  static constexpr auto equations() {
    using namespace rnnx::expr;
#ifdef RNNX_FAILTEST
    constexpr auto f = sigmoid(W<1> + U<1>);
    return next(h + f * (tanh(W<0> + U<0>(f * h)) - h));
#else
    constexpr auto f = sigmoid(W<0> + U<0>);
    return next(h + f * (tanh(W<1> + U<1>(f * h)) - h));
#endif
  }
};

int main() {
  rnnx::network<rnnx::cell<second_stage_first, 1, 8>, rnnx::dense<8, 1>> model;
  auto state = model.initial_state();
  return model.step(0.5f, state)[0] > 0.5f;
}
