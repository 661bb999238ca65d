// network<>: state semantics (reset, copy, many states on one const model), the sequence API
// (many-to-many, many-to-one, continuing a state) and its input validation.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <rnnx/rnnx.hpp>
#include <thread>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "random_parameters.hpp"

namespace {

using Model = rnnx::network<rnnx::lstm<2, 9>, rnnx::gru<9, 5>, rnnx::dense<5, 3, rnnx::tanh>>;

std::unique_ptr<Model> random_model(unsigned seed = 1) {
  auto model = std::make_unique<Model>();
  rnnx_test::fill_uniform(*model, seed, -0.6, 0.6);
  return model;
}

xt::xtensor<float, 2> signal(std::size_t steps, double phase = 0) {
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({steps, 2});
  for (std::size_t t = 0; t < steps; ++t) {
    xs(t, 0) = float(std::sin(0.1 * t + phase));
    xs(t, 1) = float(std::cos(0.37 * t + phase));
  }
  return xs;
}

std::array<float, 2> row(const xt::xtensor<float, 2>& xs, std::size_t t) {
  return {xs(t, 0), xs(t, 1)};
}

TEST(Network, SizesAndDescription) {
  static_assert(Model::in_size == 2 && Model::out_size == 3 && Model::layer_count == 3);
  EXPECT_EQ(Model::description(), "lstm<2, 9> -> gru<9, 5> -> dense<5, 3, tanh>");
}

TEST(Network, InitialStateIsZeroAndResetRestoresIt) {
  auto model = random_model();
  auto s = model->initial_state();
  const auto zero = s;
  const auto xs = signal(20);
  for (std::size_t t = 0; t < 20; ++t) model->step(row(xs, t), s);
  EXPECT_FALSE(s == zero);
  s.reset();
  EXPECT_TRUE(s == zero);
}

TEST(Network, CopiedStateContinuesIdentically) {
  auto model = random_model();
  const auto xs = signal(60);
  auto a = model->initial_state();
  for (std::size_t t = 0; t < 30; ++t) model->step(row(xs, t), a);
  auto b = a;
  for (std::size_t t = 30; t < 60; ++t) {
    const auto ya = model->step(row(xs, t), a);
    const auto yb = model->step(row(xs, t), b);
    for (std::size_t j = 0; j < 3; ++j) ASSERT_EQ(ya[j], yb[j]);
  }
}

TEST(Network, IndependentStatesShareOneConstModelAcrossThreads) {
  const std::unique_ptr<const Model> model = random_model();
  const auto x1 = signal(500, 0.0), x2 = signal(500, 1.0);
  const auto expected1 = model->forward(x1), expected2 = model->forward(x2);
  auto run = [&](const xt::xtensor<float, 2>& xs, const xt::xtensor<float, 2>& expected, int& bad) {
    auto s = model->initial_state();
    for (std::size_t t = 0; t < xs.shape(0); ++t) {
      const auto y = model->step(row(xs, t), s);
      for (std::size_t j = 0; j < 3; ++j) bad += y[j] != expected(t, j);
    }
  };
  int bad1 = 0, bad2 = 0;
  std::thread t1(run, std::cref(x1), std::cref(expected1), std::ref(bad1));
  std::thread t2(run, std::cref(x2), std::cref(expected2), std::ref(bad2));
  t1.join();
  t2.join();
  EXPECT_EQ(bad1, 0);
  EXPECT_EQ(bad2, 0);
}

TEST(Network, ForwardContinuesAStateLikeOneLongSequence) {
  auto model = random_model();
  const auto xs = signal(100);
  const auto whole = model->forward(xs);
  auto s = model->initial_state();
  const auto first =
      model->forward(xt::xtensor<float, 2>(xt::view(xs, xt::range(0, 37), xt::all())), s);
  const auto second =
      model->forward(xt::xtensor<float, 2>(xt::view(xs, xt::range(37, 100), xt::all())), s);
  for (std::size_t t = 0; t < 37; ++t)
    for (std::size_t j = 0; j < 3; ++j) ASSERT_EQ(first(t, j), whole(t, j));
  for (std::size_t t = 37; t < 100; ++t)
    for (std::size_t j = 0; j < 3; ++j) ASSERT_EQ(second(t - 37, j), whole(t, j));
  for (std::size_t j = 0; j < 3; ++j) EXPECT_EQ(s.output[j], whole(99, j));
}

// forward's working memory is kept per thread between calls: what a wider model or a longer
// sequence left in it must not reach the next call.
TEST(Network, ForwardDoesNotDependOnEarlierCalls) {
  auto model = random_model();
  const auto xs = signal(50, 0.3);
  const auto fresh = model->forward(xs);
  using Wide = rnnx::network<rnnx::dense<2, 70, rnnx::relu>, rnnx::lstm<70, 33>>;
  auto wide = std::make_unique<Wide>();
  rnnx_test::fill_uniform(*wide, 9, 1e37, 3e38);  // the dense layer's outputs overflow to inf
  wide->forward(signal(400) * 50.0f);
  const auto after = model->forward(xs);
  auto s = model->initial_state();
  for (std::size_t t = 0; t < 50; ++t) {
    const auto y = model->step(row(xs, t), s);
    for (std::size_t j = 0; j < 3; ++j) {
      ASSERT_EQ(after(t, j), fresh(t, j)) << "step " << t;
      ASSERT_EQ(after(t, j), y[j]) << "step " << t;
    }
  }
}

TEST(Network, ForwardLastIsTheLastRow) {
  auto model = random_model();
  const auto xs = signal(41);
  const auto all = model->forward(xs);
  const auto last = model->forward_last(xs);
  ASSERT_EQ(last.shape(0), 3u);
  for (std::size_t j = 0; j < 3; ++j) EXPECT_EQ(last(j), all(40, j));
}

TEST(Network, ForwardRejectsBadSequencesWithClearMessages) {
  auto model = random_model();
  auto expect_message = [&](const xt::xtensor<float, 2>& xs, const std::string& part) {
    try {
      model->forward(xs);
      ADD_FAILURE() << "expected an exception mentioning: " << part;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_message(xt::xtensor<float, 2>::from_shape({0, 2}), "empty sequence");
  expect_message(xt::zeros<float>({5, 3}),
                 "input has 3 features per step, the first layer expects 2");
  auto xs = signal(10);
  xs(4, 1) = std::numeric_limits<float>::quiet_NaN();
  expect_message(xs, "not finite (nan) at step 4, feature 1");
  xs(4, 1) = -std::numeric_limits<float>::infinity();
  expect_message(xs, "not finite (-inf) at step 4, feature 1");
}

TEST(Network, SingleInputModelsStreamScalars) {
  rnnx::network<rnnx::gru<1, 4>, rnnx::dense<4, 1>> model;
  auto s = model.initial_state();
  const float y = model.step(0.5f, s)[0];
  auto s2 = model.initial_state();
  EXPECT_EQ(y, model.step(std::array<float, 1>{0.5f}, s2)[0]);
}

TEST(Network, ModelsCompareAndCopyByValue) {
  auto a = random_model(1), b = random_model(2);
  EXPECT_FALSE(*a == *b);
  *b = *a;
  EXPECT_TRUE(*a == *b);
}

}  // namespace
