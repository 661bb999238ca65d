#pragma once
// Loss functions with their gradients, reduced by the mean exactly as PyTorch's defaults:
//   mse                               torch.nn.MSELoss()            mean over all elements
//   binary_cross_entropy_with_logits  torch.nn.BCEWithLogitsLoss()  mean over all elements
//   cross_entropy                     torch.nn.CrossEntropyLoss()   mean over rows
// Outputs are rows x features (N = 2) or batch x time x features (N = 3); any rank works.
// loss(outputs, targets, gradient) returns the loss and writes d loss / d outputs into
// `gradient` (resized to the outputs' shape); loss(outputs, targets) only returns the loss.
// Sums are accumulated in double; the value and the gradient are returned in T.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <xtensor/xtensor.hpp>

#include "rnnx/isa.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

template <class Shape>
std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (std::size_t k = 0; k < shape.size(); ++k)
    text += (k == 0 ? "" : ", ") + std::to_string(shape[k]);
  return text + "]";
}

/// "[b, t, j]" for the row-major flat index `flat` of a tensor of shape `shape`.
template <class Shape>
std::string position_text(std::size_t flat, const Shape& shape) {
  std::string text;
  for (std::size_t k = shape.size(); k-- > 0;) {
    const std::size_t extent = shape[k];
    text = std::to_string(extent == 0 ? 0 : flat % extent) + (text.empty() ? "" : ", ") + text;
    flat = extent == 0 ? 0 : flat / extent;
  }
  return "[" + text + "]";
}

[[noreturn]] inline void loss_error(std::string_view loss, const std::string& problem) {
  throw std::invalid_argument("rnnx::" + std::string(loss) + ": " + problem);
}

template <class T, std::size_t N>
void check_not_empty(std::string_view loss, const xt::xtensor<T, N>& outputs) {
  if (outputs.size() == 0)
    loss_error(loss, "empty input (outputs of shape " + shape_text(outputs.shape()) + ")");
}

template <class T, std::size_t N>
void check_finite(std::string_view loss, std::string_view what, const xt::xtensor<T, N>& x) {
  const T* data = x.data();
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(data[i]))
      loss_error(loss, std::string(what) + " is not finite (" + std::to_string(data[i]) + ") at " +
                           position_text(i, x.shape()));
}

template <class T, std::size_t N>
void check_elementwise_inputs(std::string_view loss, const xt::xtensor<T, N>& outputs,
                              const xt::xtensor<T, N>& targets) {
  for (std::size_t k = 0; k < N; ++k)
    if (outputs.shape()[k] != targets.shape()[k])
      loss_error(loss, "outputs and targets differ in shape (" + shape_text(outputs.shape()) +
                           " and " + shape_text(targets.shape()) + ") at axis " +
                           std::to_string(k));
  check_not_empty(loss, outputs);
  check_finite(loss, "output", outputs);
  check_finite(loss, "target", targets);
}

template <class T>
inline constexpr bool is_loss_scalar_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

}  // namespace detail

/// Mean squared error: mean((y - t)^2) over all elements; d/dy = 2 (y - t) / n.
struct mse {
  static constexpr std::string_view name = "mse";

  template <class T, std::size_t N>
  T operator()(const xt::xtensor<T, N>& outputs, const xt::xtensor<T, N>& targets,
               xt::xtensor<T, N>& gradient) const {
    const T value = (*this)(outputs, targets);
    gradient.resize(outputs.shape());
    const T scale = static_cast<T>(2.0 / static_cast<double>(outputs.size()));
    const T* y = outputs.data();
    const T* t = targets.data();
    T* g = gradient.data();
    for (std::size_t i = 0; i < outputs.size(); ++i) g[i] = (y[i] - t[i]) * scale;
    return value;
  }

  template <class T, std::size_t N>
  T operator()(const xt::xtensor<T, N>& outputs, const xt::xtensor<T, N>& targets) const {
    static_assert(detail::is_loss_scalar_v<T>, "rnnx::mse: outputs must be float or double");
    detail::check_elementwise_inputs(name, outputs, targets);
    const T* y = outputs.data();
    const T* t = targets.data();
    double sum = 0;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const double d = static_cast<double>(y[i]) - static_cast<double>(t[i]);
      sum += d * d;
    }
    return static_cast<T>(sum / static_cast<double>(outputs.size()));
  }
};

/// Sigmoid and binary cross-entropy in one, on logits x and targets t (probabilities; any
/// real value is accepted, as in PyTorch): mean(max(x, 0) - x t + log1p(exp(-|x|)));
/// d/dx = (sigmoid(x) - t) / n.
struct binary_cross_entropy_with_logits {
  static constexpr std::string_view name = "binary_cross_entropy_with_logits";

