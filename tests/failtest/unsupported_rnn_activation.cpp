// torch.nn.RNN knows tanh and relu only; sigmoid must not compile.
#include <rnnx/rnnx.hpp>

#ifdef RNNX_FAILTEST
using Model = rnnx::network<rnnx::rnn<1, 8, rnnx::sigmoid>, rnnx::dense<8, 1>>;
#else
using Model = rnnx::network<rnnx::rnn<1, 8, rnnx::relu>, rnnx::dense<8, 1>>;
#endif

int main() {
  Model model;
  auto state = model.initial_state();
  return model.step(0.5f, state)[0] > 0.5f;
}
