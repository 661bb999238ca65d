// Denormals on the streaming path (issue 8): does a decaying input slow a step down, and does
// rnnx::denormal_guard (include/rnnx/realtime/denormal_guard.hpp) take the cost away?
//
//   denormal/<cell>/<input>/<mode>   one model.step(x, state) per iteration, float, H = 32
//     cell   lstm: network<lstm<1, 32>, dense<32, 1>>;  gru: network<gru<1, 32>, dense<32, 1>>
//     input  normal: the sine of bench/step_bench.cpp, the state stays in the normal range
//            decay:  silence (x = 0) after an impulse; timing starts from the state reached
//                    after settle_steps silent steps, which holds denormal values
//     mode   plain: the caller's floating-point mode (no flushing)
//            guard: inside an rnnx::denormal_guard (FTZ + DAZ) for the whole timing loop
//
// The models are built to decay the way a trained audio model left in silence does: zero
// biases except the forget gate's (LSTM) or the update gate's (GRU), set to 3 (gate ~0.95,
// a slow leak), small recurrent weights (uniform +-0.1/sqrt(H)), input weights uniform +-1 and
// a dense head as PyTorch initialises it. Fed silence, the state shrinks by ~5% per step until
// it is denormal; there f * c rounds back to c for the smallest denormals, so it stays denormal
// for good (no underflow to zero), as it would in a plugin between two notes.
//
// Checked before timing (the benchmark stops with SkipWithError otherwise):
//   decay: after the impulse and settle_steps silent steps the state holds denormals (counted
//          with std::fpclassify, outside any guard); counters denormals_at_start / _at_end
//          count them before and after the timing loop
//   normal: the state holds none, before and after
// Counters: ns/step (CPU time) as in step_bench.cpp. Compare rows of one run: the goal
// is decay/guard within 10% of normal/plain.

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numbers>
#include <random>
#include <rnnx/realtime/denormal_guard.hpp>
#include <rnnx/rnnx.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "machine_context.hpp"

namespace {

constexpr std::size_t hidden = 32;
constexpr std::size_t settle_steps = 20000;
constexpr float gate_bias = 3.0f;  // forget (LSTM) or update (GRU) gate: sigmoid(3) ~ 0.95
constexpr std::uint32_t seed = 20240607;

using lstm_model = rnnx::network<rnnx::lstm<1, hidden>, rnnx::dense<hidden, 1>>;
using gru_model = rnnx::network<rnnx::gru<1, hidden>, rnnx::dense<hidden, 1>>;

/// The slowly leaking model described at the top: the second gate block (rows H..2H: LSTM's f,
/// GRU's z, in PyTorch's gate order) of bias_ih gets gate_bias, every other bias 0.
template <class Model>
std::unique_ptr<Model> leaky_model() {
  auto model = std::make_unique<Model>();
  std::mt19937 engine(seed);
  const float h_bound = 1.0f / std::sqrt(static_cast<float>(hidden));
  auto uniform = [&](float bound) {
    return std::uniform_real_distribution<float>(-bound, bound)(engine);
  };
  model->for_each_layer([&](auto index, auto& layer) {
    constexpr bool recurrent = decltype(index)::value == 0;
    layer.visit_parameters([&](std::string_view name, auto& p) {
      using P = std::remove_cvref_t<decltype(p)>;
      if constexpr (P::rank == 1) {
        for (std::size_t r = 0; r < P::rows; ++r) {
          const bool leak_gate = name == "bias_ih" && r >= hidden && r < 2 * hidden;
          p.at(r) = recurrent ? (leak_gate ? gate_bias : 0.0f) : uniform(h_bound);
        }
      } else {
        const float bound = !recurrent ? h_bound : name == "weight_hh" ? 0.1f * h_bound : 1.0f;
        for (std::size_t r = 0; r < P::rows; ++r)
          for (std::size_t c = 0; c < P::cols; ++c) p.at(r, c) = uniform(bound);
      }
    });
  });
  return model;
}

/// Denormal (subnormal) values in every layer's state vectors. Call outside a denormal_guard:
/// with DAZ set, a comparison may see a denormal as zero.
template <class State>
std::size_t count_denormals(const State& s) {
  std::size_t count = 0;
  boost::hana::for_each(s.layers, [&](const auto& layer_state) {
    layer_state.visit([&](std::string_view, auto values) {
      for (const float v : values) count += std::fpclassify(v) == FP_SUBNORMAL;
    });
  });
  return count;
}

const std::array<float, 1024>& sine_table() {
  static const std::array<float, 1024> table = [] {
    std::array<float, 1024> t{};
    for (std::size_t i = 0; i < t.size(); ++i)
      t[i] = 0.5f * static_cast<float>(std::sin(2.0 * std::numbers::pi * static_cast<double>(i) /
                                                static_cast<double>(t.size())));
    return t;
  }();
  return table;
}

enum class input { normal, decay };

template <class Model>
void timed_steps(benchmark::State& state, const Model& model, typename Model::state& s, input in) {
  const auto& table = sine_table();
  std::size_t t = 0;
  float y = 0.0f;
  for (auto _ : state) {
    const float x = in == input::normal ? table[t++ % table.size()] : 0.0f;
    y = model.step(x, s)[0];
    benchmark::DoNotOptimize(std::as_const(y));
  }
  if (!std::isfinite(y)) state.SkipWithError("the model's output is not finite");
}

template <class Model>
void bench_denormal(benchmark::State& state, input in, bool guarded) {
  const auto model = leaky_model<Model>();
  auto s = model->initial_state();
  if (in == input::decay) {
    model->step(1.0f, s);  // the impulse, then silence
    for (std::size_t t = 0; t < settle_steps; ++t) model->step(0.0f, s);
  }
  const std::size_t at_start = count_denormals(s);
  if ((in == input::decay) != (at_start > 0)) {
    state.SkipWithError(in == input::decay
                            ? "the state did not decay into the denormal range: nothing to measure"
                            : "the normal input left denormals in the state");
    return;
  }
  if (guarded) {
    const rnnx::denormal_guard guard;
    timed_steps(state, *model, s, in);
  } else {
    timed_steps(state, *model, s, in);
  }
  state.counters["denormals_at_start"] = static_cast<double>(at_start);
  state.counters["denormals_at_end"] = static_cast<double>(count_denormals(s));
  const auto steps = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(steps));
  state.counters["ns/step"] =
      benchmark::Counter(steps * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Registered side by side per cell, so the four rows compared with each other run close in time.
template <class Model>
void register_cell(std::string_view cell) {
  for (const input in : {input::normal, input::decay})
    for (const bool guarded : {false, true}) {
      const std::string name = "denormal/" + std::string(cell) +
                               (in == input::normal ? "/normal" : "/decay") +
                               (guarded ? "/guard" : "/plain");
      benchmark::RegisterBenchmark(name.c_str(), [in, guarded](benchmark::State& state) {
        bench_denormal<Model>(state, in, guarded);
      });
    }
}

[[maybe_unused]] const bool registered = [] {
  register_cell<lstm_model>("lstm");
  register_cell<gru_model>("gru");
  return true;
}();

}  // namespace
