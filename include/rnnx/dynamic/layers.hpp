#pragma once
// The layers of rnnx::dynamic, every size a run-time value:
//  - dense and activation (torch.nn.Linear and an activation), written here. Each provides
//      in_size(), out_size(), state_size(), scratch_size()   (the last two 0: stateless)
//      step(x, state, scratch, y), forward_sequence(xs, steps, state, ys)
//      visit_attributes(f), visit_parameters(f(name, parameter_ref))   the weight format's
//  - every recurrent cell: the typed cell itself with rnnx::dyn sizes (rnnx::lstm<dyn, dyn>),
//    its state its own (initial_state()), its sizes shape()'s.
// Buffers are padded to whole SIMD registers and aligned, like the typed layers'.

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

#include "rnnx/extent.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/matvec.hpp"
#include "rnnx/layers/activation_functions.hpp"
#include "rnnx/layers/cifg_lstm.hpp"
#include "rnnx/layers/gru.hpp"
#include "rnnx/layers/gru_reset_before.hpp"
#include "rnnx/layers/indrnn.hpp"
#include "rnnx/layers/light_gru.hpp"
#include "rnnx/layers/lstm.hpp"
#include "rnnx/layers/mgu.hpp"
#include "rnnx/layers/rnn.hpp"
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
      rnnx::kernels::matvec_row_major_over(weight_.data(), x, bias_.data(), y, out_, in_);
      std::fill(y + out_, y + detail::padded<T>(out_), T(0));
    } else {
      rnnx::kernels::matvec_col_major_over(weight_.data(), x, bias_.data(), y,
                                           detail::padded<T>(out_), in_);
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

// The typed cells with run-time sizes (rnnx::dyn, expr/cell.hpp): the same engine, schedule and
// kernels as rnnx::network's, so a dynamic model gives the typed model's bits. Constructed as
// lstm<T>(in, hidden); step(x, state, y) with a state from initial_state().
template <class T>
using lstm = rnnx::lstm<dyn, dyn, T>;
template <class T>
using peephole_lstm = rnnx::peephole_lstm<dyn, dyn, T>;
template <class T>
using gru = rnnx::gru<dyn, dyn, T>;
template <class T>
using gru_reset_before = rnnx::gru_reset_before<dyn, dyn, T>;
template <class T>
using rnn_tanh = rnnx::rnn<dyn, dyn, rnnx::tanh, T>;
template <class T>
using rnn_relu = rnnx::rnn<dyn, dyn, rnnx::relu, T>;
template <class T>
using mgu = rnnx::mgu<dyn, dyn, T>;
template <class T>
using cifg_lstm = rnnx::cifg_lstm<dyn, dyn, T>;
template <class T>
using light_gru = rnnx::light_gru<dyn, dyn, T>;
template <class T>
using indrnn = rnnx::indrnn<dyn, dyn, T>;

/// Whether L is one of the cells above (its sizes come from shape(), its state is its own).
template <class L>
concept cell_layer = requires(const L& l) {
  l.shape();
};

/// A layer's input and output sizes, whichever kind it is.
template <class L>
std::size_t in_size_of(const L& l) noexcept {
  if constexpr (cell_layer<L>)
    return l.shape().in_size();
  else
    return l.in_size();
}
template <class L>
std::size_t out_size_of(const L& l) noexcept {
  if constexpr (cell_layer<L>)
    return l.shape().hidden_size();
  else
    return l.out_size();
}

}  // namespace RNNX_NAMESPACE::dynamic
