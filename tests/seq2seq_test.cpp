// rnnx::encoder_decoder: teacher-forced gradients of every part against central differences
// (double), and a small model that learns to reverse digit strings, decoded greedily and with
// a beam.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <rnnx/rnnx.hpp>
#include <rnnx/seq2seq/decoding.hpp>
#include <rnnx/seq2seq/encoder_decoder.hpp>
#include <string>
#include <vector>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

namespace {

using namespace rnnx;

template <class T>
xt::xtensor<T, 3> ids(const std::vector<std::vector<std::size_t>>& rows) {
  xt::xtensor<T, 3> x = xt::xtensor<T, 3>::from_shape({rows.size(), rows[0].size(), 1});
  for (std::size_t b = 0; b < rows.size(); ++b)
    for (std::size_t t = 0; t < rows[b].size(); ++t) x(b, t, 0) = static_cast<T>(rows[b][t]);
  return x;
}

template <class Model>
void check_seq2seq_gradients(unsigned seed) {
  auto model = std::make_unique<Model>();
  initialize(*model, seed);
  const auto source = ids<double>({{1, 4, 2, 5}, {3, 3, 0, 1}, {5, 2, 2, 4}});
  const auto target_in = ids<double>({{0, 2, 1}, {0, 5, 4}, {0, 1, 1}});
  const std::vector<std::size_t> lengths{4, 2, 3};
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1, 1);
  xt::xtensor<double, 3> w = xt::xtensor<double, 3>::from_shape({3, 3, Model::vocabulary_size});
  for (auto& v : w) v = dist(gen);
  auto loss = [&] {
    seq2seq_tape<Model> tp;
    const auto logits = tp.forward(*model, source, target_in, lengths);
    return xt::sum(logits * w)();
  };
  auto grads = std::make_unique<Model>();
  seq2seq_tape<Model> tp;
  tp.forward(*model, source, target_in, lengths);
  tp.backward(*model, w, *grads);

  std::size_t checked = 0;
  constexpr double h = 1e-6, tol = 1e-7;
  model->for_each_layer([&](auto i, auto& layer) {
    std::vector<double*> values;
    std::vector<double> analytic;
    layer.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) values.push_back(&p.at(r, c));
    });
    grads->template layer<i>().visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) analytic.push_back(p.at(r, c));
    });
    for (std::size_t k = 0; k < values.size(); ++k) {
      const double saved = *values[k];
      *values[k] = saved + h;
      const double up = loss();
      *values[k] = saved - h;
      const double down = loss();
      *values[k] = saved;
      const double numeric = (up - down) / (2 * h);
      ASSERT_NEAR(analytic[k], numeric, tol * std::max(1.0, std::abs(numeric)))
          << Model::description() << ": chain layer " << i << " value " << k;
      ++checked;
    }
  });
  EXPECT_GT(checked, 100u);
}

TEST(EncoderDecoder, GradientsOfEveryPartMatchFiniteDifferences) {
  using Encoder = basic_network<double, embedding<6, 3>, gru<3, 4>>;
  using Decoder = basic_network<double, embedding<6, 3>, gru<3, 4>>;
  check_seq2seq_gradients<encoder_decoder<Encoder, Decoder, attention<4, 4, general_score, double>,
                                          basic_network<double, dense<8, 6>>>>(1);
  using LstmEncoder = basic_network<double, embedding<6, 3>, lstm<3, 5>>;
  using LstmDecoder = basic_network<double, embedding<6, 2>, lstm<2, 5>>;
  check_seq2seq_gradients<
      encoder_decoder<LstmEncoder, LstmDecoder, attention<5, 5, additive_score<3>, double>,
                      basic_network<double, dense<10, 4, rnnx::tanh>, dense<4, 6>>>>(2);
}

// ---- learning to reverse digit strings -----------------------------------------------------

constexpr std::size_t start_token = 0, end_token = 1, first_digit = 2, vocabulary = 12;
using Encoder = network<embedding<vocabulary, 16>, gru<16, 32>>;
using Decoder = network<embedding<vocabulary, 16>, gru<16, 32>>;
using Reverser = encoder_decoder<Encoder, Decoder, attention<32, 32, general_score>,
                                 network<dense<64, 32, rnnx::tanh>, dense<32, vocabulary>>>;

std::vector<std::size_t> random_digits(std::mt19937& gen, std::size_t length) {
  std::uniform_int_distribution<std::size_t> digit(first_digit, vocabulary - 1);
  std::vector<std::size_t> d(length);
  for (auto& x : d) x = digit(gen);
  return d;
}

