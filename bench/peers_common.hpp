#pragma once
// What the peer benchmarks (bench/peers_*.cpp, one binary: rnnx_bench_peers) share: the models,
// their weights, the inputs, a double-precision reference, the verification and the counters.
//
// Every implementation runs the same model, LSTM(1 -> H) or GRU(1 -> H) followed by
// Dense(H -> 1), with the same weights (PyTorch's default initialisation, seeded exactly as
// bench/step_bench.cpp seeds its models, so typed/stream rows are the same models as its
// lstm_step / gru_step) and the same input (a sine read from a 1024-entry table).
//
// Benchmark names: <impl>/<mode>/<cell>/H:<H>
//   impl  typed (rnnx::network<...>), dynamic (rnnx::dynamic::network), eigen (hand-written,
//         dynamic matrices), onednn (lstm_forward / lbr_gru_forward), libtorch; pytorch
//         (PyTorch eager, bench/torch_peers.py, a separate JSON merged by bench/summarize.py);
//         rtneural-eigen, rtneural-xsimd, rtneural-stl (RTNeural's compile-time ModelT with each
//         of its backends, built given -DRNNX_RTNEURAL_DIR=<checkout>)
//   mode  stream: one time step per call, batch 1, the state carried from call to call
//         seq:    one call over a T = 1000 sequence from the zero state; times are per step
// Batch and extra-model cases (bench/peers_batch.hpp) append a variant to the name:
// <impl>/<mode>/<cell>/H:<H>/B:<B> (B streams), .../In:16/Out:16 and .../L:2.
// Which implementation has which case (every one in both modes, stream and seq):
//   case                                  typed dynamic eigen onednn libtorch pytorch rtneural
//   <cell>/H:8..256 (batch 1)               x     x      x     x      x        x       x
//   <cell>/H:32,128,256/B:8, B:32           x     x(1)   x     x      x        x       -(3)
//   lstm/H:128/In:16/Out:16, lstm/H:64/L:2  x     x      x     x      x        x       x
// Files: batch 1 in peers_<impl>.cpp (pytorch: torch_peers.py; rtneural: (3)), the rest in (2).
// (1) rnnx::dynamic has no multi-stream step: B states stepped one after the other (stream),
//     B forward() calls (seq); see peers_dynamic.cpp.
// (2) peers_typed_batch.cpp, peers_dynamic.cpp, peers_eigen_batch.cpp (B states as the columns
//     of a matrix), peers_onednn.cpp, peers_libtorch.cpp, torch_peers.py, peers_rtneural.hpp.
// (3) rtneural-eigen, rtneural-xsimd, rtneural-stl, one column here: peers_rtneural.hpp,
//     compiled once per backend by peers_rtneural_<backend>.cpp. A ModelT holds one stream's
//     state, so RTNeural has no B-stream cases.
// Before timing, each benchmark runs its implementation over the first 1000 inputs from the
// zero state and compares all 1000 outputs with the double-precision reference below
// (counter max_abs_diff); above the tolerance (1e-5; `tolerance` argument) the benchmark stops
// with SkipWithError and no time is reported.
//
// Counters (as bench/step_bench.cpp): ns/step (CPU time), GFLOP/s by flops_per_step below,
// flops_per_step, max_abs_diff. bench/summarize.py tabulates a run, with each peer's ratio to
// typed, and plots it.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "bench_support.hpp"

