// Loads a weight file through the installed package's rnnx::io (the reader compiled once):
// this translation unit includes no JSON code.
#include <cstdio>
#include <memory>
#include <rnnx/io/load_weights.hpp>
#include <rnnx/layers/dense.hpp>
#include <rnnx/layers/gru.hpp>
#include <rnnx/layers/lstm.hpp>
#include <rnnx/network.hpp>
#include <span>

#if defined(NLOHMANN_JSON_VERSION_MAJOR) || !defined(RNNX_COMPILED_IO)
#error "rnnx::io did not keep the JSON reader out of this translation unit"
#endif

int main() {
  using model = rnnx::network<rnnx::lstm<2, 4>, rnnx::gru<4, 3>, rnnx::dense<3, 2, rnnx::tanh>>;
  auto m = std::make_unique<model>();
  try {
    rnnx::load_weights(*m, RNNX_CONSUMER_WEIGHTS);
  } catch (const rnnx::weights_error& e) {
    std::printf("%s\n", e.what());
    return 1;
  }
  auto state = m->initial_state();
  const float x[2] = {0.5f, -0.25f};
  const auto y = m->step(std::span<const float, 2>(x), state);
  std::printf("%s: %g %g\n", model::description().c_str(), y[0], y[1]);
  return y[0] != 0.0f ? 0 : 1;
}
