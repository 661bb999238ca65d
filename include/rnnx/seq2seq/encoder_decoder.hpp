#pragma once
// A sequence-to-sequence model with attention (Luong et al. 2015), made of four typed parts:
//   memory  = Encoder(source)                     encoder outputs, S x M
//   state_0 = the encoder's final state            (the decoder's recurrent layers must be the
//                                                    encoder's: same layer state types)
//   q_t     = Decoder(y_{t-1}, state)              decoder outputs, Q each
//   c_t, a_t = Attention(q_t, memory)              context and attention weights
//   logits_t = Head([q_t ; c_t])                   e.g. dense<Q + M, H, tanh>, dense<H, Vocab>
//
// Training is teacher-forced (rnnx::seq2seq_tape: the decoder reads the true previous target
// token); inference decodes greedily or with a beam (seq2seq/decoding.hpp). For optimisers,
// clipping and initialisation the model is one chain of layers: the encoder's, the
// decoder's, the attention, the head's (layer_count, layer<i>(), for_each_layer).

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/network.hpp"
#include "rnnx/seq2seq/attention.hpp"
#include "rnnx/train/tape.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

/// Whether a layer state of type From can start a layer with state To: both stateless, or the
/// same vectors (h, and c for LSTMs) of the same sizes.
template <class From, class To>
constexpr bool state_transferable() {
  if constexpr (std::is_same_v<From, To>) {
    return true;
  } else if constexpr (requires(From f, To t) {
                         f.h;
                         t.h;
                       }) {
    constexpr bool has_c = requires(From f) { f.c; };
    constexpr bool gets_c = requires(To t) { t.c; };
    return std::is_same_v<decltype(std::declval<From>().h), decltype(std::declval<To>().h)> &&
           has_c == gets_c;
  } else {
    return false;
  }
}

template <class From, class To>
void transfer_state(const From& from, To& to) {
  if constexpr (std::is_same_v<From, To>) {
    to = from;
  } else {
    to.h = from.h;
    if constexpr (requires { to.c; }) to.c = from.c;
  }
}

template <class A, class B>
struct tuples_transferable : std::false_type {};
template <class... As, class... Bs>
struct tuples_transferable<boost::hana::tuple<As...>, boost::hana::tuple<Bs...>> {
  static constexpr bool value = [] {
    if constexpr (sizeof...(As) != sizeof...(Bs)) {
      return false;
    } else {
      return (state_transferable<As, Bs>() && ...);
    }
  }();
};

template <class EncoderState, class DecoderState>
constexpr bool states_transferable() {
  return tuples_transferable<decltype(std::declval<EncoderState>().layers),
                             decltype(std::declval<DecoderState>().layers)>::value;
}

template <class Tuple>
struct layer_state_count;
template <class... Ls>
struct layer_state_count<boost::hana::tuple<Ls...>> {
  static constexpr std::size_t value = sizeof...(Ls);
};

/// Layer by layer, from one network state's layer states into another's (both directions).
template <class From, class To>
void transfer_states(const From& from, To& to) {
  kernels::unroll<layer_state_count<decltype(from.layers)>::value>([&](auto i) {
    transfer_state(boost::hana::at_c<i>(from.layers), boost::hana::at_c<i>(to.layers));
  });
}

}  // namespace detail

template <class Encoder, class Decoder, class Attention, class Head>
class encoder_decoder {
  using T = typename Encoder::scalar;
  static_assert(std::is_same_v<typename Decoder::scalar, T> &&
                    std::is_same_v<typename Attention::scalar, T> &&
                    std::is_same_v<typename Head::scalar, T>,
                "rnnx::encoder_decoder: all parts must have the same scalar type");
  static_assert(detail::states_transferable<typename Encoder::state, typename Decoder::state>(),
                "rnnx::encoder_decoder: the encoder's final state initialises the decoder, so "
                "layer by layer both must have the same number of layers and the same kind of "
                "state (stateless, or recurrent cells of the same hidden size and kind)");
  static_assert(Attention::memory_size == Encoder::out_size,
                "rnnx::encoder_decoder: the attention's memory size must be the encoder's "
                "output size");
  static_assert(Attention::query_size == Decoder::out_size,
                "rnnx::encoder_decoder: the attention's query size must be the decoder's "
                "output size");
  static_assert(Head::in_size == Decoder::out_size + Encoder::out_size,
                "rnnx::encoder_decoder: the head reads [decoder output ; context], so its input "
                "size must be the decoder's plus the encoder's output size");

  static constexpr std::size_t E = Encoder::layer_count, D = Decoder::layer_count,
                               H = Head::layer_count;

 public:
  using scalar = T;
  using encoder_type = Encoder;
  using decoder_type = Decoder;
  using attention_type = Attention;
  using head_type = Head;
  static constexpr std::size_t layer_count = E + D + 1 + H;
  static constexpr std::size_t vocabulary_size = Head::out_size;

