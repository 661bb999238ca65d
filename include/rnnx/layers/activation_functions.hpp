#pragma once
// The activation functions a layer can name as a template argument. Each is a tag type with
// its file-format name, its elementwise form on SIMD registers and its derivative expressed
// through its output (what backward has at hand); softmax is the one function of the whole
// vector, so layers apply it and its gradient through `apply_activation(_gradient)`.

#include <cstddef>
#include <limits>
#include <string_view>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/simd/math.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace RNNX_NAMESPACE {

struct identity {
  static constexpr std::string_view name = "identity";
  template <class T>
  static simd::batch<T> apply(const simd::batch<T>& x) noexcept {
    return x;
  }
  /// d act / dx at the x for which act(x) = y.
  template <class T>
  static simd::batch<T> derivative(const simd::batch<T>& /*y*/) noexcept {
    return simd::broadcast(T(1));
  }
};

struct sigmoid {
  static constexpr std::string_view name = "sigmoid";
  template <class T>
  static simd::batch<T> apply(const simd::batch<T>& x) noexcept {
    return simd::sigmoid(x);
  }
  /// d act / dx at the x for which act(x) = y.
  template <class T>
  static simd::batch<T> derivative(const simd::batch<T>& y) noexcept {
    return y * (simd::broadcast(T(1)) - y);
  }
};

struct tanh {
  static constexpr std::string_view name = "tanh";
  template <class T>
  static simd::batch<T> apply(const simd::batch<T>& x) noexcept {
    return simd::tanh(x);
  }
  /// d act / dx at the x for which act(x) = y.
  template <class T>
  static simd::batch<T> derivative(const simd::batch<T>& y) noexcept {
    return simd::broadcast(T(1)) - y * y;
  }
};

struct relu {
  static constexpr std::string_view name = "relu";
  template <class T>
  static simd::batch<T> apply(const simd::batch<T>& x) noexcept {
    return simd::relu(x);
  }
  /// d act / dx at the x for which act(x) = y.
  template <class T>
  static simd::batch<T> derivative(const simd::batch<T>& y) noexcept {
    return simd::select(y > simd::broadcast(T(0)), simd::broadcast(T(1)), simd::broadcast(T(0)));
  }
};

/// torch.nn.ELU with alpha = 1 (RTNeural's and Keras' default): x for x > 0, exp(x) - 1
/// otherwise.
struct elu {
  static constexpr std::string_view name = "elu";
  template <class T>
  static simd::batch<T> apply(const simd::batch<T>& x) noexcept {
    return simd::elu(x);
  }
  /// d act / dx at the x for which act(x) = y: 1 for y > 0, exp(x) = y + 1 otherwise.
  template <class T>
  static simd::batch<T> derivative(const simd::batch<T>& y) noexcept {
    const simd::batch<T> one = simd::broadcast(T(1));
    return simd::select(y > simd::broadcast(T(0)), one, y + one);
  }
};

/// exp(x_i - max x) / sum_j exp(x_j - max x) over the layer's output vector.
struct softmax {
  static constexpr std::string_view name = "softmax";
};

/// Every activation's name, in the order the format's documentation lists them.
inline constexpr std::string_view activation_names[] = {
    identity::name, sigmoid::name, tanh::name, relu::name, elu::name, softmax::name};

template <class A>
inline constexpr bool is_activation_v =
    std::is_same_v<A, identity> || std::is_same_v<A, sigmoid> || std::is_same_v<A, tanh> ||
    std::is_same_v<A, relu> || std::is_same_v<A, elu> || std::is_same_v<A, softmax>;

/// y = A(y) in place over N values stored padded to whole registers; padding lanes end as 0.
template <class A, class T, std::size_t N>
inline void apply_activation(T* y) noexcept {
  constexpr std::size_t V = simd::width<T>;
  constexpr std::size_t regs = simd::registers<T>(N);
  constexpr std::size_t tail = N - (regs - 1) * V;  // valid lanes in the last register
  using B = simd::batch<T>;
  auto valid_lanes = [] {
    alignas(simd::alignment) T mask[simd::width<T>];
    for (std::size_t i = 0; i < simd::width<T>; ++i) mask[i] = i < tail ? T(1) : T(0);
    return simd::load(mask) != B(T(0));
  };
  if constexpr (std::is_same_v<A, softmax>) {
    B m(-std::numeric_limits<T>::infinity());
    for (std::size_t k = 0; k + 1 < regs; ++k) m = simd::max(m, simd::load(y + k * V));
    m = simd::max(m, simd::select(valid_lanes(), simd::load(y + (regs - 1) * V), m));
    alignas(simd::alignment) T lanes[V];
    simd::store(lanes, m);
    T max_value = lanes[0];
    for (std::size_t i = 1; i < V; ++i) max_value = lanes[i] > max_value ? lanes[i] : max_value;
    const B max_all(max_value);
    B sum(T(0));
    for (std::size_t k = 0; k < regs; ++k) {
      B e = simd::exp(simd::load(y + k * V) - max_all);
      if (k + 1 == regs) e = simd::select(valid_lanes(), e, B(T(0)));
      simd::store(y + k * V, e);
      sum += e;
    }
    const B inv = simd::div(B(T(1)), B(simd::reduce_add(sum)));
    for (std::size_t k = 0; k < regs; ++k) simd::store(y + k * V, simd::load(y + k * V) * inv);
  } else if constexpr (!std::is_same_v<A, identity>) {
    for (std::size_t k = 0; k < regs; ++k) simd::store(y + k * V, A::apply(simd::load(y + k * V)));
    if constexpr (tail != V) {
      T* last = y + (regs - 1) * V;
      simd::store(last, simd::select(valid_lanes(), simd::load(last), B(T(0))));
    }
  }
}

/// dy = dL/dx in place, given dy = dL/dA(x) and the output y = A(x) (both padded; the padding
/// of y is 0, so the padding of dy ends as 0 for every A but identity, whose dy passes through).
///   softmax: dx_i = y_i (dy_i - sum_j dy_j y_j)
template <class A, class T, std::size_t N>
inline void apply_activation_gradient(const T* y, T* dy) noexcept {
  constexpr std::size_t V = simd::width<T>;
  constexpr std::size_t regs = simd::registers<T>(N);
  using B = simd::batch<T>;
  if constexpr (std::is_same_v<A, softmax>) {
    B dot(T(0));
    for (std::size_t k = 0; k < regs; ++k)
      dot = simd::fma(simd::load(dy + k * V), simd::load(y + k * V), dot);
    const B total(simd::reduce_add(dot));
    for (std::size_t k = 0; k < regs; ++k)
      simd::store(dy + k * V, simd::load(y + k * V) * (simd::load(dy + k * V) - total));
  } else if constexpr (!std::is_same_v<A, identity>) {
    for (std::size_t k = 0; k < regs; ++k)
      simd::store(dy + k * V, simd::load(dy + k * V) * A::derivative(simd::load(y + k * V)));
  }
}

}  // namespace RNNX_NAMESPACE
