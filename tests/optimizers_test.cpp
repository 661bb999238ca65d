// Optimisers against straightforward scalar implementations of torch.optim's formulas written
// here, over steps with changing gradients; padding stays zero; option checks. Also gradient
// clipping and PyTorch-style initialisation.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <rnnx/layers/dense.hpp>
#include <rnnx/layers/gru.hpp>
#include <rnnx/layers/lstm.hpp>
#include <rnnx/layers/rnn.hpp>
#include <rnnx/network.hpp>
#include <rnnx/train/clipping.hpp>
#include <rnnx/train/initialization.hpp>
#include <rnnx/train/optimizers.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "random_parameters.hpp"

namespace {

using Net = rnnx::basic_network<double, rnnx::lstm<2, 5>, rnnx::dense<5, 1>>;
using FloatNet = rnnx::network<rnnx::gru<3, 7>, rnnx::dense<7, 2, rnnx::tanh>>;
using vec = std::vector<double>;

// --- helpers: the logical values of a model, in PyTorch order --------------------------------

template <class Model>
vec logical_values(const Model& model) {
  vec values;
  model.for_each_layer([&](auto, const auto& layer) {
    layer.visit_parameters([&](std::string_view, const auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) values.push_back(p.at(r, c));
    });
  });
  return values;
}

template <class Model>
void set_logical_values(Model& model, const vec& values) {
  std::size_t i = 0;
  model.for_each_layer([&](auto, auto& layer) {
    layer.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c)
          p.at(r, c) = static_cast<typename Model::scalar>(values.at(i++));
    });
  });
  ASSERT_EQ(i, values.size());
}

/// Every stored element outside the logical ones is exactly zero.
template <class Model>
::testing::AssertionResult padding_is_zero(const Model& model) {
  using T = typename Model::scalar;
  auto mask = std::make_unique<Model>();
  set_logical_values(*mask, vec(logical_values(*mask).size(), 1.0));
  std::size_t padding = 0, nonzero = 0;
  rnnx::for_each_parameter(
      [&](std::size_t, std::string_view, std::span<const T> m, std::span<const T> x) {
        for (std::size_t i = 0; i < m.size(); ++i)
          if (m[i] == 0) {
            ++padding;
            nonzero += x[i] != 0;
          }
      },
      *mask, model);
  if (padding == 0) return ::testing::AssertionFailure() << "the model has no padding to check";
  if (nonzero != 0)
    return ::testing::AssertionFailure()
           << nonzero << " of " << padding << " padding elements are not zero";
  return ::testing::AssertionSuccess();
}

/// Gradients that change every step, in magnitude too (so AMSGrad's maximum matters), with
/// some exact zeros.
vec gradient_at(std::size_t step, std::size_t n) {
  vec g(n);
  const double scale = step % 5 == 0 ? 3.0 : (step < 10 ? 0.5 : 0.05);
  for (std::size_t i = 0; i < n; ++i)
    g[i] =
        (i + step) % 7 == 0 ? 0.0 : scale * std::sin(0.37 * double(i) + 1.3 * double(step) + 0.2);
  return g;
}

// --- reference implementations: torch.optim's single-tensor update, one scalar at a time -------

struct sgd_reference {
  rnnx::sgd_options o;
  vec buf{};
  bool first = true;
  void step(vec& p, const vec& grad) {
    if (buf.empty()) buf.assign(p.size(), 0.0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = grad[i] + o.weight_decay * p[i];
      if (o.momentum != 0) {
        buf[i] = first ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
        d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
      }
      p[i] -= o.lr * d;
    }
    first = false;
  }
};

