// layer_norm, prelu, elu, dropout and embedding: forward against plain loops of the PyTorch
// definitions, backward against finite differences (tests/gradcheck.hpp), and each layer's own
// behaviour (dropout only while training, token ids, initial values). Their PyTorch autograd
// fixtures are in bptt_fixtures_test.

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <ratio>
#include <rnnx/rnnx.hpp>
#include <span>
#include <string>
#include <vector>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include "gradcheck.hpp"

namespace {

using namespace rnnx;
using rnnx_test::check_all_shapes;
using rnnx_test::check_gradients;
using rnnx_test::model;

template <class T>
using batch3 = xt::xtensor<T, 3>;

// ---- layer_norm ----------------------------------------------------------------------------

template <std::size_t N, class T>
void check_layer_norm_against_loops(double tolerance) {
  basic_network<T, layer_norm<N>> net;
  rnnx_test::fill_uniform(net, 3, -1.5, 1.5);
  std::mt19937 gen(N);
  std::normal_distribution<double> dist(0.5, 2.0);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> x(N);
    std::array<T, N> xt{};
    for (std::size_t j = 0; j < N; ++j) xt[j] = static_cast<T>(x[j] = dist(gen));
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= N;
    for (double v : x) var += (v - mean) * (v - mean);
    var /= N;
    auto s = net.initial_state();
    const auto y = net.step(std::span<const T, N>(xt), s);
    for (std::size_t j = 0; j < N; ++j) {
      const auto& layer = net.template layer<0>();
      double w = 0, b = 0;
      std::size_t k = 0;
      const_cast<std::remove_cvref_t<decltype(layer)>&>(layer).visit_parameters(
          [&](std::string_view, auto& p) { (k++ == 0 ? w : b) = p.at(j); });
      const double expected = w * (x[j] - mean) / std::sqrt(var + 1e-5) + b;
      ASSERT_NEAR(y[j], expected, tolerance) << "layer_norm<" << N << "> feature " << j;
    }
    for (std::size_t j = N; j < simd::padded<T>(N); ++j) ASSERT_EQ(s.output.data()[j], T(0));
  }
}

TEST(LayerNorm, MatchesTheDefinition) {
  check_layer_norm_against_loops<1, float>(1e-6);
  check_layer_norm_against_loops<7, float>(2e-6);
  check_layer_norm_against_loops<33, float>(2e-6);
  check_layer_norm_against_loops<40, double>(1e-12);
}

TEST(LayerNorm, Gradients) {
  check_all_shapes<model<layer_norm<7>, dense<7, 3>>>(21);
  check_all_shapes<model<lstm<2, 5>, layer_norm<5>, gru<5, 4>, layer_norm<4>>>(22);
  check_gradients<model<layer_norm<1>, dense<1, 2>>>(2, 3, 23);  // zero variance
}

TEST(LayerNorm, InitializesAsPyTorch) {
  network<dense<3, 5>, layer_norm<5>> net;
  initialize(net, 1);
  std::vector<float> values;
  net.layer<1>().visit_parameters([&](std::string_view, auto& p) {
    for (std::size_t j = 0; j < 5; ++j) values.push_back(p.at(j));
  });
  EXPECT_EQ(values, (std::vector<float>{1, 1, 1, 1, 1, 0, 0, 0, 0, 0}));
}

// ---- prelu and elu ----------------------------------------------------------------------------

/// Values that reach both sides of 0, 0 itself and the far negative tail.
template <class T, std::size_t N>
std::array<T, N> signed_values(unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, 3.0);
  std::array<T, N> x{};
  for (std::size_t j = 0; j < N; ++j) x[j] = static_cast<T>(dist(gen));
  x[0] = T(0);
  if (N > 1) x[1] = T(-40);
  return x;
}

template <std::size_t N, std::size_t P, class T>
void check_prelu_against_loops() {
  basic_network<T, prelu<N, P>> net;
  rnnx_test::fill_uniform(net, 5, -1.5, 1.5);
  std::vector<T> slopes;
  net.template layer<0>().visit_parameters([&](std::string_view, auto& p) {
    for (std::size_t k = 0; k < P; ++k) slopes.push_back(p.at(k));
  });
  for (unsigned trial = 0; trial < 10; ++trial) {
    const auto x = signed_values<T, N>(trial);
    auto s = net.initial_state();
    const auto y = net.step(std::span<const T, N>(x), s);
    for (std::size_t j = 0; j < N; ++j) {
      const T expected = x[j] > 0 ? x[j] : slopes[P == 1 ? 0 : j] * x[j];
      ASSERT_EQ(y[j], expected) << "prelu<" << N << ", " << P << "> feature " << j;
    }
    for (std::size_t j = N; j < simd::padded<T>(N); ++j) ASSERT_EQ(s.output.data()[j], T(0));
  }
}

