#pragma once
// Adagrad, exactly torch.optim.Adagrad (foreach=False, dense gradients, step t from 1):
//   g = grad + weight_decay * p
//   s = s + g * g                     (s starts at initial_accumulator_value)
//   p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/parameters.hpp"
#include "rnnx/train/optimizers/support.hpp"

namespace RNNX_NAMESPACE {

/// torch.optim.Adagrad's arguments and defaults. eps and initial_accumulator_value may not
/// both be 0 (PyTorch accepts it; every element whose gradient is zero then becomes NaN).
struct adagrad_options {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
};

template <class Model>
class adagrad {
  using T = typename Model::scalar;

 public:
  using model_type = Model;
  using options_type = adagrad_options;
  static constexpr std::string_view name = "adagrad";

  explicit adagrad(adagrad_options options = {}) : options_(check(options)), sum_(true) {
    detail::check_trainable<Model>();
    fill_sum();
  }
  /// rnnx::adagrad opt(model, {.lr = 0.1}): the model only names the type.
  explicit adagrad(const Model&, adagrad_options options = {}) : adagrad(options) {}

  /// One update of `model` by `grads` (a model of the same type holding the gradients).
  void step(Model& model, const Model& grads) {
    ++steps_;
    const double clr = options_.lr / (1 + static_cast<double>(steps_ - 1) * options_.lr_decay);
    const T step_size = static_cast<T>(-clr);
    const T eps = static_cast<T>(options_.eps);
    const T wd = static_cast<T>(options_.weight_decay);
    const bool decay = options_.weight_decay != 0;
    for_each_parameter(
        [&](std::size_t, std::string_view, std::span<T> p, std::span<const T> grad,
            std::span<T> s) {
          detail::elementwise<T>(
              [&](auto& pi, const auto& grad_i, auto& si) {
                const auto g = decay ? grad_i + wd * pi : grad_i;
                si = si + g * g;
                pi = pi + step_size * g / (detail::elementwise_sqrt(si) + eps);
              },
              p, grad, s);
        },
        model, grads, *sum_);
  }

  /// Forgets all state: sums back to initial_accumulator_value, the next step is step 1.
  void reset() {
    fill_sum();
    steps_ = 0;
  }

  const adagrad_options& options() const noexcept { return options_; }
  /// For learning-rate schedules.
  void set_lr(double lr) {
    adagrad_options o = options_;
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
    f("sum", sum_);
  }
  /// torch's state["sum"]. Its padding holds initial_accumulator_value too, so that the
  /// padding's update is 0 / (sqrt(initial_accumulator_value) + eps) = 0.
  const Model& sum() const noexcept { return *sum_; }

 private:
  void fill_sum() {
    const T init = static_cast<T>(options_.initial_accumulator_value);
    for_each_parameter(
        [&](std::size_t, std::string_view, std::span<T> s) { std::fill(s.begin(), s.end(), init); },
        *sum_);
  }

  static adagrad_options check(const adagrad_options& o) {
    using detail::check_option;
    check_option(o.lr >= 0 && std::isfinite(o.lr), name, "lr", o.lr, "must be >= 0");
    check_option(o.lr_decay >= 0 && std::isfinite(o.lr_decay), name, "lr_decay", o.lr_decay,
                 "must be >= 0");
    check_option(o.weight_decay >= 0 && std::isfinite(o.weight_decay), name, "weight_decay",
                 o.weight_decay, "must be >= 0");
    check_option(o.initial_accumulator_value >= 0 && std::isfinite(o.initial_accumulator_value),
                 name, "initial_accumulator_value", o.initial_accumulator_value, "must be >= 0");
    check_option(o.eps >= 0 && std::isfinite(o.eps), name, "eps", o.eps, "must be >= 0");
    check_option(o.eps > 0 || o.initial_accumulator_value > 0, name, "eps", o.eps,
                 "eps and initial_accumulator_value may not both be 0: elements whose gradient "
                 "is zero would become NaN");
    return o;
  }

  adagrad_options options_;
  detail::model_buffer<Model> sum_;
  std::size_t steps_ = 0;
};

}  // namespace rnnx
