#pragma once
// A recurrent cell run over the sequence in both directions, outputs concatenated per step, as
// torch.nn.LSTM/GRU/RNN(bidirectional=True) does:
//   y_t = [ forward cell's h_t  |  reverse cell's h_t ],  the reverse cell run from the last step
// Each direction has its own parameters; the reverse ones carry PyTorch's "_reverse" suffix.
// The output at step t depends on every later input, so the layer has no step(): a network
// with it runs whole sequences (forward, forward_last, tape), not model.step.

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

template <class Cell>
class bidirectional {
  static_assert(
      streaming_layer<Cell> && requires { typename Cell::tape; },
      "rnnx::bidirectional<Cell>: Cell must be a recurrent layer such as rnnx::lstm, "
      "rnnx::gru or rnnx::rnn");
  using T = typename Cell::scalar;
  static constexpr std::size_t H = Cell::out_size;
  static constexpr std::size_t Hs = simd::padded<T>(H);
  static constexpr std::size_t Is = simd::padded<T>(Cell::in_size);
  static constexpr std::size_t Os = simd::padded<T>(2 * H);

 public:
  using scalar = T;
  template <class U>
  using rebind = bidirectional<typename Cell::template rebind<U>>;
  using cell_type = Cell;
  static constexpr std::size_t in_size = Cell::in_size;
  static constexpr std::size_t out_size = 2 * H;
  static constexpr std::string_view type_name = "bidirectional";

  /// Each direction's state before the sequence (zero, as PyTorch's default h0) and after it.
  struct state {
    typename Cell::state forward, reverse;
    constexpr void reset() noexcept {
      forward.reset();
      reverse.reset();
    }
    /// The forward direction's vectors ("h", "c"), then the reverse one's with "_reverse"
    /// appended, as the parameters are named.
    template <class F>
    constexpr void visit(F&& f) {
      visit_directions(*this, f);
    }
    template <class F>
    constexpr void visit(F&& f) const {
      visit_directions(*this, f);
    }
    friend constexpr bool operator==(const state&, const state&) = default;

   private:
    template <class Self, class F>
    static constexpr void visit_directions(Self& self, F& f) {
      self.forward.visit(f);
      self.reverse.visit([&](std::string_view name, auto values) {
        f(name == "h" ? std::string_view("h_reverse") : std::string_view("c_reverse"), values);
      });
    }
  };

