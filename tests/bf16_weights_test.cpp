// bf16 weight copies (realtime/bf16_weights.hpp): rounding, the pair dot product, the bf16
// model next to the float model with rounded matrices, and its accuracy on the PyTorch
// fixtures over 1000 steps.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <rnnx/rnnx.hpp>

#include "counting_allocator.hpp"
#include "fixture_support.hpp"
#include "random_parameters.hpp"

namespace {

using namespace rnnx;

std::uint32_t bits_of(float v) { return std::bit_cast<std::uint32_t>(v); }
float float_of(std::uint32_t u) { return std::bit_cast<float>(u); }

TEST(Bf16, RoundsToNearestTiesToEven) {
  EXPECT_EQ(bf16(1.0f).bits, 0x3f80);
  EXPECT_EQ(bf16(-2.0f).bits, 0xc000);
  EXPECT_EQ(bf16(float_of(0x3f808000u)).bits, 0x3f80);  // tie, down to even
  EXPECT_EQ(bf16(float_of(0x3f818000u)).bits, 0x3f82);  // tie, up to even
  EXPECT_EQ(bf16(float_of(0x3f808001u)).bits, 0x3f81);  // above the tie
  EXPECT_EQ(bf16(float_of(0x3f807fffu)).bits, 0x3f80);  // below the tie
  EXPECT_TRUE(std::isnan(static_cast<float>(bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(static_cast<float>(bf16(float_of(0x7f800001u)))));  // signalling NaN
  EXPECT_EQ(static_cast<float>(bf16(std::numeric_limits<float>::infinity())),
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(static_cast<float>(bf16(3.4e38f)), std::numeric_limits<float>::infinity());
  // Relative rounding error at most 2^-8 (8 significant bits) over many values.
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
  for (int i = 0; i < 100000; ++i) {
    const float v = dist(gen);
    EXPECT_LE(std::abs(static_cast<float>(bf16(v)) - v), std::abs(v) * 0x1p-8f) << v;
  }
}

// vdpbf16ps (or its portable emulation): per lane acc + w_odd x_odd + w_even x_even, each
// product exact and each addition rounded, in that order.
TEST(Bf16, DotPairsIsTwoRoundedAdditionsOfExactProducts) {
  constexpr std::size_t V = simd::width<float>;
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  alignas(simd::alignment) bf16 w[2 * V];
  alignas(simd::alignment) float acc[V], out[V];
  std::size_t checked = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    for (auto& v : w) v = bf16(dist(gen));
    for (auto& v : acc) v = dist(gen);
    const float first = dist(gen), second = dist(gen);
    const std::uint32_t pair = simd::bf16_pair(first, second);
    simd::store(out, simd::dot_pairs(simd::load(static_cast<const float*>(acc)), w, pair));
    const float x0 = static_cast<float>(bf16(first)), x1 = static_cast<float>(bf16(second));
    for (std::size_t i = 0; i < V; ++i, ++checked) {
      const float expected = std::fma(static_cast<float>(w[2 * i]), x0,
                                      std::fma(static_cast<float>(w[2 * i + 1]), x1, acc[i]));
      ASSERT_EQ(bits_of(out[i]), bits_of(expected)) << "lane " << i << " trial " << trial;
    }
  }
  EXPECT_EQ(checked, 2000 * V);
  std::cout << "[ bf16     ] dot_pairs on " << (simd::native_bf16_dot ? "vdpbf16ps" : "float FMAs")
            << "\n";
}

TEST(Bf16, PairsOfAPaddedVector) {
  alignas(simd::alignment) float x[64] = {};
  for (int i = 0; i < 33; ++i) x[i] = 0.25f * float(i) - 3.0f;
  alignas(simd::alignment) std::uint32_t pairs[simd::bf16_pair_words<17>];
  simd::to_bf16_pairs<17>(x, pairs);
  for (std::size_t p = 0; p < 17; ++p) EXPECT_EQ(pairs[p], simd::bf16_pair(x[2 * p], x[2 * p + 1]));
  EXPECT_EQ(pairs[16] >> 16, 0u);  // the odd last value pairs with the zero padding
}

/// The float model with every recurrent matrix rounded to bf16 and back: what the bf16 model
/// computes but for the rounding of inputs and h in the products (relative 2^-8 each).
template <class Net>
Net with_rounded_matrices(const Net& model) {
  Net rounded = model;
  rounded.for_each_layer([](auto, auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    if constexpr (requires { typename L::recurrent_weights_type; }) {
      layer.visit_parameters([](std::string_view name, auto& p) {
        if (name != "weight_ih" && name != "weight_hh") return;
        for (auto& v : p.data) v = static_cast<float>(bf16(v));
      });
    }
  });
  return rounded;
}

/// Weights drawn as PyTorch initialises them (+-1/sqrt(H) for the widest layer): with larger
/// ones a wide model turns chaotic and amplifies any rounding without bound.
template <class Net>
void expect_same_as_rounded_float_model(unsigned seed, double bound) {
  auto model = std::make_unique<Net>();
  rnnx_test::fill_uniform(*model, seed, -bound, bound);
  const auto rounded = std::make_unique<Net>(with_rounded_matrices(*model));
  const auto fast = std::make_unique<bf16_weights<Net>>(*model);
  auto s = fast->initial_state();
  auto r = rounded->initial_state();
  std::mt19937 gen(seed + 1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::array<float, Net::in_size> x;
  double worst = 0;
  for (int t = 0; t < 300; ++t) {
    for (auto& v : x) v = dist(gen);
    const auto a = fast->step(std::span<const float, Net::in_size>(x), s);
    const auto b = rounded->step(std::span<const float, Net::in_size>(x), r);
    for (std::size_t j = 0; j < Net::out_size; ++j) {
      worst = std::max(worst, std::abs(double(a[j]) - double(b[j])));
      ASSERT_NEAR(a[j], b[j], 2e-3) << Net::description() << " output " << j << " at step " << t;
    }
  }
  std::cout << "[ bf16     ] " << Net::description() << ": max |bf16 - rounded float| " << worst
            << "\n";
  EXPECT_GT(worst, 0.0);
  // The float model itself was not changed.
  EXPECT_TRUE(fast->model() == *model);
}

TEST(Bf16Weights, CloseToFloatModelWithRoundedMatrices) {
  expect_same_as_rounded_float_model<network<lstm<1, 32>, dense<32, 1>>>(1, 0.18);
  expect_same_as_rounded_float_model<network<lstm<1, 128>, dense<128, 1>>>(2, 0.09);
  expect_same_as_rounded_float_model<network<gru<3, 40>, dense<40, 2>>>(3, 0.16);
  expect_same_as_rounded_float_model<network<rnn<2, 9, relu>, dense<9, 1>>>(4, 0.33);
  expect_same_as_rounded_float_model<network<peephole_lstm<2, 24>, dense<24, 1>>>(5, 0.2);
  // A stack (W_ih of the second cell is 32 x 48), layer norm, and a cell kept in float.
  expect_same_as_rounded_float_model<
      network<lstm<1, 32>, layer_norm<32>, gru<32, 48>, gru_reset_before<48, 8>, dense<8, 1>>>(
      6, 0.14);
}

/// bf16_weights' N-stream step gives each stream the bits of its own bf16 step.
template <class Net, std::size_t N>
void expect_bf16_streams_match_single(unsigned seed) {
  auto model = std::make_unique<Net>();
  rnnx_test::fill_uniform(*model, seed, -0.15, 0.15);
  const auto fast = std::make_unique<bf16_weights<Net>>(*model);
  std::array<typename Net::state, N> together{}, alone{};
  std::mt19937 gen(seed + 1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::array<float, N * Net::in_size> x;
  std::array<float, N * Net::out_size> y;
  for (int t = 0; t < 60; ++t) {
    for (auto& v : x) v = dist(gen);
    fast->step(std::span<const float, N * Net::in_size>(x), together, std::span(y));
    for (std::size_t k = 0; k < N; ++k) {
      const auto single = fast->step(
          std::span<const float, Net::in_size>(x.data() + k * Net::in_size, Net::in_size),
          alone[k]);
      for (std::size_t j = 0; j < Net::out_size; ++j)
        ASSERT_EQ(bits_of(single[j]), bits_of(y[k * Net::out_size + j]))
            << Net::description() << ", " << N << " streams: stream " << k << " at step " << t;
    }
  }
  for (std::size_t k = 0; k < N; ++k) EXPECT_TRUE(together[k] == alone[k]);
}

TEST(Bf16Weights, ManyStreamsMatchSingleStreamBitForBit) {
  expect_bf16_streams_match_single<network<lstm<1, 128>, dense<128, 1>>, 8>(21);
  expect_bf16_streams_match_single<network<lstm<1, 128>, dense<128, 1>>, 3>(22);
  expect_bf16_streams_match_single<network<gru<2, 64>, dense<64, 2>>, 5>(23);
  expect_bf16_streams_match_single<network<lstm<1, 16>, dense<16, 1>>, 4>(24);  // L1: one by one
  expect_bf16_streams_match_single<network<lstm<3, 40>, gru<40, 72>, dense<72, 1>>, 8>(25);
}

TEST(Bf16Weights, RejectsAWeightBeyondTheRangeOfBf16) {
  using Net = network<gru<1, 4>, dense<4, 1>>;
  Net model;
  model.layer<0>().visit_parameters([](std::string_view name, auto& p) {
    if (name == "weight_hh") p.at(2, 1) = 3.4e38f;  // float, but past bf16 max + half an ulp
  });
  try {
    bf16_weights<Net> fast(model);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer 0 weight_hh"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("beyond the range of bf16"), std::string::npos);
  }
}

TEST(Bf16Weights, StepAllocatesNothing) {
  using Net = network<lstm<1, 64>, dense<64, 1>>;
  const auto model = std::make_unique<Net>();
  const auto fast = std::make_unique<bf16_weights<Net>>(*model);
  auto s = fast->initial_state();
  rnnx_test::allocations = 0;
  rnnx_test::counting = true;
  for (int t = 0; t < 100; ++t) fast->step(0.01f * float(t), s);
  rnnx_test::counting = false;
  EXPECT_EQ(rnnx_test::allocations, 0);
}

/// Max |bf16 - float| over 1000 steps (the fixture's input, cycled, one continuing state)
/// and the bf16 model's max |difference| from PyTorch over the fixture's own steps.
template <class Net>
void expect_fixture_accuracy(const std::string& name, double bound) {
  const nlohmann::json fixture = rnnx_test::read_fixture(name);
  auto model = std::make_unique<Net>();
  load_weights_from_json(*model, fixture.at("model"), name);
  const auto xs = rnnx_test::to_matrix<float>(fixture.at("input"));
  const auto expected = rnnx_test::to_matrix<float>(fixture.at("output"));
  const auto fast = std::make_unique<bf16_weights<Net>>(*model);
  auto s = model->initial_state();
  auto f = fast->initial_state();
  double vs_float = 0, vs_torch = 0;
  const std::size_t steps = xs.shape(0);
  for (std::size_t t = 0; t < 1000; ++t) {
    std::array<float, Net::in_size> x;
    for (std::size_t j = 0; j < Net::in_size; ++j) x[j] = xs(t % steps, j);
    const auto a = model->step(std::span<const float, Net::in_size>(x), s);
    const auto b = fast->step(std::span<const float, Net::in_size>(x), f);
    for (std::size_t j = 0; j < Net::out_size; ++j) {
      vs_float = std::max(vs_float, std::abs(double(a[j]) - double(b[j])));
      if (t < steps) vs_torch = std::max(vs_torch, std::abs(double(b[j]) - double(expected(t, j))));
    }
  }
  std::cout << "[ bf16     ] " << name << ": max |bf16 - float| over 1000 steps " << vs_float
            << ", max |bf16 - PyTorch| over " << steps << " steps " << vs_torch << "\n";
  EXPECT_LE(vs_float, bound) << name;
  EXPECT_LE(vs_torch, bound) << name;
  EXPECT_GT(vs_float, 0.0) << name << ": bf16 rounding changed nothing?";
}

TEST(Bf16Weights, AccuracyOnPyTorchFixtures) {
  constexpr double bound = 3e-3;  // measured: at most 1.3e-3 (AVX-512)
  expect_fixture_accuracy<network<lstm<1, 8>, dense<8, 1>>>("lstm_1_8__dense_1", bound);
  expect_fixture_accuracy<network<lstm<3, 33>, dense<33, 2, rnnx::tanh>>>("lstm_3_33__dense_2_tanh",
                                                                          bound);
  expect_fixture_accuracy<network<gru<2, 7>, dense<7, 3, softmax>>>("gru_2_7__dense_3_softmax",
                                                                    bound);
  expect_fixture_accuracy<network<rnn<4, 17>, dense<17, 1>>>("rnn_tanh_4_17__dense_1", bound);
  expect_fixture_accuracy<network<lstm<2, 5>, lstm<5, 5>, dense<5, 1>>>("lstm2layer_2_5__dense_1",
                                                                        bound);
  expect_fixture_accuracy<network<gru<1, 16>, dense<16, 1>>>("gru_nobias_1_16__dense_1", bound);
  expect_fixture_accuracy<network<lstm<2, 16>, gru<16, 12>, dense<12, 4, relu>, dense<4, 1>>>(
      "stack_lstm_gru_dense", bound);
  expect_fixture_accuracy<network<lstm<1, 128>, dense<128, 1>>>("lstm_1_128__dense_1", bound);
}

}  // namespace
