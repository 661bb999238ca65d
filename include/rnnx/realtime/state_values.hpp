#pragma once
// A network's whole recurrent state as named vectors and as one flat array of values: read it,
// set it (a "rest" state instead of zeros), snapshot it after warming a model up offline, and
// restore it so that the model continues bit-identically. See docs/realtime.md. No allocation,
// no exception, no JSON (state files: realtime/state.hpp).
//
//   std::array<float, rnnx::state_size<Model>> saved;
//   rnnx::save_state(model, state, saved);                    // noexcept, no allocation
//   ...
//   if (rnnx::restore_state(model, state, saved) != rnnx::restore_status::ok) { ... }
//
// The flat order is layer by layer, each layer's vectors in its state's visit order ("h", then
// "c"; a bidirectional layer's forward direction, then "h_reverse", "c_reverse"), each vector's
// values unpadded. The network state's `output` is not part of it: it is the last step's
// output, which restoring recomputes from the restored state (see restore_state).

#include <algorithm>
#include <array>
#include <boost/hana/at.hpp>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "rnnx/isa.hpp"
#include "rnnx/kernels/unroll.hpp"
#include "rnnx/layers/layer.hpp"
#include "rnnx/simd/padded_array.hpp"

namespace RNNX_NAMESPACE {

namespace detail {

template <class LayerState>
constexpr std::size_t layer_state_size() {
  std::size_t n = 0;
  LayerState{}.visit([&](std::string_view, auto values) { n += values.size(); });
  return n;
}

template <class Net>
constexpr std::size_t network_state_size() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return (std::size_t{0} + ... + layer_state_size<typename Net::template layer_type<I>::state>());
  }
  (std::make_index_sequence<Net::layer_count>{});
}

/// f(layer index as std::integral_constant, layer state) for each layer's state, in order.
template <class Net, class State, class F>
constexpr void for_each_layer_state(State& s, F&& f) {
  static_assert(std::is_same_v<std::remove_const_t<State>, typename Net::state>,
                "rnnx: the state must be the network's (typename Net::state)");
  kernels::unroll<Net::layer_count>([&](auto i) { f(i, boost::hana::at_c<i>(s.layers)); });
}

/// f(values) for each vector of the network's state, in the flat order.
template <class Net, class State, class F>
constexpr void for_each_state_vector(State& s, F&& f) {
  for_each_layer_state<Net>(s, [&](auto, auto& layer_state) {
    layer_state.visit([&](std::string_view, auto values) { f(values); });
  });
}

/// The index of the last layer with a recurrent state, or layer_count if none has one.
template <class Net>
constexpr std::size_t last_stateful_layer() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    std::size_t last = Net::layer_count;
    ((last = layer_state_size<typename Net::template layer_type<I>::state>() > 0 ? I : last), ...);
    return last;
  }
  (std::make_index_sequence<Net::layer_count>{});
}

/// The network's output at the step that produced `s`: the last recurrent layer's output is
/// its h, and the layers after it have no state, so running them on h gives what the step
/// gave. Zero when that is not known: no layer has a state (the output was a function of that
/// step's input), or the network cannot stream (a bidirectional layer's output at the last
/// step is not its final state).
template <class Net>
void recompute_output(const Net& model, typename Net::state& s) noexcept {
  using T = typename Net::scalar;
  constexpr std::size_t last = last_stateful_layer<Net>();
  if constexpr (last == Net::layer_count || !Net::streaming) {
    s.output.fill_zero();
  } else {
    constexpr std::size_t widest = []<std::size_t... I>(std::index_sequence<I...>) {
      return std::max({simd::padded<T>(Net::template layer_type<I>::out_size)...});
    }
    (std::make_index_sequence<Net::layer_count>{});
    alignas(simd::alignment) T ping[widest] = {};
    alignas(simd::alignment) T pong[widest] = {};
    const auto& h = boost::hana::at_c<last>(s.layers).h;
    std::copy_n(h.data(), h.padded_size, ping);
    kernels::unroll<Net::layer_count>([&](auto i) {
      if constexpr (i > last) {
        const T* in = (i - last) % 2 == 1 ? ping : pong;
        T* out = (i - last) % 2 == 1 ? pong : ping;
        no_state none;
        model.template layer<i>().step(in, none, out);
      }
    });
    const T* result = (Net::layer_count - 1 - last) % 2 == 0 ? ping : pong;
    std::copy_n(result, s.output.padded_size, s.output.data());
  }
}

}  // namespace detail

/// How many values a network's recurrent state holds (h and c of each cell, unpadded; the
/// `output` is not counted): the size of the flat array of save_state / restore_state.
template <class Net>
inline constexpr std::size_t state_size = detail::network_state_size<Net>();

