#pragma once
// The hand-written gru_reset_before this repository had before its cells were declared as
// equations (include/rnnx/layers/gru_reset_before.hpp): the baseline bench/derived_bench.cpp
// measures the derived cell against. Not part of the library.
//
// The original GRU of Cho et al. (2014): the reset gate scales h *before* the hidden product
// (Keras' reset_after=False), with PyTorch's parameter names and gate rows r, z, n:
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)
//   h' = (1 - z) * n + z * h  =  n + z * (h - n)
// n needs r of every unit first, so a step is two passes over W_hh: the r and z rows, then the
// n rows over r * h. W_hh and b_hh are stored for that: per column, the r and z rows
// interleaved slice by slice, then the n rows.

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "rnnx/kernels/matvec.hpp"
#include "rnnx/kernels/outer_product.hpp"
#include "rnnx/layers/hidden_state.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/math.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace rnnx::baseline {

namespace layout {

/// Rows r, z (gate-interleaved, 2 * padded(H) values), then rows n (padded(H)); column-major.
template <class T, std::size_t H>
struct reset_gate_first {
  static constexpr std::size_t stride = 3 * simd::padded<T>(H);
  static constexpr std::size_t row(std::size_t r) noexcept {
    return r < 2 * H ? rnnx::layout::gate_interleaved<T, 2, H>::row(r)
                     : 2 * simd::padded<T>(H) + (r - 2 * H);
  }
  static constexpr std::size_t index(std::size_t r, std::size_t c) noexcept {
    return c * stride + row(r);
  }
};

}  // namespace layout

template <std::size_t In, std::size_t H, class T = float>
class gru_reset_before {
  static_assert(In > 0 && H > 0,
                "rnnx::gru_reset_before<In, H>: input and hidden sizes must be positive");
  static_assert(is_supported_scalar_v<T>,
                "rnnx::gru_reset_before: the scalar type must be float or double");
  using batch = simd::batch<T>;
  using hidden_layout = layout::reset_gate_first<T, H>;
  static constexpr std::size_t V = simd::width<T>;
  static constexpr std::size_t Hs = simd::padded<T>(H);
  static constexpr std::size_t Is = simd::padded<T>(In);
  static constexpr std::size_t G = 3 * Hs;  // gate values per step, either layout
  static constexpr std::size_t slices = simd::registers<T>(H);
  /// Slices per pass: at most 16 registers of sums, dividing the slices evenly.
  static constexpr std::size_t slices_per_pass(std::size_t registers_per_slice) {
    std::size_t s =
        std::min<std::size_t>(slices, std::max<std::size_t>(1, 16 / registers_per_slice));
    while (slices % s != 0) --s;
    return s;
  }

 public:
  using scalar = T;
  template <class U>
  using rebind = gru_reset_before<In, H, U>;
  static constexpr std::size_t in_size = In;
  static constexpr std::size_t out_size = H;
  static constexpr std::string_view type_name = "gru_reset_before";

  using state = hidden_state<T, H>;

  void step(const T* x, state& s, T* y) const noexcept {
    alignas(simd::alignment) T xg[G];
    alignas(simd::alignment) T rh[Hs];
    kernels::matvec_col_major<T, G, In>(weight_ih_.raw(), x, bias_ih_.raw(), xg);
    advance(xg, s.h.data(), rh, y, [](std::size_t, batch, batch, batch) {});
    std::copy_n(y, Hs, s.h.data());
  }

