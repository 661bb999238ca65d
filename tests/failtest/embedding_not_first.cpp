// An embedding reads token ids, so it cannot follow another layer.
#include <rnnx/rnnx.hpp>

#ifdef RNNX_FAILTEST
using Model = rnnx::network<rnnx::dense<4, 1>, rnnx::embedding<10, 8>, rnnx::gru<8, 4>>;
#else
using Model = rnnx::network<rnnx::embedding<10, 8>, rnnx::gru<8, 4>>;
#endif

int main() {
  Model model;
  auto state = model.initial_state();
  return model.step(std::array<float, Model::in_size>{}, state)[0] > 0.5f;
}
