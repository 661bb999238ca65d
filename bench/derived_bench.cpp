// Cells derived from their equations (rnnx::cell, expr/) against the hand-written cells they
// replaced (bench/baseline/: the lstm, gru and rnn headers as of 8847386, gru_reset_before as
// of a568c98), same weights:
//   <impl>/step/<cell>/H:<H>          one streaming step of <cell><1, H> -> dense<H, 1>
//   <impl>/seq/<cell>/H:<H>/T:1000    model.forward over a sequence, per step
//   <impl>/streams/<cell>/H:<H>/N:8   network::step over 8 states, per stream-step
//   <impl>/train/<cell>/H:<H>/B:16/T:100   zero grads, tape forward, MSE, backward, Adam step
// <impl> is derived or baseline. Before timing, each pair is checked to agree (outputs within
// 1e-5). Run with --benchmark_enable_random_interleaving=true --benchmark_repetitions=N and
// compare medians (bench/summarize_derived.py prints the ratio table).

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <random>
#include <rnnx/rnnx.hpp>
#include <rnnx/train/tape.hpp>
#include <span>
#include <string>

#include "baseline/gru.hpp"
#include "baseline/gru_reset_before.hpp"
#include "baseline/lstm.hpp"
#include "baseline/rnn.hpp"
#include "bench_support.hpp"