TEST(EncoderDecoder, LearnsToReverseDigitStrings) {
#ifdef RNNX_SANITIZED_BUILD
  constexpr std::size_t updates = 60;  // -O0 + sanitizers: check that learning starts
#else
  constexpr std::size_t updates = 1500;
#endif
  constexpr std::size_t batch = 32;
  auto model = std::make_unique<Reverser>();
  initialize(*model, 7);
  auto grads = std::make_unique<Reverser>();
  adam optimizer(*model, {.lr = 5e-3});
  std::mt19937 gen(11);
  std::uniform_int_distribution<std::size_t> length_of(3, 6);
  seq2seq_tape<Reverser> tp;
  double first_loss = 0, last_loss = 0;
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t update = 0; update < updates; ++update) {
    const std::size_t length = length_of(gen);  // one length per batch: no padding
    std::vector<std::vector<std::size_t>> source, target_in;
    xt::xtensor<std::size_t, 2> target =
        xt::xtensor<std::size_t, 2>::from_shape({batch, length + 1});
    for (std::size_t b = 0; b < batch; ++b) {
      const auto digits = random_digits(gen, length);
      source.push_back(digits);
      std::vector<std::size_t> reversed(digits.rbegin(), digits.rend());
      target_in.push_back({start_token});
      for (std::size_t t = 0; t < length; ++t) {
        target_in.back().push_back(reversed[t]);
        target(b, t) = reversed[t];
      }
      target(b, length) = end_token;
    }
    const auto logits = tp.forward(*model, ids<float>(source), ids<float>(target_in));
    xt::xtensor<float, 3> dlogits;
    const double loss = cross_entropy{}(logits, target, dlogits);
    zero(*grads);
    tp.backward(*model, dlogits, *grads);
    clip_grad_norm(*grads, 5.0);
    optimizer.step(*model, *grads);
    if (update < 10) first_loss += loss / 10;
    if (update >= updates - 10) last_loss += loss / 10;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[ seq2seq  ] " << updates << " updates in " << seconds << " s, loss " << first_loss
            << " -> " << last_loss << "\n";
#ifdef RNNX_SANITIZED_BUILD
  EXPECT_LT(last_loss, 0.9 * first_loss);
#else
  EXPECT_LT(last_loss, 0.05);
  std::size_t greedy_right = 0, beam_right = 0, tested = 200, on_diagonal = 0, outputs = 0;
  std::mt19937 held_out(99);  // a different stream from training's
  for (std::size_t i = 0; i < tested; ++i) {
    const auto digits = random_digits(held_out, length_of(held_out));
    std::vector<std::size_t> expected(digits.rbegin(), digits.rend());
    expected.push_back(end_token);
    xt::xtensor<float, 2> source = xt::xtensor<float, 2>::from_shape({digits.size(), 1});
    for (std::size_t t = 0; t < digits.size(); ++t) source(t, 0) = float(digits[t]);
    const auto greedy = greedy_decode(*model, source, start_token, end_token, 10);
    const auto beam = beam_decode(*model, source, start_token, end_token, 10, 4);
    greedy_right += greedy.tokens == expected;
    beam_right += beam.tokens == expected;
    EXPECT_GE(beam.log_probability, greedy.log_probability - 1e-4f);
    ASSERT_EQ(greedy.attention.shape(0), greedy.tokens.size());
    ASSERT_EQ(greedy.attention.shape(1), digits.size());
    // output t copies input n - 1 - t: the attention should mostly look there
    for (std::size_t t = 0; t < digits.size(); ++t) {
      const auto row = xt::view(greedy.attention, t, xt::all());
      on_diagonal += static_cast<std::size_t>(xt::argmax(row)()) == digits.size() - 1 - t;
      ++outputs;
    }
  }
  const double greedy_accuracy = double(greedy_right) / tested;
  const double beam_accuracy = double(beam_right) / tested;
  std::cout << "[ seq2seq  ] exact match on " << tested << " held-out strings: greedy "
            << greedy_accuracy << ", beam(4) " << beam_accuracy << "; attention peaks on the "
            << "reversed position " << on_diagonal << " of " << outputs << "\n";
  EXPECT_GE(double(on_diagonal) / double(outputs), 0.9);
  EXPECT_GE(greedy_accuracy, 0.95);
  EXPECT_GE(beam_accuracy, 0.95);
#endif
}

TEST(EncoderDecoder, WeightsSaveAndLoadAsOneChainOfLayers) {
  auto a = std::make_unique<Reverser>();
  initialize(*a, 3);
  const std::string path = ::testing::TempDir() + "/rnnx_seq2seq.json";
  save_weights(*a, path);
  auto b = std::make_unique<Reverser>();
  load_weights(*b, path);
  EXPECT_TRUE(*a == *b);
  using Additive = encoder_decoder<Encoder, Decoder, attention<32, 32, additive_score<16>>,
                                   network<dense<64, 32, rnnx::tanh>, dense<32, vocabulary>>>;
  auto c = std::make_unique<Additive>();
  try {
    load_weights(*c, path);
    ADD_FAILURE() << "loaded general-score weights into an additive attention";
  } catch (const weights_error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 4 (attention"), std::string::npos) << e.what();
  }
}

TEST(EncoderDecoder, DecodingRejectsBadArguments) {
  auto model = std::make_unique<Reverser>();
  const xt::xtensor<float, 2> source = {{2}, {3}};
  EXPECT_THROW(greedy_decode(*model, source, start_token, vocabulary, 5), std::invalid_argument);
  EXPECT_THROW(greedy_decode(*model, source, start_token, end_token, 0), std::invalid_argument);
  EXPECT_THROW(beam_decode(*model, source, start_token, end_token, 5, 0), std::invalid_argument);
  seq2seq_tape<Reverser> tp;
  EXPECT_THROW(tp.forward(*model, ids<float>({{2, 3}}), ids<float>({{0, 3}}), {3}),
               std::invalid_argument);
}

}  // namespace
