#pragma once
// The batch and extra-model cases of the peer comparison (bench/peers_common.hpp), shared by
// peers_typed_batch.cpp, peers_dynamic.cpp, peers_eigen_batch.cpp, peers_onednn.cpp,
// peers_libtorch.cpp and (exported by peers_main.cpp) bench/torch_peers.py:
//   <impl>/stream/<cell>/H:<H>/B:<B>  B independent streams, one step of all B per call
//   <impl>/seq/<cell>/H:<H>/B:<B>     B sequences of T = 1000 from the zero state per call
//   <impl>/<mode>/lstm/H:128/In:16/Out:16  LSTM(16 -> 128) + Dense(128 -> 16), batch 1
//   <impl>/<mode>/lstm/H:64/L:2            LSTM(1 -> 64) + LSTM(64 -> 64) + Dense(64 -> 1), batch 1
// The batch models are the batch-1 models (model_weights); stream k reads the sine table k * 97
// entries ahead of stream 0, input feature j (In > 1) 61 * j entries ahead, so stream 0 of a
// batch sees exactly the batch-1 inputs and no two streams see the same signal.
// Before timing, every stream's outputs are compared with stack_reference over its own inputs:
// the first batch_verify_steps steps (250: the double-precision reference of 32 streams of
// H = 256 over 1000 steps would take longer than the benchmarks), all 1000 at batch 1.
// ns/step and GFLOP/s count stream-steps: a call of B streams is B steps (a T = 1000 call of B
// sequences, T * B).

#include <map>
#include <memory>
#include <tuple>

#include "peers_common.hpp"

namespace peers {

inline constexpr std::array<std::size_t, 2> batch_sizes{8, 32};
inline constexpr std::array<std::size_t, 3> batch_hidden_sizes{32, 128, 256};
inline constexpr std::size_t stream_phase = 97, feature_phase = 61;
inline constexpr std::size_t batch_verify_steps = 250;

constexpr std::size_t verify_steps_for(std::size_t batch) noexcept {
  return batch == 1 ? verify_steps : batch_verify_steps;
}

inline std::string batch_variant(std::size_t batch) { return "/B:" + std::to_string(batch); }

/// Input j of stream k at step t.
inline float input_value(std::size_t t, std::size_t k, std::size_t j) {
  return sine_table()[(t + stream_phase * k + feature_phase * j) % table_size];
}

/// The B streams' inputs of step t, stream after stream (B x In).
inline void fill_inputs(std::size_t t, std::size_t batch, std::size_t in, float* x) {
  for (std::size_t k = 0; k < batch; ++k)
    for (std::size_t j = 0; j < in; ++j) x[k * in + j] = input_value(t, k, j);
}

/// Steps x B x In inputs of B sequences.
inline std::vector<float> batch_sequence_inputs(std::size_t batch, std::size_t in,
                                                std::size_t steps = sequence_length) {
  std::vector<float> xs(steps * batch * in);
  for (std::size_t t = 0; t < steps; ++t) fill_inputs(t, batch, in, xs.data() + t * batch * in);
  return xs;
}

/// The single-layer model of (c, H) as a stack, cached (references key on its address).
inline const stack& model_stack(cell c, std::size_t hidden) {
  static std::map<std::pair<cell, std::size_t>, stack> cache;
  auto [it, inserted] = cache.try_emplace({c, hidden});
  if (inserted) it->second = as_stack(model_weights(c, hidden));
  return it->second;
}

/// The extra models: "/In:16/Out:16" and "/L:2" (see the top of this file).
struct extra_model {
  std::string_view variant;
  std::size_t in, hidden, layers, out;
};
inline constexpr std::array<extra_model, 2> extra_models{
    {{"/In:16/Out:16", 16, 128, 1, 16}, {"/L:2", 1, 64, 2, 1}}};

inline const stack& extra_stack(const extra_model& m) {
  static std::map<std::string_view, stack> cache;
  auto [it, inserted] = cache.try_emplace(m.variant);
  if (inserted)
    it->second = random_stack(cell::lstm, m.in, std::vector<std::size_t>(m.layers, m.hidden), m.out,
                              seed + static_cast<std::uint32_t>(1000 * m.layers + m.in));
  return it->second;
}

/// Stream k's reference outputs over its first `steps` inputs (steps x Out), cached.
inline const std::vector<double>& stream_reference(const stack& s, std::size_t k,
                                                   std::size_t steps) {
  static std::map<std::tuple<const stack*, std::size_t, std::size_t>, std::vector<double>> cache;
  auto [it, inserted] = cache.try_emplace({&s, k, steps});
  if (inserted) {
    std::vector<float> xs(steps * s.in());
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t j = 0; j < s.in(); ++j) xs[t * s.in() + j] = input_value(t, k, j);
    it->second = stack_reference(s, xs);
  }
  return it->second;
}

