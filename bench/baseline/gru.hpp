#pragma once
// Gated recurrent unit, exactly torch.nn.GRU (gate rows r, z, n; reset applied after the
// hidden matmul, so b_hn sits inside the reset product):
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h  =  n + z * (h - n)

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "rnnx/engine/recurrent_weights.hpp"
#include "rnnx/engine/training.hpp"
#include "rnnx/layers/hidden_state.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/recurrent_cell.hpp"
#include "rnnx/simd/math.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace rnnx::baseline {

template <std::size_t In, std::size_t H, class T = float>
class gru : public recurrent_cell<gru<In, H, T>, T> {
  friend class recurrent_cell<gru, T>;
  static_assert(In > 0 && H > 0, "rnnx::gru<In, H>: input and hidden sizes must be positive");
  static_assert(is_supported_scalar_v<T>, "rnnx::gru: the scalar type must be float or double");
  using weights = recurrent_weights<T, 3, In, H>;
  using batch = simd::batch<T>;
  static constexpr std::size_t V = simd::width<T>;
  static constexpr std::size_t Hs = simd::padded<T>(H);

 public:
  using scalar = T;
  /// Its weight matrices' layout and sizes (for copies: realtime/bf16_weights.hpp).
  using recurrent_weights_type = weights;
  template <class U>
  using rebind = gru<In, H, U>;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = H;
  static constexpr std::string_view type_name = "gru";

  using state = hidden_state<T, H>;

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  struct tape : engine::recurrence_tape<weights> {
    simd::aligned_vector<T> hn;      // rows: W_hn h + b_hn, the term the reset gate scales
    simd::aligned_vector<T> dgh;     // rows: gate gradients on the hidden side
    simd::aligned_vector<T> direct;  // batch rows: dh z, the path around the matrix
    void prepare(std::size_t batch_size, std::size_t steps) {
      engine::recurrence_tape<weights>::prepare(typename weights::shape_type{}, batch_size, steps);
      this->grow(hn, batch_size * steps * Hs);
      this->grow(dgh, batch_size * steps * weights::gate_stride);
      this->grow(direct, batch_size * Hs);
    }
  };

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* states,
                     tape& tp, T* ys) const {
    tp.prepare(batch_size, steps);
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(states[b].h.data(), Hs, tp.initial_h.data() + b * Hs);
    engine::forward_batch(
        w_, xs, batch_size, steps, tp, ys,
        [&](std::size_t, std::size_t row, std::size_t slice, T* x, const T* h, const batch* hg) {
          const batch r = simd::sigmoid(simd::load(x) + hg[0]);
          const batch z = simd::sigmoid(simd::load(x + V) + hg[1]);
          const batch n = simd::tanh(simd::fma(r, hg[2], simd::load(x + 2 * V)));
          simd::store(x, r);  // kept for backward, with W_hn h + b_hn
          simd::store(x + V, z);
          simd::store(x + 2 * V, n);
          simd::store(tp.hn.data() + row * Hs + slice * V, hg[2]);
          simd::store(ys + row * Hs + slice * V, simd::fma(z, simd::load(h) - n, n));
        });
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(ys + ((steps - 1) * batch_size + b) * Hs, Hs, states[b].h.data());
  }

  /// Backward through the steps forward_train recorded (a_* the gate pre-activations):
  ///   dh = dy + dh_next          da_z = dh (h_prev - n) z (1 - z)
  ///   da_n = dh (1 - z)(1 - n^2) da_r = da_n hn r (1 - r)
  ///   input side [da_r da_z da_n], hidden side [da_r da_z da_n r]
  ///   dh_prev = dh z + W_hh^T (hidden side)
  void backward(const T* xs, const T* ys, T* dys, std::size_t batch_size, std::size_t steps,
                tape& tp, gru& grad, T* dxs) const {
    engine::transpose_into(w_, tp);
    // dL/dh_t = dy + W_hh^T (hidden-side gradients of t + 1) + (dh z of t + 1): the last
    // term, the path around the matrix, waits in tp.direct.
    std::fill_n(tp.direct.data(), batch_size * Hs, T(0));
    const batch one(T(1));
    engine::backward_batch(
        tp, batch_size, steps, [&](std::size_t t, std::size_t b, std::size_t row) {
          T* gates = tp.gates.data() + row * weights::gate_stride;
          T* dgh = tp.dgh.data() + row * weights::gate_stride;
          const T* hn = tp.hn.data() + row * Hs;
          const T* h_prev = engine::previous_h(tp, ys, batch_size, t, b);
          const T* dy = dys + row * Hs;
          const T* dh_next = tp.dh.data() + b * Hs;
          T* direct = tp.direct.data() + b * Hs;
          for (std::size_t slice = 0; slice < weights::slices; ++slice) {
            T* gs = gates + slice * 3 * V;
            T* hs = dgh + slice * 3 * V;
            const std::size_t u = slice * V;
            const batch r = simd::load(gs), z = simd::load(gs + V), n = simd::load(gs + 2 * V);
            const batch dh_t =
                simd::load(dy + u) + simd::load(dh_next + u) + simd::load(direct + u);
            const batch da_z = dh_t * (simd::load(h_prev + u) - n) * z * (one - z);
            const batch da_n = dh_t * (one - z) * (one - n * n);
            const batch da_r = da_n * simd::load(hn + u) * r * (one - r);
            simd::store(gs, da_r);
            simd::store(gs + V, da_z);
            simd::store(gs + 2 * V, da_n);
            simd::store(hs, da_r);
            simd::store(hs + V, da_z);
            simd::store(hs + 2 * V, da_n * r);
            simd::store(direct + u, dh_t * z);
          }
          return static_cast<const T*>(dgh);
        });
    engine::accumulate_gradients(tp, tp.gates.data(), tp.dgh.data(), xs, ys, batch_size, steps,
                                 grad.w_, dxs);
  }

  /// dL/d(final state) of each sequence from outside the layer, for the next backward.
  void give_final_state_gradients(tape& tp, const state* d, std::size_t batch_size) const {
    engine::give_final_h_gradient(tp, batch_size, [&](std::size_t b) { return d[b].h.data(); });
  }
  /// dL/d(initial state) of each sequence, after backward: through W_hh and around it.
  void initial_state_gradients(const tape& tp, state* d, std::size_t batch_size) const {
    for (std::size_t b = 0; b < batch_size; ++b)
      for (std::size_t u = 0; u < Hs; ++u)
        d[b].h.data()[u] = tp.dh[b * Hs + u] + tp.direct[b * Hs + u];
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
  /// y of one slice of units from its gates' pre-activations (h is still h_{t-1}).
  [[gnu::always_inline]] static void update(std::size_t slice, const T* x, const batch* hg,
                                            const state& s, T* y) noexcept {
    const batch r = simd::sigmoid(simd::load(x) + hg[0]);
    const batch z = simd::sigmoid(simd::load(x + V) + hg[1]);
    const batch n = simd::tanh(simd::fma(r, hg[2], simd::load(x + 2 * V)));
    const batch h = simd::load(s.h.data() + slice * V);
    simd::store(y + slice * V, simd::fma(z, h - n, n));
  }

  weights w_;
};

}  // namespace rnnx::baseline