namespace peers {

using rnnx_bench::seed;
inline constexpr std::size_t sequence_length = 1000;
using rnnx_bench::table_size;
inline constexpr std::size_t verify_steps = 1000;
inline constexpr double default_tolerance = 1e-5;

enum class cell { lstm, gru };
inline constexpr std::array<cell, 2> cells{cell::lstm, cell::gru};
constexpr std::size_t gates(cell c) noexcept { return c == cell::lstm ? 4 : 3; }
constexpr std::string_view name_of(cell c) noexcept { return c == cell::lstm ? "lstm" : "gru"; }

/// FLOPs per time step, bench/step_bench.cpp's formula: the matrix-vector products only,
///   2 * G * H * (In + H) + 2 * H * Out   (G = 4 LSTM, 3 GRU; In = Out = 1 here)
/// biases, activations and elementwise cell updates ignored; logical H, not SIMD-padded.
constexpr double flops_per_step(std::size_t g, std::size_t in, std::size_t hidden,
                                std::size_t out) {
  return 2.0 * static_cast<double>(g * hidden * (in + hidden)) +
         2.0 * static_cast<double>(hidden * out);
}

/// The model's parameters in PyTorch's layout: row-major, gate blocks i, f, g, o (LSTM) or
/// r, z, n (GRU) of H rows each.
struct weights {
  cell kind;
  std::size_t hidden;
  std::vector<float> w_ih;   // G*H x 1
  std::vector<float> w_hh;   // G*H x H
  std::vector<float> b_ih;   // G*H
  std::vector<float> b_hh;   // G*H
  std::vector<float> w_out;  // 1 x H
  float b_out = 0;
};

/// PyTorch's default initialisation, uniform(-1/sqrt(H), 1/sqrt(H)) for every parameter, drawn
/// in the weight file's order (weight_ih, weight_hh, bias_ih, bias_hh, weight, bias; rows then
/// columns) from mt19937(seed + H): the same values bench/step_bench.cpp's models get.
inline const weights& model_weights(cell c, std::size_t hidden) {
  static std::map<std::pair<cell, std::size_t>, weights> cache;
  auto [it, inserted] = cache.try_emplace({c, hidden});
  weights& w = it->second;
  if (!inserted) return w;
  w.kind = c;
  w.hidden = hidden;
  std::mt19937 engine(seed + static_cast<std::uint32_t>(hidden));
  const float bound = 1.0f / std::sqrt(static_cast<float>(hidden));
  std::uniform_real_distribution<float> uniform(-bound, bound);
  const std::size_t rows = gates(c) * hidden;
  auto fill = [&](std::vector<float>& v, std::size_t n) {
    v.resize(n);
    for (float& x : v) x = uniform(engine);
  };
  fill(w.w_ih, rows);
  fill(w.w_hh, rows * hidden);
  fill(w.b_ih, rows);
  fill(w.b_hh, rows);
  fill(w.w_out, hidden);
  w.b_out = uniform(engine);
  return w;
}

// ---- general models: any input size, stacked recurrent layers, Dense(H -> Out) -----------
// The batch and extra-model cases (bench/peers_batch.hpp) use these; the single-layer
// `weights` above is one of them (as_stack), so its weight document and reference come from
// here too.

/// One recurrent layer's parameters in PyTorch's layout (as `weights`, any input size).
struct recurrent_weights {
  cell kind;
  std::size_t in, hidden;
  std::vector<float> w_ih;  // G*H x In
  std::vector<float> w_hh;  // G*H x H
  std::vector<float> b_ih;  // G*H
  std::vector<float> b_hh;  // G*H
};

/// Recurrent layers, each feeding the next, then Dense(H -> Out) with the identity activation.
struct stack {
  std::vector<recurrent_weights> layers;
  std::size_t out = 1;
  std::vector<float> w_out;  // Out x H
  std::vector<float> b_out;  // Out
  std::size_t in() const noexcept { return layers.front().in; }
  std::size_t hidden() const noexcept { return layers.back().hidden; }
  /// flops_per_step summed over the layers (each layer's 2*G*H*(In+H), the head's 2*H*Out).
  double flops() const noexcept {
    double total = 2.0 * static_cast<double>(hidden() * out);
    for (const auto& l : layers) total += flops_per_step(gates(l.kind), l.in, l.hidden, 0);
    return total;
  }
};

inline stack as_stack(const weights& w) {
  return {{{w.kind, 1, w.hidden, w.w_ih, w.w_hh, w.b_ih, w.b_hh}}, 1, w.w_out, {w.b_out}};
}

/// PyTorch's default initialisation (uniform(-1/sqrt(H), 1/sqrt(H)) with H each layer's hidden
/// size, the head's in_features for the head) from mt19937(model_seed), drawn layer by layer
/// in the weight file's order as model_weights draws its single layer.
inline stack random_stack(cell c, std::size_t in, std::vector<std::size_t> hidden, std::size_t out,
                          std::uint32_t model_seed) {
  std::mt19937 engine(model_seed);
  auto fill = [&](std::vector<float>& v, std::size_t n, std::size_t fan) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan));
    std::uniform_real_distribution<float> uniform(-bound, bound);
    v.resize(n);
    for (float& x : v) x = uniform(engine);
  };
  stack s;
  for (const std::size_t h : hidden) {
    recurrent_weights& l = s.layers.emplace_back(recurrent_weights{c, in, h, {}, {}, {}, {}});
    const std::size_t rows = gates(c) * h;
    fill(l.w_ih, rows * in, h);
    fill(l.w_hh, rows * h, h);
    fill(l.b_ih, rows, h);
    fill(l.b_hh, rows, h);
    in = h;
  }
  s.out = out;
  fill(s.w_out, out * in, in);
  fill(s.b_out, out, in);
  return s;
}