/// Compares got (steps x B x Out, step after step) with every stream's reference over the
/// first verify_steps_for(B) steps; records max_abs_diff, SkipWithError above the tolerance.
inline bool verify_batch(benchmark::State& state, const stack& s, std::size_t batch,
                         std::span<const float> got, double tolerance = default_tolerance) {
  const std::size_t steps = verify_steps_for(batch), row = batch * s.out;
  double worst = got.size() >= steps * row ? 0.0 : INFINITY;
  for (std::size_t k = 0; k < batch && std::isfinite(worst); ++k) {
    const std::vector<double>& want = stream_reference(s, k, steps);
    for (std::size_t t = 0; t < steps; ++t)
      for (std::size_t o = 0; o < s.out; ++o) {
        const double d = std::abs(double(got[t * row + k * s.out + o]) - want[t * s.out + o]);
        worst = std::isnan(d) ? INFINITY : std::max(worst, d);
      }
  }
  state.counters["max_abs_diff"] = worst;
  if (worst <= tolerance) return true;
  static std::string message;  // SkipWithError keeps the pointer
  message = "outputs differ from the reference by " + std::to_string(worst) + " > " +
            std::to_string(tolerance) + " (" + std::to_string(batch) + " streams, " +
            std::to_string(steps) + " steps)";
  state.SkipWithError(message.c_str());
  return false;
}

/// Streaming B streams: step(x, y) advances all of them one step (x: B x In, y: B x Out).
/// Verified from the zero state first; reset() then returns the implementation to it.
template <class Step, class Reset>
void run_batch_stream(benchmark::State& state, const stack& s, std::size_t batch, Step&& step,
                      Reset&& reset) {
  std::vector<float> x(batch * s.in()), y(batch * s.out);
  const std::size_t steps = verify_steps_for(batch);
  std::vector<float> got(steps * batch * s.out);
  for (std::size_t t = 0; t < steps; ++t) {
    fill_inputs(t, batch, s.in(), x.data());
    step(x.data(), got.data() + t * batch * s.out);
  }
  if (!verify_batch(state, s, batch, got)) return;
  reset();
  std::size_t t = 0;
  for (auto _ : state) {
    fill_inputs(t++ % table_size, batch, s.in(), x.data());
    step(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  for (const float v : y)
    if (!std::isfinite(v)) state.SkipWithError("the output became non-finite while timing");
  set_counters(state, s.flops(), batch);
}

/// B sequences of T = 1000 from the zero state: run(xs, ys) with xs T x B x In, ys T x B x Out.
template <class Run>
void run_batch_sequence(benchmark::State& state, const stack& s, std::size_t batch, Run&& run) {
  const std::vector<float> xs = batch_sequence_inputs(batch, s.in());
  std::vector<float> ys(sequence_length * batch * s.out);
  run(xs, ys);
  if (!verify_batch(state, s, batch, ys)) return;
  for (auto _ : state) {
    run(xs, ys);
    benchmark::DoNotOptimize(ys.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s.flops(), sequence_length * batch);
}

/// A peer's benchmark of B streams of a stack (B = 1 for the extra models).
using stack_benchmark = void (*)(benchmark::State&, const stack&, std::size_t);

/// Registers impl's batch cases (both modes, every cell, batch_hidden_sizes x batch_sizes) and
/// its extra models at batch 1, with `stream` or `sequence` by mode.
inline void add_stack_cases(std::string_view impl, stack_benchmark stream,
                            stack_benchmark sequence) {
  for (const std::string_view mode : modes) {
    const stack_benchmark run = mode == "seq" ? sequence : stream;
    for (const cell c : cells)
      for (const std::size_t h : batch_hidden_sizes)
        for (const std::size_t b : batch_sizes)
          add(
              impl, mode, c, h,
              [run, c, h, b](benchmark::State& state) { run(state, model_stack(c, h), b); },
              batch_variant(b));
    for (const extra_model& m : extra_models)
      add(
          impl, mode, cell::lstm, m.hidden,
          [run, &m](benchmark::State& state) { run(state, extra_stack(m), 1); }, m.variant);
  }
}

}  // namespace peers
