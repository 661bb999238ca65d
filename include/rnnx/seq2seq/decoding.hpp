#pragma once
// Inference for an rnnx::encoder_decoder whose decoder starts with an embedding: the source
// is encoded once (memory and attention keys), then the decoder runs one token at a time,
// fed its own previous output, from `start` until `end` or max_length tokens.
//   greedy_decode(model, source, start, end, max_length)       the most likely token each step
//   beam_decode(model, source, start, end, max_length, width)  the `width` best partial
//        outputs kept each step, by total log-probability (no length normalisation)
// Both return the tokens (without start, with end when reached), their total log-probability
// and the attention weights (one row of S per output token). They allocate (hypotheses,
// memory); the per-token math is the models' allocation-free step().

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <span>
#include <stdexcept>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "rnnx/isa.hpp"
#include "rnnx/seq2seq/encoder_decoder.hpp"

namespace RNNX_NAMESPACE {

template <class T>
struct decoded_sequence {
  std::vector<std::size_t> tokens;
  T log_probability = 0;
  xt::xtensor<T, 2> attention;  // tokens.size() x source steps
};

namespace detail {

/// What one decoding run keeps: the encoded source and scratch for a step.
template <class Model>
class seq2seq_decoder {
  using T = typename Model::scalar;
  using Encoder = typename Model::encoder_type;
  using Decoder = typename Model::decoder_type;
  using Attention = typename Model::attention_type;
  using Head = typename Model::head_type;
  static constexpr std::size_t Q = Decoder::out_size, M = Encoder::out_size;
  static constexpr std::size_t Ms = simd::padded<T>(M);
  static constexpr std::size_t V = Model::vocabulary_size;
  static_assert(starts_with_embedding<typename Decoder::template layer_type<0>>,
                "rnnx decoding: the decoder must start with an rnnx::embedding (it is fed its "
                "own output tokens)");

 public:
  seq2seq_decoder(const Model& model, const xt::xtensor<T, 2>& source)
      : model_(model), steps_(source.shape(0)) {
    typename Encoder::state encoder_state{};
    const auto memory = model.encoder().forward(source, encoder_state);
    start_ = decoder_start<Model>(encoder_state);
    memory_.assign(steps_ * Ms, T(0));
    for (std::size_t s = 0; s < steps_; ++s)
      for (std::size_t j = 0; j < M; ++j) memory_[s * Ms + j] = memory(s, j);
    keys_.assign(steps_ * Attention::key_stride, T(0));
    model.attention().prepare(memory_.data(), Ms, steps_, keys_.data());
  }

  const typename Decoder::state& start_state() const noexcept { return start_; }
  std::size_t source_steps() const noexcept { return steps_; }

  /// Advances `state` by `token`; writes the log-probabilities of the next token (V values)
  /// and the attention weights (S values).
  void step(std::size_t token, typename Decoder::state& state, std::span<T, V> log_probs,
            std::span<T> weights) {
    const auto q = model_.decoder().step(rnnx::token{token}, state);
    alignas(simd::alignment) T query[simd::padded<T>(Q)] = {};
    std::copy(q.begin(), q.end(), query);
    alignas(simd::alignment) T context[Ms];
    alignas(simd::alignment) T scratch[Attention::key_stride];
    model_.attention().attend(query, memory_.data(), Ms, keys_.data(), Attention::key_stride,
                              steps_, steps_, weights.data(), context, scratch);
    std::array<T, Q + M> head_in;
    std::copy(q.begin(), q.end(), head_in.begin());
    std::copy_n(context, M, head_in.begin() + Q);
    typename Head::state head_state{};
    const auto logits = model_.head().step(std::span<const T, Q + M>(head_in), head_state);
    const T top = *std::max_element(logits.begin(), logits.end());
    T sum = 0;
    for (T l : logits) sum += std::exp(l - top);
    const T log_sum = top + std::log(sum);
    for (std::size_t v = 0; v < V; ++v) log_probs[v] = logits[v] - log_sum;
  }