  void forward_sequence(const T* xs, std::size_t steps, state& s, T* ys) const {
    for (std::size_t t = 0; t < steps; ++t) step(xs + t * Is, s, ys + t * Hs);
  }

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  struct tape {
    simd::aligned_vector<T> initial_h;  // batch rows
    simd::aligned_vector<T> gates;      // rows: r, z, n (input layout), then their gradients
    simd::aligned_vector<T> rh;         // rows: r * h_prev, the n rows' input
    simd::aligned_vector<T> dgh;        // rows: gate gradients in W_hh's layout
    simd::aligned_vector<T> dh;         // batch rows: dL/dh_t from the step after
    simd::aligned_vector<T> final_dh;   // batch rows: dL/dh_T from outside, when given
    bool final_dh_given = false;
    simd::aligned_vector<T> weight_ih_t = simd::aligned_vector<T>(Is * G, T(0));
    simd::aligned_vector<T> weight_hh_t = simd::aligned_vector<T>(Hs * G, T(0));
    void prepare(std::size_t batch_size, std::size_t steps) {
      grow(initial_h, batch_size * Hs);
      grow(gates, batch_size * steps * G);
      grow(rh, batch_size * steps * Hs);
      grow(dgh, batch_size * steps * G);
      grow(dh, batch_size * Hs);
    }
    static void grow(simd::aligned_vector<T>& v, std::size_t size) {
      if (v.size() < size) v.resize(size);
    }
  };

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* states,
                     tape& tp, T* ys) const {
    tp.prepare(batch_size, steps);
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(states[b].h.data(), Hs, tp.initial_h.data() + b * Hs);
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t b = 0; b < batch_size; ++b) {
        const std::size_t row = t * batch_size + b;
        T* xg = tp.gates.data() + row * G;
        kernels::matvec_col_major<T, G, In>(weight_ih_.raw(), xs + row * Is, bias_ih_.raw(), xg);
        advance(xg, previous_h(tp, ys, batch_size, t, b), tp.rh.data() + row * Hs, ys + row * Hs,
                [&](std::size_t slice, batch r, batch z, batch n) {  // kept for backward
                  simd::store(xg + slice * 3 * V, r);
                  simd::store(xg + slice * 3 * V + V, z);
                  simd::store(xg + slice * 3 * V + 2 * V, n);
                });
      }
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(ys + ((steps - 1) * batch_size + b) * Hs, Hs, states[b].h.data());
  }

  /// Backward through the recorded steps (a_* the gate pre-activations):
  ///   dh = dy + dh_next            da_z = dh (h_prev - n) z (1 - z)
  ///   da_n = dh (1 - z)(1 - n^2)   d(rh) = W_hn^T da_n
  ///   da_r = d(rh) h_prev r (1 - r)
  ///   dh_prev = dh z + d(rh) r + W_hr^T da_r + W_hz^T da_z
  ///   dW_hr,z += da_r,z h_prev^T   dW_hn += da_n (r h_prev)^T   dW_i* += da_* x^T
  void backward(const T* xs, const T* ys, T* dys, std::size_t batch_size, std::size_t steps,
                tape& tp, gru_reset_before& grad, T* dxs) const {
    kernels::transpose(weight_ih_.raw(), G, In, G, tp.weight_ih_t.data(), Is);
    kernels::transpose(weight_hh_.raw(), G, H, G, tp.weight_hh_t.data(), Hs);
    if (tp.final_dh_given) {
      std::copy_n(tp.final_dh.data(), batch_size * Hs, tp.dh.data());
      tp.final_dh_given = false;
    } else {
      std::fill_n(tp.dh.data(), batch_size * Hs, T(0));
    }
    const batch one(T(1));
    alignas(simd::alignment) T d_rh[Hs];
    alignas(simd::alignment) T through_rz[Hs];
    for (std::size_t t = steps; t-- > 0;)
      for (std::size_t b = 0; b < batch_size; ++b) {
        const std::size_t row = t * batch_size + b;
        T* gx = tp.gates.data() + row * G;  // r, z, n interleaved by slice
        T* gh = tp.dgh.data() + row * G;    // r, z interleaved by slice, then n
        const T* h_prev = previous_h(tp, ys, batch_size, t, b);
        T* dh = tp.dh.data() + b * Hs;
        for (std::size_t slice = 0; slice < slices; ++slice) {
          T* g = gx + slice * 3 * V;
          const std::size_t u = slice * V;
          const batch z = simd::load(g + V), n = simd::load(g + 2 * V);
          const batch dh_t = simd::load(dys + row * Hs + u) + simd::load(dh + u);
          const batch da_z = dh_t * (simd::load(h_prev + u) - n) * z * (one - z);
          const batch da_n = dh_t * (one - z) * (one - n * n);
          simd::store(g + V, da_z);
          simd::store(g + 2 * V, da_n);
          simd::store(gh + slice * 2 * V + V, da_z);
          simd::store(gh + 2 * Hs + u, da_n);
          simd::store(dh + u, dh_t * z);  // the path around the matrices
        }
        kernels::matvec_col_major<T, Hs, Hs>(tp.weight_hh_t.data() + 2 * Hs * Hs, gh + 2 * Hs,
                                             nullptr, d_rh);
        for (std::size_t slice = 0; slice < slices; ++slice) {
          T* g = gx + slice * 3 * V;
          const std::size_t u = slice * V;
          const batch r = simd::load(g), d = simd::load(d_rh + u);
          const batch da_r = d * simd::load(h_prev + u) * r * (one - r);
          simd::store(g, da_r);
          simd::store(gh + slice * 2 * V, da_r);
          simd::store(dh + u, simd::fma(d, r, simd::load(dh + u)));
        }
        kernels::matvec_col_major<T, Hs, 2 * Hs>(tp.weight_hh_t.data(), gh, nullptr, through_rz);
        for (std::size_t u = 0; u < Hs; u += V)
          simd::store(dh + u, simd::load(dh + u) + simd::load(through_rz + u));
      }

    const std::size_t rows = batch_size * steps;
    kernels::accumulate_outer_products<T, G, In>(tp.gates.data(), G, xs, Is, rows,
                                                 grad.weight_ih_.data.data());
    kernels::accumulate_rows<T, G>(tp.gates.data(), G, rows, grad.bias_ih_.data.data());
    kernels::accumulate_rows<T, G>(tp.dgh.data(), G, rows, grad.bias_hh_.data.data());
    T* dw = grad.weight_hh_.data.data();
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t b = 0; b < batch_size; ++b) {
        const std::size_t row = t * batch_size + b;
        const T* gh = tp.dgh.data() + row * G;
        const T* h_prev = previous_h(tp, ys, batch_size, t, b);
        const T* rh = tp.rh.data() + row * Hs;
        for (std::size_t j = 0; j < H; ++j) {
          T* col = dw + j * G;
          for (std::size_t k = 0; k < 2 * Hs; ++k) col[k] += gh[k] * h_prev[j];
          for (std::size_t k = 2 * Hs; k < G; ++k) col[k] += gh[k] * rh[j];
        }
      }
    if (dxs != nullptr)
      for (std::size_t n = 0; n < rows; ++n)
        kernels::matvec_col_major<T, Is, G>(tp.weight_ih_t.data(), tp.gates.data() + n * G, nullptr,
                                            dxs + n * Is);
  }

  /// dL/d(final state) of each sequence from outside the layer, for the next backward.
  void give_final_state_gradients(tape& tp, const state* d, std::size_t batch_size) const {
    tape::grow(tp.final_dh, batch_size * Hs);
    for (std::size_t b = 0; b < batch_size; ++b)
      std::copy_n(d[b].h.data(), Hs, tp.final_dh.data() + b * Hs);
    tp.final_dh_given = true;
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
  }
  template <class F>
  void visit_parameters(F&& f) {
    visit(*this, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    visit(*this, f);
  }

  friend constexpr bool operator==(const gru_reset_before&, const gru_reset_before&) = default;

 private:
  template <class Self, class F>
  static void visit(Self& self, F& f) {
    f("weight_ih", self.weight_ih_);
    f("weight_hh", self.weight_hh_);
    f("bias_ih", self.bias_ih_);
    f("bias_hh", self.bias_hh_);
  }

  static const T* previous_h(const tape& tp, const T* ys, std::size_t batch_size, std::size_t t,
                             std::size_t b) noexcept {
    return t == 0 ? tp.initial_h.data() + b * Hs : ys + ((t - 1) * batch_size + b) * Hs;
  }

  /// One step from xg = W_ih x + b_ih and h: y = h', rh = r * h (kept: the n rows' input);
  /// record(slice, r, z, n) sees each slice's gates.
  template <class Record>
  void advance(const T* xg, const T* h, T* rh, T* y, Record&& record) const noexcept {
    alignas(simd::alignment) T r_kept[Hs];
    alignas(simd::alignment) T z_kept[Hs];
    constexpr std::size_t S1 = slices_per_pass(2);
    for (std::size_t first = 0; first < slices; first += S1) {
      std::array<batch, 2 * S1> acc;
      kernels::unroll<2 * S1>(
          [&](auto k) { acc[k] = simd::load(bias_hh_.raw() + first * 2 * V + k * V); });
      kernels::accumulate_columns<T, 2 * S1, H, G>(weight_hh_.raw() + first * 2 * V, h, acc);
      kernels::unroll<S1>([&](auto s) {
        const std::size_t slice = first + s, u = slice * V;
        const batch r = simd::sigmoid(simd::load(xg + slice * 3 * V) + acc[2 * s]);
        const batch z = simd::sigmoid(simd::load(xg + slice * 3 * V + V) + acc[2 * s + 1]);
        simd::store(r_kept + u, r);
        simd::store(z_kept + u, z);
        simd::store(rh + u, r * simd::load(h + u));
      });
    }
    constexpr std::size_t S2 = slices_per_pass(1);
    for (std::size_t first = 0; first < slices; first += S2) {
      std::array<batch, S2> acc;
      kernels::unroll<S2>(
          [&](auto k) { acc[k] = simd::load(bias_hh_.raw() + 2 * Hs + (first + k) * V); });
      kernels::accumulate_columns<T, S2, H, G>(weight_hh_.raw() + 2 * Hs + first * V, rh, acc);
      kernels::unroll<S2>([&](auto s) {
        const std::size_t slice = first + s, u = slice * V;
        const batch n = simd::tanh(simd::load(xg + slice * 3 * V + 2 * V) + acc[s]);
        const batch z = simd::load(z_kept + u);
        simd::store(y + u, simd::fma(z, simd::load(h + u) - n, n));
        record(slice, simd::load(r_kept + u), z, n);
      });
    }
  }

  gate_parameter<T, 3, H, In> weight_ih_;
  parameter<T, 3 * H, H, hidden_layout, G * H> weight_hh_;
  gate_parameter<T, 3, H, 0> bias_ih_;
  parameter<T, 3 * H, 0, hidden_layout, G> bias_hh_;
};

}  // namespace rnnx::baseline
