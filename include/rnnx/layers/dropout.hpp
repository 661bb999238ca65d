#pragma once
// Inverted dropout, as torch.nn.Dropout(p): while training each value is zeroed with
// probability p and the survivors are scaled by 1 / (1 - p); at inference (step, forward)
// the layer is the identity and costs one copy. P is a std::ratio, e.g.
// rnnx::dropout<64, std::ratio<1, 5>> for p = 0.2. Between stacked recurrent layers it is
// what nn.LSTM(num_layers=2, dropout=p) does.
//
// The masks come from a std::mt19937_64 in the layer's tape (seed it through
// rnnx::tape::seed or rnnx::fit_options::seed): training is reproducible, and the stream
// differs from PyTorch's, so a masked step matches PyTorch only given the same mask.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <ratio>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

namespace detail {
template <class R>
inline constexpr bool is_ratio_v = false;
template <std::intmax_t Num, std::intmax_t Den>
inline constexpr bool is_ratio_v<std::ratio<Num, Den>> = true;

/// "1/5" for std::ratio<1, 5>: how the weight format and messages write a dropout probability.
template <class R>
struct ratio_text {
  static constexpr std::size_t digits(std::intmax_t v) { return v < 10 ? 1 : 1 + digits(v / 10); }
  static constexpr std::size_t length = digits(R::num) + 1 + digits(R::den);
  static constexpr std::array<char, length> text = [] {
    std::array<char, length> out{};
    std::size_t end = digits(R::num);
    for (std::intmax_t v = R::num; end > 0; v /= 10) out[--end] = char('0' + v % 10);
    out[digits(R::num)] = '/';
    end = length;
    for (std::intmax_t v = R::den; end > digits(R::num) + 1; v /= 10)
      out[--end] = char('0' + v % 10);
    return out;
  }();
  static constexpr std::string_view value{text.data(), length};
};
}  // namespace detail

template <std::size_t N, class P = std::ratio<1, 2>, class T = float>
class dropout {
  static_assert(N > 0, "rnnx::dropout<N, P>: the size must be positive");
  static_assert(detail::is_ratio_v<P>,
                "rnnx::dropout<N, P>: P must be a std::ratio, e.g. std::ratio<1, 5> for p = 0.2");
  static_assert(detail::is_ratio_v<P> && P::num >= 0 && P::num < P::den,
                "rnnx::dropout<N, P>: the probability P must be in [0, 1)");
  static_assert(is_supported_scalar_v<T>, "rnnx::dropout: the scalar type must be float or double");
  static constexpr std::size_t Ns = simd::padded<T>(N);

 public:
  using scalar = T;
  template <class U>
  using rebind = dropout<N, P, U>;
  static constexpr std::size_t in_size = N;
  static constexpr std::size_t out_size = N;
  static constexpr std::string_view type_name = "dropout";
  using state = no_state;
  static constexpr double probability = static_cast<double>(P::num) / static_cast<double>(P::den);

  void step(const T* x, state&, T* y) const noexcept { std::copy_n(x, Ns, y); }

  void forward_sequence(const T* xs, std::size_t steps, state&, T* ys) const {
    std::copy_n(xs, steps * Ns, ys);
  }

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  struct tape {
    std::mt19937_64 generator{0};
    simd::aligned_vector<T> mask;  // 0 or 1 / (1 - p) per value, rows like the outputs
    void prepare(std::size_t batch_size, std::size_t steps) {
      if (mask.size() < batch_size * steps * Ns) mask.resize(batch_size * steps * Ns);
    }
    void seed(std::uint64_t value) { generator.seed(value); }
  };

  /// y = mask * x, a fresh mask per call; the padding stays zero.
  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state*, tape& tp,
                     T* ys) const {
    constexpr T scale = T(1) / T(1 - probability);
    // keep when a uniform draw in [0, 2^53) is >= p * 2^53
    constexpr std::uint64_t threshold =
        static_cast<std::uint64_t>(probability * static_cast<double>(std::uint64_t{1} << 53));
    for (std::size_t n = 0; n < batch_size * steps; ++n) {
      T* mask = tp.mask.data() + n * Ns;
      for (std::size_t j = 0; j < N; ++j) mask[j] = (tp.generator() >> 11) >= threshold ? scale : 0;
      for (std::size_t j = N; j < Ns; ++j) mask[j] = T(0);
      for (std::size_t j = 0; j < Ns; ++j) ys[n * Ns + j] = mask[j] * xs[n * Ns + j];
    }
  }

  /// dx = mask * dy.
  void backward(const T*, const T*, T* dys, std::size_t batch_size, std::size_t steps, tape& tp,
                dropout&, T* dxs) const {
    if (dxs == nullptr) return;
    for (std::size_t i = 0; i < batch_size * steps * Ns; ++i) dxs[i] = tp.mask[i] * dys[i];
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("size", N);
    f("p", detail::ratio_text<P>::value);
  }
  template <class D>
  static void describe(D& d) {
    d.header("rnnx/layers/dropout.hpp");
    d.fraction("p");
    d.input("size");
    d.output("size");
  }
  template <class F>
  void visit_parameters(F&&) const {}

  friend constexpr bool operator==(const dropout&, const dropout&) = default;
};

}  // namespace RNNX_NAMESPACE
