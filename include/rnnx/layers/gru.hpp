#pragma once
// Gated recurrent unit, exactly torch.nn.GRU (gate rows r, z, n; reset applied after the
// hidden matmul, so b_hn sits inside the reset product):
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h  =  n + z * (h - n)

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/recurrent_weights.hpp"
#include "rnnx/simd/math.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace rnnx {

template <std::size_t In, std::size_t H, class T = float>
class gru {
  static_assert(In > 0 && H > 0, "rnnx::gru<In, H>: input and hidden sizes must be positive");
  static_assert(is_supported_scalar_v<T>, "rnnx::gru: the scalar type must be float or double");
  using weights = recurrent_weights<T, 3, In, H>;
  using batch = simd::batch<T>;
  static constexpr std::size_t V = simd::width<T>;

 public:
  using scalar = T;
  template <class U>
  using rebind = gru<In, H, U>;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = H;
  static constexpr std::string_view type_name = "gru";

  struct state {
    simd::padded_array<T, H> h;
    constexpr void reset() noexcept { h.fill_zero(); }
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

  friend constexpr bool operator==(const gru&, const gru&) = default;

 private:
  void advance(const T* xg, state& s, T* y) const noexcept {
    w_.recur(xg, s.h.data(), [&](std::size_t slice, const T* x, const batch* hg) {
      const batch r = simd::sigmoid(simd::load(x) + hg[0]);
      const batch z = simd::sigmoid(simd::load(x + V) + hg[1]);
      const batch n = simd::tanh(xsimd::fma(r, hg[2], simd::load(x + 2 * V)));
      const batch h = simd::load(s.h.data() + slice * V);
      simd::store(y + slice * V, xsimd::fma(z, h - n, n));
    });
    std::copy_n(y, s.h.padded_size, s.h.data());
  }

  weights w_;
};

}  // namespace rnnx
