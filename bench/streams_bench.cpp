// Many streams through one model (the channels of a multichannel signal), per stream-step:
//   <cell>_streams/H:<H>/N:<N>      model.step(x, states, y) advancing N states at once
//   <cell>_one_by_one/H:<H>/N:<N>   the same N states, model.step(x_k, state_k) for each
//   *_bf16                           the same through rnnx::bf16_weights
// for lstm<1, H> -> dense<H, 1> and gru<1, H> -> dense<H, 1>. Both give the same bits (see
// tests/streams_test.cpp); the multi-stream step loads each weight once per group of streams.
// ns/step here is per stream-step: the time of one call divided by N.

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <rnnx/rnnx.hpp>
#include <span>
#include <string>
#include <utility>

#include "bench_support.hpp"

namespace {

using rnnx_bench::flops_per_step;
using rnnx_bench::random_model;
using rnnx_bench::set_counters;
using rnnx_bench::sine_table;
using rnnx_bench::table_size;

/// The float model, or with Bf16 its rnnx::bf16_weights.
template <class Model, bool Bf16>
auto make_model(std::size_t hidden) {
  auto model = random_model<Model>(hidden, rnnx_bench::seed + static_cast<unsigned>(hidden));
  if constexpr (Bf16)
    return std::make_unique<rnnx::bf16_weights<Model>>(*model);
  else
    return model;
}

template <class Model, std::size_t N, bool Together, bool Bf16 = false>
void bench_streams(benchmark::State& state, std::size_t gates, std::size_t hidden) {
  const auto model = make_model<Model, Bf16>(hidden);
  auto states = std::make_unique<std::array<typename Model::state, N>>();
  const auto& input = sine_table();
  std::array<float, N> x{}, y{};
  std::size_t t = 0;
  for (auto _ : state) {
    // Each channel its own phase of the tone.
    for (std::size_t k = 0; k < N; ++k) x[k] = input[(t + 97 * k) % table_size];
    ++t;
    if constexpr (Together) {
      model->step(std::span<const float, N>(x), *states, std::span<float, N>(y));
    } else {
      for (std::size_t k = 0; k < N; ++k) y[k] = model->step(x[k], (*states)[k])[0];
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  for (float v : y)
    if (!std::isfinite(v)) state.SkipWithError("the model's output is not finite");
  set_counters(state, flops_per_step(gates, 1, hidden, 1), N);
}

template <std::size_t H>
using lstm_model = rnnx::network<rnnx::lstm<1, H>, rnnx::dense<H, 1>>;
template <std::size_t H>
using gru_model = rnnx::network<rnnx::gru<1, H>, rnnx::dense<H, 1>>;

template <std::size_t H, std::size_t... N>
void register_cases(std::index_sequence<N...>) {
  auto name = [](const char* what, std::size_t n) {
    return std::string(what) + "/H:" + std::to_string(H) + "/N:" + std::to_string(n);
  };
  (benchmark::RegisterBenchmark(
       name("lstm_streams", N).c_str(),
       [](benchmark::State& s) { bench_streams<lstm_model<H>, N, true>(s, 4, H); }),
   ...);
  (benchmark::RegisterBenchmark(
       name("lstm_one_by_one", N).c_str(),
       [](benchmark::State& s) { bench_streams<lstm_model<H>, N, false>(s, 4, H); }),
   ...);
  (benchmark::RegisterBenchmark(
       name("gru_streams", N).c_str(),
       [](benchmark::State& s) { bench_streams<gru_model<H>, N, true>(s, 3, H); }),
   ...);
  (benchmark::RegisterBenchmark(
       name("gru_one_by_one", N).c_str(),
       [](benchmark::State& s) { bench_streams<gru_model<H>, N, false>(s, 3, H); }),
   ...);
}

template <std::size_t H>
void register_bf16_cases() {
  auto name = [](const char* what) {
    return std::string(what) + "/H:" + std::to_string(H) + "/N:8";
  };
  benchmark::RegisterBenchmark(name("lstm_streams_bf16").c_str(), [](benchmark::State& s) {
    bench_streams<lstm_model<H>, 8, true, true>(s, 4, H);
  });
  benchmark::RegisterBenchmark(name("lstm_one_by_one_bf16").c_str(), [](benchmark::State& s) {
    bench_streams<lstm_model<H>, 8, false, true>(s, 4, H);
  });
  benchmark::RegisterBenchmark(name("gru_streams_bf16").c_str(), [](benchmark::State& s) {
    bench_streams<gru_model<H>, 8, true, true>(s, 3, H);
  });
}

[[maybe_unused]] const bool registered = [] {
  register_cases<32>(std::index_sequence<2, 8>{});
  register_cases<64>(std::index_sequence<8>{});
  register_cases<128>(std::index_sequence<2, 4, 8>{});
  register_cases<256>(std::index_sequence<8>{});
  register_bf16_cases<128>();
  register_bf16_cases<256>();
  return true;
}();

}  // namespace
