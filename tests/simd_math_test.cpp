// The vectorised activations against the C library in double precision, over a sweep of the
// whole float range (every 211th bit pattern, both signs), plus the special values.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <rnnx/simd/math.hpp>
#include <vector>

namespace {

using rnnx::simd::batch;
using rnnx::simd::width;

template <class T, class F>
std::vector<T> apply(F&& f, const std::vector<T>& xs) {
  std::vector<T> ys(xs.size());
  alignas(64) T in[width<T>];
  alignas(64) T out[width<T>];
  for (std::size_t i = 0; i < xs.size(); i += width<T>) {
    for (std::size_t k = 0; k < width<T>; ++k) in[k] = i + k < xs.size() ? xs[i + k] : T(0);
    f(batch<T>::load_aligned(in)).store_aligned(out);
    for (std::size_t k = 0; k < width<T> && i + k < xs.size(); ++k) ys[i + k] = out[k];
  }
  return ys;
}

std::vector<float> float_sweep() {
  std::vector<float> xs;
  for (std::uint64_t bits = 0; bits < 0x7f800000u; bits += 211) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    xs.push_back(x);
    xs.push_back(-x);
  }
  return xs;
}

const std::vector<float>& sweep() {
  static const std::vector<float> xs = float_sweep();
  return xs;
}

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

TEST(SimdMath, ExpRelativeErrorWhereResultIsNormal) {
  const auto ys = apply<float>([](auto x) { return rnnx::simd::exp(x); }, sweep());
  double worst = 0;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    const double ref = std::exp(double(sweep()[i]));
    if (ref < std::numeric_limits<float>::min() || ref > std::numeric_limits<float>::max()) {
      // Outside the normal range the result must still be the right limit or denormal.
      if (ref > std::numeric_limits<float>::max()) {
        EXPECT_EQ(ys[i], inf) << sweep()[i];
      } else {
        EXPECT_LE(ys[i], 2 * ref + 1e-45) << sweep()[i];
      }
      continue;
    }
    worst = std::max(worst, std::abs(ys[i] - ref) / ref);
  }
  std::cout << "exp: max relative error " << worst << "\n";
  EXPECT_LE(worst, 2e-7);
}

TEST(SimdMath, SigmoidAbsoluteError) {
  const auto ys = apply<float>([](auto x) { return rnnx::simd::sigmoid(x); }, sweep());
  double worst = 0;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    const double ref = 1.0 / (1.0 + std::exp(-double(sweep()[i])));
    worst = std::max(worst, std::abs(ys[i] - ref));
  }
  std::cout << "sigmoid: max absolute error " << worst << "\n";
  EXPECT_LE(worst, 2.5e-7);
}

TEST(SimdMath, TanhAbsoluteAndSmallArgumentRelativeError) {
  const auto ys = apply<float>([](auto x) { return rnnx::simd::tanh(x); }, sweep());
  double worst_abs = 0, worst_rel_small = 0;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    const double x = sweep()[i];
    const double ref = std::tanh(x);
    worst_abs = std::max(worst_abs, std::abs(ys[i] - ref));
    if (std::abs(x) < 0.625 && ref != 0)
      worst_rel_small = std::max(worst_rel_small, std::abs(ys[i] - ref) / std::abs(ref));
  }
  std::cout << "tanh: max absolute error " << worst_abs << ", relative for |x| < 0.625 "
            << worst_rel_small << "\n";
  EXPECT_LE(worst_abs, 4e-7);
  EXPECT_LE(worst_rel_small, 3e-7);
}

TEST(SimdMath, SpecialValuesFloat) {
  const std::vector<float> xs{inf, -inf, nan, 0.0f, -0.0f, 1e30f, -1e30f, 88.8f, -104.0f};
  const auto e = apply<float>([](auto x) { return rnnx::simd::exp(x); }, xs);
  const auto s = apply<float>([](auto x) { return rnnx::simd::sigmoid(x); }, xs);
  const auto t = apply<float>([](auto x) { return rnnx::simd::tanh(x); }, xs);
  const auto r = apply<float>([](auto x) { return rnnx::simd::relu(x); }, xs);
  EXPECT_EQ(e[0], inf);
  EXPECT_EQ(e[1], 0.0f);
  EXPECT_TRUE(std::isnan(e[2]));
  EXPECT_EQ(e[3], 1.0f);
  EXPECT_EQ(e[5], inf);
  EXPECT_EQ(e[6], 0.0f);
  EXPECT_EQ(e[7], inf);
  EXPECT_EQ(e[8], 0.0f);
  // Float tanh and sigmoid reach their limits within their error bound (simd/math.hpp).
  EXPECT_NEAR(s[0], 1.0f, 2e-7f);
  EXPECT_LE(s[1], 2e-7f);
  EXPECT_GE(s[1], 0.0f);
  EXPECT_TRUE(std::isnan(s[2]));
  EXPECT_EQ(s[3], 0.5f);
  EXPECT_NEAR(t[0], 1.0f, 3e-7f);
  EXPECT_NEAR(t[1], -1.0f, 3e-7f);
  EXPECT_LE(t[0], 1.0f);
  EXPECT_TRUE(std::isnan(t[2]));
  EXPECT_EQ(t[3], 0.0f);
  EXPECT_TRUE(std::signbit(t[4])) << "tanh(-0) keeps the sign";
  EXPECT_NEAR(t[5], 1.0f, 3e-7f);
  EXPECT_NEAR(t[6], -1.0f, 3e-7f);
  EXPECT_EQ(r[0], inf);
  EXPECT_EQ(r[1], 0.0f);
  EXPECT_TRUE(std::isnan(r[2])) << "relu propagates NaN like torch.relu";
  EXPECT_EQ(r[6], 0.0f);
}

TEST(SimdMath, DoubleAgreesWithLibmAndHandlesSpecials) {
  std::vector<double> xs;
  for (double x = -40; x <= 40; x += 0.0137) xs.push_back(x);
  const auto e = apply<double>([](auto x) { return rnnx::simd::exp(x); }, xs);
  const auto s = apply<double>([](auto x) { return rnnx::simd::sigmoid(x); }, xs);
  const auto t = apply<double>([](auto x) { return rnnx::simd::tanh(x); }, xs);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    EXPECT_NEAR(e[i] / std::exp(xs[i]), 1.0, 1e-15) << xs[i];
    EXPECT_NEAR(s[i], 1.0 / (1.0 + std::exp(-xs[i])), 4e-16) << xs[i];
    EXPECT_NEAR(t[i], std::tanh(xs[i]), 4e-16) << xs[i];
  }
  const double dinf = std::numeric_limits<double>::infinity();
  const std::vector<double> special{dinf, -dinf, std::numeric_limits<double>::quiet_NaN()};
  const auto es = apply<double>([](auto x) { return rnnx::simd::exp(x); }, special);
  const auto ss = apply<double>([](auto x) { return rnnx::simd::sigmoid(x); }, special);
  const auto ts = apply<double>([](auto x) { return rnnx::simd::tanh(x); }, special);
  EXPECT_EQ(es[0], dinf);
  EXPECT_EQ(es[1], 0.0);
  EXPECT_TRUE(std::isnan(es[2]));
  EXPECT_EQ(ss[0], 1.0);
  EXPECT_EQ(ss[1], 0.0);
  EXPECT_TRUE(std::isnan(ss[2]));
  EXPECT_EQ(ts[0], 1.0);
  EXPECT_EQ(ts[1], -1.0);
  EXPECT_TRUE(std::isnan(ts[2]));
}

}  // namespace
