// Sample-rate correction (rnnx/realtime/sample_rate.hpp): at ratio 1 it is the plain model; at
// an integer ratio d the outputs at times t = r (mod d) are d independent runs of the plain
// model over the inputs at those times; at a fractional ratio it matches a plain loop written
// here from the definition; nothing allocates after prepare; bad ratios are named.

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <rnnx/realtime/sample_rate.hpp>
#include <rnnx/rnnx.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "counting_allocator.hpp"
#include "random_parameters.hpp"

namespace {

using rnnx_test::allocations;
using rnnx_test::counting;

#ifdef RNNX_SANITIZED_BUILD
constexpr std::size_t steps = 200;
#else
constexpr std::size_t steps = 1000;
#endif

using lstm_model = rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>;
using stack_model = rnnx::network<rnnx::gru<2, 9>, rnnx::layer_norm<9>, rnnx::peephole_lstm<9, 5>,
                                  rnnx::dense<5, 3, rnnx::tanh>>;
using double_model =
    rnnx::basic_network<double, rnnx::rnn<1, 6>, rnnx::gru_reset_before<6, 4>, rnnx::dense<4, 1>>;

template <class Net>
std::unique_ptr<Net> random_model(unsigned seed) {
  return rnnx_test::uniform_model<Net>(seed, -0.6, 0.6);
}

template <class Net>
using input = std::array<typename Net::scalar, Net::in_size>;

template <class Net>
std::vector<input<Net>> random_inputs(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<input<Net>> xs(n);
  for (auto& x : xs)
    for (auto& v : x) v = static_cast<typename Net::scalar>(dist(gen));
  return xs;
}

using output = std::vector<double>;

template <class Net>
output plain_run(const Net& model, const std::vector<input<Net>>& xs) {
  auto s = model.initial_state();
  output ys;
  for (const auto& x : xs)
    for (auto y : model.step(x, s)) ys.push_back(y);
  return ys;
}

template <class Corrected>
output corrected_run(
    Corrected& corrected,
    const std::vector<std::array<typename Corrected::scalar, Corrected::in_size>>& xs) {
  output ys;
  for (const auto& x : xs)
    for (auto y : corrected.step(x)) ys.push_back(y);
  return ys;
}

/// The definition, as a plain loop over flat states: S(t) = step(x(t), S(t-n) + a * (S(t-n-1)
/// - S(t-n))) with n = floor(d), a = d - n, and S(t) = 0 before the first step.
template <class Net>
output reference_run(const Net& model, const std::vector<input<Net>>& xs, double d) {
  using T = typename Net::scalar;
  using flat = std::array<T, rnnx::state_size<Net>>;
  const auto n = static_cast<std::size_t>(std::floor(d));
  const auto a = static_cast<T>(d - static_cast<double>(n));
  std::vector<flat> history;
  const flat zero{};
  output ys;
  for (std::size_t t = 0; t < xs.size(); ++t) {
    const flat& newer = t >= n ? history[t - n] : zero;
    const flat& older = t >= n + 1 ? history[t - n - 1] : zero;
    flat start;
    for (std::size_t j = 0; j < start.size(); ++j) start[j] = newer[j] + a * (older[j] - newer[j]);
    auto s = model.initial_state();
    EXPECT_EQ(rnnx::restore_state(model, s, start), rnnx::restore_status::ok);
    for (auto y : model.step(xs[t], s)) ys.push_back(y);
    history.emplace_back();
    rnnx::save_state(model, s, std::span<T, rnnx::state_size<Net>>(history.back()));
  }
  return ys;
}

bool same_bits(const output& a, const output& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

template <class Net>
void expect_ratio_one_is_plain(unsigned seed) {
  const auto model = random_model<Net>(seed);
  const auto xs = random_inputs<Net>(steps, seed + 1);
  auto corrected = std::make_unique<rnnx::rate_corrected<Net, 4>>(*model);
  corrected->prepare(1.0);
  EXPECT_TRUE(same_bits(corrected_run(*corrected, xs), plain_run(*model, xs)))
      << Net::description();
  auto s = model->initial_state();
  for (const auto& x : xs) model->step(x, s);
  EXPECT_TRUE(corrected->current() == s) << "the current state is the plain model's";
}

TEST(SampleRate, RatioOneIsThePlainModelBitForBit) {
  expect_ratio_one_is_plain<lstm_model>(1);
  expect_ratio_one_is_plain<stack_model>(2);
  expect_ratio_one_is_plain<double_model>(3);
}

/// With integer d every state reads the one d steps back, so the times r, r + d, r + 2d, ...
/// form a plain run over their own inputs, for each r < d.
template <class Net, std::size_t MaxDelay>
void expect_integer_ratio_is_independent_runs(std::size_t d, unsigned seed) {
  const auto model = random_model<Net>(seed);
  const auto xs = random_inputs<Net>(steps, seed + 1);
  auto corrected = std::make_unique<rnnx::rate_corrected<Net, MaxDelay>>(*model);
  corrected->prepare(static_cast<double>(d));
  const output ys = corrected_run(*corrected, xs);
  for (std::size_t r = 0; r < d; ++r) {
    std::vector<input<Net>> subsampled;
    output expected, got;
    for (std::size_t t = r; t < xs.size(); t += d) {
      subsampled.push_back(xs[t]);
      got.insert(got.end(), ys.begin() + static_cast<std::ptrdiff_t>(t * Net::out_size),
                 ys.begin() + static_cast<std::ptrdiff_t>((t + 1) * Net::out_size));
    }
    expected = plain_run(*model, subsampled);
    EXPECT_TRUE(same_bits(got, expected)) << Net::description() << " d = " << d << ", r = " << r;
  }
}

TEST(SampleRate, IntegerRatioIsIndependentPlainRuns) {
  expect_integer_ratio_is_independent_runs<lstm_model, 4>(2, 4);
  expect_integer_ratio_is_independent_runs<lstm_model, 3>(3, 5);  // d = MaxDelay: all slots
  expect_integer_ratio_is_independent_runs<stack_model, 2>(2, 6);
  expect_integer_ratio_is_independent_runs<double_model, 4>(4, 7);
}

template <class Net>
void expect_fractional_ratio_matches_definition(double d, double tolerance, unsigned seed) {
  const auto model = random_model<Net>(seed);
  const auto xs = random_inputs<Net>(steps, seed + 1);
  auto corrected = std::make_unique<rnnx::rate_corrected<Net, 4>>(*model);
  corrected->prepare(d);
  const output ys = corrected_run(*corrected, xs);
  const output expected = reference_run(*model, xs, d);
  ASSERT_EQ(ys.size(), expected.size());
  double worst = 0;
  for (std::size_t k = 0; k < ys.size(); ++k)
    worst = std::max(worst, std::abs(ys[k] - expected[k]));
  // Only the compiler's choice of fused multiply-adds may differ between the two loops.
  EXPECT_LE(worst, tolerance) << Net::description() << " d = " << d;
  // And the interpolation matters: the neighbouring integer ratios give other outputs.
  for (double neighbour : {std::floor(d), std::ceil(d)}) {
    const output other = reference_run(*model, xs, neighbour);
    double difference = 0;
    for (std::size_t k = 0; k < ys.size(); ++k)
      difference = std::max(difference, std::abs(ys[k] - other[k]));
    EXPECT_GT(difference, 100 * tolerance) << "d = " << d << " vs " << neighbour;
  }
}

TEST(SampleRate, FractionalRatioMatchesThePlainLoopDefinition) {
  expect_fractional_ratio_matches_definition<lstm_model>(1.5, 1e-5, 8);
  expect_fractional_ratio_matches_definition<stack_model>(2.25, 1e-5, 9);
  expect_fractional_ratio_matches_definition<double_model>(3.7, 1e-12, 10);
  expect_fractional_ratio_matches_definition<double_model>(48000.0 / 44100.0, 1e-12, 11);
}

TEST(SampleRate, ResetRestartsTheStream) {
  const auto model = random_model<lstm_model>(12);
  const auto xs = random_inputs<lstm_model>(100, 13);
  auto corrected = std::make_unique<rnnx::rate_corrected<lstm_model, 4>>(*model);
  corrected->prepare(2.5);
  const output first = corrected_run(*corrected, xs);
  corrected->reset();
  EXPECT_TRUE(same_bits(corrected_run(*corrected, xs), first));
}

// reset(rest): the history is the rest state, so at integer d the first d steps each start
// from it.
TEST(SampleRate, ResetToARestState) {
  const auto model = random_model<lstm_model>(14);
  auto rest = model->initial_state();
  for (const auto& x : random_inputs<lstm_model>(30, 15)) model->step(x, rest);
  const auto xs = random_inputs<lstm_model>(3, 16);
  auto corrected = std::make_unique<rnnx::rate_corrected<lstm_model, 4>>(*model);
  corrected->prepare(3.0);
  corrected->reset(rest);
  for (const auto& x : xs) {
    auto from_rest = rest;
    const float expected = model->step(x, from_rest)[0];
    EXPECT_EQ(corrected->step(x)[0], expected);
    EXPECT_TRUE(corrected->current() == from_rest);
  }
}

TEST(SampleRate, NothingAllocatesAfterPrepare) {
  const auto model = random_model<stack_model>(17);
  const auto xs = random_inputs<stack_model>(steps, 18);
  auto corrected = std::make_unique<rnnx::rate_corrected<stack_model, 4>>(*model);
  corrected->prepare(2.7);
  const auto rest = model->initial_state();
  allocations = 0;
  counting = true;
  float sum = 0;
  for (const auto& x : xs) sum += corrected->step(x)[0];
  corrected->reset();
  corrected->reset(rest);
  for (const auto& x : xs) sum += corrected->step(x)[0];
  counting = false;
  EXPECT_EQ(allocations, 0);
  EXPECT_TRUE(std::isfinite(sum));
}

TEST(SampleRate, BadRatiosAreNamed) {
  const auto model = random_model<lstm_model>(19);
  auto corrected = std::make_unique<rnnx::rate_corrected<lstm_model, 4>>(*model);
  corrected->prepare(2.0);
  for (double bad : {0.5, 0.999, 0.0, -2.0, 4.001, 8.0, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    try {
      corrected->prepare(bad);
      ADD_FAILURE() << "ratio " << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("rate ratio (run rate / training rate) must be in [1, 4], found"),
                std::string::npos)
          << message;
      EXPECT_EQ(message.find("raise MaxDelay") != std::string::npos, bad > 4) << message;
    }
    EXPECT_EQ(corrected->rate_ratio(), 2.0) << "a refused ratio must leave the last one";
  }
  EXPECT_NO_THROW(corrected->prepare(4.0));
  EXPECT_NO_THROW(corrected->prepare(1.0));
}

}  // namespace
