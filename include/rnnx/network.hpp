#pragma once
// network<Layers...>: a model whose topology is its type. Layers are composed only through the
// layer concept (layers/layer.hpp); sizes are checked here, once, with one readable message.
//
// Only xtensor's declarations are included: the streaming step does not need xtensor, and a
// translation unit that only steps a model (a plug-in with a generated header) compiles 0.4 s
// faster without it. forward / forward_last over whole sequences take and return xt::xtensor:
// a program that calls them includes <xtensor/xtensor.hpp> (rnnx/rnnx.hpp does).

#include <algorithm>
#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <xtensor/xtensor_forward.hpp>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/layers/embedding.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

/// Instantiated for each pair of adjacent layers; its arguments name both layers and sizes in
/// the compiler's message when they disagree.
template <class Previous, class Next, std::size_t previous_gives, std::size_t next_expects>
struct adjacent_layers {
  static_assert(
      previous_gives == next_expects,
      "rnnx::network: a layer's input size must equal the previous layer's output size "
      "(see adjacent_layers<previous layer, next layer, outputs given, inputs expected>)");
  static constexpr bool ok = true;  // the assertion above is the one message
};

template <class... Ls>
constexpr bool chain_is_valid() {
  if constexpr (sizeof...(Ls) < 2) {
    return true;
  } else {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      using list = std::tuple<Ls...>;
      return (adjacent_layers<std::tuple_element_t<I, list>, std::tuple_element_t<I + 1, list>,
                              std::tuple_element_t<I, list>::out_size,
                              std::tuple_element_t<I + 1, list>::in_size>::ok &&
              ...);
    }
    (std::make_index_sequence<sizeof...(Ls) - 1>{});
  }
}

/// Why x cannot be an input value of layer L ("" if it can): L's own rule (an embedding takes
/// token ids), else any finite value.
template <class L>
std::string_view input_problem(typename L::scalar x) noexcept {
  if constexpr (requires { L::input_problem(x); }) {
    return L::input_problem(x);
  } else {
    return std::isfinite(x) ? std::string_view{} : std::string_view{"input is not finite"};
  }
}

template <class L>
concept starts_with_embedding = requires {
  L::vocabulary_size;
};

template <class T, class... Ls>
constexpr std::size_t widest_padded() {
  return std::max({simd::padded<T>(Ls::in_size)..., simd::padded<T>(Ls::out_size)...});
}

/// The two ping-pong buffers network::forward runs a sequence through, kept per thread and
/// grown to the longest sequence it has run: allocating them per call cost page faults on every
/// call (LSTM(1->128) over 1000 steps: 2.35 us per step against 2.03 with the memory kept).
template <class T>
struct sequence_scratch {
  simd::aligned_vector<T> a, b;

  /// Both buffers holding `size` zeros (the padding lanes the layers' kernels read as 0).
  static sequence_scratch& zeroed(std::size_t size) {
    thread_local sequence_scratch scratch;
    scratch.a.assign(size, T(0));
    scratch.b.assign(size, T(0));
    return scratch;
  }
};

template <class... Ls>
struct first_and_last;
template <class F, class... Rest>
struct first_and_last<F, Rest...> {
  using first = F;
  using last = typename decltype((std::type_identity<F>{}, ..., std::type_identity<Rest>{}))::type;
};

}  // namespace detail

template <class T, class... Specs>
class basic_network {
  static_assert(sizeof...(Specs) > 0, "rnnx::network: a network needs at least one layer");
  static_assert(is_supported_scalar_v<T>, "rnnx::network: the scalar type must be float or double");
  static_assert((layer<typename Specs::template rebind<T>> && ...),
                "rnnx::network: every argument must be a layer (rnnx::dense, rnn, lstm, "
                "peephole_lstm, gru, gru_reset_before, bidirectional, activation, prelu, "
                "layer_norm, dropout, embedding)");
  static_assert(detail::chain_is_valid<Specs...>());
  static_assert(
      []<std::size_t... I>(std::index_sequence<I...>) {
        return (
            (I == 0 ||
             !detail::starts_with_embedding<std::tuple_element_t<I, std::tuple<Specs...>>>)&&...);
      }(std::index_sequence_for<Specs...>{}),
      "rnnx::network: an rnnx::embedding takes token ids, so it can only be the first "
      "layer");

