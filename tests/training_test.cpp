// The training loop (train/fit.hpp) and truncated BPTT: learning real tasks, state carried
// across chunks, reproducibility, and the errors that stop training.

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/fit.hpp>
#include <rnnx/train/tape.hpp>
#include <sstream>

#include "random_parameters.hpp"

namespace {

using namespace rnnx;

/// Next-sample prediction of sines with random frequency and phase: inputs x_t, targets x_{t+1}.
template <class T>
std::pair<xt::xtensor<T, 3>, xt::xtensor<T, 3>> sine_task(std::size_t n, std::size_t steps,
                                                          unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> freq(0.05, 0.2), phase(0, 2 * std::numbers::pi);
  auto xs = xt::xtensor<T, 3>::from_shape({n, steps, 1});
  auto ys = xt::xtensor<T, 3>::from_shape({n, steps, 1});
  for (std::size_t i = 0; i < n; ++i) {
    const double w = freq(gen), p = phase(gen);
    for (std::size_t t = 0; t < steps; ++t) {
      xs(i, t, 0) = static_cast<T>(std::sin(w * double(t) + p));
      ys(i, t, 0) = static_cast<T>(std::sin(w * double(t + 1) + p));
    }
  }
  return {xs, ys};
}

TEST(Fit, LstmLearnsToPredictSines) {
  using Net = network<lstm<1, 16>, dense<16, 1>>;
  auto [xs, ys] = sine_task<float>(64, 40, 1);
  auto model = std::make_unique<Net>();
  initialize(*model, 3);
  adam opt(*model, {.lr = 1e-2});
  std::ostringstream progress;
  const auto history =
      fit(*model, opt, mse{}, xs, ys, {.epochs = 40, .batch_size = 16, .progress = &progress});
  ASSERT_EQ(history.size(), 40u);
  EXPECT_EQ(history.back().updates, 4u);
  // Measured here: 0.49 -> 0.0019 (x250); the bound leaves room for other compilers' rounding.
  EXPECT_LT(history.back().loss, history.front().loss / 50)
      << "first " << history.front().loss << " last " << history.back().loss;
  EXPECT_NE(progress.str().find("epoch 40/40  loss "), std::string::npos) << progress.str();
  std::cout << "[ training ] sine: loss " << history.front().loss << " -> " << history.back().loss
            << "\n";

  // Held-out sequences: the model generalises, not memorises.
  auto [test_xs, test_ys] = sine_task<float>(16, 40, 2);
  tape<Net> tp;
  xt::xtensor<float, 3> dys;
  EXPECT_LT(mse{}(tp.forward(*model, test_xs), test_ys, dys), 10 * history.back().loss);
}

TEST(Fit, GruClassifiesSequencesManyToOne) {
  // Class = whether the first or the second half of the sequence has the larger mean.
  using Net = network<gru<1, 8>, dense<8, 2>>;
  constexpr std::size_t n = 128, steps = 20;
  std::mt19937 gen(5);
  std::normal_distribution<float> noise(0, 1);
  auto xs = xt::xtensor<float, 3>::from_shape({n, steps, 1});
  auto labels = xt::xtensor<std::size_t, 1>::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) {
    labels(i) = i % 2;
    for (std::size_t t = 0; t < steps; ++t)
      xs(i, t, 0) = 0.5f * noise(gen) + ((t < steps / 2) == (labels(i) == 0) ? 0.5f : -0.5f);
  }
  auto model = std::make_unique<Net>();
  initialize(*model, 11);
  adam opt(*model, {.lr = 2e-2});
  const auto history =
      fit(*model, opt, cross_entropy{}, xs, labels, {.epochs = 30, .batch_size = 32});
  EXPECT_LT(history.back().loss, 0.1) << "first " << history.front().loss;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    xt::xtensor<float, 2> seq = xt::xtensor<float, 2>::from_shape({steps, 1});
    for (std::size_t t = 0; t < steps; ++t) seq(t, 0) = xs(i, t, 0);
    const auto logits = model->forward_last(seq);
    correct += (logits(1) > logits(0)) == (labels(i) == 1);
  }
  EXPECT_GE(correct, n * 95 / 100);
}

