#pragma once
// Attention of a query (a decoder state, Q values) over a memory of S rows (encoder outputs,
// M values each), S and the valid length known at run time:
//   e_s = score(q, m_s)       a = softmax(e over s < length)       c = sum_s a_s m_s
// with the scores
//   dot_score           e_s = q . m_s                     (Luong "dot"; Q == M)
//   general_score       e_s = q . (W m_s)                 (Luong "general"; W: Q x M)
//   additive_score<A>   e_s = v . tanh(W_q q + b + W_m m_s)  (Bahdanau; A hidden units)
// The keys W m_s / W_m m_s depend only on the memory, so they are computed once per sequence
// (prepare) and each query costs O(S (K + M)). Positions s >= length are masked (weight 0),
// for padded batches. The weights a are returned to the caller (to plot or inspect).
//
// Memory and query rows are padded like every rnnx vector; in batches, row (s, b) of a
// memory is at (s * batch + b) and row (t, b) of the queries at (t * batch + b), as in
// rnnx::tape.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/matvec.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/layers/parameter.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE {

struct dot_score {
  static constexpr std::string_view name = "dot";
};
struct general_score {
  static constexpr std::string_view name = "general";
};
template <std::size_t A>
struct additive_score {
  static_assert(A > 0, "rnnx::additive_score<A>: the attention size must be positive");
  static constexpr std::string_view name = "additive";
  static constexpr std::size_t size = A;
};

namespace detail {
template <class S>
inline constexpr bool is_additive_score_v = false;
template <std::size_t A>
inline constexpr bool is_additive_score_v<additive_score<A>> = true;
template <class S>
inline constexpr bool is_score_v =
    std::is_same_v<S, dot_score> || std::is_same_v<S, general_score> || is_additive_score_v<S>;
}  // namespace detail

template <std::size_t Q, std::size_t M, class Score = dot_score, class T = float>
class attention {
  static_assert(Q > 0 && M > 0, "rnnx::attention<Q, M>: sizes must be positive");
  static_assert(detail::is_score_v<Score>,
                "rnnx::attention<Q, M, Score>: Score must be rnnx::dot_score, rnnx::general_score "
                "or rnnx::additive_score<A>");
  static_assert(!std::is_same_v<Score, dot_score> || Q == M,
                "rnnx::attention<Q, M, dot_score>: dot-product scores need Q == M (use "
                "general_score or additive_score<A> otherwise)");
  static_assert(is_supported_scalar_v<T>,
                "rnnx::attention: the scalar type must be float or double");

  static constexpr bool additive = detail::is_additive_score_v<Score>;
  static constexpr std::size_t A = [] {
    if constexpr (additive) return Score::size;
    return Q;
  }();
  static constexpr std::size_t Qs = simd::padded<T>(Q);
  static constexpr std::size_t Ms = simd::padded<T>(M);
  static constexpr std::size_t As = simd::padded<T>(A);

 public:
  using scalar = T;
  using score_type = Score;
  template <class U>
  using rebind = attention<Q, M, Score, U>;
  static constexpr std::size_t query_size = Q;
  static constexpr std::size_t memory_size = M;
  /// Values per key row (padded): Q for dot and general, A for additive.
  static constexpr std::size_t key_stride = additive ? As : Qs;
  static constexpr std::string_view type_name = "attention";

  /// keys (S rows of key_stride) for the memory rows of one sequence; memory row s at
  /// memory + s * memory_stride.
  void prepare(const T* memory, std::size_t memory_stride, std::size_t steps,
               T* keys) const noexcept {
    for (std::size_t s = 0; s < steps; ++s)
      key_of(memory + s * memory_stride, keys + s * key_stride);
  }

  /// context (Ms values) and weights (S values, 0 beyond length) for one query, 1 <= length
  /// <= steps; memory row s at memory + s * memory_stride, its key at keys + s * keys_stride
  /// (key_stride for prepare's keys). scratch: As values (additive scores; else unused).
  void attend(const T* query, const T* memory, std::size_t memory_stride, const T* keys,
              std::size_t keys_stride, std::size_t steps, std::size_t length, T* weights,
              T* context, T* scratch) const noexcept {
    if constexpr (additive)
      kernels::matvec_col_major<T, As, Q>(w_q_.raw(), query, b_.raw(), scratch);
    for (std::size_t s = 0; s < length; ++s)
      weights[s] = score(query, keys + s * keys_stride, scratch);
    softmax(weights, length);
    std::fill(weights + length, weights + steps, T(0));
    std::fill_n(context, Ms, T(0));
    for (std::size_t s = 0; s < length; ++s) {
      const T a = weights[s];
      const T* m = memory + s * memory_stride;
      for (std::size_t j = 0; j < Ms; ++j) context[j] += a * m[j];
    }
  }

  // ---- training ---------------------------------------------------------------------------
  struct tape {
    std::size_t batch = 0, queries = 0, steps = 0;
    std::vector<std::size_t> lengths;
    simd::aligned_vector<T> keys;        // rows (s, b)
    simd::aligned_vector<T> weights;     // rows (t, b): S values each
    simd::aligned_vector<T> query_keys;  // additive: rows (t, b), W_q q + b
    simd::aligned_vector<T> dkeys;       // rows (s, b)
    simd::aligned_vector<T> scratch;
  };

