#pragma once
// Backprop through time against central finite differences, in double. The loss is
// L = sum(w * y) with fixed random weights w, so dL/dy = w exercises every output at every
// step. Dropout draws the same masks in every pass, since each pass records on a fresh tape.

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/tape.hpp>
#include <string>
#include <string_view>

#include "random_parameters.hpp"

namespace rnnx_test {

using namespace rnnx;

template <class Net>
xt::xtensor<double, 3> random_tensor(std::size_t b, std::size_t t, std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  xt::xtensor<double, 3> x = xt::xtensor<double, 3>::from_shape({b, t, n});
  for (auto& v : x) v = dist(gen);
  return x;
}

template <class Net>
double loss(const Net& model, const xt::xtensor<double, 3>& xs, const xt::xtensor<double, 3>& w) {
  tape<Net> tp;
  const auto ys = tp.forward(model, xs);
  double sum = 0;
  for (std::size_t i = 0; i < ys.size(); ++i) sum += ys.data()[i] * w.data()[i];
  return sum;
}

/// |analytic - numeric| <= tol * max(1, |numeric|), reported with the parameter's position.
/// xs: the inputs, or random ones in [-1, 1) when empty; their gradient is checked when
/// check_inputs (not for token ids).
template <class Net>
void check_gradients(std::size_t batch, std::size_t steps, unsigned seed,
                     std::optional<xt::xtensor<double, 3>> given = std::nullopt,
                     bool check_inputs = true) {
  Net model;
  rnnx_test::fill_uniform(model, seed, -0.6, 0.6);
  const auto xs = given ? *given : random_tensor<Net>(batch, steps, Net::in_size, seed + 1);
  const auto w = random_tensor<Net>(batch, steps, Net::out_size, seed + 2);

  Net grads{};
  tape<Net> tp;
  tp.forward(model, xs);
  const auto dxs = tp.backward(model, w, grads);

  constexpr double h = 1e-6, tol = 1e-7;
  std::size_t checked = 0;
  model.for_each_layer([&](auto i, auto& layer) {
    auto& grad_layer = grads.template layer<i>();
    std::size_t k = 0;
    layer.visit_parameters([&](std::string_view name, auto& p) {
      std::size_t kk = 0;
      grad_layer.visit_parameters([&](std::string_view, auto& g) {
        if (kk++ != k) return;
        if constexpr (std::is_same_v<std::decay_t<decltype(g)>, std::decay_t<decltype(p)>>) {
          for (std::size_t r = 0; r < p.rows; ++r)
            for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) {
              const double saved = p.at(r, c);
              p.at(r, c) = saved + h;
              const double up = loss(model, xs, w);
              p.at(r, c) = saved - h;
              const double down = loss(model, xs, w);
              p.at(r, c) = saved;
              const double numeric = (up - down) / (2 * h);
              ASSERT_NEAR(g.at(r, c), numeric, tol * std::max(1.0, std::abs(numeric)))
                  << Net::description() << " layer " << i << " " << name << "(" << r << ", " << c
                  << ") batch " << batch << " steps " << steps;
              ++checked;
            }
        }
      });
      ++k;
    });
  });
  if (!check_inputs) return;
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t j = 0; j < Net::in_size; ++j) {
        auto x = xs;
        x(b, t, j) += h;
        const double up = loss(model, x, w);
        x(b, t, j) -= 2 * h;
        const double down = loss(model, x, w);
        const double numeric = (up - down) / (2 * h);
        ASSERT_NEAR(dxs(b, t, j), numeric, tol * std::max(1.0, std::abs(numeric)))
            << Net::description() << " input (" << b << ", " << t << ", " << j << ")";
      }
  EXPECT_GT(checked, 0u);
}

/// f(span of values) for each vector of a network state (rnnx::visit_state's order).
template <class Net, class State, class F>
void visit_state_values(State& s, F&& f) {
  rnnx::visit_state<Net>(s, [&](std::string_view, auto values) { f(values); });
}