TEST(Fit, SameSeedSameModelAndTruncationOfWholeLengthIsFullBptt) {
  using Net = network<lstm<1, 6>, dense<6, 1>>;
  auto [xs, ys] = sine_task<float>(20, 12, 3);
  auto run = [&](std::size_t truncation, std::uint64_t seed) {
    auto model = std::make_unique<Net>();
    initialize(*model, 1);
    sgd opt(*model, {.lr = 0.1, .momentum = 0.9});
    fit(*model, opt, mse{}, xs, ys,
        {.epochs = 3, .batch_size = 8, .truncation = truncation, .seed = seed});
    return model;
  };
  EXPECT_TRUE(*run(0, 7) == *run(0, 7));
  EXPECT_TRUE(*run(0, 7) == *run(12, 7));
  EXPECT_FALSE(*run(0, 7) == *run(0, 8));  // another shuffle
  EXPECT_FALSE(*run(0, 7) == *run(4, 7));  // three updates per batch instead of one
}

TEST(TruncatedBptt, ChunksWithCarriedStatesReproduceTheWholeSequence) {
  using Net = network<lstm<2, 7>, gru<7, 5>, dense<5, 3>>;
  Net model;
  rnnx_test::fill_uniform(model, 4, -0.5, 0.5);
  xt::xtensor<float, 3> xs = xt::xtensor<float, 3>::from_shape({3, 10, 2});
  std::mt19937 gen(9);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (auto& v : xs) v = dist(gen);
  tape<Net> whole;
  const auto expected = whole.forward(model, xs);

  std::vector<Net::state> states(3, model.initial_state());
  tape<Net> chunked;
  for (std::size_t t0 = 0; t0 < 10; t0 += 4) {
    const std::size_t len = std::min<std::size_t>(4, 10 - t0);
    xt::xtensor<float, 3> part = xt::xtensor<float, 3>::from_shape({3, len, 2});
    for (std::size_t b = 0; b < 3; ++b)
      for (std::size_t t = 0; t < len; ++t)
        for (std::size_t j = 0; j < 2; ++j) part(b, t, j) = xs(b, t0 + t, j);
    const auto ys = chunked.forward(model, part, states);
    for (std::size_t b = 0; b < 3; ++b)
      for (std::size_t t = 0; t < len; ++t)
        for (std::size_t j = 0; j < 3; ++j)
          ASSERT_EQ(ys(b, t, j), expected(b, t0 + t, j)) << b << " " << t0 + t << " " << j;
  }
  // The carried state is the streaming state: step() continues exactly from it.
  for (std::size_t b = 0; b < 3; ++b) {
    auto s = model.initial_state();
    for (std::size_t t = 0; t < 10; ++t) {
      const std::array<float, 2> x{xs(b, t, 0), xs(b, t, 1)};
      model.step(x, s);
    }
    EXPECT_TRUE(s == states[b]) << "sequence " << b;
  }
}

TEST(TruncatedBptt, GradientStopsAtTheChunkBoundary) {
  // The gradient of a chunk's loss treats the carried-in state as a constant: finite
  // differences that perturb a weight only inside the chunk (from the same saved state)
  // must match it, in double.
  using Net = basic_network<double, lstm<2, 4>, dense<4, 1>>;
  Net model;
  rnnx_test::fill_uniform(model, 8, -0.6, 0.6);
  xt::xtensor<double, 3> first = xt::xtensor<double, 3>::from_shape({2, 5, 2});
  xt::xtensor<double, 3> second = xt::xtensor<double, 3>::from_shape({2, 4, 2});
  std::mt19937 gen(10);
  std::uniform_real_distribution<double> dist(-1, 1);
  for (auto& v : first) v = dist(gen);
  for (auto& v : second) v = dist(gen);
  std::vector<Net::state> carried(2, model.initial_state());
  tape<Net> tp;
  tp.forward(model, first, carried);

  auto chunk_loss = [&](const Net& m) {
    auto states = carried;
    tape<Net> t;
    const auto ys = t.forward(m, second, states);
    double sum = 0;
    for (auto v : ys) sum += v * v;
    return sum;
  };
  auto states = carried;
  const auto ys = tp.forward(model, second, states);
  Net grads{};
  tp.backward(model, xt::xtensor<double, 3>(2.0 * ys), grads);
  int checked = 0;
  model.layer<0>().visit_parameters([&](std::string_view name, auto& p) {
    if (name != "weight_hh") return;
    grads.layer<0>().visit_parameters([&](std::string_view gname, auto& g) {
      if (gname != "weight_hh") return;
      for (std::size_t r = 0; r < p.rows; r += 3)
        for (std::size_t c = 0; c < p.cols; ++c) {
          const double saved = p.at(r, c);
          p.at(r, c) = saved + 1e-6;
          const double up = chunk_loss(model);
          p.at(r, c) = saved - 1e-6;
          const double down = chunk_loss(model);
          p.at(r, c) = saved;
          EXPECT_NEAR(g.at(r, c), (up - down) / 2e-6, 1e-7) << r << ", " << c;
          ++checked;
        }
    });
  });
  EXPECT_GT(checked, 0);
}