TEST(PRelu, MatchesTheDefinition) {
  check_prelu_against_loops<1, 1, float>();
  check_prelu_against_loops<7, 1, float>();
  check_prelu_against_loops<19, 19, float>();
  check_prelu_against_loops<5, 5, double>();
}

TEST(PRelu, Gradients) {
  check_all_shapes<model<dense<3, 7>, prelu<7>, dense<7, 2>>>(31);
  check_all_shapes<model<lstm<2, 5>, prelu<5, 5>, gru<5, 4>, prelu<4>>>(32);
}

TEST(PRelu, InitializesAsPyTorch) {
  network<dense<3, 5>, prelu<5, 5>> net;
  initialize(net, 1);
  std::vector<float> values;
  net.layer<1>().visit_parameters([&](std::string_view, auto& p) {
    for (std::size_t j = 0; j < 5; ++j) values.push_back(p.at(j));
  });
  EXPECT_EQ(values, (std::vector<float>(5, 0.25f)));
}

template <std::size_t N, class T>
void check_elu_against_expm1(double relative_tolerance) {
  basic_network<T, activation<N, rnnx::elu>> net;
  for (unsigned trial = 0; trial < 10; ++trial) {
    auto x = signed_values<T, N>(trial);
    if (N > 2) x[2] = T(-1e-4);  // where exp(x) - 1 would cancel
    auto s = net.initial_state();
    const auto y = net.step(std::span<const T, N>(x), s);
    for (std::size_t j = 0; j < N; ++j) {
      const double expected = x[j] > 0 ? double(x[j]) : std::expm1(double(x[j]));
      ASSERT_NEAR(y[j], expected, relative_tolerance * std::abs(expected)) << "elu(" << x[j] << ")";
    }
  }
}

TEST(Elu, MatchesTheDefinition) {
  check_elu_against_expm1<13, float>(3e-7);
  check_elu_against_expm1<6, double>(1e-15);
}

TEST(Elu, PropagatesNaN) {
  network<activation<3, rnnx::elu>> net;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::array<float, 3> x{nan, -1.0f, 2.0f};
  auto s = net.initial_state();
  const auto y = net.step(std::span<const float, 3>(x), s);
  EXPECT_TRUE(std::isnan(y[0]));
}

TEST(Elu, Gradients) {
  check_all_shapes<model<dense<3, 6, rnnx::elu>, activation<6, rnnx::elu>, dense<6, 2>>>(33);
  check_all_shapes<model<gru<2, 5>, dense<5, 3, rnnx::elu>>>(34);
}

// ---- dropout ----------------------------------------------------------------------------------

TEST(Dropout, IsTheIdentityAtInference) {
  network<dense<3, 6>, dropout<6, std::ratio<1, 2>>> net;
  rnnx_test::fill_uniform(net, 4, -1, 1);
  network<dense<3, 6>> plain;
  plain.layer<0>() = net.layer<0>();
  const xt::xtensor<float, 2> xs = {{1, 2, 3}, {-1, 0.5, 2}};
  EXPECT_EQ(net.forward(xs), plain.forward(xs));
}

TEST(Dropout, ZeroesAFractionPAndScalesTheRest) {
  using Net = network<dropout<64, std::ratio<1, 4>>>;
  Net net;
  tape<Net> tp;
  tp.seed(7);
  const batch3<float> xs = xt::ones<float>({10, 100, 64});
  const auto ys = tp.forward(net, xs);
  std::size_t dropped = 0;
  for (float y : ys) {
    ASSERT_TRUE(y == 0.0f || y == 1.0f / 0.75f) << y;
    dropped += y == 0.0f;
  }
  const double fraction = double(dropped) / double(ys.size());
  EXPECT_NEAR(fraction, 0.25, 0.01);  // 64,000 draws: the standard error is 0.0017

  // backward passes the gradient through the same mask
  Net grads{};
  const batch3<float> dys = xt::ones<float>({10, 100, 64}) * 2.0f;
  const auto dxs = tp.backward(net, dys, grads);
  for (std::size_t i = 0; i < ys.size(); ++i) ASSERT_EQ(dxs.data()[i], 2.0f * ys.data()[i]);
}

TEST(Dropout, MasksAreReproducibleFromTheSeedAndFreshPerBatch) {
  using Net = network<dense<2, 16>, dropout<16, std::ratio<1, 2>>>;
  Net net;
  rnnx_test::fill_uniform(net, 5, 0.5, 1);  // positive: a zero output means dropped
  const batch3<float> xs = xt::ones<float>({3, 4, 2});
  tape<Net> a, b, c;
  a.seed(11);
  b.seed(11);
  c.seed(12);
  const auto first = a.forward(net, xs);
  EXPECT_EQ(first, b.forward(net, xs));
  EXPECT_NE(first, c.forward(net, xs));
  EXPECT_NE(first, a.forward(net, xs));  // the next batch draws new masks
}

