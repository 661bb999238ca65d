#pragma once
// Layer normalisation over the N features of each step, exactly torch.nn.LayerNorm(N) (eps
// 1e-5, elementwise affine):
//   mu = mean(x)    var = mean((x - mu)^2)    x^ = (x - mu) / sqrt(var + eps)
//   y = weight * x^ + bias

#include <cmath>
#include <cstddef>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

template <std::size_t N, class T = float>
class layer_norm {
  static_assert(N > 0, "rnnx::layer_norm<N>: the size must be positive");
  static_assert(is_supported_scalar_v<T>,
                "rnnx::layer_norm: the scalar type must be float or double");
  static constexpr std::size_t Ns = simd::padded<T>(N);

 public:
  using scalar = T;
  template <class U>
  using rebind = layer_norm<N, U>;
  static constexpr std::size_t in_size = N;
  static constexpr std::size_t out_size = N;
  static constexpr std::string_view type_name = "layer_norm";
  using state = no_state;
  /// torch.nn.LayerNorm's default.
  static constexpr T eps = T(1e-5);

  void step(const T* x, state&, T* y) const noexcept {
    const moments m = moments_of(x);
    // Explicit fused multiply-adds here and in moments_of: left as a * b + c, whether g++
    // fuses them (-ffp-contract=fast, its GNU-mode default) would depend on what the step is
    // inlined into, and two paths through the same model would differ in the last bit.
    for (std::size_t j = 0; j < N; ++j)
      y[j] = std::fma(weight_.data[j], (x[j] - m.mean) * m.inverse_std, bias_.data[j]);
    for (std::size_t j = N; j < Ns; ++j) y[j] = T(0);
  }

  void forward_sequence(const T* xs, std::size_t steps, state& s, T* ys) const {
    for (std::size_t t = 0; t < steps; ++t) step(xs + t * Ns, s, ys + t * Ns);
  }

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  using tape = no_tape;

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* s, tape&,
                     T* ys) const {
    forward_sequence(xs, batch_size * steps, *s, ys);
  }

  /// With g = weight * dy (x^ recomputed from x):
  ///   dx = (g - mean(g) - x^ mean(g x^)) / sqrt(var + eps)
  ///   dweight += dy x^      dbias += dy
  void backward(const T* xs, const T*, T* dys, std::size_t batch_size, std::size_t steps, tape&,
                layer_norm& grad, T* dxs) const {
    for (std::size_t n = 0; n < batch_size * steps; ++n) {
      const T* x = xs + n * Ns;
      const T* dy = dys + n * Ns;
      const moments m = moments_of(x);
      T mean_g = 0, mean_gx = 0;
      for (std::size_t j = 0; j < N; ++j) {
        const T xhat = (x[j] - m.mean) * m.inverse_std;
        const T g = weight_.data[j] * dy[j];
        mean_g += g;
        mean_gx += g * xhat;
        grad.weight_.data[j] += dy[j] * xhat;
        grad.bias_.data[j] += dy[j];
      }
      mean_g /= T(N);
      mean_gx /= T(N);
      if (dxs == nullptr) continue;
      T* dx = dxs + n * Ns;
      for (std::size_t j = 0; j < N; ++j) {
        const T xhat = (x[j] - m.mean) * m.inverse_std;
        dx[j] = (weight_.data[j] * dy[j] - mean_g - xhat * mean_gx) * m.inverse_std;
      }
      for (std::size_t j = N; j < Ns; ++j) dx[j] = T(0);
    }
  }

  /// torch.nn.LayerNorm's initial values: weight 1, bias 0.
  template <class Draw>
  void reset_parameters(Draw&) noexcept {
    for (std::size_t j = 0; j < N; ++j) {
      weight_.at(j) = T(1);
      bias_.at(j) = T(0);
    }
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("normalized_shape", N);
  }
  template <class D>
  static void describe(D& d) {
    d.header("rnnx/layers/layer_norm.hpp");
    d.input("normalized_shape");
    d.output("normalized_shape");
    d.parameter("weight", "normalized_shape");
    d.parameter("bias", "normalized_shape");
  }
  template <class F>
  void visit_parameters(F&& f) {
    f("weight", weight_);
    f("bias", bias_);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    f("weight", weight_);
    f("bias", bias_);
  }

  friend constexpr bool operator==(const layer_norm&, const layer_norm&) = default;

 private:
  struct moments {
    T mean, inverse_std;
  };
  /// Two passes (mean, then squared deviations), as torch computes them: no cancellation.
  static moments moments_of(const T* x) noexcept {
    T sum = 0;
    for (std::size_t j = 0; j < N; ++j) sum += x[j];
    const T mean = sum / T(N);
    T squares = 0;
    for (std::size_t j = 0; j < N; ++j) squares = std::fma(x[j] - mean, x[j] - mean, squares);
    return {mean, T(1) / std::sqrt(squares / T(N) + eps)};
  }

  vector_parameter<T, N> weight_;
  vector_parameter<T, N> bias_;
};

}  // namespace RNNX_NAMESPACE
