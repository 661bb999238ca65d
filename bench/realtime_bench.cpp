// Sample-rate correction's cost (rnnx/realtime/sample_rate.hpp) on the streaming path:
//   plain_step                         model.step(x, state) of lstm<1, 32> -> dense<32, 1>
//   rate_corrected_step/ratio_<d>      rate_corrected<Model, 4>::step(x) at rate ratio d
// Integer ratios add one state copy per step (the state from d samples ago into the ring);
// fractional ones also interpolate two states (h and c: 64 values).
// Run: rnnx_bench_realtime --benchmark_min_time=0.2 --benchmark_repetitions=5; compare the
// medians' CPU time (ns per step) side by side in one run.

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <numbers>
#include <random>
#include <rnnx/realtime/sample_rate.hpp>
#include <rnnx/rnnx.hpp>
#include <string_view>
#include <utility>

#include "machine_context.hpp"

namespace {

using model_type = rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>;
using corrected_type = rnnx::rate_corrected<model_type, 4>;

/// PyTorch's default initialisation, uniform(-1/sqrt(H), 1/sqrt(H)), seeded.
std::unique_ptr<model_type> make_model() {
  auto model = std::make_unique<model_type>();
  std::mt19937 engine(20240607);
  std::uniform_real_distribution<float> uniform(-1.0f / std::sqrt(32.0f), 1.0f / std::sqrt(32.0f));
  model->for_each_layer([&](auto, auto& layer) {
    layer.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) p.at(r, c) = uniform(engine);
    });
  });
  return model;
}

/// One period of a sine over 1024 samples: a changing input.
const std::array<float, 1024>& sine() {
  static const auto table = [] {
    std::array<float, 1024> t{};
    for (std::size_t i = 0; i < t.size(); ++i)
      t[i] = 0.5f * static_cast<float>(std::sin(2 * std::numbers::pi * static_cast<double>(i) /
                                                static_cast<double>(t.size())));
    return t;
  }();
  return table;
}

template <class Step>
void run(benchmark::State& state, Step&& step) {
  const auto& input = sine();
  std::size_t t = 0;
  float y = 0.0f;
  for (auto _ : state) {
    y = step(input[t++ % input.size()]);
    benchmark::DoNotOptimize(std::as_const(y));  // as const: see step_bench.cpp
  }
  if (!std::isfinite(y)) state.SkipWithError("the model's output is not finite");
  state.counters["ns/step"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void plain_step(benchmark::State& state) {
  const auto model = make_model();
  auto s = model->initial_state();
  run(state, [&](float x) { return model->step(x, s)[0]; });
}
BENCHMARK(plain_step);

void rate_corrected_step(benchmark::State& state, double ratio) {
  const auto model = make_model();
  auto corrected = std::make_unique<corrected_type>(*model);
  corrected->prepare(ratio);
  run(state, [&](float x) { return corrected->step(x)[0]; });
}
BENCHMARK_CAPTURE(rate_corrected_step, ratio_1, 1.0);
BENCHMARK_CAPTURE(rate_corrected_step, ratio_2, 2.0);
BENCHMARK_CAPTURE(rate_corrected_step, ratio_1_5, 1.5);
BENCHMARK_CAPTURE(rate_corrected_step, ratio_2_1769, 96000.0 / 44100.0);

}  // namespace
