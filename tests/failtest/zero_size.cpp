// A layer with zero outputs must not compile.
#include <rnnx/rnnx.hpp>

#ifdef RNNX_FAILTEST
using Model = rnnx::network<rnnx::dense<4, 0>>;
#else
using Model = rnnx::network<rnnx::dense<4, 1>>;
#endif

int main() {
  Model model;
  auto state = model.initial_state();
  return model.step(std::array<float, 4>{}, state)[0] > 0.5f;
}