  Encoder& encoder() noexcept { return encoder_; }
  Decoder& decoder() noexcept { return decoder_; }
  Attention& attention() noexcept { return attention_; }
  Head& head() noexcept { return head_; }
  const Encoder& encoder() const noexcept { return encoder_; }
  const Decoder& decoder() const noexcept { return decoder_; }
  const Attention& attention() const noexcept { return attention_; }
  const Head& head() const noexcept { return head_; }

  /// Layer I of the chain encoder, decoder, attention, head.
  template <std::size_t I>
  auto& layer() noexcept {
    return layer_of<I>(*this);
  }
  template <std::size_t I>
  const auto& layer() const noexcept {
    return layer_of<I>(*this);
  }
  template <class F>
  void for_each_layer(F&& f) {
    kernels::unroll<layer_count>([&](auto i) { f(i, layer<i>()); });
  }
  template <class F>
  void for_each_layer(F&& f) const {
    kernels::unroll<layer_count>([&](auto i) { f(i, layer<i>()); });
  }

  static std::string description() {
    return "encoder " + Encoder::description() + "; decoder " + Decoder::description() +
           "; attention " + layer_name<Attention>() + "; head " + Head::description();
  }

  friend bool operator==(const encoder_decoder&, const encoder_decoder&) = default;

 private:
  template <std::size_t I, class Self>
  static auto& layer_of(Self& self) noexcept {
    if constexpr (I < E) {
      return self.encoder_.template layer<I>();
    } else if constexpr (I < E + D) {
      return self.decoder_.template layer<I - E>();
    } else if constexpr (I == E + D) {
      return self.attention_;
    } else {
      return self.head_.template layer<I - E - D - 1>();
    }
  }

  Encoder encoder_;
  Decoder decoder_;
  Attention attention_;
  Head head_;
};

/// The decoder's state that continues the encoder's final state.
template <class Model>
typename Model::decoder_type::state decoder_start(const typename Model::encoder_type::state& s) {
  typename Model::decoder_type::state d{};
  detail::transfer_states(s, d);
  return d;
}

/// Teacher-forced training of an encoder_decoder over a batch:
///   logits = tape.forward(model, source, target_in[, source_lengths])   B x T x vocabulary
///   tape.backward(model, dlogits, grads)     grads: a model of the same type
/// source: B x S x encoder inputs (token ids for an embedding), target_in: B x T x decoder
/// inputs (the target shifted right behind a start token). source_lengths[b] <= S masks the
/// attention to the first source_lengths[b] positions (the encoder still reads all S).
template <class Model>
class seq2seq_tape {
  using T = typename Model::scalar;
  using Encoder = typename Model::encoder_type;
  using Decoder = typename Model::decoder_type;
  using Attention = typename Model::attention_type;
  using Head = typename Model::head_type;
  static constexpr std::size_t Q = Decoder::out_size, M = Encoder::out_size;
  static constexpr std::size_t Qs = simd::padded<T>(Q), Ms = simd::padded<T>(M);

