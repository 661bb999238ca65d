// Only the five activation tags are activations.
#include <rnnx/rnnx.hpp>

struct swish {};

#ifdef RNNX_FAILTEST
using Model = rnnx::network<rnnx::gru<1, 8>, rnnx::dense<8, 1, swish>>;
#else
using Model = rnnx::network<rnnx::gru<1, 8>, rnnx::dense<8, 1, rnnx::sigmoid>>;
#endif

int main() {
  Model model;
  auto state = model.initial_state();
  return model.step(0.5f, state)[0] > 0.5f;
}