struct adam_reference {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, decoupled;
  vec m{}, v{}, v_max{};
  int t = 0;
  void step(vec& p, const vec& grad) {
    if (m.empty()) m = v = v_max = vec(p.size(), 0.0);
    ++t;
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grad[i];
      if (decoupled)
        p[i] -= lr * weight_decay * p[i];
      else
        g += weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      v_max[i] = std::max(v_max[i], v[i]);  // torch keeps the maximum of the raw second moment
      const double m_hat = m[i] / (1 - std::pow(beta1, t));
      const double v_hat = (amsgrad ? v_max[i] : v[i]) / (1 - std::pow(beta2, t));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

struct rmsprop_reference {
  rnnx::rmsprop_options o;
  vec square{}, average{}, buf{};
  void step(vec& p, const vec& grad) {
    if (square.empty()) square = average = buf = vec(p.size(), 0.0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + o.weight_decay * p[i];
      square[i] = o.alpha * square[i] + (1 - o.alpha) * g * g;
      double variance = square[i];
      if (o.centered) {
        average[i] = o.alpha * average[i] + (1 - o.alpha) * g;
        variance -= average[i] * average[i];
      }
      const double scaled = g / (std::sqrt(variance) + o.eps);
      if (o.momentum > 0) {
        buf[i] = o.momentum * buf[i] + scaled;
        p[i] -= o.lr * buf[i];
      } else {
        p[i] -= o.lr * scaled;
      }
    }
  }
};

struct adagrad_reference {
  rnnx::adagrad_options o;
  vec sum{};
  int t = 0;
  void step(vec& p, const vec& grad) {
    if (sum.empty()) sum.assign(p.size(), o.initial_accumulator_value);
    ++t;
    const double clr = o.lr / (1 + (t - 1) * o.lr_decay);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + o.weight_decay * p[i];
      sum[i] += g * g;
      p[i] -= clr * g / (std::sqrt(sum[i]) + o.eps);
    }
  }
};

/// Runs `opt` on a random Net and `reference` on its values for `steps` steps with the same
/// gradients, comparing after every step.
template <class Optimizer, class Reference>
void expect_matches_reference(Optimizer& opt, Reference reference, std::size_t steps = 20) {
  auto model = std::make_unique<Net>();
  auto grads = std::make_unique<Net>();
  rnnx_test::fill_uniform(*model, 11, -0.5, 0.5);
  vec p = logical_values(*model);
  double largest_change = 0;
  const vec start = p;
  for (std::size_t k = 0; k < steps; ++k) {
    const vec g = gradient_at(k, p.size());
    set_logical_values(*grads, g);
    opt.step(*model, *grads);
    reference.step(p, g);
    const vec got = logical_values(*model);
    for (std::size_t i = 0; i < p.size(); ++i)
      ASSERT_NEAR(got[i], p[i], 1e-12 * std::max(1.0, std::abs(p[i])))
          << "step " << k + 1 << ", element " << i;
    ASSERT_TRUE(padding_is_zero(*model)) << "step " << k + 1;
  }
  for (std::size_t i = 0; i < p.size(); ++i)
    largest_change = std::max(largest_change, std::abs(p[i] - start[i]));
  EXPECT_GT(largest_change, 1e-3) << "the parameters barely moved: a weak test";
  EXPECT_EQ(opt.steps(), steps);
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

const double nan = std::numeric_limits<double>::quiet_NaN();

// --- SGD -----------------------------------------------------------------------------------------

TEST(Sgd, MatchesReference) {
  const rnnx::sgd_options configs[] = {
      {.lr = 0.1},
      {.lr = 0.05, .momentum = 0.9},
      {.lr = 0.05, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01},
      {.lr = 0.02, .momentum = 0.8, .weight_decay = 0.05, .nesterov = true},
  };
  const Net model;
  for (const auto& o : configs) {
    SCOPED_TRACE("momentum " + std::to_string(o.momentum) + ", nesterov " +
                 std::to_string(o.nesterov));
    rnnx::sgd opt(model, o);
    expect_matches_reference(opt, sgd_reference{o});
  }
}

TEST(Sgd, DefaultsAndInvalidOptions) {
  const Net model;
  rnnx::sgd opt(model);
  static_assert(std::is_same_v<decltype(opt), rnnx::sgd<Net>>);
  EXPECT_EQ(opt.options().lr, 1e-3);
  EXPECT_EQ(opt.momentum_buffer(), nullptr);
  expect_invalid([&] { rnnx::sgd o(model, {.lr = -0.1}); },
                 "rnnx::sgd: invalid lr = -0.1 (must be >= 0)");
  expect_invalid([&] { rnnx::sgd o(model, {.lr = nan}); }, "rnnx::sgd: invalid lr = nan");
  expect_invalid([&] { rnnx::sgd o(model, {.momentum = -1}); }, "invalid momentum = -1");
  expect_invalid([&] { rnnx::sgd o(model, {.weight_decay = -1e-3}); },
                 "invalid weight_decay = -0.001");
  expect_invalid([&] { rnnx::sgd o(model, {.nesterov = true}); },
                 "invalid momentum = 0 (nesterov needs momentum > 0)");
  expect_invalid([&] { rnnx::sgd o(model, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
                 "invalid dampening = 0.1 (nesterov needs dampening == 0)");
  expect_invalid([&] { opt.set_lr(-1); }, "rnnx::sgd: invalid lr = -1");
  EXPECT_EQ(opt.options().lr, 1e-3);
}

// --- Adam / AdamW -------------------------------------------------------------------------------

TEST(Adam, MatchesReference) {
  const rnnx::adam_options configs[] = {
      {.lr = 1e-2},
      {.lr = 2e-2, .betas = {0.8, 0.99}, .eps = 1e-6, .weight_decay = 0.1},
      {.lr = 1e-2, .amsgrad = true},
      {.lr = 1e-2, .betas = {0.5, 0.9}, .weight_decay = 0.05, .amsgrad = true},
  };
  const Net model;
  for (const auto& o : configs) {
    SCOPED_TRACE("weight_decay " + std::to_string(o.weight_decay) + ", amsgrad " +
                 std::to_string(o.amsgrad));
    rnnx::adam opt(model, o);
    EXPECT_EQ(opt.max_exp_avg_sq() != nullptr, o.amsgrad);
    expect_matches_reference(
        opt, adam_reference{o.lr, o.betas[0], o.betas[1], o.eps, o.weight_decay, o.amsgrad, false});
  }
}

TEST(AdamW, MatchesReferenceWithDecoupledDecay) {
  const rnnx::adamw_options configs[] = {
      {.lr = 1e-2},
      {.lr = 3e-2, .weight_decay = 0.5, .amsgrad = true},
  };
  const Net model;
  for (const auto& o : configs) {
    rnnx::adamw opt(model, o);
    expect_matches_reference(
        opt, adam_reference{o.lr, o.betas[0], o.betas[1], o.eps, o.weight_decay, o.amsgrad, true});
  }
}

TEST(Adam, DefaultsAndInvalidOptions) {
  const Net model;
  rnnx::adam adam(model, {.lr = 1e-2});
  rnnx::adamw adamw(model);
  static_assert(std::is_same_v<decltype(adam), rnnx::adam<Net>>);
  static_assert(std::is_same_v<decltype(adamw), rnnx::adamw<Net>>);
  EXPECT_EQ(adam.options().betas[1], 0.999);
  EXPECT_EQ(adam.options().weight_decay, 0.0);
  EXPECT_EQ(adamw.options().lr, 1e-3);
  EXPECT_EQ(adamw.options().weight_decay, 0.01);
  expect_invalid([&] { rnnx::adam o(model, {.lr = -1e-3}); }, "rnnx::adam: invalid lr = -0.001");
  expect_invalid(
      [&] {
        rnnx::adam o(model, {.betas = {1.0, 0.999}});
      },
      "invalid betas[0] = 1 (must be in [0, 1))");
  expect_invalid([&] { rnnx::adam o(model, {.betas = {0.9, -0.1}}); }, "invalid betas[1] = -0.1");
  expect_invalid([&] { rnnx::adam o(model, {.betas = {0.9, nan}}); }, "invalid betas[1] = nan");
  expect_invalid([&] { rnnx::adam o(model, {.eps = 0}); }, "invalid eps = 0 (must be > 0");
  expect_invalid([&] { rnnx::adam o(model, {.weight_decay = -1}); }, "invalid weight_decay = -1");
  expect_invalid([&] { rnnx::adamw o(model, {.lr = -1}); }, "rnnx::adamw: invalid lr = -1");
  expect_invalid([&] { rnnx::adamw o(model, {.weight_decay = -0.01}); },
                 "rnnx::adamw: invalid weight_decay = -0.01");
}

// --- RMSprop
// --------------------------------------------------------------------------------------

TEST(Rmsprop, MatchesReference) {
  const rnnx::rmsprop_options configs[] = {
      {},
      {.lr = 5e-3, .centered = true},
      {.lr = 2e-3, .momentum = 0.9},
      {.lr = 2e-3,
       .alpha = 0.9,
       .eps = 1e-6,
       .weight_decay = 0.02,
       .momentum = 0.5,
       .centered = true},
  };
  const Net model;
  for (const auto& o : configs) {
    SCOPED_TRACE("momentum " + std::to_string(o.momentum) + ", centered " +
                 std::to_string(o.centered));
    rnnx::rmsprop opt(model, o);
    EXPECT_EQ(opt.grad_avg() != nullptr, o.centered);
    EXPECT_EQ(opt.momentum_buffer() != nullptr, o.momentum > 0);
    expect_matches_reference(opt, rmsprop_reference{o});
  }
}

TEST(Rmsprop, DefaultsAndInvalidOptions) {
  const Net model;
  rnnx::rmsprop opt(model);
  static_assert(std::is_same_v<decltype(opt), rnnx::rmsprop<Net>>);
  EXPECT_EQ(opt.options().lr, 1e-2);
  EXPECT_EQ(opt.options().alpha, 0.99);
  EXPECT_EQ(opt.options().eps, 1e-8);
  expect_invalid([&] { rnnx::rmsprop o(model, {.lr = -1}); }, "rnnx::rmsprop: invalid lr = -1");
  expect_invalid([&] { rnnx::rmsprop o(model, {.alpha = 1.5}); }, "invalid alpha = 1.5");
  expect_invalid([&] { rnnx::rmsprop o(model, {.eps = -1e-8}); }, "invalid eps = -1e-08");
  expect_invalid([&] { rnnx::rmsprop o(model, {.weight_decay = nan}); },
                 "invalid weight_decay = nan");
  expect_invalid([&] { rnnx::rmsprop o(model, {.momentum = -0.5}); }, "invalid momentum = -0.5");
}

// --- Adagrad
// --------------------------------------------------------------------------------------

TEST(Adagrad, MatchesReference) {
  const rnnx::adagrad_options configs[] = {
      {.lr = 0.05},
      {.lr = 0.1, .lr_decay = 0.1, .weight_decay = 0.05, .initial_accumulator_value = 0.1},
      {.lr = 0.1, .initial_accumulator_value = 0.5, .eps = 0},
  };
  const Net model;
  for (const auto& o : configs) {
    SCOPED_TRACE("lr_decay " + std::to_string(o.lr_decay) + ", initial " +
                 std::to_string(o.initial_accumulator_value));
    rnnx::adagrad opt(model, o);
    expect_matches_reference(opt, adagrad_reference{o});
  }
}

TEST(Adagrad, DefaultsAndInvalidOptions) {
  const Net model;
  rnnx::adagrad opt(model);
  static_assert(std::is_same_v<decltype(opt), rnnx::adagrad<Net>>);
  EXPECT_EQ(opt.options().lr, 1e-2);
  EXPECT_EQ(opt.options().eps, 1e-10);
  expect_invalid([&] { rnnx::adagrad o(model, {.lr = -1}); }, "rnnx::adagrad: invalid lr = -1");
  expect_invalid([&] { rnnx::adagrad o(model, {.lr_decay = -1}); }, "invalid lr_decay = -1");
  expect_invalid([&] { rnnx::adagrad o(model, {.weight_decay = -1}); },
                 "invalid weight_decay = -1");
  expect_invalid([&] { rnnx::adagrad o(model, {.initial_accumulator_value = -1}); },
                 "invalid initial_accumulator_value = -1");
  expect_invalid([&] { rnnx::adagrad o(model, {.eps = -1}); }, "invalid eps = -1");
  expect_invalid([&] { rnnx::adagrad o(model, {.eps = 0}); },
                 "eps and initial_accumulator_value may not both be 0");
}

// --- behaviour shared by all optimisers
// ---------------------------------------------------------------

/// Each optimiser with non-default options that use every buffer.
template <class Model>
struct all_optimizers {
  rnnx::sgd<Model> sgd_{{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01}};
  rnnx::adam<Model> adam_{{.lr = 1e-2, .weight_decay = 0.01, .amsgrad = true}};
  rnnx::adamw<Model> adamw_{{.lr = 1e-2, .amsgrad = true}};
  rnnx::rmsprop<Model> rmsprop_{{.weight_decay = 0.01, .momentum = 0.5, .centered = true}};
  rnnx::adagrad<Model> adagrad_{
      {.lr_decay = 0.01, .weight_decay = 0.01, .initial_accumulator_value = 0.1}};

  template <class F>
  void each(F&& f) {
    f(sgd_);
    f(adam_);
    f(adamw_);
    f(rmsprop_);
    f(adagrad_);
  }
};

template <class Model>
void take_steps(auto& opt, Model& model, std::size_t first, std::size_t count) {
  auto grads = std::make_unique<Model>();
  const std::size_t n = logical_values(model).size();
  for (std::size_t k = first; k < first + count; ++k) {
    set_logical_values(*grads, gradient_at(k, n));
    opt.step(model, *grads);
  }
}

TEST(Optimizers, FloatModelsKeepPaddingZeroAndMove) {
  all_optimizers<FloatNet> opts;
  opts.each([](auto& opt) {
    SCOPED_TRACE(std::string(opt.name));
    auto model = std::make_unique<FloatNet>();
    rnnx_test::fill_uniform(*model, 3, -0.5, 0.5);
    const vec before = logical_values(*model);
    take_steps(opt, *model, 0, 25);
    EXPECT_TRUE(padding_is_zero(*model));
    const vec after = logical_values(*model);
    std::size_t moved = 0;
    for (std::size_t i = 0; i < after.size(); ++i) {
      EXPECT_TRUE(std::isfinite(after[i])) << i;
      moved += after[i] != before[i];
    }
    EXPECT_GT(moved, after.size() / 2);
  });
}

TEST(Optimizers, ZeroGradientsLeavePaddingAndZeroParametersAtZero) {
  // The padding's case everywhere: parameter 0, gradient 0, from the first step on.
  all_optimizers<Net> opts;
  opts.each([](auto& opt) {
    SCOPED_TRACE(std::string(opt.name));
    auto model = std::make_unique<Net>();
    const auto grads = std::make_unique<Net>();
    for (int k = 0; k < 5; ++k) opt.step(*model, *grads);
    EXPECT_TRUE(*model == Net{});
  });
}

TEST(Optimizers, ResetStartsOverAndCopiesContinueIdentically) {
  all_optimizers<Net> opts;
  opts.each([](auto& opt) {
    SCOPED_TRACE(std::string(opt.name));
    auto start = std::make_unique<Net>();
    rnnx_test::fill_uniform(*start, 5, -0.5, 0.5);
    auto a = std::make_unique<Net>(*start);
    take_steps(opt, *a, 0, 8);

    auto copy = opt;  // deep copy of all state
    auto b = std::make_unique<Net>(*a);
    take_steps(opt, *a, 8, 6);
    take_steps(copy, *b, 8, 6);
    EXPECT_TRUE(*a == *b);

    opt.reset();
    EXPECT_EQ(opt.steps(), 0u);
    auto c = std::make_unique<Net>(*start);
    take_steps(opt, *c, 0, 8);
    auto fresh_opt = decltype(copy)(copy.options());
    auto d = std::make_unique<Net>(*start);
    take_steps(fresh_opt, *d, 0, 8);
    EXPECT_TRUE(*c == *d);
    EXPECT_FALSE(*c == *start);
  });
}

TEST(Optimizers, SetLrChangesTheStepSize) {
  auto model = std::make_unique<Net>();
  auto grads = std::make_unique<Net>();
  set_logical_values(*grads, vec(logical_values(*grads).size(), 1.0));
  rnnx::sgd opt(*model, {.lr = 0.1});
  opt.step(*model, *grads);
  opt.set_lr(0.25);
  opt.step(*model, *grads);
  for (const double v : logical_values(*model)) EXPECT_DOUBLE_EQ(v, -0.35);
}

// --- clipping
// ------------------------------------------------------------------------------------------

TEST(Clipping, GradientNormIsTheL2NormOfAllGradients) {
  auto grads = std::make_unique<Net>();
  rnnx_test::fill_uniform(*grads, 9, -1, 1);
  double sum = 0;
  for (const double v : logical_values(*grads)) sum += v * v;
  EXPECT_NEAR(rnnx::gradient_norm(*grads), std::sqrt(sum), 1e-13);
  EXPECT_EQ(rnnx::gradient_norm(Net{}), 0.0);
}

TEST(Clipping, ClipGradNormScalesOnlyAboveTheMaximum) {
  auto grads = std::make_unique<Net>();
  rnnx_test::fill_uniform(*grads, 9, -1, 1);
  const vec before = logical_values(*grads);
  const double norm = rnnx::gradient_norm(*grads);
  ASSERT_GT(norm, 1.0);

  EXPECT_EQ(rnnx::clip_grad_norm(*grads, norm + 1), norm);  // below the maximum: untouched
  EXPECT_EQ(logical_values(*grads), before);

  EXPECT_EQ(rnnx::clip_grad_norm(*grads, 1.0), norm);  // returns the norm before clipping
  const double coef = 1.0 / (norm + 1e-6);
  const vec after = logical_values(*grads);
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_DOUBLE_EQ(after[i], before[i] * coef);
  EXPECT_NEAR(rnnx::gradient_norm(*grads), 1.0, 1e-6);
  EXPECT_TRUE(padding_is_zero(*grads));
  expect_invalid([&] { rnnx::clip_grad_norm(*grads, -1.0); },
                 "rnnx::clip_grad_norm: invalid max_norm = -1");
}

TEST(Clipping, ClipGradValueClampsEachElement) {
  auto grads = std::make_unique<FloatNet>();
  rnnx_test::fill_uniform(*grads, 4, -1, 1);
  const vec before = logical_values(*grads);
  rnnx::clip_grad_value(*grads, 0.25);
  const vec after = logical_values(*grads);
  std::size_t clamped = 0;
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i], std::clamp(before[i], -0.25, 0.25)) << i;
    clamped += after[i] != before[i];
  }
  EXPECT_GT(clamped, 0u);
  EXPECT_LT(clamped, after.size());
  EXPECT_TRUE(padding_is_zero(*grads));
  expect_invalid([&] { rnnx::clip_grad_value(*grads, -0.5); },
                 "rnnx::clip_grad_value: invalid value = -0.5");
}

// --- initialisation
// -----------------------------------------------------------------------------------

using Stack = rnnx::basic_network<double, rnnx::lstm<3, 16>, rnnx::gru<16, 9>, rnnx::rnn<9, 4>,
                                  rnnx::dense<4, 36, rnnx::tanh>, rnnx::dense<36, 2>>;

TEST(Initialize, EachLayerUsesPyTorchsBound) {
  auto model = std::make_unique<Stack>();
  rnnx::initialize(*model, 42);
  EXPECT_TRUE(padding_is_zero(*model));
  // lstm and gru: 1/sqrt(hidden); rnn<9, 4>: 1/2; dense<4, 36>: 1/sqrt(4); dense<36, 2>: 1/6
  const double bounds[] = {0.25, 1 / 3.0, 0.5, 0.5, 1 / 6.0};
  double sum = 0, sum_sq = 0;
  std::size_t n = 0;
  model->for_each_layer([&](auto index, const auto& layer) {
    const double bound = bounds[index];
    std::size_t parameters = 0;
    layer.visit_parameters([&](std::string_view name, const auto& p) {
      SCOPED_TRACE("layer " + std::to_string(std::size_t{index}) + " " + std::string(name));
      ++parameters;
      double largest = 0;
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) {
          const double v = p.at(r, c);
          EXPECT_LE(std::abs(v), bound);
          largest = std::max(largest, std::abs(v));
          sum += v / bound;
          sum_sq += (v / bound) * (v / bound);
          ++n;
        }
      // a bound that is too small would fail this (the 2-element dense bias is too few)
      if (p.count >= 30) {
        EXPECT_GT(largest, 0.85 * bound);
      }
    });
    EXPECT_EQ(parameters, index < 3 ? 4u : 2u);
  });
  // v / bound ~ U(-1, 1): mean 0, variance 1/3
  const double mean = sum / double(n), variance = sum_sq / double(n) - mean * mean;
  ASSERT_GT(n, 2000u);
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_NEAR(variance, 1 / 3.0, 0.03);
}

