#pragma once
// What the optimisers share: state buffers (models of the trained model's own type, on the
// heap, copied deeply) and option checks with one message format.

#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::detail {

/// A heap-allocated model used as an optimiser's state buffer (models can be hundreds of
/// KB). Starts all zero; copies copy the model; empty when the options do not need it.
template <class Model>
class model_buffer {
 public:
  model_buffer() = default;
  explicit model_buffer(bool allocate) : p_(allocate ? std::make_unique<Model>() : nullptr) {}
  model_buffer(const model_buffer& other)
      : p_(other.p_ ? std::make_unique<Model>(*other.p_) : nullptr) {}
  model_buffer(model_buffer&&) noexcept = default;
  model_buffer& operator=(const model_buffer& other) {
    if (this == &other) return *this;
    if (p_ && other.p_) *p_ = *other.p_;  // no allocation: fit copies optimisers every update
    else p_ = other.p_ ? std::make_unique<Model>(*other.p_) : nullptr;
    return *this;
  }
  model_buffer& operator=(model_buffer&&) noexcept = default;

  explicit operator bool() const noexcept { return p_ != nullptr; }
  Model& operator*() noexcept { return *p_; }
  const Model& operator*() const noexcept { return *p_; }
  const Model* get() const noexcept { return p_.get(); }
  /// Back to all zero (a fresh model), if allocated.
  void clear() {
    if (p_) *p_ = Model{};
  }

 private:
  std::unique_ptr<Model> p_;
};

template <class Model>
constexpr void check_trainable() {
  static_assert(is_supported_scalar_v<typename Model::scalar>,
                "rnnx optimisers: the model's scalar type must be float or double");
}

/// "0.001", "1e-08", "-1", "nan": %g, as short as the option was probably written.
inline std::string number_text(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", x);
  return text;
}

/// Throws "rnnx::<optimiser>: invalid <option> = <value> (<requirement>)" unless `ok`.
/// Comparisons are written so that NaN fails them.
inline void check_option(bool ok, std::string_view optimiser, std::string_view option, double value,
                         std::string_view requirement) {
  if (!ok || std::isnan(value))
    throw std::invalid_argument("rnnx::" + std::string(optimiser) + ": invalid " +
                                std::string(option) + " = " + number_text(value) + " (" +
                                std::string(requirement) + ")");
}

/// sqrt for a scalar or a register: the update kernels below are written once for both.
template <class T>
inline T elementwise_sqrt(T x) noexcept {
  return std::sqrt(x);
}
template <class T>
inline simd::batch<T> elementwise_sqrt(const simd::batch<T>& x) noexcept {
  return simd::sqrt(x);
}
template <class T>
inline T elementwise_max(T a, T b) noexcept {
  return a < b ? b : a;
}
template <class T>
inline simd::batch<T> elementwise_max(const simd::batch<T>& a, const simd::batch<T>& b) noexcept {
  return simd::max(a, b);
}

/// kernel(x...) over the elements of equally long spans (std::span<T> or std::span<const T>):
/// a register of each at a time (then a scalar tail, which padded parameters never have), the
/// registers of mutable spans stored back. Explicit SIMD because GCC does not vectorise loops
/// that call std::sqrt unless errno is switched off (-fno-math-errno).
template <class T, class Kernel, class... Spans>
void elementwise(Kernel&& kernel, Spans... spans) {
  using batch = simd::batch<T>;
  constexpr std::size_t V = simd::width<T>;
  const std::tuple<Spans...> all{spans...};
  const std::size_t n = std::get<0>(all).size();
  std::size_t i = 0;
  for (; i + V <= n; i += V) {
    std::tuple<std::conditional_t<true, batch, Spans>...> registers{
        batch::load_unaligned(spans.data() + i)...};
    std::apply([&](auto&... r) { kernel(r...); }, registers);
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (
          [&] {
            const auto& span = std::get<K>(all);
            if constexpr (!std::is_const_v<
                              typename std::remove_cvref_t<decltype(span)>::element_type>)
              std::get<K>(registers).store_unaligned(span.data() + i);
          }(),
          ...);
    }
    (std::index_sequence_for<Spans...>{});
  }
  for (; i < n; ++i) kernel(spans[i]...);
}

}  // namespace rnnx::detail
