// What choosing the model at run time costs: a block of 64 samples through an LSTM(1->32) +
// Dense model, once as the concrete type and once through rnnx::model_set (three compiled
// architectures, the file's chosen at load; process() dispatches once per block).
//   concrete/block:64    for each sample: out[i] = model.step(in[i], state)[0]
//   model_set/block:64   set.process(in, out)
// Both run the same weights (one weight text loaded into each) and are checked to give the
// same outputs bit for bit before timing. Counter ns/sample: CPU time per sample. The overhead
// is the ratio of the two medians (--benchmark_repetitions=5).

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <random>
#include <rnnx/realtime/model_set.hpp>
#include <rnnx/rnnx.hpp>
#include <string>
#include <string_view>

#include "machine_context.hpp"

namespace {

constexpr std::size_t block = 64;

using lstm32 = rnnx::network<rnnx::lstm<1, 32>, rnnx::dense<32, 1>>;
using models = rnnx::model_set<rnnx::network<rnnx::lstm<1, 16>, rnnx::dense<16, 1>>, lstm32,
                               rnnx::network<rnnx::gru<1, 32>, rnnx::dense<32, 1>>>;

/// The weight text of an lstm32 with PyTorch's default initialisation range, seeded.
std::string lstm32_weights() {
  auto model = std::make_unique<lstm32>();
  std::mt19937 engine(20261125);
  std::uniform_real_distribution<float> uniform(-0.177f, 0.177f);  // 1 / sqrt(32)
  model->for_each_layer([&](auto, auto& layer) {
    layer.visit_parameters([&](std::string_view, auto& p) {
      for (std::size_t r = 0; r < p.rows; ++r)
        for (std::size_t c = 0; c < (p.rank == 1 ? 1 : p.cols); ++c) p.at(r, c) = uniform(engine);
    });
  });
  return rnnx::weights_to_string(*model);
}

std::array<float, block> input_block() {
  std::array<float, block> in{};
  std::mt19937 engine(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (float& x : in) x = uniform(engine);
  return in;
}

void set_counters(benchmark::State& state) {
  state.counters["ns/sample"] =
      benchmark::Counter(static_cast<double>(state.iterations() * block),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void concrete(benchmark::State& state) {
  auto model = std::make_unique<lstm32>();
  rnnx::load_weights_from_string(*model, lstm32_weights());
  auto s = model->initial_state();
  const auto in = input_block();
  std::array<float, block> out{};
  for (auto _ : state) {
    for (std::size_t i = 0; i < block; ++i) out[i] = model->step(in[i], s)[0];
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state);
}

void through_model_set(benchmark::State& state) {
  models set;
  set.load_from_string(lstm32_weights());
  if (!set.holds<lstm32>()) return state.SkipWithError("the set chose another architecture");
  // Same outputs as the concrete model, bit for bit, over a few blocks.
  auto model = std::make_unique<lstm32>();
  rnnx::load_weights_from_string(*model, lstm32_weights());
  auto s = model->initial_state();
  const auto in = input_block();
  std::array<float, block> out{}, expected{};
  for (int b = 0; b < 4; ++b) {
    set.process(in, out);
    for (std::size_t i = 0; i < block; ++i) expected[i] = model->step(in[i], s)[0];
    if (std::memcmp(out.data(), expected.data(), sizeof out) != 0)
      return state.SkipWithError("model_set and the concrete model disagree");
  }
  set.reset();
  for (auto _ : state) {
    set.process(in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state);
}

BENCHMARK(concrete)->Name("concrete/block:64");
BENCHMARK(through_model_set)->Name("model_set/block:64");

}  // namespace