 public:
  using scalar = T;
  using layer_types = boost::hana::tuple<typename Specs::template rebind<T>...>;
  template <std::size_t I>
  using layer_type = std::tuple_element_t<I, std::tuple<typename Specs::template rebind<T>...>>;
  static constexpr std::size_t layer_count = sizeof...(Specs);
  static constexpr std::size_t in_size = detail::first_and_last<Specs...>::first::in_size;
  static constexpr std::size_t out_size = detail::first_and_last<Specs...>::last::out_size;

  /// Everything that changes while a model runs: one per stream; the model itself stays const.
  struct state {
    boost::hana::tuple<typename Specs::template rebind<T>::state...> layers;
    simd::padded_array<T, out_size> output;

    void reset() noexcept {
      boost::hana::for_each(layers, [](auto& s) { s.reset(); });
      output.fill_zero();
    }
    friend bool operator==(const state& a, const state& b) noexcept {
      bool equal = a.output == b.output;
      kernels::unroll<layer_count>([&](auto i) {
        equal = equal && boost::hana::at_c<i>(a.layers) == boost::hana::at_c<i>(b.layers);
      });
      return equal;
    }
  };

  /// All-zero state, as PyTorch starts a sequence.
  state initial_state() const noexcept { return state{}; }

  /// Whether every layer can run one step at a time (not so with a bidirectional layer).
  static constexpr bool streaming = (streaming_layer<typename Specs::template rebind<T>> && ...);

  /// One time step: reads x, advances s, returns the output (valid until s changes).
  std::span<const T, out_size> step(std::span<const T, in_size> x,
                                    state& s) const noexcept requires streaming {
    return step_layers(x, s, [](auto, const auto& layer, const T* in, auto& ls, T* out) {
      layer.step(in, ls, out);
    });
  }

  /// step with each layer's step made by layer_step(index constant, layer, in, layer's
  /// state, out): for variants of it (realtime/bf16_weights.hpp reads recurrent matrices
  /// from bf16 copies). Buffers and the state's output as step has them.
  template <class LayerStep>
  std::span<const T, out_size> step_layers(
      std::span<const T, in_size> x, state& s,
      LayerStep&& layer_step) const noexcept requires streaming {
    alignas(simd::alignment) T ping[widest];
    alignas(simd::alignment) T pong[widest];
    std::copy(x.begin(), x.end(), ping);
    std::fill(ping + in_size, ping + simd::padded<T>(in_size), T(0));
    kernels::unroll<layer_count>([&](auto i) {
      const T* in = i % 2 == 0 ? ping : pong;
      T* out = i + 1 == layer_count ? s.output.data() : (i % 2 == 0 ? pong : ping);
      layer_step(i, boost::hana::at_c<i>(layers_), in, boost::hana::at_c<i>(s.layers), out);
    });
    return s.output.values();
  }

  /// Streaming a single-input model: model.step(sample, state)[0].
  std::span<const T, out_size> step(T x, state& s) const noexcept
      requires(in_size == 1 && streaming) {
    return step(std::span<const T, 1>(&x, 1), s);
  }

  /// Streaming a model that starts with an rnnx::embedding: model.step(rnnx::token{k}, state).
  /// An id outside the vocabulary gives the embedding's zero vector (sequence entry points
  /// reject it with a message instead).
  std::span<const T, out_size> step(token t, state& s) const noexcept
      requires(streaming&& detail::starts_with_embedding<layer_type<0>>) {
    return step(static_cast<T>(t.id), s);
  }

  /// One time step of N independent streams (the channels of a signal) through the same
  /// model: x holds N inputs of in_size values, stream after stream; s[k] is stream k's state;
  /// y receives N outputs of out_size values. Each stream gets the bits of step(x_k, s[k]);
  /// the recurrent and dense layers load each weight once per group of streams instead of
  /// once per stream.
  template <std::size_t N>
  void step(std::span<const T, N * in_size> x, std::array<state, N>& s,
            std::span<T, N * out_size> y) const noexcept requires streaming {
    step_layers(x, s, y,
                [](auto, const auto& layer, const auto& in, const auto& states, const auto& out) {
                  step_layer_streams(layer, in, states, out);
                });
  }

