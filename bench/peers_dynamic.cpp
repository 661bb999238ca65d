// rnnx::dynamic in the peer comparison (bench/peers_common.hpp): dynamic/<mode>/<cell>/H:<H>,
// the same model as typed/..., read from the same weight document with its sizes at run time.
// The extra models of bench/peers_batch.hpp (dynamic/<mode>/lstm/H:<H>/In:16/Out:16, .../L:2)
// at batch 1 too, and its batch cases (dynamic/<mode>/<cell>/H:<H>/B:<B>):
//   stream: B states, one model.step over all B streams per call (engine/streams.hpp)
//   seq:    one model.forward per sequence, B sequences one after the other (each sequence's
//           T x 1 inputs gathered from the T x B batch and its outputs scattered back, O(T)
//           copies next to the O(T * H^2) work)
// Also peak_fma, the core's FMA peak that "% of peak" refers to (as in
// bench/step_bench.cpp).

#include <rnnx/dynamic/dynamic.hpp>
#include <xsimd/xsimd.hpp>

#include "peers_batch.hpp"

namespace {

using peers::cell;

void stream(benchmark::State& state, cell c, std::size_t h) {
  const auto model =
      rnnx::dynamic::network_from_string(peers::weights_json(peers::model_weights(c, h)));
  auto s = model.initial_state();
  auto step = [&](float x) { return model.step(x, s)[0]; };
  if (!peers::verify_stream(state, c, h, step)) return;
  s.reset();
  peers::time_stream(state, c, h, step);
}

void sequence(benchmark::State& state, cell c, std::size_t h) {
  const auto model =
      rnnx::dynamic::network_from_string(peers::weights_json(peers::model_weights(c, h)));
  const std::vector<float> inputs = peers::sequence_inputs();
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({inputs.size(), 1});
  std::copy(inputs.begin(), inputs.end(), xs.begin());
  const xt::xtensor<float, 2> ys = model.forward(xs);
  if (!peers::verify(state, c, h, std::span<const float>(ys.data(), ys.size()))) return;
  peers::time_sequence(state, c, h, [&] {
    auto out = model.forward(xs);
    benchmark::DoNotOptimize(out.data());
  });
}

void batch_stream(benchmark::State& state, const peers::stack& s, std::size_t batch) {
  const auto model = rnnx::dynamic::network_from_string(peers::stack_json(s));
  std::vector<decltype(model.initial_state())> states;
  for (std::size_t k = 0; k < batch; ++k) states.push_back(model.initial_state());
  auto step = [&](const float* x, float* y) {
    model.step(std::span<const float>(x, batch * s.in()), std::span(states),
               std::span<float>(y, batch * s.out));
  };
  peers::run_batch_stream(state, s, batch, step, [&] {
    for (auto& one : states) one.reset();
  });
}

void batch_sequence(benchmark::State& state, const peers::stack& s, std::size_t batch) {
  const auto model = rnnx::dynamic::network_from_string(peers::stack_json(s));
  const std::size_t steps = peers::sequence_length, in = s.in(), out = s.out;
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({steps, in});
  peers::run_batch_sequence(state, s, batch,
                            [&](const std::vector<float>& all, std::vector<float>& ys) {
                              for (std::size_t k = 0; k < batch; ++k) {
                                for (std::size_t t = 0; t < steps; ++t)
                                  std::copy_n(all.begin() + std::ptrdiff_t((t * batch + k) * in),
                                              in, xs.begin() + std::ptrdiff_t(t * in));
                                const xt::xtensor<float, 2> ys_k = model.forward(xs);
                                for (std::size_t t = 0; t < steps; ++t)
                                  std::copy_n(ys_k.begin() + std::ptrdiff_t(t * out), out,
                                              ys.begin() + std::ptrdiff_t((t * batch + k) * out));
                              }
                            });
}

/// Peak single-core FP32 throughput (rnnx_bench::fma_chains, as bench/step_bench.cpp's
/// peak_fma), repeated here so that one run holds rows and peak.
void peak_fma(benchmark::State& state) {
  double flops = 0;
  for (auto _ : state) flops += rnnx_bench::fma_chains(1);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(xsimd::default_arch::name());
}

[[maybe_unused]] const bool added = [] {
  benchmark::RegisterBenchmark("peak_fma", peak_fma);
  for (const std::string_view mode : peers::modes)
    for (const cell c : peers::cells)
      for (const std::size_t h : peers::hidden_sizes)
        peers::add("dynamic", mode, c, h, [c, h, seq = mode == "seq"](benchmark::State& s) {
          seq ? sequence(s, c, h) : stream(s, c, h);
        });
  peers::add_stack_cases("dynamic", batch_stream, batch_sequence);
  return true;
}();

}  // namespace
