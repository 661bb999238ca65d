// Losses: values against the formulas worked by hand, stability for large logits, gradients
// against central finite differences (double), and every input error with its message.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <rnnx/train/losses.hpp>
#include <string>

namespace {

template <class T, std::size_t N>
xt::xtensor<T, N> random_tensor(const std::array<std::size_t, N>& shape, unsigned seed,
                                double low = -2, double high = 2) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(low, high);
  xt::xtensor<T, N> x = xt::xtensor<T, N>::from_shape(shape);
  for (auto& v : x) v = static_cast<T>(dist(gen));
  return x;
}

template <class F>
void expect_invalid(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "expected std::invalid_argument mentioning: " << part;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

/// Central differences of loss(x) against the analytic gradient, element by element.
template <class Loss, std::size_t N>
void expect_gradient_matches_finite_differences(const xt::xtensor<double, N>& x, Loss&& loss) {
  xt::xtensor<double, N> grad;
  xt::xtensor<double, N> probe = x;
  loss(probe, &grad);
  ASSERT_EQ(grad.shape(), x.shape());
  const double h = 1e-6;
  for (std::size_t i = 0; i < x.size(); ++i) {
    probe = x;
    probe.data()[i] = x.data()[i] + h;
    const double up = loss(probe, static_cast<xt::xtensor<double, N>*>(nullptr));
    probe.data()[i] = x.data()[i] - h;
    const double down = loss(probe, static_cast<xt::xtensor<double, N>*>(nullptr));
    EXPECT_NEAR(grad.data()[i], (up - down) / (2 * h), 1e-8) << "element " << i;
  }
}

// --- mse -----------------------------------------------------------------------------------

TEST(Mse, ValueIsTheMeanOfSquaredErrorsByHand) {
  const xt::xtensor<double, 2> y = {{1.0, 2.0, 3.0}, {-1.0, 0.5, 4.0}};
  const xt::xtensor<double, 2> t = {{0.0, 2.0, 5.0}, {1.0, 0.0, 4.0}};
  // (1 + 0 + 4 + 4 + 0.25 + 0) / 6
  EXPECT_DOUBLE_EQ(rnnx::mse{}(y, t), 9.25 / 6);
  xt::xtensor<double, 2> g;
  EXPECT_DOUBLE_EQ(rnnx::mse{}(y, t, g), 9.25 / 6);
  const xt::xtensor<double, 2> expected = {{2.0 / 6, 0, -4.0 / 6}, {-4.0 / 6, 1.0 / 6, 0}};
  ASSERT_EQ(g.shape(), y.shape());
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_DOUBLE_EQ(g.data()[i], expected.data()[i]);
}

TEST(Mse, FloatAndRankThree) {
  xt::xtensor<float, 3> y = xt::zeros<float>({2, 3, 2});
  xt::xtensor<float, 3> t = xt::zeros<float>({2, 3, 2});
  y(1, 2, 1) = 3.0f;
  xt::xtensor<float, 3> g = xt::ones<float>({1, 1, 7});  // resized
  EXPECT_FLOAT_EQ(rnnx::mse{}(y, t, g), 9.0f / 12);
  ASSERT_EQ(g.dimension(), 3u);
  EXPECT_EQ(g.size(), 12u);
  EXPECT_FLOAT_EQ(g(1, 2, 1), 2 * 3.0f / 12);
  EXPECT_EQ(g(0, 0, 0), 0.0f);
}

TEST(Mse, GradientMatchesFiniteDifferences) {
  const auto x = random_tensor<double, 3>({2, 4, 3}, 1);
  const auto t = random_tensor<double, 3>({2, 4, 3}, 2);
  expect_gradient_matches_finite_differences(
      x, [&](const auto& y, auto* g) { return g ? rnnx::mse{}(y, t, *g) : rnnx::mse{}(y, t); });
}

// --- binary_cross_entropy_with_logits -----------------------------------------------------------

TEST(BinaryCrossEntropyWithLogits, ValueMatchesTheDefinitionByHand) {
  const xt::xtensor<double, 2> x = {{0.0, 2.0}, {-1.5, 0.3}};
  const xt::xtensor<double, 2> t = {{1.0, 0.0}, {0.25, 1.0}};
  double expected = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const double p = 1 / (1 + std::exp(-x.data()[i]));
    expected -= t.data()[i] * std::log(p) + (1 - t.data()[i]) * std::log(1 - p);
  }
  expected /= 4;
  EXPECT_NEAR(rnnx::binary_cross_entropy_with_logits{}(x, t), expected, 1e-15);
  // log 2 for a zero logit, whatever the target
  const xt::xtensor<double, 2> zero = xt::zeros<double>({1, 1});
  EXPECT_DOUBLE_EQ(rnnx::binary_cross_entropy_with_logits{}(zero, xt::xtensor<double, 2>{{0.7}}),
                   std::log(2.0));
}

