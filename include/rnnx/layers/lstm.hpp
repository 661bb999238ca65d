#pragma once
// Long short-term memory, exactly torch.nn.LSTM (gate rows i, f, g, o; both bias vectors):
//   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)    f = sigmoid(W_if x + b_if + W_hf h + b_hf)
//   g = tanh   (W_ig x + b_ig + W_hg h + b_hg)    o = sigmoid(W_io x + b_io + W_ho h + b_ho)
//   c' = f * c + i * g                            h' = o * tanh(c')

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/recurrent_weights.hpp"
#include "rnnx/simd/math.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace rnnx {

template <std::size_t In, std::size_t H, class T = float>
class lstm {
  static_assert(In > 0 && H > 0, "rnnx::lstm<In, H>: input and hidden sizes must be positive");
  static_assert(is_supported_scalar_v<T>, "rnnx::lstm: the scalar type must be float or double");
  using weights = recurrent_weights<T, 4, In, H>;
  using batch = simd::batch<T>;
  static constexpr std::size_t V = simd::width<T>;

 public:
  using scalar = T;
  template <class U>
  using rebind = lstm<In, H, U>;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = H;
  static constexpr std::string_view type_name = "lstm";

  struct state {
    simd::padded_array<T, H> h;
    simd::padded_array<T, H> c;
    constexpr void reset() noexcept {
      h.fill_zero();
      c.fill_zero();
    }
    friend constexpr bool operator==(const state&, const state&) = default;
  };

  void step(const T* x, state& s, T* y) const noexcept {
    alignas(simd::alignment) T xg[weights::gate_stride];
    w_.project_input(x, xg);
    advance(xg, s, y);
  }

  void forward_sequence(const T* xs, std::size_t steps, state& s, T* ys) const {
    w_.run_sequence(xs, steps, ys, [&](const T* xg, T* y) { advance(xg, s, y); });
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("input_size", In);
    f("hidden_size", H);
  }
  template <class F>
  void visit_parameters(F&& f) {
    weights::visit(w_, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    weights::visit(w_, f);
  }

  friend constexpr bool operator==(const lstm&, const lstm&) = default;

 private:
  void advance(const T* xg, state& s, T* y) const noexcept {
    w_.recur(xg, s.h.data(), [&](std::size_t slice, const T* x, const batch* hg) {
      const batch i = simd::sigmoid(simd::load(x) + hg[0]);
      const batch f = simd::sigmoid(simd::load(x + V) + hg[1]);
      const batch g = simd::tanh(simd::load(x + 2 * V) + hg[2]);
      const batch o = simd::sigmoid(simd::load(x + 3 * V) + hg[3]);
      T* c = s.c.data() + slice * V;
      const batch c_next = xsimd::fma(f, simd::load(c), i * g);
      simd::store(c, c_next);
      simd::store(y + slice * V, o * simd::tanh(c_next));
    });
    std::copy_n(y, s.h.padded_size, s.h.data());
  }

  weights w_;
};

}  // namespace rnnx
