// A header generated at build time by rnnx_generate_header() (CMakeLists.txt) from model.json
// holds the very model rnnx::load_weights reads from that file: the same parameters and, over
// 200 steps of a fixed input, the same outputs bit for bit. Built both by the consumer project
// (installed rnnx, find_package) and in rnnx's own build (tests/codegen/CMakeLists.txt).
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <rnnx/rnnx.hpp>
#include <type_traits>

#include "ConsumerModel.hpp"

#ifndef RNNX_CONSUMER_WEIGHTS
#error "RNNX_CONSUMER_WEIGHTS: the weight file the header was generated from"
#endif

using Model = consumer::ConsumerModel;
static_assert(std::is_same_v<Model, rnnx::network<rnnx::lstm<2, 4>, rnnx::gru<4, 3>,
                                                  rnnx::dense<3, 2, rnnx::tanh>>>);

int main() {
  const std::unique_ptr<Model> generated = consumer::make_ConsumerModel();
  auto loaded = std::make_unique<Model>();
  rnnx::load_weights(*loaded, RNNX_CONSUMER_WEIGHTS);
  if (!(*generated == *loaded)) {
    std::fprintf(stderr, "the generated model differs from load_weights(%s)\n",
                 RNNX_CONSUMER_WEIGHTS);
    return 1;
  }
  auto generated_state = generated->initial_state();
  auto loaded_state = loaded->initial_state();
  float sum = 0.0f;
  for (int t = 0; t < 200; ++t) {
    const std::array<float, 2> x{std::sin(0.1f * float(t)), std::cos(0.37f * float(t))};
    const auto a = generated->step(x, generated_state);
    const auto b = loaded->step(x, loaded_state);
    for (std::size_t j = 0; j < a.size(); ++j) {
      if (a[j] != b[j]) {
        std::fprintf(stderr, "step %d, output %zu: generated %.9g, loaded %.9g\n", t, j,
                     double(a[j]), double(b[j]));
        return 1;
      }
      sum += std::abs(a[j]);
    }
  }
  if (sum == 0.0f) {
    std::fprintf(stderr, "all outputs are zero\n");
    return 1;
  }
  std::printf("%s from %s: 200 steps equal to load_weights' (sum |y| = %.9g)\n",
              Model::description().c_str(), RNNX_CONSUMER_WEIGHTS, double(sum));
  return 0;
}