TEST(BinaryCrossEntropyWithLogits, LargeLogitsStayFinite) {
  const xt::xtensor<float, 2> x = {{1000.0f, -1000.0f, 1000.0f, -1000.0f}};
  const xt::xtensor<float, 2> t = {{1.0f, 0.0f, 0.0f, 1.0f}};
  xt::xtensor<float, 2> g;
  // losses 0, 0, 1000, 1000
  EXPECT_FLOAT_EQ(rnnx::binary_cross_entropy_with_logits{}(x, t, g), 500.0f);
  EXPECT_FLOAT_EQ(g(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(g(0, 1), 0.0f);
  EXPECT_FLOAT_EQ(g(0, 2), 0.25f);
  EXPECT_FLOAT_EQ(g(0, 3), -0.25f);
}

TEST(BinaryCrossEntropyWithLogits, TinyLossesKeepTheirPrecision) {
  // log1p(exp(-40)) = 4.248354255291589e-18; log(1 + exp(-40)) would round to 0.
  const xt::xtensor<double, 2> x = {{40.0}}, t = {{1.0}};
  EXPECT_NEAR(rnnx::binary_cross_entropy_with_logits{}(x, t), 4.248354255291589e-18, 1e-30);
}

TEST(BinaryCrossEntropyWithLogits, GradientMatchesFiniteDifferences) {
  const auto x = random_tensor<double, 3>({3, 2, 2}, 3, -6, 6);
  const auto t = random_tensor<double, 3>({3, 2, 2}, 4, 0, 1);
  expect_gradient_matches_finite_differences(x, [&](const auto& y, auto* g) {
    rnnx::binary_cross_entropy_with_logits loss;
    return g ? loss(y, t, *g) : loss(y, t);
  });
}

// --- cross_entropy ------------------------------------------------------------------------------

TEST(CrossEntropy, ValueIsMeanOverRowsOfLogSumExpMinusTargetLogit) {
  const xt::xtensor<double, 2> x = {{1.0, 2.0, 3.0}, {0.5, -0.5, 0.0}};
  const xt::xtensor<std::size_t, 1> t = {2, 0};
  const double row0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double row1 = std::log(std::exp(0.5) + std::exp(-0.5) + std::exp(0.0)) - 0.5;
  EXPECT_NEAR(rnnx::cross_entropy{}(x, t), (row0 + row1) / 2, 1e-15);
  xt::xtensor<double, 2> g;
  rnnx::cross_entropy{}(x, t, g);
  const double z0 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(g(0, 0), std::exp(1.0) / z0 / 2, 1e-15);
  EXPECT_NEAR(g(0, 2), (std::exp(3.0) / z0 - 1) / 2, 1e-15);
  // each row's gradient sums to zero
  EXPECT_NEAR(g(1, 0) + g(1, 1) + g(1, 2), 0.0, 1e-16);
}

TEST(CrossEntropy, LargeLogitsDoNotOverflow) {
  // exp(1000) overflows even a double; a naive softmax would give inf / inf = NaN.
  const xt::xtensor<float, 2> x = {{1000.0f, 0.0f, -1000.0f}, {1000.0f, 1000.0f, 0.0f}};
  const xt::xtensor<std::size_t, 1> t = {1, 0};
  xt::xtensor<float, 2> g;
  const float loss = rnnx::cross_entropy{}(x, t, g);
  // row 0: 1000 + log(1 + e^-1000 + e^-2000) - 0 = 1000; row 1: 1000 + log 2 - 1000 = log 2
  EXPECT_FLOAT_EQ(loss, (1000.0f + std::log(2.0f)) / 2);
  EXPECT_FLOAT_EQ(g(0, 0), 0.5f);
  EXPECT_FLOAT_EQ(g(0, 1), -0.5f);
  EXPECT_FLOAT_EQ(g(0, 2), 0.0f);
  EXPECT_FLOAT_EQ(g(1, 0), -0.25f);
  EXPECT_FLOAT_EQ(g(1, 1), 0.25f);
  for (const float v : g) EXPECT_TRUE(std::isfinite(v));
}

TEST(CrossEntropy, RankThreeAveragesOverBatchAndTime) {
  xt::xtensor<double, 3> x = xt::zeros<double>({2, 3, 4});
  xt::xtensor<std::size_t, 2> t = xt::zeros<std::size_t>({2, 3});
  // all-zero logits: every row costs log 4
  EXPECT_DOUBLE_EQ(rnnx::cross_entropy{}(x, t), std::log(4.0));
  x(1, 2, 3) = 50.0;
  t(1, 2) = 3;  // that row now costs log(3 + e^50) - 50, about 3 e^-50
  EXPECT_NEAR(rnnx::cross_entropy{}(x, t), 5 * std::log(4.0) / 6, 1e-15);
}

TEST(CrossEntropy, GradientMatchesFiniteDifferences) {
  const auto x = random_tensor<double, 3>({2, 3, 5}, 5, -4, 4);
  const xt::xtensor<std::size_t, 2> t = {{0, 4, 2}, {1, 1, 3}};
  expect_gradient_matches_finite_differences(x, [&](const auto& y, auto* g) {
    return g ? rnnx::cross_entropy{}(y, t, *g) : rnnx::cross_entropy{}(y, t);
  });
}

// --- errors --------------------------------------------------------------------------------------

TEST(Losses, ShapeMismatchNamesTheLossShapesAndAxis) {
  const xt::xtensor<double, 2> y = xt::zeros<double>({4, 3});
  const xt::xtensor<double, 2> t = xt::zeros<double>({4, 2});
  xt::xtensor<double, 2> g;
  expect_invalid([&] { rnnx::mse{}(y, t, g); },
                 "rnnx::mse: outputs and targets differ in shape ([4, 3] and [4, 2]) at axis 1");
  expect_invalid([&] { rnnx::binary_cross_entropy_with_logits{}(y, t); },
                 "rnnx::binary_cross_entropy_with_logits: outputs and targets differ in shape");
  const xt::xtensor<double, 3> y3 = xt::zeros<double>({2, 5, 3});
  const xt::xtensor<std::size_t, 2> t3 = xt::zeros<std::size_t>({2, 6});
  expect_invalid([&] { rnnx::cross_entropy{}(y3, t3); },
                 "rnnx::cross_entropy: targets must have the outputs' shape without the class "
                 "axis (outputs [2, 5, 3], targets [2, 6]) but differ at axis 1");
}

TEST(Losses, EmptyInputIsRejected) {
  const xt::xtensor<float, 2> y = xt::zeros<float>({0, 3});
  expect_invalid([&] { rnnx::mse{}(y, y); }, "rnnx::mse: empty input (outputs of shape [0, 3])");
  expect_invalid([&] { rnnx::binary_cross_entropy_with_logits{}(y, y); },
                 "binary_cross_entropy_with_logits: empty input");
  expect_invalid([&] { rnnx::cross_entropy{}(y, xt::xtensor<std::size_t, 1>::from_shape({0})); },
                 "rnnx::cross_entropy: empty input (outputs of shape [0, 3])");
  const xt::xtensor<float, 2> no_classes = xt::zeros<float>({2, 0});
  expect_invalid(
      [&] {
        rnnx::cross_entropy{}(no_classes, xt::xtensor<std::size_t, 1>{0, 0});
      },
      "rnnx::cross_entropy: empty input (outputs of shape [2, 0])");
}

TEST(Losses, NonFiniteValuesAreRejectedWithTheirPosition) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  xt::xtensor<double, 3> y = xt::zeros<double>({2, 3, 4});
  xt::xtensor<double, 3> t = xt::zeros<double>({2, 3, 4});
  xt::xtensor<double, 3> g;
  y(1, 2, 3) = nan;
  expect_invalid([&] { rnnx::mse{}(y, t, g); },
                 "rnnx::mse: output is not finite (nan) at [1, 2, 3]");
  expect_invalid(
      [&] {
        rnnx::cross_entropy{}(y, xt::xtensor<std::size_t, 2>(xt::zeros<std::size_t>({2, 3})));
      },
      "rnnx::cross_entropy: output is not finite (nan) at [1, 2, 3]");
  y(1, 2, 3) = 0;
  t(0, 1, 2) = -inf;
  expect_invalid(
      [&] { rnnx::binary_cross_entropy_with_logits{}(y, t, g); },
      "rnnx::binary_cross_entropy_with_logits: target is not finite (-inf) at [0, 1, 2]");
  expect_invalid([&] { rnnx::mse{}(y, t); }, "rnnx::mse: target is not finite (-inf) at [0, 1, 2]");
}

TEST(Losses, ClassIndexOutOfRangeIsRejectedWithItsPosition) {
  const xt::xtensor<float, 3> y = xt::zeros<float>({2, 3, 5});
  xt::xtensor<std::size_t, 2> t = xt::zeros<std::size_t>({2, 3});
  t(1, 0) = 5;
  xt::xtensor<float, 3> g;
  expect_invalid([&] { rnnx::cross_entropy{}(y, t, g); },
                 "rnnx::cross_entropy: class index 5 out of range (5 classes) at [1, 0]");
  t(1, 0) = 4;
  EXPECT_NO_THROW(rnnx::cross_entropy{}(y, t, g));
}

}  // namespace
