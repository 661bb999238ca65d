#pragma once
// The layers of rnnx::dynamic: the same equations as the typed layers (exactly torch.nn.Linear,
// RNN, LSTM, GRU), with every size a run-time value. Storage is heap-allocated once, aligned,
// padded to whole SIMD registers and packed like the typed layers' (gates interleaved per
// register-wide slice of hidden units, so each cell's equations run on the gate sums while
// they are in registers); activations are rnnx::simd's.
//
// Each layer provides, with every buffer padded to whole registers and aligned:
//   in_size(), out_size(), state_size(), scratch_size()   values, the last two padded
//   step(x, state, scratch, y)               one time step; state: state_size() values
//   forward_sequence(xs, steps, state, ys)   rows padded like step's x and y
//   visit_attributes(f)                      f(name, size or option), the weight format's fields
//   visit_parameters(f)                      f(name, parameter_ref) in file order

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "rnnx/dynamic/kernels.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/layers/activation_functions.hpp"
#include "rnnx/simd/batch.hpp"
#include "rnnx/simd/math.hpp"

namespace RNNX_NAMESPACE::dynamic {

enum class activation_function { identity, sigmoid, tanh, relu, elu, softmax };

constexpr std::string_view name_of(activation_function a) noexcept {
  switch (a) {
    case activation_function::sigmoid:
      return "sigmoid";
    case activation_function::tanh:
      return "tanh";
    case activation_function::relu:
      return "relu";
    case activation_function::elu:
      return "elu";
    case activation_function::softmax:
      return "softmax";
    case activation_function::identity:
      break;
  }
  return "identity";
}

constexpr std::optional<activation_function> activation_named(std::string_view name) noexcept {
  for (auto a :
       {activation_function::identity, activation_function::sigmoid, activation_function::tanh,
        activation_function::relu, activation_function::elu, activation_function::softmax})
    if (name_of(a) == name) return a;
  return std::nullopt;
}

/// One parameter seen in PyTorch's shape (rows x cols; cols == 0 for a vector), addressing
/// the layer's packed storage. U is T or const T.
template <class U>
class parameter_ref {
 public:
  enum class layout { gate_interleaved, column_major, row_major };

  parameter_ref(U* data, std::size_t rows, std::size_t cols, layout kind, std::size_t stride,
                std::size_t gates = 1, std::size_t hidden = 0) noexcept
      : rows(rows),
        cols(cols),
        data_(data),
        kind_(kind),
        stride_(stride),
        gates_(gates),
        hidden_(hidden) {}

  std::size_t rows, cols;
  std::size_t rank() const noexcept { return cols == 0 ? 1 : 2; }

  U& at(std::size_t r, std::size_t c = 0) const noexcept { return data_[index(r, c)]; }

 private:
  std::size_t index(std::size_t r, std::size_t c) const noexcept {
    constexpr std::size_t V = simd::width<std::remove_const_t<U>>;
    switch (kind_) {
      case layout::gate_interleaved: {
        const std::size_t gate = r / hidden_, unit = r % hidden_;
        return c * stride_ + unit / V * gates_ * V + gate * V + unit % V;
      }
      case layout::row_major:
        return r * stride_ + c;
      case layout::column_major:
        break;
    }
    return c * stride_ + r;
  }

