#pragma once
// RMSprop, exactly torch.optim.RMSprop (foreach=False):
//   g = grad + weight_decay * p
//   s = alpha * s + (1 - alpha) * g * g
//   centered:  a = alpha * a + (1 - alpha) * g,  d = sqrt(s - a * a) + eps
//   else:      d = sqrt(s) + eps
//   momentum > 0:  b = momentum * b + g / d,  p = p - lr * b
//   else:          p = p - lr * g / d

#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/parameters.hpp"
#include "rnnx/train/optimizers/support.hpp"

namespace RNNX_NAMESPACE {

/// torch.optim.RMSprop's arguments and defaults. eps must be > 0 and alpha in [0, 1]
/// (PyTorch also accepts eps = 0 and alpha > 1, which yield NaN).
struct rmsprop_options {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
};

template <class Model>
class rmsprop {
  using T = typename Model::scalar;

 public:
  using model_type = Model;
  using options_type = rmsprop_options;
  static constexpr std::string_view name = "rmsprop";

  explicit rmsprop(rmsprop_options options = {})
      : options_(check(options)),
        square_avg_(true),
        grad_avg_(options.centered),
        momentum_buffer_(options.momentum > 0) {
    detail::check_trainable<Model>();
  }
  /// rnnx::rmsprop opt(model, {.lr = 1e-3, .centered = true}): the model only names the type.
  explicit rmsprop(const Model&, rmsprop_options options = {}) : rmsprop(options) {}

  /// One update of `model` by `grads` (a model of the same type holding the gradients).
  void step(Model& model, const Model& grads) {
    ++steps_;
    if (grad_avg_ && momentum_buffer_) {
      apply<true, true>(model, grads, *grad_avg_, *momentum_buffer_);
    } else if (grad_avg_) {
      apply<true, false>(model, grads, *grad_avg_);
    } else if (momentum_buffer_) {
      apply<false, true>(model, grads, *momentum_buffer_);
    } else {
      apply<false, false>(model, grads);
    }
  }

  /// Forgets all state: averages and momentum back to zero.
  void reset() {
    square_avg_.clear();
    grad_avg_.clear();
    momentum_buffer_.clear();
    steps_ = 0;
  }

  const rmsprop_options& options() const noexcept { return options_; }
  /// For learning-rate schedules.
  void set_lr(double lr) {
    rmsprop_options o = options_;
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
    f("square_avg", square_avg_);
    f("grad_avg", grad_avg_);
    f("momentum_buffer", momentum_buffer_);
  }
  /// torch's state["square_avg"], and (null unless centered / momentum > 0)
  /// state["grad_avg"] and state["momentum_buffer"].
  const Model& square_avg() const noexcept { return *square_avg_; }
  const Model* grad_avg() const noexcept { return grad_avg_.get(); }
  const Model* momentum_buffer() const noexcept { return momentum_buffer_.get(); }

 private:
  /// The update with the optional buffers (grad_avg if Centered, then momentum_buffer).
  template <bool Centered, bool Momentum, class... Buffers>
  void apply(Model& model, const Model& grads, Buffers&... buffers) {
    const T lr = static_cast<T>(-options_.lr);
    const T alpha = static_cast<T>(options_.alpha);
    const T one_minus_alpha = static_cast<T>(1 - options_.alpha);
    const T eps = static_cast<T>(options_.eps);
    const T wd = static_cast<T>(options_.weight_decay);
    const T mu = static_cast<T>(options_.momentum);
    const bool decay = options_.weight_decay != 0;
    for_each_parameter(
        [&](std::size_t, std::string_view, std::span<T> p, std::span<const T> grad, std::span<T> s,
            auto... rest) {
          detail::elementwise<T>(
              [&](auto& pi, const auto& grad_i, auto& si, auto&... optional) {
                const auto g = decay ? grad_i + wd * pi : grad_i;
                si = si * alpha + one_minus_alpha * g * g;
                // grad_avg first when Centered, momentum_buffer last when Momentum
                const auto optionals = std::tie(optional...);
                std::remove_cvref_t<decltype(si)> denominator;
                if constexpr (Centered) {
                  auto& a = std::get<0>(optionals);
                  a = a * alpha + one_minus_alpha * g;
                  denominator = detail::elementwise_sqrt(si - a * a) + eps;
                } else {
                  denominator = detail::elementwise_sqrt(si) + eps;
                }
                if constexpr (Momentum) {
                  auto& b = std::get<sizeof...(optional) - 1>(optionals);
                  b = b * mu + g / denominator;
                  pi = pi + lr * b;
                } else {
                  pi = pi + lr * g / denominator;
                }
              },
              p, grad, s, rest...);
        },
        model, grads, *square_avg_, buffers...);
  }

  static rmsprop_options check(const rmsprop_options& o) {
    using detail::check_option;
    check_option(o.lr >= 0 && std::isfinite(o.lr), name, "lr", o.lr, "must be >= 0");
    check_option(o.alpha >= 0 && o.alpha <= 1, name, "alpha", o.alpha, "must be in [0, 1]");
    check_option(o.eps > 0 && std::isfinite(o.eps), name, "eps", o.eps,
                 "must be > 0: with eps = 0, elements whose gradient is always zero become NaN");
    check_option(o.weight_decay >= 0 && std::isfinite(o.weight_decay), name, "weight_decay",
                 o.weight_decay, "must be >= 0");
    check_option(o.momentum >= 0 && std::isfinite(o.momentum), name, "momentum", o.momentum,
                 "must be >= 0");
    return o;
  }

  rmsprop_options options_;
  detail::model_buffer<Model> square_avg_, grad_avg_, momentum_buffer_;
  std::size_t steps_ = 0;
};

}  // namespace rnnx