  template <class T, std::size_t N>
  T operator()(const xt::xtensor<T, N>& outputs, const xt::xtensor<T, N>& targets,
               xt::xtensor<T, N>& gradient) const {
    const T value = (*this)(outputs, targets);
    gradient.resize(outputs.shape());
    const double n = static_cast<double>(outputs.size());
    const T* x = outputs.data();
    const T* t = targets.data();
    T* g = gradient.data();
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const double xi = x[i];
      const double e = std::exp(-std::abs(xi));  // in (0, 1]: never overflows
      const double sigmoid = xi >= 0 ? 1 / (1 + e) : e / (1 + e);
      g[i] = static_cast<T>((sigmoid - static_cast<double>(t[i])) / n);
    }
    return value;
  }

  template <class T, std::size_t N>
  T operator()(const xt::xtensor<T, N>& outputs, const xt::xtensor<T, N>& targets) const {
    static_assert(detail::is_loss_scalar_v<T>,
                  "rnnx::binary_cross_entropy_with_logits: outputs must be float or double");
    detail::check_elementwise_inputs(name, outputs, targets);
    const T* x = outputs.data();
    const T* t = targets.data();
    double sum = 0;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const double xi = x[i];
      sum +=
          std::max(xi, 0.0) - xi * static_cast<double>(t[i]) + std::log1p(std::exp(-std::abs(xi)));
    }
    return static_cast<T>(sum / static_cast<double>(outputs.size()));
  }
};

/// Softmax cross-entropy over the last axis (the classes) with class-index targets of the
/// outputs' shape without that axis: mean over rows of logsumexp(x) - x[target], computed
/// with the row maximum subtracted so that large logits cannot overflow;
/// d/dx_j = (softmax(x)_j - [j == target]) / rows.
struct cross_entropy {
  static constexpr std::string_view name = "cross_entropy";

  template <class T, std::size_t N>
  T operator()(const xt::xtensor<T, N>& outputs, const xt::xtensor<std::size_t, N - 1>& targets,
               xt::xtensor<T, N>& gradient) const {
    const T value = (*this)(outputs, targets);
    gradient.resize(outputs.shape());
    const std::size_t classes = outputs.shape()[N - 1];
    const std::size_t rows = outputs.size() / classes;
    const double scale = 1.0 / static_cast<double>(rows);
    const T* x = outputs.data();
    const std::size_t* target = targets.data();
    T* g = gradient.data();
    for (std::size_t r = 0; r < rows; ++r) {
      const double lse = log_sum_exp(x + r * classes, classes);
      for (std::size_t j = 0; j < classes; ++j) {
        const double p = std::exp(static_cast<double>(x[r * classes + j]) - lse);
        g[r * classes + j] = static_cast<T>((p - (j == target[r] ? 1.0 : 0.0)) * scale);
      }
    }
    return value;
  }

  template <class T, std::size_t N>
  T operator()(const xt::xtensor<T, N>& outputs,
               const xt::xtensor<std::size_t, N - 1>& targets) const {
    static_assert(detail::is_loss_scalar_v<T>,
                  "rnnx::cross_entropy: outputs must be float or double");
    static_assert(N >= 2, "rnnx::cross_entropy: outputs need a class axis and at least one more");
    for (std::size_t k = 0; k + 1 < N; ++k)
      if (outputs.shape()[k] != targets.shape()[k])
        detail::loss_error(name,
                           "targets must have the outputs' shape without the class axis "
                           "(outputs " +
                               detail::shape_text(outputs.shape()) + ", targets " +
                               detail::shape_text(targets.shape()) + ") but differ at axis " +
                               std::to_string(k));
    detail::check_not_empty(name, outputs);
    detail::check_finite(name, "output", outputs);
    const std::size_t classes = outputs.shape()[N - 1];
    const std::size_t rows = outputs.size() / classes;
    const std::size_t* target = targets.data();
    for (std::size_t r = 0; r < rows; ++r)
      if (target[r] >= classes)
        detail::loss_error(name, "class index " + std::to_string(target[r]) + " out of range (" +
                                     std::to_string(classes) + " classes) at " +
                                     detail::position_text(r, targets.shape()));
    const T* x = outputs.data();
    double sum = 0;
    for (std::size_t r = 0; r < rows; ++r)
      sum +=
          log_sum_exp(x + r * classes, classes) - static_cast<double>(x[r * classes + target[r]]);
    return static_cast<T>(sum / static_cast<double>(rows));
  }

 private:
  template <class T>
  static double log_sum_exp(const T* x, std::size_t n) {
    double top = x[0];
    for (std::size_t j = 1; j < n; ++j) top = std::max(top, static_cast<double>(x[j]));
    double sum = 0;
    for (std::size_t j = 0; j < n; ++j) sum += std::exp(static_cast<double>(x[j]) - top);
    return top + std::log(sum);
  }
};

}  // namespace RNNX_NAMESPACE
