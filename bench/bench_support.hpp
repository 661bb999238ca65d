#pragma once
// What the step benchmarks share: the FLOP formula, the seeded PyTorch-like initialisation,
// the input signal and the counters every row reports.

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numbers>
#include <random>
#include <string_view>
#include <type_traits>

#include "machine_context.hpp"

namespace rnnx_bench {

inline constexpr std::uint32_t seed = 20240607;

/// FLOPs per time step, counting multiply and add as two: the matrix-vector products only,
///   recurrent layer: 2 * G * H * (In + H)   (G = 4 LSTM, 3 GRU, 1 RNN; W_ih x and W_hh h)
///   dense layer:     2 * H * Out
/// Bias additions, the activations (sigmoid, tanh) and the elementwise cell updates are
/// ignored: O(G * H), which is at most a few percent of the total for H >= 32 and which the
/// kernels do at a cost that depends on the math approximation, not on a FLOP count. The
/// count uses the logical H, not the SIMD-padded one (H = 8 runs on 16-lane registers under
/// AVX-512, so its real work is larger than counted).
constexpr double flops_per_step(std::size_t gates, std::size_t in, std::size_t hidden,
                                std::size_t out) {
  return 2.0 * static_cast<double>(gates * hidden * (in + hidden)) +
         2.0 * static_cast<double>(hidden * out);
}

/// PyTorch's default initialisation of nn.LSTM / nn.GRU (every weight and bias) and of
/// nn.Linear's weight and bias: uniform(-1/sqrt(H), 1/sqrt(H)) where H is the hidden size,
/// i.e. the dense layer's in_features. Seeded, so every run benchmarks the same model.
template <class Model>
std::unique_ptr<Model> random_model(std::size_t hidden, std::uint32_t model_seed) {
  auto model = std::make_unique<Model>();
  std::mt19937 engine(model_seed);
  const float bound = 1.0f / std::sqrt(static_cast<float>(hidden));
  std::uniform_real_distribution<float> uniform(-bound, bound);
  model->for_each_layer([&](auto, auto& layer) {
    layer.visit_parameters([&](std::string_view, auto& p) {
      using P = std::remove_cvref_t<decltype(p)>;
      if constexpr (P::rank == 1) {
        for (std::size_t r = 0; r < P::rows; ++r) p.at(r) = uniform(engine);
      } else {
        for (std::size_t r = 0; r < P::rows; ++r)
          for (std::size_t c = 0; c < P::cols; ++c) p.at(r, c) = uniform(engine);
      }
    });
  });
  return model;
}

/// A changing input: one period of a sine over 1024 samples (a 47 Hz tone at 48 kHz, roughly),
/// read by an index the compiler cannot predict the value behind.
inline constexpr std::size_t table_size = 1024;
inline const std::array<float, table_size>& sine_table() {
  static const std::array<float, table_size> table = [] {
    std::array<float, table_size> t{};
    for (std::size_t i = 0; i < table_size; ++i)
      t[i] = 0.5f * static_cast<float>(std::sin(2.0 * std::numbers::pi * static_cast<double>(i) /
                                                static_cast<double>(table_size)));
    return t;
  }();
  return table;
}

inline void set_counters(benchmark::State& state, double flops, std::size_t steps_per_iteration) {
  const auto steps =
      static_cast<double>(state.iterations()) * static_cast<double>(steps_per_iteration);
  state.SetItemsProcessed(static_cast<std::int64_t>(steps));
  state.counters["flops_per_step"] = flops;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * steps * 1e-9, benchmark::Counter::kIsRate);
  // kIsRate divides by seconds, kInvert takes the reciprocal: seconds / (steps * 1e-9).
  state.counters["ns/step"] =
      benchmark::Counter(steps * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace rnnx_bench