/// f(name, values) for each vector of a network's state, in the flat order. `name` is
/// "layer<index>.<layer type>.<vector>", e.g. "layer0.lstm.c", "layer2.bidirectional.h_reverse"
/// (index and type as in weight files), valid during the call; `values` is a span of the
/// vector's values, const for a const state. Allocates nothing.
template <class Net, class State, class F>
constexpr void visit_state(State& s, F&& f) {
  detail::for_each_layer_state<Net>(s, [&](auto i, auto& layer_state) {
    constexpr std::string_view type = Net::template layer_type<i>::type_name;
    std::array<char, 96> name{};
    std::size_t size = 0;
    auto append = [&](std::string_view piece) {
      for (char c : piece)
        if (size < name.size()) name[size++] = c;
    };
    append("layer");
    std::array<char, 20> digits{};  // the index, least significant digit first
    std::size_t n = 0;
    for (std::size_t rest = i; n == 0 || rest > 0; rest /= 10)
      digits[n++] = static_cast<char>('0' + rest % 10);
    while (n > 0) append(std::string_view(&digits[--n], 1));
    append(".");
    append(type);
    append(".");
    const std::size_t prefix = size;
    layer_state.visit([&](std::string_view vector_name, auto values) {
      size = prefix;
      append(vector_name);
      f(std::string_view(name.data(), size), values);
    });
  });
}

/// f(name, values of a, values of b) for each vector of two states of the same network, in
/// the flat order, `name` as the layer state calls it ("h", "c_reverse"): what combining
/// states takes (realtime/sample_rate.hpp interpolates two). No names are built, so it is as
/// cheap as the loop in f.
template <class Net, class StateA, class StateB, class F>
constexpr void visit_state_pair(StateA& a, StateB& b, F&& f) {
  static_assert(std::is_same_v<std::remove_const_t<StateB>, typename Net::state>,
                "rnnx::visit_state_pair: both states must be the network's");
  detail::for_each_layer_state<Net>(a, [&](auto i, auto& layer_a) {
    auto& layer_b = boost::hana::at_c<i>(b.layers);
    std::size_t vector = 0;
    layer_a.visit([&](std::string_view name, auto values) {
      std::size_t k = 0;  // b's vector at the same position: states visit in a fixed order
      layer_b.visit([&](std::string_view, auto other) {
        if constexpr (std::remove_cvref_t<decltype(other)>::extent ==
                      std::remove_cvref_t<decltype(values)>::extent)
          if (k == vector) f(name, values, other);
        ++k;
      });
      ++vector;
    });
  });
}

/// The same for a model's state, the network type deduced from the model.
template <class Net, class F>
constexpr void visit_state(const Net&, typename Net::state& s, F&& f) {
  visit_state<Net>(s, f);
}
template <class Net, class F>
constexpr void visit_state(const Net&, const typename Net::state& s, F&& f) {
  visit_state<Net>(s, f);
}

/// Copies the state's values into `values` (the flat order above). Real-time safe: no
/// allocation, no exception.
template <class Net>
void save_state(const Net&, const typename Net::state& s,
                std::span<typename Net::scalar, state_size<Net>> values) noexcept {
  std::size_t k = 0;
  detail::for_each_state_vector<Net>(s, [&](auto v) {
    std::copy(v.begin(), v.end(), values.begin() + static_cast<std::ptrdiff_t>(k));
    k += v.size();
  });
}

/// Whether every value of the state is finite. A NaN or infinity that reaches a recurrent
/// state stays there (every later step reads it), so a real-time loop checks once per block
/// and starts over from a known state when one got in (docs/realtime.md, "Recovering from a
/// non-finite state"). One branch-free pass (x * 0 is 0 for a finite x, NaN otherwise); no
/// allocation, no exception.
template <class Net>
[[nodiscard]] bool all_finite(const Net&, const typename Net::state& s) noexcept {
  using T = typename Net::scalar;
  T sum = 0;
  detail::for_each_state_vector<Net>(s, [&](auto v) {
    for (const T x : v) sum += x * T(0);
  });
  return sum == T(0);
}

/// What restore_state did.
enum class restore_status {
  ok,          // the state holds the values
  not_finite,  // a value was NaN or infinite; the state was left unchanged
};

/// Sets the state to `values` (the flat order above, e.g. from save_state) and its `output` to
/// the output of the step that would have produced it (detail::recompute_output: the last
/// recurrent layer's h through the layers after it), so that the model continues exactly as
/// from the saved state. A NaN or infinite value is refused (restore_status::not_finite, the
/// state unchanged) rather than thrown: this runs on the real-time path, and a NaN in a
/// recurrent state would stay there. No allocation.
template <class Net>
[[nodiscard]] restore_status restore_state(
    const Net& model, typename Net::state& s,
    std::span<const typename Net::scalar, state_size<Net>> values) noexcept {
  for (const auto v : values)
    if (!std::isfinite(v)) return restore_status::not_finite;
  std::size_t k = 0;
  detail::for_each_state_vector<Net>(s, [&](auto v) {
    std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(k), v.size(), v.begin());
    k += v.size();
  });
  detail::recompute_output(model, s);
  return restore_status::ok;
}

}  // namespace RNNX_NAMESPACE
