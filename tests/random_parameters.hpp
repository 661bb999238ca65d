#pragma once
// Fills every parameter of a model with seeded uniform values, through the parameter views.

#include <memory>
#include <random>
#include <string_view>

namespace rnnx_test {

template <class Net>
void fill_uniform(Net& model, unsigned seed, double low, double high) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(low, high);
  model.for_each_layer([&](auto, auto& layer) {
    layer.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c)
          p.at(r, c) = static_cast<typename Net::scalar>(dist(gen));
    });
  });
}

/// A model on the heap (large ones do not fit the stack) filled by fill_uniform.
template <class Net>
std::unique_ptr<Net> uniform_model(unsigned seed, double low, double high) {
  auto model = std::make_unique<Net>();
  fill_uniform(*model, seed, low, high);
  return model;
}

}  // namespace rnnx_test
