// Benchmarks of rnnx's hot paths, for float models shaped like a guitar-amp / sensor model:
//   lstm_step/H:<H>          one streaming model.step(x, state) of lstm<1, H> -> dense<H, 1>
//   gru_step/H:<H>           the same for gru<1, H> -> dense<H, 1>
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

namespace {

constexpr std::uint32_t seed = 20240607;
constexpr std::size_t sequence_length = 1000;

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
constexpr std::size_t table_size = 1024;
const std::array<float, table_size>& sine_table() {
  static const std::array<float, table_size> table = [] {
    std::array<float, table_size> t{};
    for (std::size_t i = 0; i < table_size; ++i)
      t[i] = 0.5f * static_cast<float>(std::sin(2.0 * std::numbers::pi * static_cast<double>(i) /
                                                static_cast<double>(table_size)));
    return t;
  }();
  return table;
}

void set_counters(benchmark::State& state, double flops, std::size_t steps_per_iteration) {
  const auto steps =
      static_cast<double>(state.iterations()) * static_cast<double>(steps_per_iteration);
  state.SetItemsProcessed(static_cast<std::int64_t>(steps));
  state.counters["flops_per_step"] = flops;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * steps * 1e-9, benchmark::Counter::kIsRate);
  // kIsRate divides by seconds, kInvert takes the reciprocal: seconds / (steps * 1e-9).
  state.counters["ns/step"] =
      benchmark::Counter(steps * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <class Model>
void bench_step(benchmark::State& state, std::size_t gates, std::size_t hidden) {
  const auto model = random_model<Model>(hidden, seed + static_cast<std::uint32_t>(hidden));
  auto s = model->initial_state();
  const auto& input = sine_table();
  std::size_t t = 0;
  float y = 0.0f;
  for (auto _ : state) {
    y = model->step(input[t++ % table_size], s)[0];
    // As const: Google Benchmark 1.7's DoNotOptimize(T&) ("+m,r") lets g++ 12 drop the store
    // to y, so the check below read a stale stack slot (the "non-finite gru_step/H:128").
    benchmark::DoNotOptimize(std::as_const(y));
  }
  if (!std::isfinite(y)) state.SkipWithError("the model's output is not finite");
  set_counters(state, flops_per_step(gates, 1, hidden, 1), 1);
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

/// Peak single-core FP32 throughput: independent FMA chains on the widest xsimd batch this TU
/// is compiled for (AVX-512: 16 lanes, 32 registers; AVX2: 8 lanes, 16 registers). Enough
/// chains to cover FMA latency x throughput (4 cycles x 2 ports = 8 in flight) with room; few
/// enough to stay in registers next to the two operands.
void peak_fma(benchmark::State& state) {
  using batch = xsimd::batch<float>;
  constexpr std::size_t chains = batch::size >= 16 ? 16 : 12;
  constexpr std::size_t inner = 1024;
  // acc = acc * a + b converges to b / (1 - a): no overflow and no denormals however long.
  float a_value = 0.999f, b_value = 1e-3f;
  benchmark::DoNotOptimize(a_value);
  benchmark::DoNotOptimize(b_value);
  const batch a(a_value), b(b_value);
  std::array<batch, chains> acc;
  for (std::size_t k = 0; k < chains; ++k) acc[k] = batch(static_cast<float>(k));
  for (auto _ : state) {
    for (std::size_t i = 0; i < inner; ++i) {
      [&]<std::size_t... K>(std::index_sequence<K...>) {
        ((acc[K] = xsimd::fma(acc[K], a, b)), ...);
      }
      (std::make_index_sequence<chains>{});
    }
    [&]<std::size_t... K>(std::index_sequence<K...>) { (benchmark::DoNotOptimize(acc[K]), ...); }
    (std::make_index_sequence<chains>{});
  }
  const double flops = 2.0 * batch::size * chains * inner;
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(xsimd::default_arch::name()) + ", " + std::to_string(chains) +
                 " chains");
}

template <std::size_t H>
using lstm_model = rnnx::network<rnnx::lstm<1, H>, rnnx::dense<H, 1>>;
template <std::size_t H>
using gru_model = rnnx::network<rnnx::gru<1, H>, rnnx::dense<H, 1>>;

template <std::size_t... H>
void register_steps(std::index_sequence<H...>) {
  (benchmark::RegisterBenchmark(("lstm_step/H:" + std::to_string(H)).c_str(),
                                [](benchmark::State& s) { bench_step<lstm_model<H>>(s, 4, H); }),
   ...);
  (benchmark::RegisterBenchmark(("gru_step/H:" + std::to_string(H)).c_str(),
                                [](benchmark::State& s) { bench_step<gru_model<H>>(s, 3, H); }),
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
  register_steps(std::index_sequence<8, 16, 32, 64, 128>{});
  register_forwards(std::index_sequence<32, 128>{});
  return true;
}();

}  // namespace
