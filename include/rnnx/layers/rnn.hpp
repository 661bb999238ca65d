#pragma once
// Elman recurrent layer, exactly torch.nn.RNN:
//   h' = act(W_ih x + b_ih + W_hh h + b_hh),  act = tanh or relu

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "rnnx/layers/activation_functions.hpp"
#include "rnnx/layers/hidden_state.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/recurrent_weights.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace rnnx {

template <std::size_t In, std::size_t H, class Act = tanh, class T = float>
class rnn {
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

  void step(const T* x, state& s, T* y) const noexcept { step(x, s, y, w_.matrices()); }

  /// step reading the two weight matrices from m: copies of them in another storage type
  /// (bf16: realtime/bf16_weights.hpp), everything else from the layer.
  template <class W>
  void step(const T* x, state& s, T* y, const recurrent_matrices<W>& m) const noexcept {
    alignas(simd::alignment) T xg[weights::gate_stride];
    w_.project_input(x, xg, m.input);
    advance(xg, s, y, m.hidden);
  }

  /// One step of N independent streams (channels) at once: the bits of N single steps, each
  /// weight loaded once per group of streams (recurrent_weights::step_streams).
  template <std::size_t N>
  void step_streams(const std::array<const T*, N>& x, const std::array<state*, N>& s,
                    const std::array<T*, N>& y) const noexcept {
    step_streams<N>(x, s, y, w_.matrices());
  }
  /// step_streams reading the two weight matrices from m (see step).
  template <std::size_t N, class W>
  void step_streams(const std::array<const T*, N>& x, const std::array<state*, N>& s,
                    const std::array<T*, N>& y, const recurrent_matrices<W>& m) const noexcept {
    w_.step_states(x, s, y, m, [&](std::size_t k, std::size_t slice, const T* xg, const batch* hg) {
      simd::store(y[k] + slice * V, Act::apply(simd::load(xg) + hg[0]));
    });
  }

  void forward_sequence(const T* xs, std::size_t steps, state& s, T* ys) const {
    w_.run_sequence(xs, steps, ys,
                    [&](const T* xg, T* y) { advance(xg, s, y, w_.weight_hh.raw()); });
  }

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  using tape = typename weights::tape_base;

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* states,
                     tape& tp, T* ys) const {
    tp.prepare(batch_size, steps);
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(states[b].h.data(), Hs, tp.initial_h.data() + b * Hs);
    w_.forward_batch(xs, batch_size, steps, tp, ys,
                     [&](std::size_t, std::size_t row, std::size_t slice, const T* x, const T*,
                         const batch* hg) {
                       simd::store(ys + row * Hs + slice * V, Act::apply(simd::load(x) + hg[0]));
                     });
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(ys + ((steps - 1) * batch_size + b) * Hs, Hs, states[b].h.data());
  }

  /// da = (dy + dh_next) act'(y),  dh_prev = W_hh^T da.
  void backward(const T* xs, const T* ys, T* dys, std::size_t batch_size, std::size_t steps,
                tape& tp, rnn& grad, T* dxs) const {
    w_.transpose_into(tp);
    weights::backward_batch(
        tp, batch_size, steps, [&](std::size_t, std::size_t b, std::size_t row) {
          T* da = tp.gates.data() + row * weights::gate_stride;
          const T* dh_next = tp.dh.data() + b * Hs;
          for (std::size_t u = 0; u < Hs; u += V)
            simd::store(da + u, (simd::load(dys + row * Hs + u) + simd::load(dh_next + u)) *
                                    Act::derivative(simd::load(ys + row * Hs + u)));
          return static_cast<const T*>(da);
        });
    w_.accumulate_gradients(tp, tp.gates.data(), tp.gates.data(), xs, ys, batch_size, steps,
                            grad.w_, dxs);
  }

  /// dL/d(final state) of each sequence from outside the layer, for the next backward.
  void give_final_state_gradients(tape& tp, const state* d, std::size_t batch_size) const {
    weights::give_final_h_gradient(tp, batch_size, [&](std::size_t b) { return d[b].h.data(); });
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
  template <class W>
  void advance(const T* xg, state& s, T* y, const W* w_hh) const noexcept {
    w_.recur(
        xg, s.h.data(),
        [&](std::size_t slice, const T* x, const batch* hg) {
          simd::store(y + slice * V, Act::apply(simd::load(x) + hg[0]));
        },
        w_hh);
    std::copy_n(y, s.h.padded_size, s.h.data());
  }

  weights w_;
};

}  // namespace rnnx