  /// The N-stream step with each layer's step made by layer_step(index constant, layer, in,
  /// states, out) (std::arrays of N pointers): for variants of it (realtime/bf16_weights.hpp).
  template <std::size_t N, class LayerStep>
  void step_layers(std::span<const T, N * in_size> x, std::array<state, N>& s,
                   std::span<T, N * out_size> y,
                   LayerStep&& layer_step) const noexcept requires streaming {
    step_streams<N>(x.data(), s.data(), y.data(), layer_step);
  }

  /// One layer's step over N streams: its own multi-stream step when it has one, else one
  /// stream after the other.
  template <class L, std::size_t N>
  static void step_layer_streams(const L& layer, const std::array<const T*, N>& in,
                                 const std::array<typename L::state*, N>& states,
                                 const std::array<T*, N>& out) noexcept {
    if constexpr (requires { layer.template step_streams<N>(in, states, out); }) {
      layer.template step_streams<N>(in, states, out);
    } else {
      for (std::size_t k = 0; k < N; ++k) layer.step(in[k], *states[k], out[k]);
    }
  }

  /// The N-stream step for a number of streams known only at run time: x.size() ==
  /// s.size() * in_size and y.size() == s.size() * out_size, else nothing runs and the result
  /// is false. Streams go through in groups of 8, 4, 2 and 1 (the same bits as one by one).
  [[nodiscard]] bool step(std::span<const T> x, std::span<state> s,
                          std::span<T> y) const noexcept requires streaming {
    if (x.size() != s.size() * in_size || y.size() != s.size() * out_size) return false;
    std::size_t done = 0;
    auto run = [&]<std::size_t N>() {
      for (; s.size() - done >= N; done += N) {
        step_streams<N>(x.data() + done * in_size, s.data() + done, y.data() + done * out_size,
                        [](auto, const auto& layer, const auto& in, const auto& states,
                           const auto& out) { step_layer_streams(layer, in, states, out); });
      }
    };
    run.template operator()<8>();
    run.template operator()<4>();
    run.template operator()<2>();
    run.template operator()<1>();
    return true;
  }