TEST(Dropout, ProbabilityZeroKeepsEverything) {
  using Net = network<dropout<5, std::ratio<0, 1>>>;
  Net net;
  tape<Net> tp;
  const batch3<float> xs = xt::ones<float>({2, 3, 5}) * 3.0f;
  EXPECT_EQ(tp.forward(net, xs), xs);
}

TEST(Dropout, Gradients) {
  check_all_shapes<model<lstm<3, 6>, dropout<6, std::ratio<1, 3>>, dense<6, 2>>>(31);
  check_gradients<model<gru<2, 9>, dropout<9, std::ratio<1, 2>>, gru<9, 3>>>(5, 4, 32);
}

TEST(Dropout, NamesItsProbability) {
  EXPECT_EQ((layer_name<dropout<8, std::ratio<1, 5>>>()), "dropout<8, 1/5>");
  EXPECT_EQ((layer_name<dropout<8, std::ratio<20, 100>>>()), "dropout<8, 1/5>");
  EXPECT_EQ((layer_name<dropout<8, std::ratio<123, 1000>>>()), "dropout<8, 123/1000>");
}

// ---- embedding --------------------------------------------------------------------------------

TEST(Embedding, LooksUpRowsAndStreamsTokens) {
  network<embedding<10, 5>> net;
  rnnx_test::fill_uniform(net, 6, -1, 1);
  auto s = net.initial_state();
  for (std::size_t k : {0u, 3u, 9u}) {
    const auto y = net.step(token{k}, s);
    std::size_t j = 0;
    net.layer<0>().visit_parameters([&](std::string_view, auto& p) {
      for (j = 0; j < 5; ++j) EXPECT_EQ(y[j], p.at(k, j)) << "token " << k;
    });
    EXPECT_EQ(j, 5u);
  }
  const auto outside = net.step(token{10}, s);  // step cannot report: a zero vector
  for (float v : outside) EXPECT_EQ(v, 0.0f);
}

TEST(Embedding, SequencesRejectWhatIsNotATokenId) {
  using Net = network<embedding<10, 5>, gru<5, 3>>;
  Net net;
  tape<Net> tp;
  for (float bad : {10.0f, -1.0f, 2.5f, NAN}) {
    const xt::xtensor<float, 2> xs = {{1}, {bad}};
    try {
      net.forward(xs);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("token id"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("at step 1"), std::string::npos) << e.what();
    }
    const batch3<float> batch = {{{1}, {bad}}};
    EXPECT_THROW(tp.forward(net, batch), std::invalid_argument);
  }
}

TEST(Embedding, GradientsAreSparse) {
  using Net = model<embedding<7, 5>, lstm<5, 4>, dense<4, 2>>;
  batch3<double> ids = {{{0}, {3}, {3}, {6}}, {{2}, {0}, {5}, {3}}, {{6}, {6}, {1}, {0}}};
  check_gradients<Net>(3, 4, 41, ids, /*check_inputs=*/false);
  Net net;
  rnnx_test::fill_uniform(net, 42, -0.5, 0.5);
  Net grads{};
  tape<Net> tp;
  tp.forward(net, ids);
  tp.backward(net, xt::ones<double>({3, 4, 2}), grads);
  grads.layer<0>().visit_parameters([&](std::string_view, auto& p) {
    for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(p.at(4, j), 0.0) << "token 4 never appears";
    for (std::size_t j = 0; j < 5; ++j) EXPECT_NE(p.at(3, j), 0.0);
  });
}

TEST(Embedding, InitializesAsStandardNormal) {
  auto net = std::make_unique<network<embedding<1000, 16>>>();
  initialize(*net, 3);
  double sum = 0, squares = 0;
  net->layer<0>().visit_parameters([&](std::string_view, auto& p) {
    for (std::size_t k = 0; k < 1000; ++k)
      for (std::size_t j = 0; j < 16; ++j) {
        sum += p.at(k, j);
        squares += double(p.at(k, j)) * p.at(k, j);
      }
  });
  const double mean = sum / 16000, variance = squares / 16000 - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.03);  // standard error 0.008
  EXPECT_NEAR(variance, 1.0, 0.05);
}

// ---- bidirectional ------------------------------------------------------------------------

template <class Net>
concept can_step = requires(const Net& n, typename Net::state& s,
                            std::span<const float, Net::in_size> x) {
  n.step(x, s);
};