/// The model as an rnnx weight document (docs/weights-format.md).
inline std::string stack_json(const stack& s) {
  std::string out = R"({"format": "rnnx.weights", "version": 1, "dtype": "float32", "layers": [)";
  auto number = [&](float v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
    out += buf;
  };
  auto vector = [&](const float* v, std::size_t n) {
    out += '[';
    for (std::size_t j = 0; j < n; ++j) {
      if (j) out += ", ";
      number(v[j]);
    }
    out += ']';
  };
  auto matrix = [&](const std::vector<float>& m, std::size_t cols) {
    out += '[';
    for (std::size_t i = 0; i < m.size() / cols; ++i) {
      if (i) out += ", ";
      vector(m.data() + i * cols, cols);
    }
    out += ']';
  };
  for (const auto& l : s.layers) {
    out += R"({"type": ")" + std::string(name_of(l.kind)) + R"(", "input_size": )" +
           std::to_string(l.in) + R"(, "hidden_size": )" + std::to_string(l.hidden) +
           R"(, "parameters": {"weight_ih": )";
    matrix(l.w_ih, l.in);
    out += R"(, "weight_hh": )";
    matrix(l.w_hh, l.hidden);
    out += R"(, "bias_ih": )";
    vector(l.b_ih.data(), l.b_ih.size());
    out += R"(, "bias_hh": )";
    vector(l.b_hh.data(), l.b_hh.size());
    out += "}}, ";
  }
  out += R"({"type": "dense", "in_features": )" + std::to_string(s.hidden()) +
         R"(, "out_features": )" + std::to_string(s.out) +
         R"(, "activation": "identity", "parameters": {"weight": )";
  matrix(s.w_out, s.hidden());
  out += R"(, "bias": )";
  vector(s.b_out.data(), s.b_out.size());
  out += "}}]}";
  return out;
}