  U* data_;
  layout kind_;
  std::size_t stride_, gates_, hidden_;
};

/// A parameter's name and PyTorch shape (cols == 0 for a vector).
struct parameter_shape {
  std::string_view name;
  std::size_t rows, cols;
};

namespace detail {

template <class T>
using aligned_vector = simd::aligned_vector<T>;

template <class T>
constexpr std::size_t padded(std::size_t n) noexcept {
  return simd::padded<T>(n);
}

template <class Act, class T>
inline void apply_elementwise(T* y, std::size_t padded_size) noexcept {
  constexpr std::size_t V = simd::width<T>;
  for (std::size_t k = 0; k < padded_size; k += V)
    simd::store(y + k, Act::apply(simd::load(y + k)));
}

/// y = act(y) over n values stored padded to whole registers; the padding ends as 0.
template <class T>
inline void apply_activation(activation_function act, T* y, std::size_t n) noexcept {
  constexpr std::size_t V = simd::width<T>;
  const std::size_t np = padded<T>(n);
  using B = simd::batch<T>;
  switch (act) {
    case activation_function::identity:
      return;
    case activation_function::sigmoid:
      apply_elementwise<rnnx::sigmoid>(y, np);
      break;
    case activation_function::tanh:
      apply_elementwise<rnnx::tanh>(y, np);
      break;
    case activation_function::relu:
      apply_elementwise<rnnx::relu>(y, np);
      break;
    case activation_function::elu:
      apply_elementwise<rnnx::elu>(y, np);
      break;
    case activation_function::softmax: {
      const std::size_t full = n / V * V;
      B m(-std::numeric_limits<T>::infinity());
      for (std::size_t k = 0; k < full; k += V) m = simd::max(m, simd::load(y + k));
      alignas(simd::alignment) T lanes[V];
      simd::store(lanes, m);
      T max_value = lanes[0];
      for (std::size_t i = 1; i < V; ++i) max_value = std::max(max_value, lanes[i]);
      for (std::size_t i = full; i < n; ++i) max_value = std::max(max_value, y[i]);
      const B max_all(max_value);
      for (std::size_t k = 0; k < np; k += V)
        simd::store(y + k, simd::exp(simd::load(y + k) - max_all));
      std::fill(y + n, y + np, T(0));
      B sum(T(0));
      for (std::size_t k = 0; k < np; k += V) sum += simd::load(y + k);
      const B inv = simd::div(B(T(1)), B(simd::reduce_add(sum)));
      for (std::size_t k = 0; k < np; k += V) simd::store(y + k, simd::load(y + k) * inv);
      return;
    }
  }
  std::fill(y + n, y + np, T(0));
}

inline void require_positive(std::string_view layer, std::size_t a, std::size_t b) {
  if (a == 0 || b == 0)
    throw std::invalid_argument("rnnx::dynamic::" + std::string(layer) +
                                ": sizes must be positive");
}

}  // namespace detail

// ---- dense ---------------------------------------------------------------------------------

/// y = act(W x + b), torch.nn.Linear followed by an activation.
template <class T>
class dense {
 public:
  static constexpr std::string_view type_name = "dense";

  dense(std::size_t in, std::size_t out, activation_function act = activation_function::identity)
      : in_(in),
        out_(out),
        act_(act),
        // Fewer outputs than half a register: row dot products (the typed layer's rule).
        row_major_(out * 2 <= simd::width<T>),
        weight_(row_major_ ? out * detail::padded<T>(in) : detail::padded<T>(out) * in, T(0)),
        bias_(detail::padded<T>(out), T(0)) {
    detail::require_positive(type_name, in, out);
  }

  std::size_t in_size() const noexcept { return in_; }
  std::size_t out_size() const noexcept { return out_; }
  activation_function activation() const noexcept { return act_; }
  std::size_t state_size() const noexcept { return 0; }
  std::size_t scratch_size() const noexcept { return 0; }

  void step(const T* x, T*, T*, T* y) const noexcept {
    if (row_major_) {
      kernels::matvec_row_major(weight_.data(), out_, detail::padded<T>(in_), x, bias_.data(), y);
      std::fill(y + out_, y + detail::padded<T>(out_), T(0));
    } else {
      kernels::matvec_col_major(weight_.data(), detail::padded<T>(out_), in_, x, bias_.data(), y);
    }
    detail::apply_activation(act_, y, out_);
  }

  void forward_sequence(const T* xs, std::size_t steps, T* state, T* ys) const {
    const std::size_t is = detail::padded<T>(in_), os = detail::padded<T>(out_);
    for (std::size_t t = 0; t < steps; ++t) step(xs + t * is, state, nullptr, ys + t * os);
  }

