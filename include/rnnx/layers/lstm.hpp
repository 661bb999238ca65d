#pragma once
// Long short-term memory, exactly torch.nn.LSTM (gate rows i, f, g, o; both bias vectors):
//   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)    f = sigmoid(W_if x + b_if + W_hf h + b_hf)
//   g = tanh   (W_ig x + b_ig + W_hg h + b_hg)    o = sigmoid(W_io x + b_io + W_ho h + b_ho)
//   c' = f * c + i * g                            h' = o * tanh(c')

#include <algorithm>
#include <array>
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
  static constexpr std::size_t Hs = simd::padded<T>(H);

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

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  struct tape : weights::tape_base {
    simd::aligned_vector<T> initial_c, c, tanh_c, dc;
    void prepare(std::size_t batch_size, std::size_t steps) {
      weights::tape_base::prepare(batch_size, steps);
      this->grow(initial_c, batch_size * Hs);
      this->grow(c, batch_size * steps * Hs);
      this->grow(tanh_c, batch_size * steps * Hs);
      this->grow(dc, batch_size * Hs);
    }
  };

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* states,
                     tape& tp, T* ys) const {
    tp.prepare(batch_size, steps);
    for (std::size_t b = 0; b < batch_size; ++b) {
      std::copy_n(states[b].h.data(), Hs, tp.initial_h.data() + b * Hs);
      std::copy_n(states[b].c.data(), Hs, tp.initial_c.data() + b * Hs);
    }
    w_.forward_batch(
        xs, batch_size, steps, tp, ys,
        [&](std::size_t b, std::size_t row, std::size_t slice, T* x, const T*, const batch* hg) {
          const std::size_t u = slice * V;
          const T* c_prev = row < batch_size ? tp.initial_c.data() + b * Hs
                                             : tp.c.data() + (row - batch_size) * Hs;
          const batch i = simd::sigmoid(simd::load(x) + hg[0]);
          const batch f = simd::sigmoid(simd::load(x + V) + hg[1]);
          const batch g = simd::tanh(simd::load(x + 2 * V) + hg[2]);
          const batch o = simd::sigmoid(simd::load(x + 3 * V) + hg[3]);
          simd::store(x, i);  // kept for backward
          simd::store(x + V, f);
          simd::store(x + 2 * V, g);
          simd::store(x + 3 * V, o);
          const batch c_next = xsimd::fma(f, simd::load(c_prev + u), i * g);
          const batch tc = simd::tanh(c_next);
          simd::store(tp.c.data() + row * Hs + u, c_next);
          simd::store(tp.tanh_c.data() + row * Hs + u, tc);
          simd::store(ys + row * Hs + u, o * tc);
        });
    for (std::size_t b = 0; b < batch_size; ++b) {
      const std::size_t last = (steps - 1) * batch_size + b;
      std::copy_n(ys + last * Hs, Hs, states[b].h.data());
      std::copy_n(tp.c.data() + last * Hs, Hs, states[b].c.data());
    }
  }

  /// Backward through the steps forward_train recorded:
  ///   dh = dy + dh_next                 dc = dh o (1 - tanh(c)^2) + dc_next
  ///   do = dh tanh(c) o (1 - o)         di = dc g i (1 - i)
  ///   dg = dc i (1 - g^2)               df = dc c_prev f (1 - f)
  ///   dh_prev = W_hh^T [di df dg do]    dc_prev = dc f
  void backward(const T* xs, const T* ys, T* dys, std::size_t batch_size, std::size_t steps,
                tape& tp, lstm& grad, T* dxs) const {
    w_.transpose_into(tp);
    std::fill_n(tp.dc.data(), batch_size * Hs, T(0));
    const batch one(T(1));
    weights::backward_batch(
        tp, batch_size, steps, [&](std::size_t, std::size_t b, std::size_t row) {
          T* gates = tp.gates.data() + row * weights::gate_stride;
          const T* c_prev = row < batch_size ? tp.initial_c.data() + b * Hs
                                             : tp.c.data() + (row - batch_size) * Hs;
          const T* tanh_c = tp.tanh_c.data() + row * Hs;
          const T* dy = dys + row * Hs;
          const T* dh_next = tp.dh.data() + b * Hs;
          T* dc = tp.dc.data() + b * Hs;
          for (std::size_t slice = 0; slice < weights::slices; ++slice) {
            T* gs = gates + slice * 4 * V;
            const std::size_t u = slice * V;
            const batch i = simd::load(gs), f = simd::load(gs + V), g = simd::load(gs + 2 * V),
                        o = simd::load(gs + 3 * V);
            const batch tc = simd::load(tanh_c + u);
            const batch dh_t = simd::load(dy + u) + simd::load(dh_next + u);
            const batch dc_t = xsimd::fma(dh_t * o, one - tc * tc, simd::load(dc + u));
            simd::store(gs, dc_t * g * i * (one - i));
            simd::store(gs + V, dc_t * simd::load(c_prev + u) * f * (one - f));
            simd::store(gs + 2 * V, dc_t * i * (one - g * g));
            simd::store(gs + 3 * V, dh_t * tc * o * (one - o));
            simd::store(dc + u, dc_t * f);
          }
          return static_cast<const T*>(gates);
        });
    w_.accumulate_gradients(tp, tp.gates.data(), tp.gates.data(), xs, ys, batch_size, steps,
                            grad.w_, dxs);
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
