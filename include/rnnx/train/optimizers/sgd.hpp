#pragma once
// Stochastic gradient descent with momentum, exactly torch.optim.SGD (foreach=False):
//   g = grad + weight_decay * p
//   momentum != 0:  b = g on the first step, else b = momentum * b + (1 - dampening) * g
//                   g = nesterov ? g + momentum * b : b
//   p = p - lr * g

#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/parameters.hpp"
#include "rnnx/train/optimizers/support.hpp"

namespace RNNX_NAMESPACE {

/// torch.optim.SGD's arguments and defaults (lr: 1e-3 as since PyTorch 2.3, where it became
/// optional).
struct sgd_options {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

template <class Model>
class sgd {
  using T = typename Model::scalar;

 public:
  using model_type = Model;
  using options_type = sgd_options;
  static constexpr std::string_view name = "sgd";

  explicit sgd(sgd_options options = {})
      : options_(check(options)), momentum_(options.momentum != 0) {
    detail::check_trainable<Model>();
  }
  /// rnnx::sgd opt(model, {.lr = 0.1, .momentum = 0.9}): the model only names the type.
  explicit sgd(const Model&, sgd_options options = {}) : sgd(options) {}

  /// One update of `model` by `grads` (a model of the same type holding the gradients).
  void step(Model& model, const Model& grads) {
    const T lr = static_cast<T>(-options_.lr);  // torch: p.add_(d_p, alpha=-lr)
    const T wd = static_cast<T>(options_.weight_decay);
    const bool decay = options_.weight_decay != 0;
    if (!momentum_) {
      for_each_parameter(
          [&](std::size_t, std::string_view, std::span<T> p, std::span<const T> g) {
            for (std::size_t i = 0; i < p.size(); ++i) {
              const T d = decay ? g[i] + wd * p[i] : g[i];
              p[i] = p[i] + lr * d;
            }
          },
          model, grads);
    } else {
      const T mu = static_cast<T>(options_.momentum);
      const T keep = static_cast<T>(1 - options_.dampening);
      const bool first = steps_ == 0, nesterov = options_.nesterov;
      for_each_parameter(
          [&](std::size_t, std::string_view, std::span<T> p, std::span<const T> g, std::span<T> b) {
            for (std::size_t i = 0; i < p.size(); ++i) {
              T d = decay ? g[i] + wd * p[i] : g[i];
              b[i] = first ? d : b[i] * mu + keep * d;
              d = nesterov ? d + mu * b[i] : b[i];
              p[i] = p[i] + lr * d;
            }
          },
          model, grads, *momentum_);
    }
    ++steps_;
  }

  /// Forgets all state: the next step is the first.
  void reset() {
    momentum_.clear();
    steps_ = 0;
  }

  const sgd_options& options() const noexcept { return options_; }
  /// For learning-rate schedules.
  void set_lr(double lr) {
    sgd_options o = options_;
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
    f("momentum_buffer", momentum_);
  }
  /// The momentum buffer (torch's state["momentum_buffer"]); null when momentum == 0.
  const Model* momentum_buffer() const noexcept { return momentum_.get(); }

 private:
  static sgd_options check(const sgd_options& o) {
    using detail::check_option;
    check_option(o.lr >= 0 && std::isfinite(o.lr), name, "lr", o.lr, "must be >= 0");
    check_option(o.momentum >= 0 && std::isfinite(o.momentum), name, "momentum", o.momentum,
                 "must be >= 0");
    check_option(std::isfinite(o.dampening), name, "dampening", o.dampening, "must be finite");
    check_option(o.weight_decay >= 0 && std::isfinite(o.weight_decay), name, "weight_decay",
                 o.weight_decay, "must be >= 0");
    if (o.nesterov) {
      check_option(o.momentum > 0, name, "momentum", o.momentum, "nesterov needs momentum > 0");
      check_option(o.dampening == 0, name, "dampening", o.dampening,
                   "nesterov needs dampening == 0");
    }
    return o;
  }

  sgd_options options_;
  detail::model_buffer<Model> momentum_;
  std::size_t steps_ = 0;
};

}  // namespace rnnx
