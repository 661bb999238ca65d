#include <cstdio>
#include <rnnx/rnnx.hpp>

int main() {
  rnnx::network<rnnx::lstm<1, 8>, rnnx::dense<8, 1>> model;
  auto state = model.initial_state();
  const float y = model.step(1.0f, state)[0];
  std::printf("%s: %g\n", decltype(model)::description().c_str(), y);
  return y == 0.0f ? 0 : 1;  // zero weights give a zero output
}
