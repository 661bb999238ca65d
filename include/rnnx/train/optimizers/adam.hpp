#pragma once
// Adam and AdamW, exactly torch.optim.Adam / torch.optim.AdamW (foreach=False, step t from 1):
//   Adam:   g = grad + weight_decay * p          AdamW:  p = p * (1 - lr * weight_decay)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   amsgrad: v_max = max(v_max, v), used in place of v below
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Scalars are computed in double as Python does and used in the model's scalar type, as
// torch's tensor kernels do.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/parameters.hpp"
#include "rnnx/train/optimizers/support.hpp"

namespace RNNX_NAMESPACE {

/// torch.optim.Adam's arguments and defaults. eps must be > 0 (PyTorch accepts 0, which
/// turns every element whose gradient has always been zero into NaN, the padding included).
struct adam_options {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

/// torch.optim.AdamW's arguments and defaults (weight_decay 0.01, decoupled from the gradient).
struct adamw_options {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

namespace detail {

template <class Model, class Options, bool Decoupled>
class adam_base {
  using T = typename Model::scalar;

 public:
  using model_type = Model;
  using options_type = Options;
  static constexpr std::string_view name = Decoupled ? "adamw" : "adam";

  explicit adam_base(Options options)
      : options_(check(options)),
        exp_avg_(true),
        exp_avg_sq_(true),
        max_exp_avg_sq_(options.amsgrad) {
    check_trainable<Model>();
  }

  /// One update of `model` by `grads` (a model of the same type holding the gradients).
  void step(Model& model, const Model& grads) {
    ++steps_;
    const double t = static_cast<double>(steps_);
    const double lr = options_.lr, beta1 = options_.betas[0], beta2 = options_.betas[1];
    const double bias_correction1 = 1 - std::pow(beta1, t);
    const double bias_correction2 = 1 - std::pow(beta2, t);
    const T step_size = static_cast<T>(-(lr / bias_correction1));
    const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
    const T b1 = static_cast<T>(beta1), one_minus_b1 = static_cast<T>(1 - beta1);
    const T b2 = static_cast<T>(beta2), one_minus_b2 = static_cast<T>(1 - beta2);
    const T eps = static_cast<T>(options_.eps);
    const T wd = static_cast<T>(options_.weight_decay);
    const T shrink = static_cast<T>(1 - lr * options_.weight_decay);
    const bool coupled_decay = !Decoupled && options_.weight_decay != 0;

    // Written once for T and for simd::batch<T> (see detail::elementwise).
    auto moments = [&](auto& p, const auto& grad, auto& m, auto& v) {
      if constexpr (Decoupled) p = p * shrink;
      const auto g = coupled_decay ? grad + wd * p : grad;
      m = m * b1 + one_minus_b1 * g;
      v = v * b2 + one_minus_b2 * g * g;
    };
    auto update = [&](auto& p, const auto& m, const auto& v) {
      p = p + step_size * m / (elementwise_sqrt(v) / bias_correction2_sqrt + eps);
    };
    if (!options_.amsgrad) {
      for_each_parameter(
          [&](std::size_t, std::string_view, std::span<T> p, std::span<const T> g, std::span<T> m,
              std::span<T> v) {
            elementwise<T>(
                [&](auto& pi, const auto& gi, auto& mi, auto& vi) {
                  moments(pi, gi, mi, vi);
                  update(pi, mi, vi);
                },
                p, g, m, v);
          },
          model, grads, *exp_avg_, *exp_avg_sq_);
    } else {
      for_each_parameter(
          [&](std::size_t, std::string_view, std::span<T> p, std::span<const T> g, std::span<T> m,
              std::span<T> v, std::span<T> v_max) {
            elementwise<T>(
                [&](auto& pi, const auto& gi, auto& mi, auto& vi, auto& v_max_i) {
                  moments(pi, gi, mi, vi);
                  v_max_i = elementwise_max(v_max_i, vi);
                  update(pi, mi, v_max_i);
                },
                p, g, m, v, v_max);
          },
          model, grads, *exp_avg_, *exp_avg_sq_, *max_exp_avg_sq_);
    }
  }

  /// Forgets all state: moments back to zero, the next step is step 1.
  void reset() {
    exp_avg_.clear();
    exp_avg_sq_.clear();
    max_exp_avg_sq_.clear();
    steps_ = 0;
  }

  const Options& options() const noexcept { return options_; }
  /// For learning-rate schedules.
  void set_lr(double lr) {
    Options o = options_;
    o.lr = lr;
    options_ = check(o);
  }
  std::size_t steps() const noexcept { return steps_; }
  /// What a checkpoint holds besides the options: f(name, buffer) for each state buffer
  /// (torch's state names; a detail::model_buffer, empty when the options need none), and
  /// f("step", steps) for the step count.
  template <class F>
  void visit_state(F&& f) {
    f("step", steps_);
    f("exp_avg", exp_avg_);
    f("exp_avg_sq", exp_avg_sq_);
    f("max_exp_avg_sq", max_exp_avg_sq_);
  }
  /// torch's state["exp_avg"], state["exp_avg_sq"] and, with amsgrad (else null),
  /// state["max_exp_avg_sq"].
  const Model& exp_avg() const noexcept { return *exp_avg_; }
  const Model& exp_avg_sq() const noexcept { return *exp_avg_sq_; }
  const Model* max_exp_avg_sq() const noexcept { return max_exp_avg_sq_.get(); }

 private:
  static Options check(const Options& o) {
    check_option(o.lr >= 0 && std::isfinite(o.lr), name, "lr", o.lr, "must be >= 0");
    check_option(o.betas[0] >= 0 && o.betas[0] < 1, name, "betas[0]", o.betas[0],
                 "must be in [0, 1)");
    check_option(o.betas[1] >= 0 && o.betas[1] < 1, name, "betas[1]", o.betas[1],
                 "must be in [0, 1)");
    check_option(o.eps > 0 && std::isfinite(o.eps), name, "eps", o.eps,
                 "must be > 0: with eps = 0, elements whose gradient is always zero become NaN");
    check_option(o.weight_decay >= 0 && std::isfinite(o.weight_decay), name, "weight_decay",
                 o.weight_decay, "must be >= 0");
    return o;
  }

  Options options_;
  model_buffer<Model> exp_avg_, exp_avg_sq_, max_exp_avg_sq_;
  std::size_t steps_ = 0;
};

}  // namespace detail

/// rnnx::adam opt(model, {.lr = 1e-2}); opt.step(model, grads);
template <class Model>
class adam : public detail::adam_base<Model, adam_options, false> {
 public:
  explicit adam(adam_options options = {})
      : detail::adam_base<Model, adam_options, false>(options) {}
  explicit adam(const Model&, adam_options options = {}) : adam(options) {}
};

/// Adam with decoupled weight decay: rnnx::adamw opt(model, {.lr = 1e-3, .weight_decay = 0.1});
template <class Model>
class adamw : public detail::adam_base<Model, adamw_options, true> {
 public:
  explicit adamw(adamw_options options = {})
      : detail::adam_base<Model, adamw_options, true>(options) {}
  explicit adamw(const Model&, adamw_options options = {}) : adamw(options) {}
};

}  // namespace rnnx
