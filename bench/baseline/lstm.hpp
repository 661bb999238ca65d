#pragma once
// Long short-term memory, exactly torch.nn.LSTM (gate rows i, f, g, o; both bias vectors):
//   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)    f = sigmoid(W_if x + b_if + W_hf h + b_hf)
//   g = tanh   (W_ig x + b_ig + W_hg h + b_hg)    o = sigmoid(W_io x + b_io + W_ho h + b_ho)
//   c' = f * c + i * g                            h' = o * tanh(c')
// The peephole variant (Gers & Schmidhuber; `peephole_lstm`) lets the gates see the cell:
//   i = sigmoid(... + w_ci * c)    f = sigmoid(... + w_cf * c)    o = sigmoid(... + w_co * c')
// with three more vectors weight_ci, weight_cf, weight_co (element-wise products).

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "rnnx/engine/recurrent_weights.hpp"
#include "rnnx/engine/training.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/recurrent_cell.hpp"
#include "rnnx/simd/math.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace rnnx::baseline {

template <std::size_t In, std::size_t H, class T = float, bool Peephole = false>
class lstm : public recurrent_cell<lstm<In, H, T, Peephole>, T> {
  friend class recurrent_cell<lstm, T>;
  static_assert(In > 0 && H > 0, "rnnx::lstm<In, H>: input and hidden sizes must be positive");
  static_assert(is_supported_scalar_v<T>, "rnnx::lstm: the scalar type must be float or double");
  using weights = recurrent_weights<T, 4, In, H>;
  /// The peephole weights, or nothing (no storage) for the standard cell.
  struct no_peepholes {
    friend constexpr bool operator==(const no_peepholes&, const no_peepholes&) = default;
  };
  struct peepholes {
    vector_parameter<T, H> ci, cf, co;
    friend constexpr bool operator==(const peepholes&, const peepholes&) = default;
  };
  using batch = simd::batch<T>;
  static constexpr std::size_t V = simd::width<T>;
  static constexpr std::size_t Hs = simd::padded<T>(H);

 public:
  using scalar = T;
  /// Its weight matrices' layout and sizes (for copies: realtime/bf16_weights.hpp).
  using recurrent_weights_type = weights;
  template <class U>
  using rebind = lstm<In, H, U, Peephole>;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = H;
  static constexpr bool has_peepholes = Peephole;
  static constexpr std::string_view type_name = Peephole ? "peephole_lstm" : "lstm";