TEST(Initialize, ReproducibleFromTheSeedWithAPortableMapping) {
  auto a = std::make_unique<Stack>(), b = std::make_unique<Stack>(), c = std::make_unique<Stack>();
  rnnx::initialize(*a, 7);
  rnnx::initialize(*b, 7);
  rnnx::initialize(*c, 8);
  EXPECT_TRUE(*a == *b);
  EXPECT_FALSE(*a == *c);
  // The first value is the first lstm weight_ih element, from the top 53 bits of the first
  // std::mt19937_64 draw (a sequence fixed by the standard) mapped onto [-1/4, 1/4).
  std::mt19937_64 gen(7);
  const double u = double(gen() >> 11) / 9007199254740992.0;
  const vec values = logical_values(*a);
  EXPECT_EQ(values[0], -0.25 + 0.5 * u);
  // and the second one is PyTorch's row-major neighbour, weight_ih[0][1]
  const double u2 = double(gen() >> 11) / 9007199254740992.0;
  EXPECT_EQ(values[1], -0.25 + 0.5 * u2);
  // float models draw the same values
  rnnx::basic_network<float, rnnx::lstm<3, 16>> f;
  rnnx::initialize(f, 7);
  EXPECT_EQ(logical_values(f)[0], static_cast<float>(-0.25 + 0.5 * u));
}

TEST(Initialize, ZeroClearsEveryParameter) {
  auto model = std::make_unique<Stack>();
  rnnx::initialize(*model, 1);
  ASSERT_FALSE(*model == Stack{});
  rnnx::zero(*model);
  EXPECT_TRUE(*model == Stack{});
}

}  // namespace