 private:
  const Model& model_;
  std::size_t steps_;
  typename Decoder::state start_;
  simd::aligned_vector<T> memory_, keys_;
};

template <class T>
void check_decoding(std::size_t vocabulary, std::size_t source_steps, std::size_t start,
                    std::size_t end, std::size_t max_length, std::size_t width) {
  const auto fail = [](const std::string& what) {
    throw std::invalid_argument("rnnx decoding: " + what);
  };
  if (source_steps == 0) fail("empty source sequence");
  if (start >= vocabulary || end >= vocabulary)
    fail("start or end token outside the vocabulary of " + std::to_string(vocabulary));
  if (max_length == 0) fail("max_length must be at least 1");
  if (width == 0) fail("beam width must be at least 1");
}

}  // namespace detail

template <class Model, class T = typename Model::scalar>
decoded_sequence<T> beam_decode(const Model& model, const xt::xtensor<T, 2>& source,
                                std::size_t start, std::size_t end, std::size_t max_length,
                                std::size_t width) {
  constexpr std::size_t V = Model::vocabulary_size;
  detail::check_decoding<T>(V, source.shape(0), start, end, max_length, width);
  detail::seq2seq_decoder<Model> decoder(model, source);
  const std::size_t S = decoder.source_steps();
  struct hypothesis {
    std::vector<std::size_t> tokens;
    T log_probability = 0;
    typename Model::decoder_type::state state;
    std::vector<T> attention;  // rows of S
    bool finished = false;
  };
  std::vector<hypothesis> beam{{{}, T(0), decoder.start_state(), {}, false}};
  std::array<T, V> log_probs;
  std::vector<T> weights(S);
  for (std::size_t length = 0; length < max_length; ++length) {
    std::vector<hypothesis> candidates;
    for (auto& h : beam) {
      if (h.finished) {
        candidates.push_back(h);
        continue;
      }
      auto state = h.state;
      decoder.step(h.tokens.empty() ? start : h.tokens.back(), state, log_probs, weights);
      std::vector<std::size_t> order(V);
      std::iota(order.begin(), order.end(), std::size_t{0});
      const std::size_t keep = std::min(width, V);
      std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                        [&](std::size_t a, std::size_t b) { return log_probs[a] > log_probs[b]; });
      for (std::size_t k = 0; k < keep; ++k) {
        hypothesis next{h.tokens, h.log_probability + log_probs[order[k]], state, h.attention,
                        order[k] == end};
        next.tokens.push_back(order[k]);
        next.attention.insert(next.attention.end(), weights.begin(), weights.end());
        candidates.push_back(std::move(next));
      }
    }
    // Best first, ties in candidate order. (Indices, not std::stable_sort on the hypotheses:
    // its temporary buffer ignores the states' 64-byte alignment.)
    std::vector<std::size_t> order(candidates.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const T pa = candidates[a].log_probability, pb = candidates[b].log_probability;
      return pa > pb || (pa == pb && a < b);
    });
    std::vector<hypothesis> kept;
    for (std::size_t k = 0; k < std::min(width, order.size()); ++k)
      kept.push_back(std::move(candidates[order[k]]));
    candidates = std::move(kept);
    beam = std::move(candidates);
    if (std::all_of(beam.begin(), beam.end(), [](const auto& h) { return h.finished; })) break;
  }
  const auto best =
      std::find_if(beam.begin(), beam.end(), [](const auto& h) { return h.finished; });
  const hypothesis& chosen = best != beam.end() ? *best : beam.front();
  decoded_sequence<T> out{chosen.tokens, chosen.log_probability,
                          xt::xtensor<T, 2>::from_shape({chosen.tokens.size(), S})};
  std::copy(chosen.attention.begin(), chosen.attention.end(), out.attention.begin());
  return out;
}

template <class Model, class T = typename Model::scalar>
decoded_sequence<T> greedy_decode(const Model& model, const xt::xtensor<T, 2>& source,
                                  std::size_t start, std::size_t end, std::size_t max_length) {
  return beam_decode(model, source, start, end, max_length, 1);
}

}  // namespace rnnx