/// The model's outputs (steps x Out) for inputs xs (steps x In) from the zero state, in double
/// precision with std::exp / std::tanh: PyTorch's equations, written out plainly.
inline std::vector<double> stack_reference(const stack& s, std::span<const float> xs) {
  auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  std::vector<std::vector<double>> hs, cs;
  for (const auto& l : s.layers) {
    hs.emplace_back(l.hidden, 0.0);
    cs.emplace_back(l.hidden, 0.0);
  }
  const std::size_t steps = xs.size() / s.in();
  std::vector<double> ys;
  ys.reserve(steps * s.out);
  std::vector<double> x, pre_x, pre_h;
  for (std::size_t t = 0; t < steps; ++t) {
    x.assign(xs.begin() + std::ptrdiff_t(t * s.in()),
             xs.begin() + std::ptrdiff_t((t + 1) * s.in()));
    for (std::size_t k = 0; k < s.layers.size(); ++k) {
      const recurrent_weights& w = s.layers[k];
      const std::size_t h = w.hidden, g = gates(w.kind);
      std::vector<double>& hk = hs[k];
      pre_x.assign(g * h, 0.0);
      pre_h.assign(g * h, 0.0);
      for (std::size_t r = 0; r < g * h; ++r) {
        double a = double(w.b_ih[r]);
        for (std::size_t j = 0; j < w.in; ++j) a += double(w.w_ih[r * w.in + j]) * x[j];
        pre_x[r] = a;
        double b = double(w.b_hh[r]);
        for (std::size_t j = 0; j < h; ++j) b += double(w.w_hh[r * h + j]) * hk[j];
        pre_h[r] = b;
      }
      for (std::size_t u = 0; u < h; ++u) {
        if (w.kind == cell::lstm) {
          const double i = sigmoid(pre_x[u] + pre_h[u]);
          const double f = sigmoid(pre_x[h + u] + pre_h[h + u]);
          const double gg = std::tanh(pre_x[2 * h + u] + pre_h[2 * h + u]);
          const double o = sigmoid(pre_x[3 * h + u] + pre_h[3 * h + u]);
          cs[k][u] = f * cs[k][u] + i * gg;
          hk[u] = o * std::tanh(cs[k][u]);
        } else {
          const double r = sigmoid(pre_x[u] + pre_h[u]);
          const double z = sigmoid(pre_x[h + u] + pre_h[h + u]);
          const double n = std::tanh(pre_x[2 * h + u] + r * pre_h[2 * h + u]);
          hk[u] = (1.0 - z) * n + z * hk[u];
        }
      }
      x = hk;
    }
    for (std::size_t o = 0; o < s.out; ++o) {
      double y = double(s.b_out[o]);
      for (std::size_t u = 0; u < s.hidden(); ++u) y += double(s.w_out[o * s.hidden() + u]) * x[u];
      ys.push_back(y);
    }
  }
  return ys;
}

/// The weights as an rnnx weight document (docs/weights-format.md).
inline std::string weights_json(const weights& w) { return stack_json(as_stack(w)); }

/// x_t: one period of a sine over the table (bench_support.hpp).
using rnnx_bench::sine_table;

/// The T = 1000 input sequence: x_t = sine_table()[t % 1024], the stream's first 1000 inputs.
inline std::vector<float> sequence_inputs() {
  std::vector<float> xs(sequence_length);
  for (std::size_t t = 0; t < sequence_length; ++t) xs[t] = sine_table()[t % table_size];
  return xs;
}

/// The model's outputs over the first verify_steps inputs from the zero state, in double
/// precision (stack_reference, peers_stack.hpp).
inline const std::vector<double>& reference_outputs(cell c, std::size_t hidden) {
  static std::map<std::pair<cell, std::size_t>, std::vector<double>> cache;
  auto [it, inserted] = cache.try_emplace({c, hidden});
  if (inserted) {
    const std::vector<float> xs = sequence_inputs();
    it->second = stack_reference(as_stack(model_weights(c, hidden)),
                                 std::span<const float>(xs).first(verify_steps));
  }
  return it->second;
}

/// Compares an implementation's first outputs with the reference; records max_abs_diff and
/// stops the benchmark with SkipWithError when it exceeds the tolerance. True when it passed.
inline bool verify(benchmark::State& state, cell c, std::size_t hidden, std::span<const float> got,
                   double tolerance = default_tolerance) {
  const std::vector<double>& want = reference_outputs(c, hidden);
  double worst = got.size() == want.size() ? 0.0 : INFINITY;
  for (std::size_t t = 0; t < std::min(got.size(), want.size()); ++t) {
    const double d = std::abs(double(got[t]) - want[t]);
    worst = std::isnan(d) ? INFINITY : std::max(worst, d);
  }
  state.counters["max_abs_diff"] = worst;
  if (worst <= tolerance) return true;
  static std::string message;  // SkipWithError keeps the pointer
  message = "outputs differ from the reference by " + std::to_string(worst) + " > " +
            std::to_string(tolerance) + " (over " + std::to_string(want.size()) + " steps)";
  state.SkipWithError(message.c_str());
  return false;
}

