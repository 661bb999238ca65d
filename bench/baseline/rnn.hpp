#pragma once
// Elman recurrent layer, exactly torch.nn.RNN:
//   h' = act(W_ih x + b_ih + W_hh h + b_hh),  act = tanh or relu

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "rnnx/engine/recurrent_weights.hpp"
#include "rnnx/engine/training.hpp"
#include "rnnx/layers/activation_functions.hpp"
#include "rnnx/layers/hidden_state.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/recurrent_cell.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace rnnx::baseline {

template <std::size_t In, std::size_t H, class Act = tanh, class T = float>
class rnn : public recurrent_cell<rnn<In, H, Act, T>, T> {
  friend class recurrent_cell<rnn, T>;
  static_assert(In > 0 && H > 0, "rnnx::rnn<In, H>: input and hidden sizes must be positive");
  static_assert(std::is_same_v<Act, tanh> || std::is_same_v<Act, relu>,
                "rnnx::rnn<In, H, Act>: the nonlinearity must be rnnx::tanh or rnnx::relu "
                "(as torch.nn.RNN)");
  static_assert(is_supported_scalar_v<T>, "rnnx::rnn: the scalar type must be float or double");
  using weights = recurrent_weights<T, 1, In, H>;
  using batch = simd::batch<T>;
  static constexpr std::size_t V = simd::width<T>;
  static constexpr std::size_t Hs = simd::padded<T>(H);

 public:
  using scalar = T;
  /// Its weight matrices' layout and sizes (for copies: realtime/bf16_weights.hpp).
  using recurrent_weights_type = weights;
  template <class U>
  using rebind = rnn<In, H, Act, U>;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = H;
  static constexpr std::string_view type_name = "rnn";

  using state = hidden_state<T, H>;

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  using tape = engine::recurrence_tape<weights>;

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* states,
                     tape& tp, T* ys) const {
    tp.prepare(batch_size, steps);
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(states[b].h.data(), Hs, tp.initial_h.data() + b * Hs);
    engine::forward_batch(w_, xs, batch_size, steps, tp, ys,
                          [&](std::size_t, std::size_t row, std::size_t slice, const T* x, const T*,
                              const batch* hg) {
                            simd::store(ys + row * Hs + slice * V,
                                        Act::apply(simd::load(x) + hg[0]));
                          });
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(ys + ((steps - 1) * batch_size + b) * Hs, Hs, states[b].h.data());
  }

  /// da = (dy + dh_next) act'(y),  dh_prev = W_hh^T da.
  void backward(const T* xs, const T* ys, T* dys, std::size_t batch_size, std::size_t steps,
                tape& tp, rnn& grad, T* dxs) const {
    engine::transpose_into(w_, tp);
    engine::backward_batch(tp, batch_size, steps, [&](std::size_t, std::size_t b, std::size_t row) {
      T* da = tp.gates.data() + row * weights::gate_stride;
      const T* dh_next = tp.dh.data() + b * Hs;
      for (std::size_t u = 0; u < Hs; u += V)
        simd::store(da + u, (simd::load(dys + row * Hs + u) + simd::load(dh_next + u)) *
                                Act::derivative(simd::load(ys + row * Hs + u)));
      return static_cast<const T*>(da);
    });
    engine::accumulate_gradients(tp, tp.gates.data(), tp.gates.data(), xs, ys, batch_size, steps,
                                 grad.w_, dxs);
  }

  /// dL/d(final state) of each sequence from outside the layer, for the next backward.
  void give_final_state_gradients(tape& tp, const state* d, std::size_t batch_size) const {
    engine::give_final_h_gradient(tp, batch_size, [&](std::size_t b) { return d[b].h.data(); });
  }
  /// dL/d(initial state) of each sequence, after backward.
  void initial_state_gradients(const tape& tp, state* d, std::size_t batch_size) const {
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(tp.dh.data() + b * Hs, Hs, d[b].h.data());
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("input_size", In);
    f("hidden_size", H);
    f("nonlinearity", Act::name);
  }
  template <class F>
  void visit_parameters(F&& f) {
    weights::visit(w_, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    weights::visit(w_, f);
  }

  friend constexpr bool operator==(const rnn&, const rnn&) = default;

 private:
  /// y of one slice of units from its pre-activations.
  [[gnu::always_inline]] static void update(std::size_t slice, const T* x, const batch* hg,
                                            const state&, T* y) noexcept {
    simd::store(y + slice * V, Act::apply(simd::load(x) + hg[0]));
  }

  weights w_;
};

}  // namespace rnnx::baseline