  template <class F>
  void visit_attributes(F&& f) const {
    f("in_features", in_);
    f("out_features", out_);
    f("activation", name_of(act_));
  }
  template <class F>
  void visit_parameters(F&& f) {
    visit(*this, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    visit(*this, f);
  }
  friend bool operator==(const dense&, const dense&) = default;

 private:
  template <class Self, class F>
  static void visit(Self& self, F& f) {
    using U = std::conditional_t<std::is_const_v<Self>, const T, T>;
    using ref = parameter_ref<U>;
    if (self.row_major_) {
      f("weight", ref(self.weight_.data(), self.out_, self.in_, ref::layout::row_major,
                      detail::padded<T>(self.in_)));
    } else {
      f("weight", ref(self.weight_.data(), self.out_, self.in_, ref::layout::column_major,
                      detail::padded<T>(self.out_)));
    }
    f("bias", ref(self.bias_.data(), self.out_, 0, ref::layout::column_major, 0));
  }

  std::size_t in_, out_;
  activation_function act_;
  bool row_major_;
  detail::aligned_vector<T> weight_, bias_;
};

// ---- activation ----------------------------------------------------------------------------

/// A parameter-free activation between layers.
template <class T>
class activation {
 public:
  static constexpr std::string_view type_name = "activation";

  activation(std::size_t size, activation_function act) : n_(size), act_(act) {
    detail::require_positive(type_name, size, size);
  }

  std::size_t in_size() const noexcept { return n_; }
  std::size_t out_size() const noexcept { return n_; }
  activation_function function() const noexcept { return act_; }
  std::size_t state_size() const noexcept { return 0; }
  std::size_t scratch_size() const noexcept { return 0; }

  void step(const T* x, T*, T*, T* y) const noexcept {
    std::copy_n(x, detail::padded<T>(n_), y);
    detail::apply_activation(act_, y, n_);
  }

  void forward_sequence(const T* xs, std::size_t steps, T* state, T* ys) const {
    const std::size_t s = detail::padded<T>(n_);
    for (std::size_t t = 0; t < steps; ++t) step(xs + t * s, state, nullptr, ys + t * s);
  }

  template <class F>
  void visit_attributes(F&& f) const {
    f("size", n_);
    f("function", name_of(act_));
  }
  template <class F>
  void visit_parameters(F&&) const {}
  friend bool operator==(const activation&, const activation&) = default;

 private:
  std::size_t n_;
  activation_function act_;
};

// ---- recurrent cells -----------------------------------------------------------------------

/// PyTorch's four parameters of a cell with G gates, packed gate-interleaved (each
/// register-wide slice of hidden units holds all its gates side by side), the input
/// projection and the fused recurrent pass.
template <class T, std::size_t G>
class recurrent_base {
 public:
  std::size_t in_size() const noexcept { return in_; }
  std::size_t out_size() const noexcept { return hidden_; }
  std::size_t scratch_size() const noexcept { return gate_stride_; }

