#pragma once
// Token embedding, as torch.nn.Embedding(Vocab, Dim): step t's input is one token id k in
// [0, Vocab) and its output is row k of the weight. The id travels as the layer's single input
// value (exact for ids below 2^24 in float), so a model starting with an embedding is fed
// ids: model.step(rnnx::token{k}, state), or id sequences through forward and rnnx::tape.
//
// Backward adds dy to the rows of the tokens seen and nothing else (sparse accumulation, as
// nn.Embedding(sparse=True) would); there is no gradient for the ids themselves.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "rnnx/isa.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

/// A token id for a model whose first layer is an rnnx::embedding.
struct token {
  std::size_t id;
};

template <std::size_t Vocab, std::size_t Dim, class T = float>
class embedding {
  static_assert(Vocab > 0 && Dim > 0, "rnnx::embedding<Vocab, Dim>: sizes must be positive");
  static_assert(Vocab <= (std::size_t{1} << 24),
                "rnnx::embedding<Vocab, Dim>: token ids travel as floats, exact below 2^24");
  static_assert(is_supported_scalar_v<T>,
                "rnnx::embedding: the scalar type must be float or double");
  static constexpr std::size_t Ds = simd::padded<T>(Dim);

 public:
  using scalar = T;
  template <class U>
  using rebind = embedding<Vocab, Dim, U>;
  static constexpr std::size_t in_size = 1;
  static constexpr std::size_t out_size = Dim;
  static constexpr std::size_t vocabulary_size = Vocab;
  static constexpr std::string_view type_name = "embedding";
  using state = no_state;

  /// Why x is not a token id, or "" when it is one (sequence entry points check with this; step
  /// cannot report, and gives a zero vector for an invalid id).
  static std::string_view input_problem(T x) noexcept {
    if (!std::isfinite(x) || x != std::floor(x)) return "a token id must be a whole number";
    if (x < 0 || x >= T(Vocab)) return "the token id is outside [0, vocabulary size)";
    return {};
  }

  void step(const T* x, state&, T* y) const noexcept {
    if (!input_problem(x[0]).empty()) {
      std::fill_n(y, Ds, T(0));
      return;
    }
    std::copy_n(weight_.raw() + static_cast<std::size_t>(x[0]) * Ds, Ds, y);
  }

  void forward_sequence(const T* xs, std::size_t steps, state& s, T* ys) const {
    constexpr std::size_t in_stride = simd::padded<T>(1);
    for (std::size_t t = 0; t < steps; ++t) step(xs + t * in_stride, s, ys + t * Ds);
  }

  // ---- training (see layers/layer.hpp) -------------------------------------------------
  using tape = no_tape;

  void forward_train(const T* xs, std::size_t batch_size, std::size_t steps, state* s, tape&,
                     T* ys) const {
    forward_sequence(xs, batch_size * steps, *s, ys);
  }

  /// dweight[k] += dy for each step whose token is k.
  void backward(const T* xs, const T*, T* dys, std::size_t batch_size, std::size_t steps, tape&,
                embedding& grad, T* dxs) const {
    constexpr std::size_t in_stride = simd::padded<T>(1);
    for (std::size_t n = 0; n < batch_size * steps; ++n) {
      const T x = xs[n * in_stride];
      if (!input_problem(x).empty()) continue;
      T* row = grad.weight_.data.data() + static_cast<std::size_t>(x) * Ds;
      const T* dy = dys + n * Ds;
      for (std::size_t j = 0; j < Ds; ++j) row[j] += dy[j];
    }
    if (dxs != nullptr) std::fill_n(dxs, batch_size * steps * in_stride, T(0));
  }

  /// torch.nn.Embedding's initial values: N(0, 1) (see train/initialization.hpp).
  template <class Draw>
  void reset_parameters(Draw& draw) {
    for (std::size_t k = 0; k < Vocab; ++k)
      for (std::size_t j = 0; j < Dim; ++j) weight_.at(k, j) = static_cast<T>(draw.normal());
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("num_embeddings", Vocab);
    f("embedding_dim", Dim);
  }
  template <class D>
  static void describe(D& d) {
    d.header("rnnx/layers/embedding.hpp");
    d.input(dimension::constant(1));  // one token id per step
    d.output("embedding_dim");
    d.parameter("weight", "num_embeddings", "embedding_dim");
  }
  template <class F>
  void visit_parameters(F&& f) {
    f("weight", weight_);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    f("weight", weight_);
  }

  friend constexpr bool operator==(const embedding&, const embedding&) = default;

 private:
  row_major_matrix<T, Vocab, Dim> weight_;
};

}  // namespace RNNX_NAMESPACE