  /// Forward over a batch: contexts row (t, b) for queries row (t, b) over memory rows (s, b),
  /// s < lengths[b]. Keeps what backward needs in tp.
  void forward_train(const T* queries, std::size_t batch, std::size_t query_steps, const T* memory,
                     std::size_t memory_steps, std::span<const std::size_t> lengths, tape& tp,
                     T* contexts) const {
    tp.batch = batch;
    tp.queries = query_steps;
    tp.steps = memory_steps;
    tp.lengths.assign(lengths.begin(), lengths.end());
    grow(tp.keys, memory_steps * batch * key_stride);
    grow(tp.weights, query_steps * batch * memory_steps);
    grow(tp.query_keys, additive ? query_steps * batch * As : 0);
    grow(tp.scratch, As);
    for (std::size_t s = 0; s < memory_steps; ++s)
      for (std::size_t b = 0; b < batch; ++b)
        key_of(memory + (s * batch + b) * Ms, tp.keys.data() + (s * batch + b) * key_stride);
    for (std::size_t t = 0; t < query_steps; ++t)
      for (std::size_t b = 0; b < batch; ++b) {
        const std::size_t row = t * batch + b;
        T* u = additive ? tp.query_keys.data() + row * As : tp.scratch.data();
        attend(queries + row * Qs, memory + b * Ms, batch * Ms, tp.keys.data() + b * key_stride,
               batch * key_stride, memory_steps, lengths[b], tp.weights.data() + row * memory_steps,
               contexts + row * Ms, u);
      }
  }

  /// The attention weights of query row (t, b) after forward_train: memory_steps values.
  static std::span<const T> weights_of(const tape& tp, std::size_t t, std::size_t b) noexcept {
    return {tp.weights.data() + (t * tp.batch + b) * tp.steps, tp.steps};
  }

  /// Given dcontexts (rows (t, b)): adds dL/dparameters to grad, writes dL/dqueries (rows
  /// (t, b)) and adds dL/dmemory into dmemory (rows (s, b)).
  ///   da_s = dc . m_s     de_s = a_s (da_s - sum_k a_k da_k)     dm_s += a_s dc
  ///   dot:      dq += de_s m_s           dm_s += de_s q
  ///   general:  dq += de_s k_s           dk_s += de_s q;  then dW += dk_s m_s^T, dm_s += W^T dk_s
  ///   additive: z = tanh(u + k_s), dz = de_s v (1 - z^2): dv += de_s z, du += dz, dk_s += dz;
  ///             then dW_q += du q^T, db += du, dq = W_q^T du, dW_m += dk_s m_s^T, dm_s += W_m^T
  ///             dk_s
  void backward(const T* queries, const T* memory, const T* dcontexts, tape& tp, attention& grad,
                T* dqueries, T* dmemory) const {
    const std::size_t B = tp.batch, S = tp.steps;
    grow(tp.dkeys, S * B * key_stride);
    std::fill_n(tp.dkeys.data(), S * B * key_stride, T(0));
    std::vector<T> de(S);
    alignas(simd::alignment) T du[As];
    for (std::size_t t = 0; t < tp.queries; ++t)
      for (std::size_t b = 0; b < B; ++b) {
        const std::size_t row = t * B + b, length = tp.lengths[b];
        const T* q = queries + row * Qs;
        const T* dc = dcontexts + row * Ms;
        const T* a = tp.weights.data() + row * S;
        T* dq = dqueries + row * Qs;
        std::fill_n(dq, Qs, T(0));
        T weighted = 0;
        for (std::size_t s = 0; s < length; ++s) {
          const T* m = memory + (s * B + b) * Ms;
          T* dm = dmemory + (s * B + b) * Ms;
          T da = 0;
          for (std::size_t j = 0; j < M; ++j) {
            da += dc[j] * m[j];
            dm[j] += a[s] * dc[j];
          }
          de[s] = da;
          weighted += a[s] * da;
        }
        for (std::size_t s = 0; s < length; ++s) de[s] = a[s] * (de[s] - weighted);
        if constexpr (additive) std::fill_n(du, As, T(0));
        for (std::size_t s = 0; s < length; ++s) {
          const T* k = tp.keys.data() + (s * B + b) * key_stride;
          T* dk = tp.dkeys.data() + (s * B + b) * key_stride;
          if constexpr (std::is_same_v<Score, dot_score>) {
            T* dm = dmemory + (s * B + b) * Ms;
            for (std::size_t j = 0; j < Q; ++j) {
              dq[j] += de[s] * k[j];
              dm[j] += de[s] * q[j];
            }
          } else if constexpr (std::is_same_v<Score, general_score>) {
            for (std::size_t j = 0; j < Q; ++j) {
              dq[j] += de[s] * k[j];
              dk[j] += de[s] * q[j];
            }
          } else {
            const T* u = tp.query_keys.data() + row * As;
            for (std::size_t j = 0; j < A; ++j) {
              const T z = std::tanh(u[j] + k[j]);
              const T dz = de[s] * v_.data[j] * (T(1) - z * z);
              grad.v_.data[j] += de[s] * z;
              du[j] += dz;
              dk[j] += dz;
            }
          }
        }
        if constexpr (additive) {
          for (std::size_t j = 0; j < A; ++j) {
            grad.b_.data[j] += du[j];
            for (std::size_t i = 0; i < Q; ++i) grad.w_q_.at(j, i) += du[j] * q[i];
          }
          // dq = W_q^T du: row-major reading of the column-major W_q
          for (std::size_t i = 0; i < Q; ++i) {
            T sum = 0;
            for (std::size_t j = 0; j < A; ++j) sum += w_q_.at(j, i) * du[j];
            dq[i] = sum;
          }
        }
      }
    if constexpr (!std::is_same_v<Score, dot_score>) {
      // keys' gradients into the key weights and the memory: dW += dk m^T, dm += W^T dk
      auto& w = grad.key_weight();
      const auto& wk = key_weight();
      constexpr std::size_t K = additive ? A : Q;
      for (std::size_t r = 0; r < S * B; ++r) {
        const T* dk = tp.dkeys.data() + r * key_stride;
        const T* m = memory + r * Ms;
        T* dm = dmemory + r * Ms;
        for (std::size_t i = 0; i < M; ++i) {
          T sum = 0;
          for (std::size_t j = 0; j < K; ++j) {
            w.at(j, i) += dk[j] * m[i];
            sum += wk.at(j, i) * dk[j];
          }
          dm[i] += sum;
        }
      }
    }
  }

