// An LSTM giving 64 values feeding a GRU that expects 32 must not compile.
#include <rnnx/rnnx.hpp>

#ifdef RNNX_FAILTEST
using Model = rnnx::network<rnnx::lstm<16, 64>, rnnx::gru<32, 8>, rnnx::dense<8, 1>>;
#else
using Model = rnnx::network<rnnx::lstm<16, 64>, rnnx::gru<64, 8>, rnnx::dense<8, 1>>;
#endif

int main() {
  Model model;
  auto state = model.initial_state();
  std::array<float, 16> x{};
  return model.step(x, state)[0] > 0.5f;
}