namespace {

using rnnx_bench::random_model;
using rnnx_bench::sine_table;
using rnnx_bench::table_size;

template <template <std::size_t, std::size_t> class Cell, std::size_t H>
using model = rnnx::network<Cell<1, H>, rnnx::dense<H, 1>>;

template <std::size_t I, std::size_t H>
using lstm = rnnx::lstm<I, H>;
template <std::size_t I, std::size_t H>
using peephole_lstm = rnnx::peephole_lstm<I, H>;
template <std::size_t I, std::size_t H>
using gru = rnnx::gru<I, H>;
template <std::size_t I, std::size_t H>
using rnn = rnnx::rnn<I, H>;
template <std::size_t I, std::size_t H>
using lstm_baseline = rnnx::baseline::lstm<I, H>;
template <std::size_t I, std::size_t H>
using peephole_lstm_baseline = rnnx::baseline::lstm<I, H, float, true>;
template <std::size_t I, std::size_t H>
using gru_baseline = rnnx::baseline::gru<I, H>;
template <std::size_t I, std::size_t H>
using rnn_baseline = rnnx::baseline::rnn<I, H>;
template <std::size_t I, std::size_t H>
using gru_reset_before = rnnx::gru_reset_before<I, H>;
template <std::size_t I, std::size_t H>
using gru_reset_before_baseline = rnnx::baseline::gru_reset_before<I, H>;

constexpr std::uint32_t seed = rnnx_bench::seed;

/// Whether the two implementations agree on 200 steps of the sine (checked before timing).
template <class A, class B>
bool agree(std::size_t hidden) {
  const auto a = random_model<A>(hidden, seed);
  const auto b = random_model<B>(hidden, seed);
  auto sa = a->initial_state();
  auto sb = b->initial_state();
  for (std::size_t t = 0; t < 200; ++t) {
    const float x = sine_table()[t * 5 % table_size];
    if (std::abs(a->step(x, sa)[0] - b->step(x, sb)[0]) > 1e-5f) return false;
  }
  return true;
}

template <class M>
void step(benchmark::State& state, std::size_t hidden) {
  const auto m = random_model<M>(hidden, seed);
  auto s = m->initial_state();
  std::size_t t = 0;
  float y = 0;
  for (auto _ : state) {
    y = m->step(sine_table()[t++ % table_size], s)[0];
    benchmark::DoNotOptimize(std::as_const(y));
  }
  if (!std::isfinite(y)) state.SkipWithError("output not finite");
  state.counters["ns/step"] = benchmark::Counter(
      double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <class M>
void sequence(benchmark::State& state, std::size_t hidden) {
  constexpr std::size_t T = 1000;
  const auto m = random_model<M>(hidden, seed);
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({T, 1});
  for (std::size_t t = 0; t < T; ++t) xs(t, 0) = sine_table()[t % table_size];
  for (auto _ : state) {
    auto ys = m->forward(xs);
    benchmark::DoNotOptimize(ys.data());
  }
  state.counters["ns/step"] =
      benchmark::Counter(double(state.iterations() * T) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <class M>
void streams(benchmark::State& state, std::size_t hidden) {
  constexpr std::size_t N = 8;
  const auto m = random_model<M>(hidden, seed);
  auto states = std::make_unique<std::array<typename M::state, N>>();
  std::array<float, N> x{}, y{};
  std::size_t t = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < N; ++k) x[k] = sine_table()[(t + 97 * k) % table_size];
    ++t;
    m->step(std::span<const float, N>(x), *states, std::span<float, N>(y));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/step"] =
      benchmark::Counter(double(state.iterations() * N) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <class M>
void train(benchmark::State& state, std::size_t hidden) {
  constexpr std::size_t B = 16, T = 100;
  auto m = random_model<M>(hidden, seed);
  auto grads = std::make_unique<M>();
  rnnx::adam optimizer(*m, {.lr = 1e-3});
  rnnx::tape<M> tape;
  std::mt19937 gen(7);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  xt::xtensor<float, 3> xs = xt::xtensor<float, 3>::from_shape({B, T, 1});
  xt::xtensor<float, 3> targets = xt::xtensor<float, 3>::from_shape({B, T, 1});
  for (auto& v : xs) v = noise(gen);
  for (auto& v : targets) v = noise(gen);
  xt::xtensor<float, 3> dys;
  float loss = 0;
  for (auto _ : state) {
    rnnx::zero(*grads);
    const xt::xtensor<float, 3> ys = tape.forward(*m, xs);
    loss = rnnx::mse{}(ys, targets, dys);
    tape.backward_parameters(*m, dys, *grads);
    optimizer.step(*m, *grads);
    benchmark::DoNotOptimize(loss);
  }
  if (!std::isfinite(loss)) state.SkipWithError("loss not finite");
}

template <template <std::size_t, std::size_t> class Derived,
          template <std::size_t, std::size_t> class Baseline, std::size_t H>
void register_pair(const std::string& cell) {
  using D = model<Derived, H>;
  using B = model<Baseline, H>;
  const std::string h = "/H:" + std::to_string(H);
  const bool same = agree<D, B>(H);
  auto add = [&](const std::string& name, auto&& run) {
    benchmark::RegisterBenchmark(name.c_str(), [run, same](benchmark::State& s) {
      if (!same) s.SkipWithError("derived and baseline outputs differ");
      else run(s);
    });
  };
  for (const char* impl : {"derived", "baseline"}) {
    const bool derived = impl[0] == 'd';
    const std::string p = std::string(impl) + "/";
    add(p + "step/" + cell + h, [derived](benchmark::State& s) {
      derived ? step<D>(s, H) : step<B>(s, H);
    });
    add(p + "seq/" + cell + h + "/T:1000", [derived](benchmark::State& s) {
      derived ? sequence<D>(s, H) : sequence<B>(s, H);
    });
    add(p + "streams/" + cell + h + "/N:8", [derived](benchmark::State& s) {
      derived ? streams<D>(s, H) : streams<B>(s, H);
    });
    add(p + "train/" + cell + h + "/B:16/T:100", [derived](benchmark::State& s) {
      derived ? train<D>(s, H) : train<B>(s, H);
    });
  }
}

const bool registered = [] {
  register_pair<lstm, lstm_baseline, 8>("lstm");
  register_pair<lstm, lstm_baseline, 32>("lstm");
  register_pair<lstm, lstm_baseline, 128>("lstm");
  register_pair<peephole_lstm, peephole_lstm_baseline, 32>("peephole_lstm");
  register_pair<gru, gru_baseline, 8>("gru");
  register_pair<gru, gru_baseline, 32>("gru");
  register_pair<gru, gru_baseline, 128>("gru");
  register_pair<rnn, rnn_baseline, 32>("rnn");
  register_pair<rnn, rnn_baseline, 128>("rnn");
  register_pair<gru_reset_before, gru_reset_before_baseline, 8>("gru_reset_before");
  register_pair<gru_reset_before, gru_reset_before_baseline, 32>("gru_reset_before");
  register_pair<gru_reset_before, gru_reset_before_baseline, 128>("gru_reset_before");
  return true;
}();

}  // namespace
