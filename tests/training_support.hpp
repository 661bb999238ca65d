#pragma once
// Shared by the training tests: reading PyTorch training fixtures (tests/data/make_fixtures.py,
// grad_* and optim_*) and computing a fixture's loss and its output gradient with rnnx.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/tape.hpp>
#include <string>

#include "fixture_support.hpp"

namespace rnnx_test {

template <class T>
xt::xtensor<T, 3> to_tensor3(const nlohmann::json& v) {
  const std::size_t b = v.size(), t = v.at(0).size(), n = v.at(0).at(0).size();
  xt::xtensor<T, 3> out = xt::xtensor<T, 3>::from_shape({b, t, n});
  for (std::size_t i = 0; i < b; ++i)
    for (std::size_t j = 0; j < t; ++j)
      for (std::size_t k = 0; k < n; ++k) out(i, j, k) = v[i][j][k].get<T>();
  return out;
}

/// Loss of a fixture's outputs (B x T x Out) and dL/doutputs, as the fixture's torch code
/// computed it: "mse" / "bce_with_logits" / "cross_entropy", on every step or the last only.
template <class T>
T fixture_loss(const nlohmann::json& fixture, const xt::xtensor<T, 3>& ys, xt::xtensor<T, 3>& dys) {
  const std::string kind = fixture.at("loss");
  const bool last_only = fixture.at("many_to_one");
  const nlohmann::json& target = fixture.at("target");
  const std::size_t B = ys.shape(0), S = ys.shape(1), O = ys.shape(2);
  dys = xt::zeros<T>(ys.shape());
  auto run = [&](const auto& outputs, auto& grad) -> T {
    using Out = std::decay_t<decltype(outputs)>;
    constexpr std::size_t N = Out::rank;
    if (kind == "cross_entropy") {
      xt::xtensor<std::size_t, N - 1> classes;
      if constexpr (N == 2) {
        classes = xt::xtensor<std::size_t, 1>::from_shape({B});
        for (std::size_t b = 0; b < B; ++b) classes(b) = target[b].get<std::size_t>();
      } else {
        classes = xt::xtensor<std::size_t, 2>::from_shape({B, S});
        for (std::size_t b = 0; b < B; ++b)
          for (std::size_t t = 0; t < S; ++t) classes(b, t) = target[b][t].get<std::size_t>();
      }
      return rnnx::cross_entropy{}(outputs, classes, grad);
    }
    Out targets;
    if constexpr (N == 2) {
      targets = to_matrix<T>(target);
    } else {
      targets = to_tensor3<T>(target);
    }
    if (kind == "mse") return rnnx::mse{}(outputs, targets, grad);
    if (kind == "bce_with_logits")
      return rnnx::binary_cross_entropy_with_logits{}(outputs, targets, grad);
    throw std::runtime_error("unknown loss " + kind);
  };
  if (!last_only) return run(ys, dys);
  xt::xtensor<T, 2> last = xt::xtensor<T, 2>::from_shape({B, O});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < O; ++j) last(b, j) = ys(b, S - 1, j);
  xt::xtensor<T, 2> grad;
  const T loss = run(last, grad);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < O; ++j) dys(b, S - 1, j) = grad(b, j);
  return loss;
}

/// max |a - e| over all elements divided by max |e|: a tensor's error relative to its scale
/// (mean-reduced losses make many gradient entries tiny, below float resolution of the sum).
template <class T>
double relative_error(std::span<const T> actual, std::span<const T> expected) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    diff = std::max(diff, std::abs(double(actual[i]) - double(expected[i])));
    scale = std::max(scale, std::abs(double(expected[i])));
  }
  return scale == 0 ? diff : diff / scale;
}

}  // namespace rnnx_test