/// Runs `step(x) -> y` over the first verify_steps inputs and verifies the outputs.
template <class Step>
bool verify_stream(benchmark::State& state, cell c, std::size_t hidden, Step&& step,
                   double tolerance = default_tolerance) {
  std::vector<float> ys(verify_steps);
  for (std::size_t t = 0; t < verify_steps; ++t) ys[t] = step(sine_table()[t % table_size]);
  return verify(state, c, hidden, ys, tolerance);
}

/// Counters for `flops` per step and steps_per_iteration steps (stream-steps) per iteration.
using rnnx_bench::set_counters;

inline void set_counters(benchmark::State& state, cell c, std::size_t hidden,
                         std::size_t steps_per_iteration) {
  set_counters(state, flops_per_step(gates(c), 1, hidden, 1), steps_per_iteration);
}

/// The streaming timing loop: y = step(x_t) once per iteration, the state carried on.
/// y goes to DoNotOptimize as const: Google Benchmark 1.7's DoNotOptimize(T&) ("+m,r") lets
/// g++ 12 drop the store to y, so y read after the loop would be a stale stack slot.
template <class Step>
void time_stream(benchmark::State& state, cell c, std::size_t hidden, Step&& step) {
  const auto& input = sine_table();
  std::size_t t = 0;
  float y = 0.0f;
  for (auto _ : state) {
    y = step(input[t++ % table_size]);
    benchmark::DoNotOptimize(std::as_const(y));
  }
  if (!std::isfinite(y)) state.SkipWithError("the output became non-finite while timing");
  set_counters(state, c, hidden, 1);
}

/// The sequence timing loop: run() computes all T outputs from the zero state.
template <class Run>
void time_sequence(benchmark::State& state, cell c, std::size_t hidden, Run&& run) {
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  set_counters(state, c, hidden, sequence_length);
}

// ---- registration ------------------------------------------------------------------------
// Each peers_*.cpp adds its benchmarks at static initialisation; peers_main.cpp registers them
// grouped by (mode, cell, H), implementations side by side in `implementations` order, so
// that rows compared with each other also run close together in time.

inline constexpr std::array<std::string_view, 8> implementations{
    "typed",    "dynamic",        "eigen",          "onednn",
    "libtorch", "rtneural-eigen", "rtneural-xsimd", "rtneural-stl"};
inline constexpr std::array<std::string_view, 2> modes{"stream", "seq"};

struct entry {
  std::string impl, mode;
  cell kind;
  std::size_t hidden;
  std::function<void(benchmark::State&)> run;
  std::string variant;  // appended to the name: "/B:8" (batch), "/In:16/Out:16", "/L:2"
};

inline std::vector<entry>& registry() {
  static std::vector<entry> entries;
  return entries;
}

inline bool add(std::string_view impl, std::string_view mode, cell c, std::size_t hidden,
                std::function<void(benchmark::State&)> run, std::string_view variant = {}) {
  registry().push_back(
      {std::string(impl), std::string(mode), c, hidden, std::move(run), std::string(variant)});
  return true;
}

inline std::string benchmark_name(const entry& e) {
  return e.impl + "/" + e.mode + "/" + std::string(name_of(e.kind)) +
         "/H:" + std::to_string(e.hidden) + e.variant;
}

inline void register_all() {
  auto rank = [](const entry& e) {
    const auto m = std::find(modes.begin(), modes.end(), e.mode) - modes.begin();
    const auto i =
        std::find(implementations.begin(), implementations.end(), e.impl) - implementations.begin();
    return std::make_tuple(m, e.variant, e.kind, e.hidden, i);
  };
  auto& entries = registry();
  std::stable_sort(entries.begin(), entries.end(),
                   [&](const entry& a, const entry& b) { return rank(a) < rank(b); });
  for (const auto& e : entries) benchmark::RegisterBenchmark(benchmark_name(e).c_str(), e.run);
}

inline constexpr std::array<std::size_t, 6> hidden_sizes{8, 16, 32, 64, 128, 256};

}  // namespace peers
