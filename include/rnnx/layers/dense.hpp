#pragma once
// Fully connected layer, torch.nn.Linear followed by an activation:  y = act(W x + b).

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/matvec.hpp"
#include "rnnx/kernels/outer_product.hpp"
#include "rnnx/kernels/streams.hpp"
#include "rnnx/layers/activation_functions.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"

namespace RNNX_NAMESPACE {

template <std::size_t In, std::size_t Out, class Act = identity, class T = float>
class dense {
  static_assert(In > 0 && Out > 0, "rnnx::dense<In, Out>: sizes must be positive");
  static_assert(is_activation_v<Act>,
                "rnnx::dense<In, Out, Act>: Act must be one of rnnx::identity, rnnx::sigmoid, "
                "rnnx::tanh, rnnx::relu, rnnx::elu, rnnx::softmax");
  static_assert(is_supported_scalar_v<T>, "rnnx::dense: the scalar type must be float or double");
  static constexpr bool row_major = kernels::prefer_row_major<T>(Out, In);
  using weight_type =
      std::conditional_t<row_major, row_major_matrix<T, Out, In>, column_major_matrix<T, Out, In>>;

 public:
  using scalar = T;
  template <class U>
  using rebind = dense<In, Out, Act, U>;
  using activation_function = Act;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = Out;
  static constexpr std::string_view type_name = "dense";
  using state = no_state;

  void step(const T* x, state&, T* y) const noexcept {
    if constexpr (row_major) {
      kernels::matvec_row_major<T, Out, In>(weight_.raw(), x, bias_.raw(), y);
      for (std::size_t r = Out; r < simd::padded<T>(Out); ++r) y[r] = T(0);
    } else {
      kernels::matvec_col_major<T, simd::padded<T>(Out), In>(weight_.raw(), x, bias_.raw(), y);
    }
    apply_activation<Act, T, Out>(y);
  }

  /// step for N independent inputs at once: the bits of N single steps; a column-major weight
  /// is loaded once per group of inputs.
  template <std::size_t N>
  void step_streams(const std::array<const T*, N>& x, const std::array<state*, N>& s,
                    const std::array<T*, N>& y) const noexcept {
    if constexpr (row_major) {
      for (std::size_t k = 0; k < N; ++k) step(x[k], *s[k], y[k]);
    } else {
      kernels::for_stream_groups<N, kernels::budget.step_group>([&](auto group, auto first) {
        constexpr std::size_t K = decltype(group)::value;
        std::array<const T*, K> xs;
        std::array<T*, K> ys;
        kernels::unroll<K>([&](auto k) {
          xs[k] = x[first + k];
          ys[k] = y[first + k];
        });
        kernels::matvec_col_major_streams_exact<T, simd::padded<T>(Out), In, K>(weight_.raw(), xs,
                                                                                bias_.raw(), ys);
      });
      for (std::size_t k = 0; k < N; ++k) apply_activation<Act, T, Out>(y[k]);
    }
  }

  void forward_sequence(const T* xs, std::size_t steps, state& s, T* ys) const {
    for (std::size_t t = 0; t < steps; ++t)
      step(xs + t * simd::padded<T>(In), s, ys + t * simd::padded<T>(Out));
  }

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  using tape = no_tape;

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* s, tape&,
                     T* ys) const {
    forward_sequence(xs, batch_size * steps, *s, ys);
  }