  /// As nn.Linear initialises: each matrix and vector ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  /// fan_in = its columns (the bias and score vector: A). See train/initialization.hpp.
  template <class Draw>
  void reset_parameters(Draw& draw) {
    visit(*this, [&](std::string_view, auto& p) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(p.rank == 1 ? A : p.cols));
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c)
          p.at(r, c) = static_cast<T>(-bound + 2 * bound * draw.uniform());
    });
  }

  template <class F>
  static void visit_attributes(F&& f) {
    f("query_size", Q);
    f("memory_size", M);
    f("score", Score::name);
    if constexpr (additive) f("attention_size", A);
  }
  template <class F>
  void visit_parameters(F&& f) {
    visit(*this, f);
  }
  template <class F>
  void visit_parameters(F&& f) const {
    visit(*this, f);
  }

  friend constexpr bool operator==(const attention&, const attention&) = default;

 private:
  struct no_parameters {
    friend constexpr bool operator==(const no_parameters&, const no_parameters&) = default;
  };
  // general: W (Q x M); additive: W_m (A x M). Column-major: the key is one matvec.
  using key_weight_type = std::conditional_t<std::is_same_v<Score, dot_score>, no_parameters,
                                             column_major_matrix<T, A, M>>;
  using query_weight_type =
      std::conditional_t<additive, column_major_matrix<T, A, Q>, no_parameters>;
  using vector_type = std::conditional_t<additive, vector_parameter<T, A>, no_parameters>;

  template <class Self, class F>
  static void visit(Self& self, F&& f) {
    if constexpr (std::is_same_v<Score, general_score>) f("weight", self.w_k_);
    if constexpr (additive) {
      f("query_weight", self.w_q_);
      f("memory_weight", self.w_k_);
      f("bias", self.b_);
      f("score_weight", self.v_);
    }
  }

  auto& key_weight() noexcept { return w_k_; }
  const auto& key_weight() const noexcept { return w_k_; }

  static void grow(simd::aligned_vector<T>& v, std::size_t size) {
    if (v.size() < size) v.resize(size);
  }

  void key_of(const T* m, T* key) const noexcept {
    if constexpr (std::is_same_v<Score, dot_score>) {
      std::copy_n(m, Qs, key);
    } else {
      kernels::matvec_col_major<T, key_stride, M>(w_k_.raw(), m, nullptr, key);
    }
  }

  /// e = score(q, key); u = W_q q + b for additive scores.
  T score(const T* q, const T* key, const T* u) const noexcept {
    T e = 0;
    if constexpr (additive) {
      for (std::size_t j = 0; j < A; ++j) e += v_.data[j] * std::tanh(u[j] + key[j]);
    } else {
      for (std::size_t j = 0; j < Q; ++j) e += q[j] * key[j];
    }
    return e;
  }

  static void softmax(T* e, std::size_t n) noexcept {
    T top = -std::numeric_limits<T>::infinity();
    for (std::size_t s = 0; s < n; ++s) top = std::max(top, e[s]);
    T sum = 0;
    for (std::size_t s = 0; s < n; ++s) sum += e[s] = std::exp(e[s] - top);
    for (std::size_t s = 0; s < n; ++s) e[s] /= sum;
  }

  [[no_unique_address]] key_weight_type w_k_;
  [[no_unique_address]] query_weight_type w_q_;
  [[no_unique_address]] vector_type b_;
  [[no_unique_address]] vector_type v_;
};

}  // namespace rnnx
