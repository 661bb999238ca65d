#pragma once
// rnnx::dynamic: the same models as rnnx::network<...>, with the topology and every size
// chosen at run time, e.g. loaded from a weight file whose architecture the program does not
// know when it is compiled:
//
//   auto model = rnnx::dynamic::load_network("model.json");   // float; <double> for double
//   auto state = model.initial_state();                       // heap buffers, allocated here
//   for (float x : signal) out.push_back(model.step(x, state)[0]);   // no allocation
//   xt::xtensor<float, 2> ys = model.forward(xs);
//
// A network is a std::vector of layers (a std::variant over dense, activation and every
// recurrent cell, rnnx/dynamic/layers.hpp): one dispatch per layer and step, the typed
// engine's kernels inside. A recurrent cell is the typed cell with run-time sizes, so its
// outputs are the typed model's bits; dense layers equal the typed ones' to float rounding
// (tests/dynamic_test.cpp).
// Loading, saving and conversion from a typed model: rnnx/dynamic/weights.hpp; both come with
// #include <rnnx/dynamic/dynamic.hpp>.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "rnnx/dynamic/layers.hpp"
#include "rnnx/isa.hpp"
#include "rnnx/kernels/schedule.hpp"
#include "rnnx/simd/batch.hpp"

namespace RNNX_NAMESPACE::dynamic {

/// "lstm<1, 32>", "dense<32, 1, identity>": how messages name a layer (as rnnx::layer_name).
template <class L>
std::string layer_name(const L& layer) {
  std::string name(L::type_name);
  name += '<';
  bool first = true;
  layer.visit_attributes([&](std::string_view, auto value) {
    if (!first) name += ", ";
    first = false;
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
      name += std::string_view(value);
    } else {
      name += std::to_string(value);
    }
  });
  name += '>';
  return name;
}

