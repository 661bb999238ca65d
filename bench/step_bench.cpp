// Benchmarks of rnnx's hot paths, for float models shaped like a guitar-amp / sensor model:
//   lstm_step/H:<H>          one streaming model.step(x, state) of lstm<1, H> -> dense<H, 1>
//   gru_step/H:<H>           the same for gru<1, H> -> dense<H, 1>
//   <cell>_step_bf16/H:<H>   the same models with bf16 recurrent matrices (rnnx::bf16_weights)
//   <cell>_step_f64/H:<H>    the same models in double (rnnx::basic_network<double, ...>);
//                            % of peak in summaries is against the float peak
//   lstm_forward/H:<H>/T:1000  model.forward(xs) over a whole sequence, reported per step
//   peak_fma                 independent FMAs on xsimd::batch<float>: this core's peak GFLOP/s
//
// Counters (all medians when run with --benchmark_repetitions=N):
//   flops_per_step  by the formula in flops_per_step() below
//   GFLOP/s         flops_per_step * steps / second
//   ns/step         CPU-time nanoseconds per time step (for *_step the CPU column; the console
//                   prints it with a spurious "s" suffix, as it does every inverted rate)
// Rates use CPU time, Google Benchmark's default: on a shared VM, wall clock also counts the
// time the vCPU was taken away from us.
// bench/summarize.py turns a JSON run into the table quoted in bench/results/.

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numbers>
#include <random>
#include <rnnx/rnnx.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "bench_support.hpp"

namespace {

using rnnx_bench::flops_per_step;
using rnnx_bench::random_model;
using rnnx_bench::seed;
using rnnx_bench::set_counters;
using rnnx_bench::sine_table;
using rnnx_bench::table_size;
constexpr std::size_t sequence_length = 1000;

/// The streaming loop of every *_step row: model.step(x, state) on the sine.
template <class Stepper>
void run_steps(benchmark::State& state, const Stepper& model, std::size_t gates,
               std::size_t hidden) {
  auto s = model.initial_state();
  const auto& input = sine_table();
  std::size_t t = 0;
  float y = 0.0f;
  for (auto _ : state) {
    y = model.step(input[t++ % table_size], s)[0];
    // As const: Google Benchmark 1.7's DoNotOptimize(T&) ("+m,r") lets g++ 12 drop the store
    // to y, so the check below read a stale stack slot (the "non-finite gru_step/H:128").
    benchmark::DoNotOptimize(std::as_const(y));
  }
  if (!std::isfinite(y)) state.SkipWithError("the model's output is not finite");
  set_counters(state, flops_per_step(gates, 1, hidden, 1), 1);
}

template <class Model>
void bench_step(benchmark::State& state, std::size_t gates, std::size_t hidden) {
  run_steps(state, *random_model<Model>(hidden, seed + static_cast<std::uint32_t>(hidden)), gates,
            hidden);
}

/// bench_step for the same model with its recurrent matrices as bf16 (rnnx::bf16_weights).
template <class Model>
void bench_step_bf16(benchmark::State& state, std::size_t gates, std::size_t hidden) {
  const auto float_model = random_model<Model>(hidden, seed + static_cast<std::uint32_t>(hidden));
  run_steps(state, *std::make_unique<rnnx::bf16_weights<Model>>(*float_model), gates, hidden);
}

template <class Model>
void bench_forward(benchmark::State& state, std::size_t gates, std::size_t hidden) {
  const auto model = random_model<Model>(hidden, seed + static_cast<std::uint32_t>(hidden));
  const auto& table = sine_table();
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({sequence_length, 1});
  for (std::size_t t = 0; t < sequence_length; ++t) xs(t, 0) = table[t % table_size];
  for (auto _ : state) {
    auto ys = model->forward(xs);
    benchmark::DoNotOptimize(ys.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, flops_per_step(gates, 1, hidden, 1), sequence_length);
}

/// Peak single-core FP32 throughput: rnnx_bench::fma_chains (bench/machine_context.hpp), on
/// the widest register this TU is compiled for (AVX-512: 16 lanes; AVX2: 8 lanes).
void peak_fma(benchmark::State& state) {
  using batch = xsimd::batch<float>;
  constexpr std::size_t chains = batch::size >= 16 ? 16 : 12;
  double flops = 0;
  for (auto _ : state) flops += rnnx_bench::fma_chains(1);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(xsimd::default_arch::name()) + ", " + std::to_string(chains) +
                 " chains");
}

template <std::size_t H>
using lstm_model = rnnx::network<rnnx::lstm<1, H>, rnnx::dense<H, 1>>;
template <std::size_t H>
using gru_model = rnnx::network<rnnx::gru<1, H>, rnnx::dense<H, 1>>;
template <std::size_t H>
using lstm_model_f64 = rnnx::basic_network<double, rnnx::lstm<1, H, double>,
                                           rnnx::dense<H, 1, rnnx::identity, double>>;
template <std::size_t H>
using gru_model_f64 =
    rnnx::basic_network<double, rnnx::gru<1, H, double>, rnnx::dense<H, 1, rnnx::identity, double>>;

template <std::size_t... H>
void register_steps(std::index_sequence<H...>) {
  (benchmark::RegisterBenchmark(("lstm_step/H:" + std::to_string(H)).c_str(),
                                [](benchmark::State& s) { bench_step<lstm_model<H>>(s, 4, H); }),
   ...);
  (benchmark::RegisterBenchmark(("gru_step/H:" + std::to_string(H)).c_str(),
                                [](benchmark::State& s) { bench_step<gru_model<H>>(s, 3, H); }),
   ...);
  (benchmark::RegisterBenchmark(
       ("lstm_step_bf16/H:" + std::to_string(H)).c_str(),
       [](benchmark::State& s) { bench_step_bf16<lstm_model<H>>(s, 4, H); }),
   ...);
  (benchmark::RegisterBenchmark(
       ("gru_step_bf16/H:" + std::to_string(H)).c_str(),
       [](benchmark::State& s) { bench_step_bf16<gru_model<H>>(s, 3, H); }),
   ...);
}

/// The double models: half the lanes per register, and xsimd's accurate exp/tanh.
template <std::size_t... H>
void register_steps_f64(std::index_sequence<H...>) {
  (benchmark::RegisterBenchmark(
       ("lstm_step_f64/H:" + std::to_string(H)).c_str(),
       [](benchmark::State& s) { bench_step<lstm_model_f64<H>>(s, 4, H); }),
   ...);
  (benchmark::RegisterBenchmark(("gru_step_f64/H:" + std::to_string(H)).c_str(),
                                [](benchmark::State& s) { bench_step<gru_model_f64<H>>(s, 3, H); }),
   ...);
}

template <std::size_t... H>
void register_forwards(std::index_sequence<H...>) {
  (benchmark::RegisterBenchmark(
       ("lstm_forward/H:" + std::to_string(H) + "/T:" + std::to_string(sequence_length)).c_str(),
       [](benchmark::State& s) { bench_forward<lstm_model<H>>(s, 4, H); }),
   ...);
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("peak_fma", peak_fma);
  register_steps(std::index_sequence<8, 16, 32, 64, 128, 256>{});
  register_steps_f64(std::index_sequence<8, 32, 128>{});
  register_forwards(std::index_sequence<32, 128>{});
  return true;
}();

}  // namespace