  struct state {
    simd::padded_array<T, H> h;
    simd::padded_array<T, H> c;
    constexpr void reset() noexcept {
      h.fill_zero();
      c.fill_zero();
    }
    /// f("h", span), then f("c", span): the state's vectors by name (realtime/state.hpp).
    template <class F>
    constexpr void visit(F&& f) {
      f("h", h.values());
      f("c", c.values());
    }
    template <class F>
    constexpr void visit(F&& f) const {
      f("h", h.values());
      f("c", c.values());
    }
    friend constexpr bool operator==(const state&, const state&) = default;
  };

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  struct tape : engine::recurrence_tape<weights> {
    simd::aligned_vector<T> initial_c, c, tanh_c, dc;
    simd::aligned_vector<T> final_dc;  // batch rows: dL/dc_T from outside, when given
    bool final_dc_given = false;
    void prepare(std::size_t batch_size, std::size_t steps) {
      engine::recurrence_tape<weights>::prepare(typename weights::shape_type{}, batch_size, steps);
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
    engine::forward_batch(
        w_, xs, batch_size, steps, tp, ys,
        [&](std::size_t b, std::size_t row, std::size_t slice, T* x, const T*, const batch* hg) {
          const std::size_t u = slice * V;
          const T* c_prev = row < batch_size ? tp.initial_c.data() + b * Hs
                                             : tp.c.data() + (row - batch_size) * Hs;
          const auto [i, f, g, o, c_next] = gates_and_cell(x, hg, simd::load(c_prev + u), u);
          simd::store(x, i);  // kept for backward
          simd::store(x + V, f);
          simd::store(x + 2 * V, g);
          simd::store(x + 3 * V, o);
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
  /// Peepholes add  dc += do w_co,  dc_prev += di w_ci + df w_cf,  dw_ci += di c_prev,
  /// dw_cf += df c_prev,  dw_co += do c  (d* of a gate: of its pre-activation).
  void backward(const T* xs, const T* ys, T* dys, std::size_t batch_size, std::size_t steps,
                tape& tp, lstm& grad, T* dxs) const {
    engine::transpose_into(w_, tp);
    if (tp.final_dc_given) {
      std::copy_n(tp.final_dc.data(), batch_size * Hs, tp.dc.data());
      tp.final_dc_given = false;
    } else {
      std::fill_n(tp.dc.data(), batch_size * Hs, T(0));
    }
    const batch one(T(1));
    engine::backward_batch(tp, batch_size, steps, [&](std::size_t, std::size_t b, std::size_t row) {
      T* gates = tp.gates.data() + row * weights::gate_stride;
      const T* c_prev =
          row < batch_size ? tp.initial_c.data() + b * Hs : tp.c.data() + (row - batch_size) * Hs;
      const T* tanh_c = tp.tanh_c.data() + row * Hs;
      const T* dy = dys + row * Hs;
      const T* dh_next = tp.dh.data() + b * Hs;
      T* dc = tp.dc.data() + b * Hs;
      for (std::size_t slice = 0; slice < weights::slices; ++slice) {
        T* gs = gates + slice * 4 * V;
        const std::size_t u = slice * V;
        const batch i = simd::load(gs), f = simd::load(gs + V), g = simd::load(gs + 2 * V),
                    o = simd::load(gs + 3 * V);
        const batch tc = simd::load(tanh_c + u), cp = simd::load(c_prev + u);
        const batch dh_t = simd::load(dy + u) + simd::load(dh_next + u);
        const batch d_o = dh_t * tc * o * (one - o);
        batch dc_t = simd::fma(dh_t * o, one - tc * tc, simd::load(dc + u));
        if constexpr (Peephole) dc_t = simd::fma(d_o, simd::load(peep_.co.raw() + u), dc_t);
        const batch d_i = dc_t * g * i * (one - i);
        const batch d_f = dc_t * cp * f * (one - f);
        simd::store(gs, d_i);
        simd::store(gs + V, d_f);
        simd::store(gs + 2 * V, dc_t * i * (one - g * g));
        simd::store(gs + 3 * V, d_o);
        batch dc_prev = dc_t * f;
        if constexpr (Peephole) {
          dc_prev = simd::fma(d_i, simd::load(peep_.ci.raw() + u), dc_prev);
          dc_prev = simd::fma(d_f, simd::load(peep_.cf.raw() + u), dc_prev);
          const batch c_t = simd::load(tp.c.data() + row * Hs + u);
          accumulate(grad.peep_.ci, u, d_i * cp);
          accumulate(grad.peep_.cf, u, d_f * cp);
          accumulate(grad.peep_.co, u, d_o * c_t);
        }
        simd::store(dc + u, dc_prev);
      }
      return static_cast<const T*>(gates);
    });
    engine::accumulate_gradients(tp, tp.gates.data(), tp.gates.data(), xs, ys, batch_size, steps,
                                 grad.w_, dxs);
  }

  /// dL/d(final state) of each sequence from outside the layer, for the next backward.
  void give_final_state_gradients(tape& tp, const state* d, std::size_t batch_size) const {
    engine::give_final_h_gradient(tp, batch_size, [&](std::size_t b) { return d[b].h.data(); });
    tape::grow(tp.final_dc, batch_size * Hs);
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(d[b].c.data(), Hs, tp.final_dc.data() + b * Hs);
    tp.final_dc_given = true;
  }
  /// dL/d(initial state) of each sequence, after backward.
  void initial_state_gradients(const tape& tp, state* d, std::size_t batch_size) const {
    for (std::size_t b = 0; b < batch_size; ++b) {
      std::copy_n(tp.dh.data() + b * Hs, Hs, d[b].h.data());
      std::copy_n(tp.dc.data() + b * Hs, Hs, d[b].c.data());
    }
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("input_size", In);
    f("hidden_size", H);
  }
  template <class F>
  void visit_parameters(F&& f) {
    visit(*this, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    visit(*this, f);
  }

  friend constexpr bool operator==(const lstm&, const lstm&) = default;

 private:
  template <class Self, class F>
  static void visit(Self& self, F& f) {
    weights::visit(self.w_, f);
    if constexpr (Peephole) {
      f("weight_ci", self.peep_.ci);
      f("weight_cf", self.peep_.cf);
      f("weight_co", self.peep_.co);
    }
  }

  struct gate_values {
    batch i, f, g, o, c_next;
  };
  /// The cell's equations for one slice of units (u: its first unit): x holds W_ih x + b_ih,
  /// hg W_hh h + b_hh, c the cell before the step.
  [[gnu::always_inline]] gate_values gates_and_cell(const T* x, const batch* hg, batch c,
                                                    std::size_t u) const noexcept {
    batch ai = simd::load(x) + hg[0], af = simd::load(x + V) + hg[1];
    if constexpr (Peephole) {
      ai = simd::fma(simd::load(peep_.ci.raw() + u), c, ai);
      af = simd::fma(simd::load(peep_.cf.raw() + u), c, af);
    }
    const batch i = simd::sigmoid(ai);
    const batch f = simd::sigmoid(af);
    const batch g = simd::tanh(simd::load(x + 2 * V) + hg[2]);
    const batch c_next = simd::fma(f, c, i * g);
    batch ao = simd::load(x + 3 * V) + hg[3];
    if constexpr (Peephole) ao = simd::fma(simd::load(peep_.co.raw() + u), c_next, ao);
    return {i, f, g, simd::sigmoid(ao), c_next};
  }

  static void accumulate(vector_parameter<T, H>& p, std::size_t u, batch d) noexcept {
    simd::store(p.data.data() + u, simd::load(p.raw() + u) + d);
  }

  /// c and y of one slice of units from its gates' pre-activations.
  [[gnu::always_inline]] void update(std::size_t slice, const T* x, const batch* hg, state& s,
                                     T* y) const noexcept {
    T* c = s.c.data() + slice * V;
    const auto [i, f, g, o, c_next] = gates_and_cell(x, hg, simd::load(c), slice * V);
    simd::store(c, c_next);
    simd::store(y + slice * V, o * simd::tanh(c_next));
  }

  weights w_;
  [[no_unique_address]] std::conditional_t<Peephole, peepholes, no_peepholes> peep_;
};

/// The LSTM with peephole connections from the cell to its gates (see the equations above).
template <std::size_t In, std::size_t H, class T = float>
using peephole_lstm = lstm<In, H, T, true>;

}  // namespace rnnx::baseline
