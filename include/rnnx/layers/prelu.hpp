#pragma once
// Parametric ReLU, torch.nn.PReLU(num_parameters = P) over N features:
//   y_j = x_j           for x_j > 0
//   y_j = a_k x_j       otherwise,   k = 0 when P = 1 (one slope, PyTorch's default), k = j
//                                    when P = N (a slope per feature)

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

template <std::size_t N, std::size_t P = 1, class T = float>
class prelu {
  static_assert(N > 0, "rnnx::prelu<N, P>: the size must be positive");
  static_assert(P == 1 || P == N,
                "rnnx::prelu<N, P>: P (num_parameters) must be 1 (one slope) or N (one per "
                "feature)");
  static_assert(is_supported_scalar_v<T>, "rnnx::prelu: the scalar type must be float or double");
  static constexpr std::size_t Ns = simd::padded<T>(N);
  static constexpr std::size_t V = simd::width<T>;
  using B = simd::batch<T>;

 public:
  using scalar = T;
  template <class U>
  using rebind = prelu<N, P, U>;
  static constexpr std::size_t in_size = N;
  static constexpr std::size_t out_size = N;
  static constexpr std::string_view type_name = "prelu";
  using state = no_state;

  /// Padding lanes stay 0: x's padding is 0, and so is a padded slope.
  void step(const T* x, state&, T* y) const noexcept {
    const B zero(T(0));
    for (std::size_t k = 0; k < Ns; k += V) {
      const B xk = simd::load(x + k);
      simd::store(y + k, simd::select(xk > zero, xk, slopes(k) * xk));
    }
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

  /// dx_j = dy_j for x_j > 0, a_k dy_j otherwise;  da_k += sum of x_j dy_j over x_j <= 0
  /// (torch's rule at x = 0: the slope's side).
  void backward(const T* xs, const T*, T* dys, std::size_t batch_size, std::size_t steps, tape&,
                prelu& grad, T* dxs) const {
    const B zero(T(0));
    B shared_slope_gradient(T(0));
    for (std::size_t n = 0; n < batch_size * steps; ++n) {
      const T* x = xs + n * Ns;
      const T* dy = dys + n * Ns;
      for (std::size_t k = 0; k < Ns; k += V) {
        const B xk = simd::load(x + k), dyk = simd::load(dy + k);
        const auto positive = xk > zero;
        const B slope_gradient = simd::select(positive, zero, xk * dyk);
        if constexpr (P == 1) {
          shared_slope_gradient += slope_gradient;
        } else {
          T* da = grad.slope_.data.data() + k;
          simd::store(da, simd::load(da) + slope_gradient);
        }
        if (dxs != nullptr)
          simd::store(dxs + n * Ns + k, simd::select(positive, dyk, slopes(k) * dyk));
      }
    }
    if constexpr (P == 1) grad.slope_.data[0] += simd::reduce_add(shared_slope_gradient);
  }

  /// torch.nn.PReLU's initial slope: 0.25.
  template <class Draw>
  void reset_parameters(Draw&) noexcept {
    for (std::size_t k = 0; k < P; ++k) slope_.at(k) = T(0.25);
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("size", N);
    f("num_parameters", P);
  }
  template <class D>
  static void describe(D& d) {
    d.header("rnnx/layers/prelu.hpp");
    d.one_or("num_parameters", "size");  // one slope for all, or one per feature
    d.input("size");
    d.output("size");
    d.parameter("weight", "num_parameters");
  }
  template <class F>
  void visit_parameters(F&& f) {
    f("weight", slope_);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    f("weight", slope_);
  }

  friend constexpr bool operator==(const prelu&, const prelu&) = default;

 private:
  /// The slopes of features k .. k + V - 1.
  B slopes(std::size_t k) const noexcept {
    if constexpr (P == 1) {
      return B(slope_.data[0]);
    } else {
      return simd::load(slope_.raw() + k);
    }
  }

  vector_parameter<T, P> slope_;
};

}  // namespace RNNX_NAMESPACE