/// The initial states' gradients and the final states' influence on the parameters: with
/// random initial states and L = sum(w * y) + sum(u * final states), checks dL/d(initial
/// states) (tape::initial_state_gradients) and dL/dparameters (backward with the final states'
/// gradients u) against central differences.
template <class Net>
void check_state_gradients(std::size_t batch, std::size_t steps, unsigned seed) {
  using State = typename Net::state;
  Net model;
  rnnx_test::fill_uniform(model, seed, -0.6, 0.6);
  const auto xs = random_tensor<Net>(batch, steps, Net::in_size, seed + 1);
  const auto w = random_tensor<Net>(batch, steps, Net::out_size, seed + 2);
  std::mt19937 gen(seed + 3);
  std::uniform_real_distribution<double> dist(-0.5, 0.5);
  std::vector<State> initial(batch), u(batch);
  for (std::size_t b = 0; b < batch; ++b) {
    visit_state_values<Net>(initial[b], [&](auto values) {
      for (auto& v : values) v = dist(gen);
    });
    visit_state_values<Net>(u[b], [&](auto values) {
      for (auto& v : values) v = dist(gen);
    });
  }
  auto total_loss = [&](const std::vector<State>& start) {
    std::vector<State> states = start;
    tape<Net> tp;
    const auto ys = tp.forward(model, xs, std::span<State>(states));
    double sum = 0;
    for (std::size_t i = 0; i < ys.size(); ++i) sum += ys.data()[i] * w.data()[i];
    for (std::size_t b = 0; b < batch; ++b) {
      std::vector<double> final_values, weights;
      visit_state_values<Net>(states[b], [&](auto values) {
        for (double v : values) final_values.push_back(v);
      });
      visit_state_values<Net>(u[b], [&](auto values) {
        for (double v : values) weights.push_back(v);
      });
      for (std::size_t k = 0; k < final_values.size(); ++k) sum += final_values[k] * weights[k];
    }
    return sum;
  };

  Net grads{};
  std::vector<State> states = initial, d_initial(batch);
  tape<Net> tp;
  tp.forward(model, xs, std::span<State>(states));
  tp.backward(model, w, grads, std::span<const State>(u));
  tp.initial_state_gradients(model, std::span<State>(d_initial));

  constexpr double h = 1e-6, tol = 1e-7;
  std::size_t checked = 0;
  for (std::size_t b = 0; b < batch; ++b) {
    std::vector<double*> values;
    std::vector<double> analytic;
    visit_state_values<Net>(initial[b], [&](auto v) {
      for (auto& x : v) values.push_back(&x);
    });
    visit_state_values<Net>(d_initial[b], [&](auto v) {
      for (double x : v) analytic.push_back(x);
    });
    ASSERT_EQ(values.size(), analytic.size());
    for (std::size_t k = 0; k < values.size(); ++k) {
      const double saved = *values[k];
      *values[k] = saved + h;
      const double up = total_loss(initial);
      *values[k] = saved - h;
      const double down = total_loss(initial);
      *values[k] = saved;
      const double numeric = (up - down) / (2 * h);
      ASSERT_NEAR(analytic[k], numeric, tol * std::max(1.0, std::abs(numeric)))
          << Net::description() << " initial state value " << k << " of sequence " << b;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u) << "the network has no state";

  model.for_each_layer([&](auto i, auto& layer) {
    auto& grad_layer = grads.template layer<i>();
    std::vector<double*> params;
    std::vector<double> analytic;
    layer.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) params.push_back(&p.at(r, c));
    });
    grad_layer.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) analytic.push_back(p.at(r, c));
    });
    for (std::size_t k = 0; k < params.size(); ++k) {
      const double saved = *params[k];
      *params[k] = saved + h;
      const double up = total_loss(initial);
      *params[k] = saved - h;
      const double down = total_loss(initial);
      *params[k] = saved;
      const double numeric = (up - down) / (2 * h);
      ASSERT_NEAR(analytic[k], numeric, tol * std::max(1.0, std::abs(numeric)))
          << Net::description() << " layer " << i << " parameter value " << k;
    }
  });
}

template <class... Layers>
using model = basic_network<double, Layers...>;

template <class Net>
void check_all_shapes(unsigned seed) {
  check_gradients<Net>(1, 1, seed);
  check_gradients<Net>(3, 1, seed + 10);
  check_gradients<Net>(1, 6, seed + 20);
  check_gradients<Net>(5, 5, seed + 30);  // a group of 4 sequences and a single one
}

}  // namespace rnnx_test