  template <class F>
  void visit_attributes(F&& f) const {
    f("input_size", in_);
    f("hidden_size", hidden_);
  }
  template <class F>
  void visit_parameters(F&& f) {
    visit(*this, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    visit(*this, f);
  }
  friend bool operator==(const recurrent_base&, const recurrent_base&) = default;

 protected:
  using batch = simd::batch<T>;
  static constexpr std::size_t V = simd::width<T>;

  recurrent_base(std::string_view type, std::size_t in, std::size_t hidden)
      : in_(in),
        hidden_(hidden),
        hs_(detail::padded<T>(hidden)),
        gate_stride_(G * detail::padded<T>(hidden)),
        weight_ih_(gate_stride_ * in, T(0)),
        weight_hh_(gate_stride_ * hidden, T(0)),
        bias_ih_(gate_stride_, T(0)),
        bias_hh_(gate_stride_, T(0)) {
    detail::require_positive(type, in, hidden);
  }

  /// xg = W_ih x + b_ih, every gate, interleaved.
  void project_input(const T* x, T* xg) const noexcept {
    kernels::matvec_col_major(weight_ih_.data(), gate_stride_, in_, x, bias_ih_.data(), xg);
  }

  /// For each slice of hidden units: hg = W_hh h + b_hh for its G gates, in registers, then
  /// cell(slice, xg of the slice, hg). Reads all of h before any cell writes.
  template <class Cell>
  void recur(const T* xg, const T* h, Cell&& cell) const noexcept {
    constexpr std::size_t max_slices = std::max<std::size_t>(1, kernels::max_block_registers / G);
    const std::size_t slices = hs_ / V;
    auto block = [&](std::size_t first, auto count) {
      constexpr std::size_t S = decltype(count)::value;
      constexpr std::size_t R = S * G;
      const std::size_t offset = first * G * V;
      std::array<batch, R> hg;
      kernels::unroll<R>([&](auto k) { hg[k] = simd::load(bias_hh_.data() + offset + k * V); });
      kernels::accumulate_columns<T, R>(weight_hh_.data() + offset, gate_stride_, h, hidden_,
                                        hg.data());
      kernels::unroll<S>([&](auto s) {
        const std::size_t slice = first + s;
        cell(slice, xg + slice * G * V, hg.data() + s * G);
      });
    };
    std::size_t first = 0;
    for (; first + max_slices <= slices; first += max_slices)
      block(first, std::integral_constant<std::size_t, max_slices>{});
    if (first < slices)
      kernels::with_constant<max_slices - 1>(slices - first,
                                             [&](auto count) { block(first, count); });
  }

  /// advance(xg_t, y_t) over a sequence, input projections computed ahead in chunks.
  template <class Advance>
  void run_sequence(const T* xs, std::size_t steps, T* ys, Advance&& advance) const {
    constexpr std::size_t chunk = 32;
    const std::size_t is = detail::padded<T>(in_);
    detail::aligned_vector<T> xg(chunk * gate_stride_);
    for (std::size_t t0 = 0; t0 < steps; t0 += chunk) {
      const std::size_t n = std::min(chunk, steps - t0);
      for (std::size_t i = 0; i < n; ++i)
        project_input(xs + (t0 + i) * is, xg.data() + i * gate_stride_);
      for (std::size_t i = 0; i < n; ++i)
        advance(xg.data() + i * gate_stride_, ys + (t0 + i) * hs_);
    }
  }

  std::size_t in_, hidden_, hs_, gate_stride_;

 private:
  template <class Self, class F>
  static void visit(Self& self, F& f) {
    using U = std::conditional_t<std::is_const_v<Self>, const T, T>;
    using ref = parameter_ref<U>;
    const auto gl = ref::layout::gate_interleaved;
    const std::size_t rows = G * self.hidden_, s = self.gate_stride_;
    f("weight_ih", ref(self.weight_ih_.data(), rows, self.in_, gl, s, G, self.hidden_));
    f("weight_hh", ref(self.weight_hh_.data(), rows, self.hidden_, gl, s, G, self.hidden_));
    f("bias_ih", ref(self.bias_ih_.data(), rows, 0, gl, s, G, self.hidden_));
    f("bias_hh", ref(self.bias_hh_.data(), rows, 0, gl, s, G, self.hidden_));
  }

  detail::aligned_vector<T> weight_ih_, weight_hh_, bias_ih_, bias_hh_;
};

/// Elman RNN, torch.nn.RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu.
template <class T>
class rnn : public recurrent_base<T, 1> {
  using base = recurrent_base<T, 1>;
  using base::V;
  using typename base::batch;

 public:
  static constexpr std::string_view type_name = "rnn";

  rnn(std::size_t in, std::size_t hidden, activation_function act = activation_function::tanh)
      : base(type_name, in, hidden), act_(act) {
    if (act != activation_function::tanh && act != activation_function::relu)
      throw std::invalid_argument("rnnx::dynamic::rnn: the nonlinearity must be tanh or relu");
  }

  activation_function nonlinearity() const noexcept { return act_; }
  std::size_t state_size() const noexcept { return this->hs_; }

  void step(const T* x, T* state, T* scratch, T* y) const noexcept {
    this->project_input(x, scratch);
    advance(scratch, state, y);
  }
  void forward_sequence(const T* xs, std::size_t steps, T* state, T* ys) const {
    this->run_sequence(xs, steps, ys, [&](const T* xg, T* y) { advance(xg, state, y); });
  }