TEST(Bidirectional, ConcatenatesTheCellRunForwardAndOverTheReversedSequence) {
  using Net = network<bidirectional<lstm<3, 5>>>;
  static_assert(!Net::streaming && network<lstm<3, 5>>::streaming);
  static_assert(!can_step<Net> && can_step<network<lstm<3, 5>>>);
  Net net;
  rnnx_test::fill_uniform(net, 51, -0.7, 0.7);
  network<lstm<3, 5>> forward, reverse;
  forward.layer<0>() = net.layer<0>().forward_cell();
  reverse.layer<0>() = net.layer<0>().reverse_cell();
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({9, 3});
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (auto& v : xs) v = dist(gen);
  const auto ys = net.forward(xs);
  const auto yf = forward.forward(xs);
  const xt::xtensor<float, 2> reversed = xt::flip(xs, 0);
  const auto yr = reverse.forward(reversed);
  ASSERT_EQ(ys.shape(1), 10u);
  for (std::size_t t = 0; t < 9; ++t)
    for (std::size_t j = 0; j < 5; ++j) {
      EXPECT_EQ(ys(t, j), yf(t, j));
      EXPECT_EQ(ys(t, 5 + j), yr(8 - t, j));
    }
}

TEST(Bidirectional, Gradients) {
  check_all_shapes<model<bidirectional<lstm<3, 4>>, dense<8, 2>>>(61);
  check_gradients<model<bidirectional<gru<2, 5>>, bidirectional<rnn<10, 3>>, dense<6, 1>>>(5, 4,
                                                                                           62);
}

TEST(Bidirectional, ParametersCarryPyTorchsReverseSuffix) {
  network<bidirectional<gru<2, 3>>> net;
  std::vector<std::string> names;
  for_each_parameter([&](std::size_t, std::string_view name, auto) { names.emplace_back(name); },
                     net);
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                             "weight_ih_reverse", "weight_hh_reverse",
                                             "bias_ih_reverse", "bias_hh_reverse"}));
  EXPECT_EQ((layer_name<bidirectional<gru<2, 3>>>()), "bidirectional<gru, 2, 3>");
}

// ---- weight files ---------------------------------------------------------------------------

TEST(NewLayers, PReluAndEluRoundTripAndNameTheirSlopes) {
  using Net =
      network<dense<3, 6, rnnx::elu>, prelu<6, 6>, lstm<6, 4>, prelu<4>, activation<4, rnnx::elu>>;
  auto a = std::make_unique<Net>();
  rnnx_test::fill_uniform(*a, 3, -1, 1);
  const std::string path = ::testing::TempDir() + "/rnnx_prelu_elu.json";
  save_weights(*a, path);
  auto b = std::make_unique<Net>();
  load_weights(*b, path);
  EXPECT_TRUE(*a == *b);
  using Shared =
      network<dense<3, 6, rnnx::elu>, prelu<6>, lstm<6, 4>, prelu<4>, activation<4, rnnx::elu>>;
  auto c = std::make_unique<Shared>();
  try {
    load_weights(*c, path);
    ADD_FAILURE() << "six slopes loaded into a one-slope prelu";
  } catch (const weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("'num_parameters'"), std::string::npos) << e.what();
  }
  using Relu =
      network<dense<3, 6, rnnx::relu>, prelu<6, 6>, lstm<6, 4>, prelu<4>, activation<4, rnnx::elu>>;
  auto d = std::make_unique<Relu>();
  try {
    load_weights(*d, path);
    ADD_FAILURE() << "an elu dense layer loaded as relu";
  } catch (const weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("elu"), std::string::npos) << e.what();
  }
}

TEST(NewLayers, SaveAndLoadRoundTrip) {
  using Net = network<embedding<12, 6>, peephole_lstm<6, 5>, dropout<5, std::ratio<1, 5>>,
                      layer_norm<5>, gru_reset_before<5, 7>, bidirectional<rnn<7, 4, rnnx::relu>>,
                      dense<8, 12, rnnx::softmax>>;
  auto a = std::make_unique<Net>();
  initialize(*a, 9);
  const std::string path = ::testing::TempDir() + "/rnnx_new_layers.json";
  save_weights(*a, path);
  auto b = std::make_unique<Net>();
  load_weights(*b, path);
  EXPECT_TRUE(*a == *b);
  using Other = network<embedding<12, 6>, peephole_lstm<6, 5>, dropout<5, std::ratio<1, 4>>,
                        layer_norm<5>, gru_reset_before<5, 7>, bidirectional<rnn<7, 4, rnnx::relu>>,
                        dense<8, 12, rnnx::softmax>>;
  auto c = std::make_unique<Other>();
  try {
    load_weights(*c, path);
    ADD_FAILURE() << "a different dropout probability loaded";
  } catch (const weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("'p'"), std::string::npos) << e.what();
  }
}

}  // namespace