template <class T>
class basic_network {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "rnnx::dynamic::basic_network: the scalar type must be float or double");

 public:
  using scalar = T;

 private:
  template <class... Cells>
  struct layer_set {
    using layer = std::variant<dense<T>, activation<T>, Cells...>;
    using state = std::variant<std::monostate, typename Cells::state...>;
  };
  using layers_of = layer_set<lstm<T>, peephole_lstm<T>, gru<T>, gru_reset_before<T>, rnn_tanh<T>,
                              rnn_relu<T>, mgu<T>, cifg_lstm<T>, light_gru<T>, indrnn<T>>;

 public:
  using layer = typename layers_of::layer;
  /// A layer's state: none, or its cell's state.
  using layer_state = typename layers_of::state;

  /// Everything that changes while a model runs: one per stream; the model stays const.
  struct state {
    std::vector<layer_state> layers;  // each layer's own
    simd::aligned_vector<T> ping, pong, scratch, output;
    std::size_t shape_id = 0;  // the sizes of the model that made it

    void reset() noexcept {
      for (auto& s : layers)
        std::visit(
            [](auto& of) {
              if constexpr (requires { of.reset(); }) of.reset();
            },
            s);
      std::fill(output.begin(), output.end(), T(0));
    }
    friend bool operator==(const state& a, const state& b) noexcept {
      return a.layers == b.layers && a.output == b.output;
    }
  };

  /// Throws std::invalid_argument for no layers or a layer whose input size is not the
  /// previous layer's output size.
  explicit basic_network(std::vector<layer> layers) : layers_(std::move(layers)) {
    if (layers_.empty())
      throw std::invalid_argument("rnnx::dynamic::network: a network needs at least one layer");
    for (std::size_t i = 0; i + 1 < layers_.size(); ++i)
      if (out_size_of(i) != in_size_of(i + 1))
        throw std::invalid_argument("rnnx::dynamic::network: layer " + std::to_string(i + 1) +
                                    " (" + layer_description(i + 1) + ") expects " +
                                    std::to_string(in_size_of(i + 1)) + " inputs, layer " +
                                    std::to_string(i) + " (" + layer_description(i) + ") gives " +
                                    std::to_string(out_size_of(i)));
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      widest_ =
          std::max({widest_, simd::padded<T>(in_size_of(i)), simd::padded<T>(out_size_of(i))});
      scratch_ =
          std::max(scratch_, std::visit(
                                 [](const auto& l) -> std::size_t {
                                   if constexpr (cell_layer<std::remove_cvref_t<decltype(l)>>)
                                     return 0;
                                   else
                                     return l.scratch_size();
                                 },
                                 layers_[i]));
      // FNV-1a over every layer's kind and sizes: states of models shaped alike are exchangeable.
      for (std::size_t v : {layers_[i].index(), in_size_of(i), out_size_of(i)})
        shape_id_ = (shape_id_ ^ v) * 1099511628211ull;
    }
  }

  std::size_t in_size() const noexcept { return in_size_of(0); }
  std::size_t out_size() const noexcept { return out_size_of(layers_.size() - 1); }
  std::size_t layer_count() const noexcept { return layers_.size(); }
  const std::vector<layer>& layers() const noexcept { return layers_; }

  /// f(index, layer) for each layer, the layer as its concrete type (dense<T>&, lstm<T>&, ...).
  template <class F>
  void for_each_layer(F&& f) {
    for (std::size_t i = 0; i < layers_.size(); ++i)
      std::visit([&](auto& l) { f(i, l); }, layers_[i]);
  }
  template <class F>
  void for_each_layer(F&& f) const {
    for (std::size_t i = 0; i < layers_.size(); ++i)
      std::visit([&](const auto& l) { f(i, l); }, layers_[i]);
  }

  /// All-zero state with every buffer the model needs (the only allocation of streaming).
  state initial_state() const {
    state s;
    s.layers.reserve(layers_.size());
    for (const auto& l : layers_)
      s.layers.push_back(std::visit(
          [](const auto& x) -> layer_state {
            if constexpr (cell_layer<std::remove_cvref_t<decltype(x)>>)
              return layer_state(
                  std::in_place_type<typename std::remove_cvref_t<decltype(x)>::state>,
                  x.initial_state());
            else
              return std::monostate{};
          },
          l));
    s.ping.assign(widest_, T(0));
    s.pong.assign(widest_, T(0));
    s.scratch.assign(std::max<std::size_t>(scratch_, simd::width<T>), T(0));
    s.output.assign(simd::padded<T>(out_size()), T(0));
    s.shape_id = shape_id_;
    return s;
  }

  /// One time step: reads x, advances s, returns the output (valid until s changes).
  /// Throws std::invalid_argument if x or s do not fit this model.
  std::span<const T> step(std::span<const T> x, state& s) const {
    if (x.size() != in_size())
      throw std::invalid_argument("rnnx::dynamic::network::step: " + std::to_string(x.size()) +
                                  " inputs, the model expects " + std::to_string(in_size()));
    if (s.shape_id != shape_id_)
      throw std::invalid_argument(
          "rnnx::dynamic::network::step: the state was not made by this model's initial_state()");
    T* in = s.ping.data();
    T* other = s.pong.data();
    std::copy(x.begin(), x.end(), in);
    std::fill(in + x.size(), in + simd::padded<T>(x.size()), T(0));
    const std::size_t n = layers_.size();
    for (std::size_t i = 0; i < n; ++i) {
      T* out = i + 1 == n ? s.output.data() : other;
      std::visit(
          [&](const auto& l) {
            using L = std::remove_cvref_t<decltype(l)>;
            if constexpr (cell_layer<L>)
              l.step(in, std::get<typename L::state>(s.layers[i]), out);
            else
              l.step(in, nullptr, s.scratch.data(), out);
          },
          layers_[i]);
      other = in;
      in = out;
    }
    return std::span<const T>(s.output.data(), out_size());
  }

  /// One step of states.size() independent streams (channels), each state from
  /// initial_state(): x holds each stream's inputs one row after the other, y receives each
  /// one's outputs the same way. The bits of one step per stream; where the weights do not sit
  /// in L1, each recurrent layer's weights are read once per group of streams
  /// (engine/streams.hpp). Throws std::invalid_argument if x, y or a state do not fit.
  void step(std::span<const T> x, std::span<state> states, std::span<T> y) const {
    const std::size_t n = states.size(), in = in_size(), out = out_size();
    if (x.size() != n * in || y.size() != n * out)
      throw std::invalid_argument("rnnx::dynamic::network::step: " + std::to_string(n) +
                                  " streams take " + std::to_string(n * in) + " inputs and " +
                                  std::to_string(n * out) + " outputs, got " +
                                  std::to_string(x.size()) + " and " + std::to_string(y.size()));
    for (const state& s : states)
      if (s.shape_id != shape_id_)
        throw std::invalid_argument(
            "rnnx::dynamic::network::step: a state was not made by this model's "
            "initial_state()");
    for (std::size_t k = 0; k < n; ++k) {
      T* first = states[k].ping.data();
      std::copy_n(x.data() + k * in, in, first);
      std::fill(first + in, first + simd::padded<T>(in), T(0));
    }
    // Layer i reads ping (i even) or pong and writes the other, the last one output, as step.
    const std::size_t layers = layers_.size();
    const auto input_of = [&](state& s, std::size_t i) {
      return i % 2 == 0 ? s.ping.data() : s.pong.data();
    };
    const auto output_of = [&](state& s, std::size_t i) {
      return i + 1 == layers ? s.output.data() : i % 2 == 0 ? s.pong.data() : s.ping.data();
    };
    for (std::size_t i = 0; i < layers; ++i)
      std::visit(
          [&](const auto& l) {
            using L = std::remove_cvref_t<decltype(l)>;
            if constexpr (cell_layer<L>) {
              using cell_state = typename L::state;
              constexpr std::size_t group = kernels::budget.step_group;
              std::size_t k = 0;
              for (; k + group <= n; k += group) {
                std::array<const T*, group> xs;
                std::array<cell_state*, group> ss;
                std::array<T*, group> ys;
                for (std::size_t j = 0; j < group; ++j) {
                  state& s = states[k + j];
                  xs[j] = input_of(s, i);
                  ss[j] = &std::get<cell_state>(s.layers[i]);
                  ys[j] = output_of(s, i);
                }
                l.template step_streams<group>(xs, ss, ys);
              }
              for (; k < n; ++k)
                l.step(input_of(states[k], i), std::get<cell_state>(states[k].layers[i]),
                       output_of(states[k], i));
            } else {
              for (state& s : states)
                l.step(input_of(s, i), nullptr, s.scratch.data(), output_of(s, i));
            }
          },
          layers_[i]);
    for (std::size_t k = 0; k < n; ++k)
      std::copy_n(states[k].output.data(), out, y.data() + k * out);
  }

  /// Streaming a single-input model: model.step(sample, state)[0].
  std::span<const T> step(T x, state& s) const { return step(std::span<const T>(&x, 1), s); }

  /// Many-to-many over a whole sequence (steps x in_size -> steps x out_size), continuing s.
  xt::xtensor<T, 2> forward(const xt::xtensor<T, 2>& xs, state& s) const {
    const std::size_t steps = check_sequence(xs);
    if (s.shape_id != shape_id_)
      throw std::invalid_argument(
          "rnnx::dynamic::network::forward: the state was not made by this model's "
          "initial_state()");
    const std::size_t in_stride = simd::padded<T>(in_size());
    simd::aligned_vector<T> a(steps * widest_, T(0));
    simd::aligned_vector<T> b(steps * widest_, T(0));
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t j = 0; j < in_size(); ++j) a[t * in_stride + j] = xs(t, j);
    T* in = a.data();
    T* out = b.data();
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      std::visit(
          [&](const auto& l) {
            using L = std::remove_cvref_t<decltype(l)>;
            if constexpr (cell_layer<L>)
              l.forward_sequence(in, steps, std::get<typename L::state>(s.layers[i]), out);
            else
              l.forward_sequence(in, steps, nullptr, out);
          },
          layers_[i]);
      std::swap(in, out);
    }
    const std::size_t out_stride = simd::padded<T>(out_size());
    xt::xtensor<T, 2> ys = xt::xtensor<T, 2>::from_shape({steps, out_size()});
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t j = 0; j < out_size(); ++j) ys(t, j) = in[t * out_stride + j];
    std::copy_n(in + (steps - 1) * out_stride, out_stride, s.output.data());
    return ys;
  }

  xt::xtensor<T, 2> forward(const xt::xtensor<T, 2>& xs) const {
    state s = initial_state();
    return forward(xs, s);
  }

  /// Many-to-one: the output after the last step.
  xt::xtensor<T, 1> forward_last(const xt::xtensor<T, 2>& xs, state& s) const {
    const xt::xtensor<T, 2> ys = forward(xs, s);
    xt::xtensor<T, 1> y = xt::xtensor<T, 1>::from_shape({out_size()});
    for (std::size_t j = 0; j < out_size(); ++j) y(j) = ys(ys.shape(0) - 1, j);
    return y;
  }
  xt::xtensor<T, 1> forward_last(const xt::xtensor<T, 2>& xs) const {
    state s = initial_state();
    return forward_last(xs, s);
  }

  /// "lstm<1, 32> -> dense<32, 1, identity>", as the typed network's description().
  std::string description() const {
    std::string text;
    for (std::size_t i = 0; i < layers_.size(); ++i)
      text += (i == 0 ? "" : " -> ") + layer_description(i);
    return text;
  }

  friend bool operator==(const basic_network& a, const basic_network& b) {
    return a.layers_ == b.layers_;
  }

 private:
  std::size_t in_size_of(std::size_t i) const {
    return std::visit([](const auto& l) { return dynamic::in_size_of(l); }, layers_[i]);
  }
  std::size_t out_size_of(std::size_t i) const {
    return std::visit([](const auto& l) { return dynamic::out_size_of(l); }, layers_[i]);
  }
  std::string layer_description(std::size_t i) const {
    return std::visit([](const auto& l) { return layer_name(l); }, layers_[i]);
  }

  std::size_t check_sequence(const xt::xtensor<T, 2>& xs) const {
    const std::string where = "rnnx::dynamic::network<" + description() + ">::forward: ";
    if (xs.shape(1) != in_size())
      throw std::invalid_argument(where + "input has " + std::to_string(xs.shape(1)) +
                                  " features per step, the first layer expects " +
                                  std::to_string(in_size()));
    if (xs.shape(0) == 0) throw std::invalid_argument(where + "empty sequence (0 time steps)");
    for (std::size_t t = 0; t < xs.shape(0); ++t)
      for (std::size_t j = 0; j < in_size(); ++j)
        if (!std::isfinite(xs(t, j)))
          throw std::invalid_argument(where + "input is not finite (" + std::to_string(xs(t, j)) +
                                      ") at step " + std::to_string(t) + ", feature " +
                                      std::to_string(j));
    return xs.shape(0);
  }

  std::vector<layer> layers_;
  std::size_t widest_ = 0;
  std::size_t scratch_ = 0;
  std::size_t shape_id_ = 14695981039346656037ull;
};

/// The float model, the common case.
using network = basic_network<float>;

}  // namespace RNNX_NAMESPACE::dynamic
