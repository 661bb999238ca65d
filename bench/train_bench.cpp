// One full training step of rnnx, the unit PyTorch's bench/torch_train_step.py times:
//   train_step/<cell>/H:<H>/B:<B>/T:<T>   zero grads; tape.forward (B x T x 1 -> B x T x 1);
//                                          MSE loss on every step; tape.backward; Adam step
// for lstm<1, H> -> dense<H, 1> and gru<1, H> -> dense<H, 1>, float.
//
// Counters: GFLOP/s by the formula bench/torch_train_step.py states,
//   3 * B * T * (2 * G * H * (In + H) + 2 * H)   (backward ~ 2x forward; G = 4 LSTM, 3 GRU)
// Time is wall clock (UseRealTime), as PyTorch's script measures; bench/summarize.py --torch
// puts both side by side with their ratio.

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <random>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/tape.hpp>

#include "machine_context.hpp"

namespace {

template <class Model, std::size_t Gates, std::size_t H>
void train_step(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const auto steps = static_cast<std::size_t>(state.range(1));
  auto model = std::make_unique<Model>();
  auto grads = std::make_unique<Model>();
  rnnx::initialize(*model, 42);
  rnnx::adam optimizer(*model, {.lr = 1e-3});
  rnnx::tape<Model> tape;

  std::mt19937 gen(7);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  xt::xtensor<float, 3> xs = xt::xtensor<float, 3>::from_shape({batch, steps, 1});
  xt::xtensor<float, 3> targets = xt::xtensor<float, 3>::from_shape({batch, steps, 1});
  for (auto& v : xs) v = noise(gen);
  for (auto& v : targets) v = noise(gen);
  xt::xtensor<float, 3> dys;

  float loss = 0;
  for (auto _ : state) {
    rnnx::zero(*grads);
    const xt::xtensor<float, 3> ys = tape.forward(*model, xs);
    loss = rnnx::mse{}(ys, targets, dys);
    tape.backward_parameters(*model, dys, *grads);
    optimizer.step(*model, *grads);
    benchmark::DoNotOptimize(loss);
  }
  const double flops = 3.0 * double(batch * steps) * (2.0 * Gates * H * (1 + H) + 2.0 * H);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["final_loss"] = loss;
  if (!std::isfinite(loss)) state.SkipWithError("loss is not finite");
}

template <std::size_t H>
using lstm_model = rnnx::network<rnnx::lstm<1, H>, rnnx::dense<H, 1>>;
template <std::size_t H>
using gru_model = rnnx::network<rnnx::gru<1, H>, rnnx::dense<H, 1>>;

void shapes_32(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "T"})->Args({1, 100})->Args({16, 100});
}
void shapes_128(benchmark::internal::Benchmark* b) { b->ArgNames({"B", "T"})->Args({16, 100}); }

BENCHMARK(train_step<lstm_model<32>, 4, 32>)
    ->Name("train_step/lstm/H:32")
    ->Apply(shapes_32)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(train_step<lstm_model<128>, 4, 128>)
    ->Name("train_step/lstm/H:128")
    ->Apply(shapes_128)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(train_step<gru_model<32>, 3, 32>)
    ->Name("train_step/gru/H:32")
    ->Apply(shapes_32)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(train_step<gru_model<128>, 3, 128>)
    ->Name("train_step/gru/H:128")
    ->Apply(shapes_128)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
