#pragma once
// Gradient clipping over a whole model's gradients (a model of the network's own type), as
// torch.nn.utils.clip_grad_norm_ (L2 norm) and clip_grad_value_.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/parameters.hpp"
#include "rnnx/train/optimizers/support.hpp"

namespace RNNX_NAMESPACE {

/// The L2 norm of all gradients together (sum of squares accumulated in double).
template <class Model>
typename Model::scalar gradient_norm(const Model& grads) {
  using T = typename Model::scalar;
  double sum = 0;
  for_each_parameter(
      [&](std::size_t, std::string_view, std::span<const T> g) {
        for (const T x : g) sum += static_cast<double>(x) * static_cast<double>(x);
      },
      grads);
  return static_cast<T>(std::sqrt(sum));
}

/// Scales all gradients by max_norm / (norm + 1e-6) when that is below 1, as
/// torch.nn.utils.clip_grad_norm_(parameters, max_norm); returns the norm before clipping.
template <class Model>
typename Model::scalar clip_grad_norm(Model& grads, double max_norm) {
  using T = typename Model::scalar;
  detail::check_option(max_norm >= 0, "clip_grad_norm", "max_norm", max_norm, "must be >= 0");
  const T total = gradient_norm(grads);
  const T coef = static_cast<T>(max_norm) / (total + static_cast<T>(1e-6));
  if (coef < T(1))
    for_each_parameter(
        [&](std::size_t, std::string_view, std::span<T> g) {
          for (T& x : g) x *= coef;
        },
        grads);
  return total;
}

/// Clamps every gradient to [-value, value], as torch.nn.utils.clip_grad_value_.
template <class Model>
void clip_grad_value(Model& grads, double value) {
  using T = typename Model::scalar;
  detail::check_option(value >= 0, "clip_grad_value", "value", value, "must be >= 0");
  const T high = static_cast<T>(value), low = -high;
  for_each_parameter(
      [&](std::size_t, std::string_view, std::span<T> g) {
        for (T& x : g) x = std::clamp(x, low, high);
      },
      grads);
}

}  // namespace RNNX_NAMESPACE