  template <class F>
  void visit_attributes(F&& f) const {
    base::visit_attributes(f);
    f("nonlinearity", name_of(act_));
  }

  friend bool operator==(const rnn&, const rnn&) = default;

 private:
  template <class Act>
  void advance_with(const T* xg, T* h, T* y) const noexcept {
    this->recur(xg, h, [&](std::size_t slice, const T* x, const batch* hg) {
      simd::store(y + slice * V, Act::apply(simd::load(x) + hg[0]));
    });
    std::copy_n(y, this->hs_, h);
  }
  void advance(const T* xg, T* h, T* y) const noexcept {
    if (act_ == activation_function::relu) {
      advance_with<rnnx::relu>(xg, h, y);
    } else {
      advance_with<rnnx::tanh>(xg, h, y);
    }
  }

  activation_function act_;
};

/// LSTM, torch.nn.LSTM (gate rows i, f, g, o). State: h then c.
template <class T>
class lstm : public recurrent_base<T, 4> {
  using base = recurrent_base<T, 4>;
  using base::V;
  using typename base::batch;

 public:
  static constexpr std::string_view type_name = "lstm";

  lstm(std::size_t in, std::size_t hidden) : base(type_name, in, hidden) {}

  std::size_t state_size() const noexcept { return 2 * this->hs_; }

  void step(const T* x, T* state, T* scratch, T* y) const noexcept {
    this->project_input(x, scratch);
    advance(scratch, state, y);
  }
  void forward_sequence(const T* xs, std::size_t steps, T* state, T* ys) const {
    this->run_sequence(xs, steps, ys, [&](const T* xg, T* y) { advance(xg, state, y); });
  }

  friend bool operator==(const lstm&, const lstm&) = default;

 private:
  void advance(const T* xg, T* state, T* y) const noexcept {
    T* h = state;
    T* c = state + this->hs_;
    this->recur(xg, h, [&](std::size_t slice, const T* x, const batch* hg) {
      const batch i = simd::sigmoid(simd::load(x) + hg[0]);
      const batch f = simd::sigmoid(simd::load(x + V) + hg[1]);
      const batch g = simd::tanh(simd::load(x + 2 * V) + hg[2]);
      const batch o = simd::sigmoid(simd::load(x + 3 * V) + hg[3]);
      T* cs = c + slice * V;
      const batch c_next = simd::fma(f, simd::load(cs), i * g);
      simd::store(cs, c_next);
      simd::store(y + slice * V, o * simd::tanh(c_next));
    });
    std::copy_n(y, this->hs_, h);
  }
};

/// GRU, torch.nn.GRU (gate rows r, z, n; reset applied after the hidden product).
template <class T>
class gru : public recurrent_base<T, 3> {
  using base = recurrent_base<T, 3>;
  using base::V;
  using typename base::batch;

 public:
  static constexpr std::string_view type_name = "gru";

  gru(std::size_t in, std::size_t hidden) : base(type_name, in, hidden) {}

  std::size_t state_size() const noexcept { return this->hs_; }

  void step(const T* x, T* state, T* scratch, T* y) const noexcept {
    this->project_input(x, scratch);
    advance(scratch, state, y);
  }
  void forward_sequence(const T* xs, std::size_t steps, T* state, T* ys) const {
    this->run_sequence(xs, steps, ys, [&](const T* xg, T* y) { advance(xg, state, y); });
  }

  friend bool operator==(const gru&, const gru&) = default;

 private:
  void advance(const T* xg, T* h, T* y) const noexcept {
    this->recur(xg, h, [&](std::size_t slice, const T* x, const batch* hg) {
      const batch r = simd::sigmoid(simd::load(x) + hg[0]);
      const batch z = simd::sigmoid(simd::load(x + V) + hg[1]);
      const batch n = simd::tanh(simd::fma(r, hg[2], simd::load(x + 2 * V)));
      const batch hp = simd::load(h + slice * V);
      simd::store(y + slice * V, simd::fma(z, hp - n, n));
    });
    std::copy_n(y, this->hs_, h);
  }
};

}  // namespace RNNX_NAMESPACE::dynamic
