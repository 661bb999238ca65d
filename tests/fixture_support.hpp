#pragma once
// Runs a PyTorch fixture (tests/data/make_fixtures.py) through a typed model, both by
// streaming `step` and by sequence `forward`, and compares with PyTorch's outputs.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <rnnx/rnnx.hpp>
#include <string>

namespace rnnx_test {

inline nlohmann::json read_fixture(const std::string& name) {
  const std::string path = std::string(RNNX_FIXTURE_DIR) + "/" + name + ".json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  return nlohmann::json::parse(in);
}

template <class T>
xt::xtensor<T, 2> to_matrix(const nlohmann::json& rows) {
  const std::size_t n = rows.size(), m = rows.at(0).size();
  xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({n, m});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < m; ++j) out(i, j) = rows[i][j].get<T>();
  return out;
}

template <class Net>
void check_fixture(const std::string& name) {
  using T = typename Net::scalar;
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-10;
  const nlohmann::json fixture = read_fixture(name);
  auto model = std::make_unique<Net>();
  rnnx::load_weights_from_json(*model, fixture.at("model"), name);
  const xt::xtensor<T, 2> xs = to_matrix<T>(fixture.at("input"));
  const xt::xtensor<T, 2> expected = to_matrix<T>(fixture.at("output"));
  ASSERT_EQ(expected.shape(1), Net::out_size);

  const xt::xtensor<T, 2> ys = model->forward(xs);
  ASSERT_EQ(ys.shape(0), xs.shape(0));
  double worst = 0;
  for (std::size_t t = 0; t < ys.shape(0); ++t)
    for (std::size_t j = 0; j < Net::out_size; ++j)
      worst = std::max(worst, std::abs(double(ys(t, j)) - double(expected(t, j))));
  EXPECT_LE(worst, tolerance) << name << ": forward differs from PyTorch by " << worst;

  // Streaming must give exactly what the sequence path gives: both run the same kernels.
  auto state = model->initial_state();
  std::size_t mismatches = 0;
  for (std::size_t t = 0; t < xs.shape(0); ++t) {
    std::array<T, Net::in_size> x;
    for (std::size_t j = 0; j < Net::in_size; ++j) x[j] = xs(t, j);
    const auto y = model->step(x, state);
    for (std::size_t j = 0; j < Net::out_size; ++j) mismatches += y[j] != ys(t, j);
  }
  EXPECT_EQ(mismatches, 0u) << name << ": step and forward disagree";
  std::cout << "[ fixture  ] " << name << " (" << Net::description()
            << "): max |rnnx - torch| = " << worst << "\n";
}

}  // namespace rnnx_test