  void forward_sequence(const T* xs, std::size_t steps, state& s, T* ys) const {
    simd::aligned_vector<T> forward_ys(steps * Hs), reversed_xs(steps * Is), reverse_ys(steps * Hs);
    forward_.forward_sequence(xs, steps, s.forward, forward_ys.data());
    reverse_rows(xs, Is, 1, steps, reversed_xs.data());
    reverse_.forward_sequence(reversed_xs.data(), steps, s.reverse, reverse_ys.data());
    concatenate(forward_ys.data(), reverse_ys.data(), 1, steps, ys);
  }

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  struct tape {
    typename Cell::tape forward, reverse;
    std::vector<typename Cell::state> forward_states, reverse_states;
    simd::aligned_vector<T> reversed_xs, forward_ys, reverse_ys, forward_dys, reverse_dys,
        reverse_dxs;
    void prepare(std::size_t batch_size, std::size_t steps) {
      const std::size_t rows = batch_size * steps;
      forward_states.resize(batch_size);
      reverse_states.resize(batch_size);
      for (auto* v : {&forward_ys, &reverse_ys, &forward_dys, &reverse_dys})
        if (v->size() < rows * Hs) v->resize(rows * Hs);
      for (auto* v : {&reversed_xs, &reverse_dxs})
        if (v->size() < rows * Is) v->resize(rows * Is);
    }
  };

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* states,
                     tape& tp, T* ys) const {
    tp.prepare(batch_size, steps);
    for (std::size_t b = 0; b < batch_size; ++b) {
      tp.forward_states[b] = states[b].forward;
      tp.reverse_states[b] = states[b].reverse;
    }
    forward_.forward_train(xs, batch_size, steps, tp.forward_states.data(), tp.forward,
                           tp.forward_ys.data());
    reverse_rows(xs, Is, batch_size, steps, tp.reversed_xs.data());
    reverse_.forward_train(tp.reversed_xs.data(), batch_size, steps, tp.reverse_states.data(),
                           tp.reverse, tp.reverse_ys.data());
    concatenate(tp.forward_ys.data(), tp.reverse_ys.data(), batch_size, steps, ys);
    for (std::size_t b = 0; b < batch_size; ++b) {
      states[b].forward = tp.forward_states[b];
      states[b].reverse = tp.reverse_states[b];
    }
  }

  /// Each direction backward through its own outputs; the reverse one's input gradients are
  /// turned back into forward time and added.
  void backward(const T* xs, const T*, T* dys, std::size_t batch_size, std::size_t steps, tape& tp,
                bidirectional& grad, T* dxs) const {
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t b = 0; b < batch_size; ++b) {
        const T* dy = dys + (t * batch_size + b) * Os;
        T* df = tp.forward_dys.data() + (t * batch_size + b) * Hs;
        T* dr = tp.reverse_dys.data() + ((steps - 1 - t) * batch_size + b) * Hs;
        std::copy_n(dy, H, df);
        std::copy_n(dy + H, H, dr);
        std::fill(df + H, df + Hs, T(0));
        std::fill(dr + H, dr + Hs, T(0));
      }
    forward_.backward(xs, tp.forward_ys.data(), tp.forward_dys.data(), batch_size, steps,
                      tp.forward, grad.forward_, dxs);
    reverse_.backward(tp.reversed_xs.data(), tp.reverse_ys.data(), tp.reverse_dys.data(),
                      batch_size, steps, tp.reverse, grad.reverse_,
                      dxs == nullptr ? nullptr : tp.reverse_dxs.data());
    if (dxs == nullptr) return;
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t b = 0; b < batch_size; ++b) {
        T* dx = dxs + (t * batch_size + b) * Is;
        const T* from = tp.reverse_dxs.data() + ((steps - 1 - t) * batch_size + b) * Is;
        for (std::size_t j = 0; j < Is; ++j) dx[j] += from[j];
      }
  }

  /// dL/d(final state) of each sequence from outside the layer, for the next backward: each
  /// direction's own (the reverse direction ends at the first step).
  void give_final_state_gradients(tape& tp, const state* d, std::size_t batch_size) const {
    give(forward_, tp.forward, tp.forward_states, d, batch_size, &state::forward);
    give(reverse_, tp.reverse, tp.reverse_states, d, batch_size, &state::reverse);
  }
  /// dL/d(initial state) of each sequence, after backward.
  void initial_state_gradients(const tape& tp, state* d, std::size_t batch_size) const {
    std::vector<typename Cell::state> forward(batch_size), reverse(batch_size);
    forward_.initial_state_gradients(tp.forward, forward.data(), batch_size);
    reverse_.initial_state_gradients(tp.reverse, reverse.data(), batch_size);
    for (std::size_t b = 0; b < batch_size; ++b) {
      d[b].forward = forward[b];
      d[b].reverse = reverse[b];
    }
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("cell", Cell::type_name);
    Cell::visit_attributes(f);
  }
  /// Field 'cell' names Cell, whose fields follow; Cell's parameters, then again with
  /// "_reverse" appended; both directions' outputs side by side.
  template <class D>
  static void describe(D& d) {
    d.header("rnnx/layers/bidirectional.hpp");
    d.template wrap<Cell>("cell", "_reverse", 2);
  }
  /// The forward direction's parameters, then the reverse one's with "_reverse" appended.
  template <class F>
  void visit_parameters(F&& f) {
    visit(*this, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    visit(*this, f);
  }

  const Cell& forward_cell() const noexcept { return forward_; }
  const Cell& reverse_cell() const noexcept { return reverse_; }
  Cell& forward_cell() noexcept { return forward_; }
  Cell& reverse_cell() noexcept { return reverse_; }

  friend constexpr bool operator==(const bidirectional&, const bidirectional&) = default;

 private:
  template <class Self, class F>
  static void visit(Self& self, F& f) {
    self.forward_.visit_parameters(f);
    self.reverse_.visit_parameters(
        [&](std::string_view name, auto& p) { f(reverse_name(name), p); });
  }

  /// PyTorch's name of a reverse-direction parameter. Callers may keep the names they are
  /// given (for_each_parameter does), so they are literals, not strings built here.
  static std::string_view reverse_name(std::string_view name) noexcept {
    constexpr std::string_view names[] = {
        "weight_ih_reverse", "weight_hh_reverse", "bias_ih_reverse",  "bias_hh_reverse",
        "weight_ci_reverse", "weight_cf_reverse", "weight_co_reverse"};
    for (std::string_view reversed : names)
      if (reversed.substr(0, reversed.size() - 8) == name) return reversed;
    return "unknown_reverse";  // unreachable for the cells bidirectional accepts
  }

  static void give(const Cell& cell, typename Cell::tape& tp,
                   std::vector<typename Cell::state>& scratch, const state* d,
                   std::size_t batch_size, typename Cell::state state::*direction) {
    scratch.resize(batch_size);
    for (std::size_t b = 0; b < batch_size; ++b) scratch[b] = d[b].*direction;
    cell.give_final_state_gradients(tp, scratch.data(), batch_size);
  }

  /// Row (t, b) of `to` is row (steps - 1 - t, b) of `from`.
  static void reverse_rows(const T* from, std::size_t stride, std::size_t batch_size,
                           std::size_t steps, T* to) {
    for (std::size_t t = 0; t < steps; ++t)
      std::copy_n(from + (steps - 1 - t) * batch_size * stride, batch_size * stride,
                  to + t * batch_size * stride);
  }

  /// ys row (t, b) = [forward row (t, b) | reverse row (steps - 1 - t, b)], padding zero.
  static void concatenate(const T* forward, const T* reverse, std::size_t batch_size,
                          std::size_t steps, T* ys) {
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t b = 0; b < batch_size; ++b) {
        T* y = ys + (t * batch_size + b) * Os;
        std::copy_n(forward + (t * batch_size + b) * Hs, H, y);
        std::copy_n(reverse + ((steps - 1 - t) * batch_size + b) * Hs, H, y + H);
        std::fill(y + 2 * H, y + Os, T(0));
      }
  }

  Cell forward_;
  Cell reverse_;
};

}  // namespace RNNX_NAMESPACE
