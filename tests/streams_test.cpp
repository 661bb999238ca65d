// Many streams through one model: network::step over N states gives every stream the bits of
// its own single-stream step (the multi-stream kernels form each sum in the single kernels'
// order), for every cell, stacks, both scalar types and group sizes that do not divide N.

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <rnnx/rnnx.hpp>
#include <vector>

#include "counting_allocator.hpp"
#include "random_parameters.hpp"

namespace {

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// Runs N streams for `steps` steps both ways (N-stream step; N single steps on copies of
/// the states) from random weights and random states' inputs, and compares every output and
/// every final state bit for bit.
template <class Net, std::size_t N>
void expect_streams_match_single(std::size_t steps, unsigned seed) {
  using T = typename Net::scalar;
  auto model = std::make_unique<Net>();
  rnnx_test::fill_uniform(*model, seed, -0.5, 0.5);
  std::mt19937 gen(seed + 1);
  std::uniform_real_distribution<double> dist(-1.5, 1.5);
  std::array<typename Net::state, N> together{}, alone{};
  std::array<T, N * Net::in_size> x;
  std::array<T, N * Net::out_size> y;
  std::size_t compared = 0;
  for (std::size_t t = 0; t < steps; ++t) {
    for (auto& v : x) v = static_cast<T>(dist(gen));
    model->step(std::span<const T, N * Net::in_size>(x), together, std::span(y));
    for (std::size_t k = 0; k < N; ++k) {
      const auto single = model->step(
          std::span<const T, Net::in_size>(x.data() + k * Net::in_size, Net::in_size), alone[k]);
      for (std::size_t j = 0; j < Net::out_size; ++j, ++compared)
        ASSERT_TRUE(same_bits(single[j], y[k * Net::out_size + j]))
            << Net::description() << ", " << N << " streams: stream " << k << " output " << j
            << " at step " << t << ": " << y[k * Net::out_size + j] << " vs single " << single[j];
    }
  }
  for (std::size_t k = 0; k < N; ++k)
    EXPECT_TRUE(together[k] == alone[k]) << Net::description() << ": final state of stream " << k;
  EXPECT_EQ(compared, steps * N * Net::out_size);
}

template <class Net>
void expect_all_stream_counts(std::size_t steps, unsigned seed) {
  expect_streams_match_single<Net, 1>(steps, seed);
  expect_streams_match_single<Net, 2>(steps, seed + 10);
  expect_streams_match_single<Net, 3>(steps, seed + 20);
  expect_streams_match_single<Net, 4>(steps, seed + 30);
  expect_streams_match_single<Net, 8>(steps, seed + 40);
}

#ifdef RNNX_SANITIZED_BUILD
constexpr std::size_t steps = 12;
#else
constexpr std::size_t steps = 100;
#endif

TEST(Streams, LstmMatchesSingleStreamBitForBit) {
  expect_all_stream_counts<rnnx::network<rnnx::lstm<1, 8>, rnnx::dense<8, 1>>>(steps, 1);
  expect_all_stream_counts<rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>>(steps, 2);
  expect_all_stream_counts<rnnx::network<rnnx::lstm<3, 20>, rnnx::dense<20, 2>>>(steps, 3);
  expect_all_stream_counts<rnnx::network<rnnx::lstm<1, 128>, rnnx::dense<128, 1>>>(steps, 4);
  expect_all_stream_counts<rnnx::network<rnnx::peephole_lstm<2, 24>, rnnx::dense<24, 1>>>(steps, 5);
}

TEST(Streams, GruAndRnnMatchSingleStreamBitForBit) {
  expect_all_stream_counts<rnnx::network<rnnx::gru<1, 16>, rnnx::dense<16, 1>>>(steps, 6);
  expect_all_stream_counts<rnnx::network<rnnx::gru<2, 64>, rnnx::dense<64, 1>>>(steps, 7);
  expect_all_stream_counts<rnnx::network<rnnx::rnn<1, 40>, rnnx::dense<40, 3>>>(steps, 8);
  expect_all_stream_counts<rnnx::network<rnnx::rnn<2, 8, rnnx::relu>, rnnx::dense<8, 1>>>(steps, 9);
  // No multi-stream code of its own: the network falls back to one step per stream.
  expect_all_stream_counts<rnnx::network<rnnx::gru_reset_before<1, 16>, rnnx::dense<16, 1>>>(steps,
                                                                                             10);
}

TEST(Streams, StacksAndDoubleMatchSingleStreamBitForBit) {
  // A wide column-major dense head, layer norm and an activation between the cells.
  expect_all_stream_counts<
      rnnx::network<rnnx::lstm<1, 32>, rnnx::layer_norm<32>, rnnx::gru<32, 48>,
                    rnnx::activation<48, rnnx::tanh>, rnnx::dense<48, 24, rnnx::softmax>>>(steps,
                                                                                           11);
  expect_all_stream_counts<
      rnnx::basic_network<double, rnnx::lstm<2, 16>, rnnx::gru<16, 24>, rnnx::dense<24, 1>>>(steps,
                                                                                             12);
}

TEST(Streams, RunTimeCountMatchesSingleStreams) {
  using Net = rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>;
  auto model = std::make_unique<Net>();
  rnnx_test::fill_uniform(*model, 13, -0.5, 0.5);
  constexpr std::size_t streams = 15;  // groups of 8, 4, 2 and 1
  std::vector<Net::state> together(streams), alone(streams);
  std::vector<float> x(streams), y(streams);
  for (std::size_t t = 0; t < 50; ++t) {
    for (std::size_t k = 0; k < streams; ++k) x[k] = std::sin(0.1f * float(t) + float(k));
    ASSERT_TRUE(model->step(std::span<const float>(x), std::span(together), std::span(y)));
    for (std::size_t k = 0; k < streams; ++k)
      ASSERT_TRUE(same_bits(model->step(x[k], alone[k])[0], y[k])) << "stream " << k;
  }
}

TEST(Streams, RunTimeCountRejectsMismatchedSizes) {
  using Net = rnnx::network<rnnx::gru<2, 8>, rnnx::dense<8, 1>>;
  Net model;
  std::vector<Net::state> s(3);
  std::vector<float> x(6), y(3), short_x(5), long_y(4);
  const auto before = s;
  EXPECT_TRUE(model.step(std::span<const float>(x), std::span(s), std::span(y)));
  EXPECT_FALSE(model.step(std::span<const float>(short_x), std::span(s), std::span(y)));
  EXPECT_FALSE(model.step(std::span<const float>(x), std::span(s), std::span(long_y)));
}

TEST(Streams, StepOfManyStreamsAllocatesNothing) {
  using Net = rnnx::network<rnnx::lstm<1, 64>, rnnx::dense<64, 1>>;
  auto model = std::make_unique<Net>();
  auto states = std::make_unique<std::array<Net::state, 8>>();
  std::vector<Net::state> more(11);
  std::array<float, 8> x{}, y{};
  std::vector<float> xs(11, 0.25f), ys(11);
  rnnx_test::allocations = 0;
  rnnx_test::counting = true;
  for (int t = 0; t < 100; ++t) {
    x[t % 8] = 0.01f * float(t);
    model->step(std::span<const float, 8>(x), *states, std::span(y));
    const bool ran = model->step(std::span<const float>(xs), std::span(more), std::span(ys));
    if (!ran) break;
  }
  rnnx_test::counting = false;
  EXPECT_EQ(rnnx_test::allocations, 0);
}

}  // namespace