TEST(Fit, StopsWithAClearErrorWhenTheLossDiverges) {
  using Net = network<lstm<1, 4>, dense<4, 1>>;
  auto [xs, ys] = sine_task<float>(8, 10, 4);
  auto model = std::make_unique<Net>();
  initialize(*model, 2);
  sgd opt(*model, {.lr = 1e30});
  try {
    fit(*model, opt, mse{}, xs, ys, {.epochs = 5, .batch_size = 4});
    FAIL() << "training with lr 1e30 did not stop";
  } catch (const training_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("not finite"), std::string::npos) << message;
    EXPECT_NE(message.find("epoch 1, batch "), std::string::npos) << message;
  }
}

// After a divergence fit restores the model and optimiser from before the update that led
// there: the same bits as a hand-written loop's copy from before that update.
TEST(Fit, RestoresTheModelFromBeforeTheDivergingUpdate) {
  using Net = network<lstm<1, 4>, dense<4, 1>>;
  auto [xs, ys] = sine_task<float>(8, 10, 4);
  auto initial = std::make_unique<Net>();
  initialize(*initial, 2);
  const float lr = 1e15f;

  // The hand-written loop: one batch of all 8 sequences per epoch, in order.
  auto expected = std::make_unique<Net>(*initial);
  auto before = std::make_unique<Net>(*initial);
  auto grads = std::make_unique<Net>();
  sgd reference_opt(*expected, {.lr = lr});
  tape<Net> tp;
  xt::xtensor<float, 3> dys;
  std::size_t updates = 0;
  for (std::size_t epoch = 0; epoch < 50; ++epoch) {
    const auto out = tp.forward(*expected, xs);
    if (!std::isfinite(mse{}(out, ys, dys))) break;
    zero(*grads);
    tp.backward_parameters(*expected, dys, *grads);
    if (!rnnx::detail::first_bad_gradient(*grads).empty()) break;
    *before = *expected;
    reference_opt.step(*expected, *grads);
    ++updates;
  }
  ASSERT_GE(updates, 1u) << "the run must diverge after an update";
  ASSERT_LT(updates, 50u) << "the run must diverge";

  auto model = std::make_unique<Net>(*initial);
  sgd opt(*model, {.lr = lr});
  try {
    fit(*model, opt, mse{}, xs, ys, {.epochs = 50, .batch_size = 8, .shuffle = false});
    FAIL() << "did not diverge";
  } catch (const training_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("; the model and the optimiser are restored to before the update at "
                           "epoch " + std::to_string(updates) + ", batch 0"),
              std::string::npos)
        << message;
  }
  EXPECT_TRUE(*model == *before);

  // Off: the model keeps the diverging update's weights, and the message says so.
  auto kept = std::make_unique<Net>(*initial);
  sgd kept_opt(*kept, {.lr = lr});
  try {
    fit(*kept, kept_opt, mse{}, xs, ys,
        {.epochs = 50, .batch_size = 8, .shuffle = false, .restore_on_divergence = false});
    FAIL() << "did not diverge";
  } catch (const training_error& e) {
    EXPECT_NE(std::string(e.what()).find("(restore_on_divergence is off)"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(*kept == *expected);
}

TEST(Fit, RejectsMismatchedData) {
  using Net = network<lstm<1, 4>, dense<4, 2>>;
  Net model;
  adam opt(model);
  xt::xtensor<float, 3> xs = xt::zeros<float>({4, 5, 1});
  EXPECT_THROW(fit(model, opt, mse{}, xs, xt::xtensor<float, 3>(xt::zeros<float>({3, 5, 2}))),
               std::invalid_argument);
  EXPECT_THROW(fit(model, opt, mse{}, xs, xt::xtensor<float, 3>(xt::zeros<float>({4, 6, 2}))),
               std::invalid_argument);
  EXPECT_THROW(fit(model, opt, mse{}, xs, xt::xtensor<float, 2>(xt::zeros<float>({4, 1}))),
               std::invalid_argument);
  EXPECT_THROW(fit(model, opt, mse{}, xt::xtensor<float, 3>(xt::zeros<float>({0, 5, 1})),
                   xt::xtensor<float, 2>(xt::zeros<float>({0, 2}))),
               std::invalid_argument);
  EXPECT_THROW(fit(model, opt, mse{}, xs, xt::xtensor<float, 2>(xt::zeros<float>({4, 2})),
                   {.batch_size = 0}),
               std::invalid_argument);
}

TEST(Tape, ReportsMisuse) {
  using Net = network<gru<2, 3>, dense<3, 1>>;
  Net model, grads;
  tape<Net> tp;
  xt::xtensor<float, 3> dys = xt::zeros<float>({1, 2, 1});
  EXPECT_THROW(tp.backward(model, dys, grads), std::logic_error);
  EXPECT_THROW(tp.forward(model, xt::xtensor<float, 3>(xt::zeros<float>({1, 2, 3}))),
               std::invalid_argument);
  EXPECT_THROW(tp.forward(model, xt::xtensor<float, 3>(xt::zeros<float>({1, 0, 2}))),
               std::invalid_argument);
  xt::xtensor<float, 3> bad = xt::zeros<float>({1, 2, 2});
  bad(0, 1, 1) = std::nanf("");
  try {
    tp.forward(model, bad);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sequence 0, step 1, feature 1"), std::string::npos)
        << e.what();
  }
  tp.forward(model, xt::xtensor<float, 3>(xt::zeros<float>({1, 2, 2})));
  EXPECT_THROW(tp.backward(model, xt::xtensor<float, 3>(xt::zeros<float>({1, 3, 1})), grads),
               std::invalid_argument);
  tp.backward(model, dys, grads);
  EXPECT_THROW(tp.backward(model, dys, grads), std::logic_error);  // the recording is consumed
  std::vector<Net::state> states(2);
  EXPECT_THROW(tp.forward(model, xt::xtensor<float, 3>(xt::zeros<float>({1, 2, 2})), states),
               std::invalid_argument);
}

}  // namespace

namespace {

TEST(Tape, BackwardParametersGivesTheSameGradientsWithoutInputGradients) {
  using Net = rnnx::network<rnnx::gru<3, 9>, rnnx::lstm<9, 5>, rnnx::dense<5, 2>>;
  Net model;
  rnnx_test::fill_uniform(model, 12, -0.5, 0.5);
  xt::xtensor<float, 3> xs = xt::xtensor<float, 3>::from_shape({6, 7, 3});
  xt::xtensor<float, 3> dys = xt::xtensor<float, 3>::from_shape({6, 7, 2});
  std::mt19937 gen(13);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (auto& v : xs) v = dist(gen);
  for (auto& v : dys) v = dist(gen);
  rnnx::tape<Net> tp;
  Net with_inputs{}, without{};
  tp.forward(model, xs);
  tp.backward(model, dys, with_inputs);
  tp.forward(model, xs);
  tp.backward_parameters(model, dys, without);
  EXPECT_TRUE(with_inputs == without);
  EXPECT_FALSE(with_inputs == Net{});
}

}  // namespace