  /// Many-to-many over a whole sequence (steps x in_size -> steps x out_size), continuing s.
  /// Allocates the result; its working memory is the calling thread's, kept between calls
  /// (2 x steps x the widest layer's padded size, for the longest sequence run so far).
  xt::xtensor<T, 2> forward(const xt::xtensor<T, 2>& xs, state& s) const {
    const std::size_t steps = check_sequence(xs);
    constexpr std::size_t in_stride = simd::padded<T>(in_size);
    auto& scratch = detail::sequence_scratch<T>::zeroed(steps * widest);
    simd::aligned_vector<T>& a = scratch.a;  // not a structured binding: clang 14 cannot
    simd::aligned_vector<T>& b = scratch.b;  // capture those in the lambda below
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t j = 0; j < in_size; ++j) a[t * in_stride + j] = xs(t, j);
    kernels::unroll<layer_count>([&](auto i) {
      const T* in = i % 2 == 0 ? a.data() : b.data();
      T* out = i % 2 == 0 ? b.data() : a.data();
      boost::hana::at_c<i>(layers_).forward_sequence(in, steps, boost::hana::at_c<i>(s.layers),
                                                     out);
    });
    const T* last = layer_count % 2 == 1 ? b.data() : a.data();
    constexpr std::size_t out_stride = simd::padded<T>(out_size);
    xt::xtensor<T, 2> ys = xt::xtensor<T, 2>::from_shape({steps, out_size});
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t j = 0; j < out_size; ++j) ys(t, j) = last[t * out_stride + j];
    std::copy_n(last + (steps - 1) * out_stride, out_stride, s.output.data());
    return ys;
  }

  /// Many-to-many from the zero state.
  xt::xtensor<T, 2> forward(const xt::xtensor<T, 2>& xs) const {
    state s = initial_state();
    return forward(xs, s);
  }

  /// Many-to-one: the output after the last step.
  xt::xtensor<T, 1> forward_last(const xt::xtensor<T, 2>& xs, state& s) const {
    const xt::xtensor<T, 2> ys = forward(xs, s);
    xt::xtensor<T, 1> y = xt::xtensor<T, 1>::from_shape({out_size});
    for (std::size_t j = 0; j < out_size; ++j) y(j) = ys(ys.shape(0) - 1, j);
    return y;
  }
  xt::xtensor<T, 1> forward_last(const xt::xtensor<T, 2>& xs) const {
    state s = initial_state();
    return forward_last(xs, s);
  }

  /// f(index, layer) for each layer in order (index as std::integral_constant).
  template <class F>
  void for_each_layer(F&& f) {
    kernels::unroll<layer_count>([&](auto i) { f(i, boost::hana::at_c<i>(layers_)); });
  }
  template <class F>
  void for_each_layer(F&& f) const {
    kernels::unroll<layer_count>([&](auto i) { f(i, boost::hana::at_c<i>(layers_)); });
  }

  template <std::size_t I>
  auto& layer() noexcept {
    return boost::hana::at_c<I>(layers_);
  }
  template <std::size_t I>
  const auto& layer() const noexcept {
    return boost::hana::at_c<I>(layers_);
  }

  friend bool operator==(const basic_network& a, const basic_network& b) noexcept {
    bool equal = true;
    kernels::unroll<layer_count>([&](auto i) {
      equal = equal && boost::hana::at_c<i>(a.layers_) == boost::hana::at_c<i>(b.layers_);
    });
    return equal;
  }

  /// "lstm<1, 32> -> dense<32, 1, identity>"
  static std::string description() {
    std::string text;
    ((text += (text.empty() ? "" : " -> ") + layer_name<typename Specs::template rebind<T>>()),
     ...);
    return text;
  }

 private:
  template <std::size_t N, class LayerStep>
  void step_streams(const T* x, state* s, T* y, LayerStep&& layer_step) const noexcept {
    constexpr std::size_t in_stride = simd::padded<T>(in_size);
    alignas(simd::alignment) T ping[N][widest];
    alignas(simd::alignment) T pong[N][widest];
    for (std::size_t k = 0; k < N; ++k) {
      std::copy_n(x + k * in_size, in_size, ping[k]);
      std::fill(ping[k] + in_size, ping[k] + in_stride, T(0));
    }
    kernels::unroll<layer_count>([&](auto i) {
      std::array<const T*, N> in;
      std::array<T*, N> out;
      std::array<typename layer_type<i>::state*, N> states;
      for (std::size_t k = 0; k < N; ++k) {
        in[k] = i % 2 == 0 ? ping[k] : pong[k];
        out[k] = i + 1 == layer_count ? s[k].output.data() : (i % 2 == 0 ? pong[k] : ping[k]);
        states[k] = &boost::hana::at_c<i>(s[k].layers);
      }
      layer_step(i, boost::hana::at_c<i>(layers_), in, states, out);
    });
    for (std::size_t k = 0; k < N; ++k) std::copy_n(s[k].output.data(), out_size, y + k * out_size);
  }

  static constexpr std::size_t widest = detail::widest_padded<T, Specs...>();

  static std::size_t check_sequence(const xt::xtensor<T, 2>& xs) {
    // The message's prefix is built only on failure: description() allocates.
    const auto where = [] { return "rnnx::network<" + description() + ">::forward: "; };
    if (xs.shape(1) != in_size)
      throw std::invalid_argument(where() + "input has " + std::to_string(xs.shape(1)) +
                                  " features per step, the first layer expects " +
                                  std::to_string(in_size));
    if (xs.shape(0) == 0) throw std::invalid_argument(where() + "empty sequence (0 time steps)");
    for (std::size_t t = 0; t < xs.shape(0); ++t)
      for (std::size_t j = 0; j < in_size; ++j)
        if (const auto problem = detail::input_problem<layer_type<0>>(xs(t, j)); !problem.empty())
          throw std::invalid_argument(where() + std::string(problem) + " (" +
                                      std::to_string(xs(t, j)) + ") at step " + std::to_string(t) +
                                      ", feature " + std::to_string(j));
    return xs.shape(0);
  }

  layer_types layers_;
};

/// The float model, the common case: network<lstm<1, 32>, dense<32, 1>>.
template <class... Specs>
using network = basic_network<float, Specs...>;

}  // namespace rnnx