 public:
  xt::xtensor<T, 3> forward(const Model& model, const xt::xtensor<T, 3>& source,
                            const xt::xtensor<T, 3>& target_in,
                            std::vector<std::size_t> source_lengths = {}) {
    batch_ = source.shape(0);
    source_steps_ = source.shape(1);
    target_steps_ = target_in.shape(1);
    if (target_in.shape(0) != batch_)
      throw std::invalid_argument("rnnx::seq2seq_tape::forward: " + std::to_string(batch_) +
                                  " source sequences but " + std::to_string(target_in.shape(0)) +
                                  " target sequences");
    if (source_lengths.empty()) source_lengths.assign(batch_, source_steps_);
    if (source_lengths.size() != batch_)
      throw std::invalid_argument(
          "rnnx::seq2seq_tape::forward: " + std::to_string(source_lengths.size()) +
          " source lengths for a batch of " + std::to_string(batch_));
    for (std::size_t b = 0; b < batch_; ++b)
      if (source_lengths[b] == 0 || source_lengths[b] > source_steps_)
        throw std::invalid_argument("rnnx::seq2seq_tape::forward: source length " +
                                    std::to_string(source_lengths[b]) + " of sequence " +
                                    std::to_string(b) + " is not in [1, " +
                                    std::to_string(source_steps_) + "]");
    lengths_ = std::move(source_lengths);

    encoder_states_.assign(batch_, typename Encoder::state{});
    const auto memory = encoder_tape_.forward(model.encoder(), source,
                                              std::span<typename Encoder::state>(encoder_states_));
    decoder_states_.resize(batch_);
    for (std::size_t b = 0; b < batch_; ++b)
      decoder_states_[b] = decoder_start<Model>(encoder_states_[b]);
    const auto queries = decoder_tape_.forward(model.decoder(), target_in,
                                               std::span<typename Decoder::state>(decoder_states_));
    pack(memory, Ms, memory_);
    pack(queries, Qs, queries_);
    grow(contexts_, batch_ * target_steps_ * Ms);
    model.attention().forward_train(queries_.data(), batch_, target_steps_, memory_.data(),
                                    source_steps_, lengths_, attention_tape_, contexts_.data());
    xt::xtensor<T, 3> head_in = xt::xtensor<T, 3>::from_shape({batch_, target_steps_, Q + M});
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t t = 0; t < target_steps_; ++t) {
        for (std::size_t j = 0; j < Q; ++j) head_in(b, t, j) = queries(b, t, j);
        const T* c = contexts_.data() + (t * batch_ + b) * Ms;
        for (std::size_t j = 0; j < M; ++j) head_in(b, t, Q + j) = c[j];
      }
    return head_tape_.forward(model.head(), head_in);
  }

  /// Adds dL/dparameters of every part to grads, given dlogits (B x T x vocabulary).
  void backward(const Model& model, const xt::xtensor<T, 3>& dlogits, Model& grads) {
    const auto dhead_in = head_tape_.backward(model.head(), dlogits, grads.head());
    grow(dcontexts_, batch_ * target_steps_ * Ms);
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t t = 0; t < target_steps_; ++t) {
        T* dc = dcontexts_.data() + (t * batch_ + b) * Ms;
        for (std::size_t j = 0; j < M; ++j) dc[j] = dhead_in(b, t, Q + j);
        for (std::size_t j = M; j < Ms; ++j) dc[j] = T(0);
      }
    grow(dqueries_, batch_ * target_steps_ * Qs);
    dmemory_.assign(batch_ * source_steps_ * Ms, T(0));
    model.attention().backward(queries_.data(), memory_.data(), dcontexts_.data(), attention_tape_,
                               grads.attention(), dqueries_.data(), dmemory_.data());
    xt::xtensor<T, 3> dqueries = xt::xtensor<T, 3>::from_shape({batch_, target_steps_, Q});
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t t = 0; t < target_steps_; ++t)
        for (std::size_t j = 0; j < Q; ++j)
          dqueries(b, t, j) = dhead_in(b, t, j) + dqueries_[(t * batch_ + b) * Qs + j];
    decoder_tape_.backward_parameters(model.decoder(), dqueries, grads.decoder());
    decoder_tape_.initial_state_gradients(model.decoder(),
                                          std::span<typename Decoder::state>(decoder_states_));
    for (std::size_t b = 0; b < batch_; ++b)
      detail::transfer_states(decoder_states_[b], encoder_states_[b]);
    xt::xtensor<T, 3> dmemory = xt::xtensor<T, 3>::from_shape({batch_, source_steps_, M});
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t s = 0; s < source_steps_; ++s)
        for (std::size_t j = 0; j < M; ++j) dmemory(b, s, j) = dmemory_[(s * batch_ + b) * Ms + j];
    encoder_tape_.backward(model.encoder(), dmemory, grads.encoder(),
                           std::span<const typename Encoder::state>(encoder_states_));
  }

  /// The attention weights of target step t of sequence b in the last forward (S values).
  std::span<const T> attention_weights(std::size_t t, std::size_t b) const {
    return Attention::weights_of(attention_tape_, t, b);
  }

 private:
  /// B x N x values -> padded rows (n * B + b).
  void pack(const xt::xtensor<T, 3>& x, std::size_t stride, simd::aligned_vector<T>& rows) const {
    const std::size_t n_steps = x.shape(1), values = x.shape(2);
    rows.assign(batch_ * n_steps * stride, T(0));
    for (std::size_t b = 0; b < batch_; ++b)
      for (std::size_t n = 0; n < n_steps; ++n)
        for (std::size_t j = 0; j < values; ++j) rows[(n * batch_ + b) * stride + j] = x(b, n, j);
  }
  static void grow(simd::aligned_vector<T>& v, std::size_t size) {
    if (v.size() < size) v.resize(size);
  }

  tape<Encoder> encoder_tape_;
  tape<Decoder> decoder_tape_;
  typename Attention::tape attention_tape_;
  tape<Head> head_tape_;
  std::vector<typename Encoder::state> encoder_states_;
  std::vector<typename Decoder::state> decoder_states_;
  std::vector<std::size_t> lengths_;
  simd::aligned_vector<T> memory_, queries_, contexts_, dcontexts_, dqueries_, dmemory_;
  std::size_t batch_ = 0, source_steps_ = 0, target_steps_ = 0;
};

}  // namespace rnnx