  /// da = act'(y) dy (in place in dys),  dW += da x^T,  db += da,  dx = W^T da.
  void backward(const T* xs, const T* ys, T* dys, std::size_t batch_size, std::size_t steps, tape&,
                dense& grad, T* dxs) const {
    constexpr std::size_t Is = simd::padded<T>(In), Os = simd::padded<T>(Out);
    const std::size_t rows = batch_size * steps;
    for (std::size_t n = 0; n < rows; ++n)
      apply_activation_gradient<Act, T, Out>(ys + n * Os, dys + n * Os);
    if constexpr (row_major) {  // W^T is column-major In x Out
      kernels::accumulate_outer_products<T, Is, Out>(xs, Is, dys, Os, rows,
                                                     grad.weight_.data.data());
    } else {
      kernels::accumulate_outer_products<T, Os, In>(dys, Os, xs, Is, rows,
                                                    grad.weight_.data.data());
    }
    kernels::accumulate_rows<T, Os>(dys, Os, rows, grad.bias_.data.data());
    if (dxs == nullptr) return;
    for (std::size_t n = 0; n < rows; ++n) {
      T* dx = dxs + n * Is;
      if constexpr (row_major) {
        kernels::matvec_col_major<T, Is, Out>(weight_.raw(), dys + n * Os, nullptr, dx);
      } else {
        kernels::matvec_row_major<T, In, Os>(weight_.raw(), dys + n * Os, nullptr, dx);
        for (std::size_t j = In; j < Is; ++j) dx[j] = T(0);
      }
    }
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("in_features", In);
    f("out_features", Out);
    f("activation", Act::name);
  }
  template <class D>
  static void describe(D& d) {
    d.header("rnnx/layers/dense.hpp");
    d.choices("activation", activation_names);
    d.input("in_features");
    d.output("out_features");
    d.parameter("weight", "out_features", "in_features");
    d.parameter("bias", "out_features");
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

  friend constexpr bool operator==(const dense&, const dense&) = default;

 private:
  weight_type weight_;
  vector_parameter<T, Out> bias_;
};

/// A parameter-free activation between layers, e.g. tanh after an LSTM.
template <std::size_t N, class Act, class T = float>
class activation {
  static_assert(N > 0, "rnnx::activation<N, Act>: the size must be positive");
  static_assert(is_activation_v<Act>,
                "rnnx::activation<N, Act>: Act must be one of rnnx::identity, rnnx::sigmoid, "
                "rnnx::tanh, rnnx::relu, rnnx::elu, rnnx::softmax");
  static_assert(is_supported_scalar_v<T>,
                "rnnx::activation: the scalar type must be float or double");

 public:
  using scalar = T;
  template <class U>
  using rebind = activation<N, Act, U>;
  static constexpr std::size_t in_size = N;
  static constexpr std::size_t out_size = N;
  static constexpr std::string_view type_name = "activation";
  using state = no_state;

  void step(const T* x, state&, T* y) const noexcept {
    for (std::size_t i = 0; i < simd::padded<T>(N); ++i) y[i] = x[i];
    apply_activation<Act, T, N>(y);
  }

  void forward_sequence(const T* xs, std::size_t steps, state& s, T* ys) const {
    for (std::size_t t = 0; t < steps; ++t)
      step(xs + t * simd::padded<T>(N), s, ys + t * simd::padded<T>(N));
  }

  using tape = no_tape;

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* s, tape&,
                     T* ys) const {
    forward_sequence(xs, batch_size * steps, *s, ys);
  }

  /// dx = act'(y) dy.
  void backward(const T*, const T* ys, T* dys, std::size_t batch_size, std::size_t steps, tape&,
                activation&, T* dxs) const {
    constexpr std::size_t Ns = simd::padded<T>(N);
    const std::size_t rows = batch_size * steps;
    for (std::size_t n = 0; n < rows; ++n)
      apply_activation_gradient<Act, T, N>(ys + n * Ns, dys + n * Ns);
    if (dxs != nullptr) std::copy_n(dys, rows * Ns, dxs);
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("size", N);
    f("function", Act::name);
  }
  template <class D>
  static void describe(D& d) {
    d.header("rnnx/layers/dense.hpp");
    d.choices("function", activation_names);
    d.input("size");
    d.output("size");
  }
  template <class F>
  void visit_parameters(F&&) const {}

  friend constexpr bool operator==(const activation&, const activation&) = default;
};

}  // namespace RNNX_NAMESPACE
