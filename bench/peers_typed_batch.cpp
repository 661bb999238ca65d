// rnnx typed models in the batch and extra-model cases (bench/peers_batch.hpp):
//   typed/stream/<cell>/H:<H>/B:<B>  model.step(x, states, y): the B-stream step, each weight
//                                    loaded once per group of 8 streams
//   typed/seq/<cell>/H:<H>/B:<B>     the same B-stream step T = 1000 times from the zero state
//   typed/<mode>/lstm/H:128/In:16/Out:16, typed/<mode>/lstm/H:64/L:2   batch 1: model.step
//                                    per step, model.forward over the T = 1000 sequence

#include <algorithm>
#include <memory>
#include <rnnx/rnnx.hpp>
#include <utility>

#include "peers_batch.hpp"

namespace {

using peers::cell;

template <class Model>
std::unique_ptr<Model> load(const peers::stack& s) {
  auto model = std::make_unique<Model>();
  rnnx::load_weights_from_string(*model, peers::stack_json(s));
  return model;
}

template <class Model, std::size_t B>
void batch_stream(benchmark::State& state, const peers::stack& s) {
  const auto model = load<Model>(s);
  auto states = std::make_unique<std::array<typename Model::state, B>>();
  constexpr std::size_t in = Model::in_size, out = Model::out_size;
  auto step = [&](const float* x, float* y) {
    model->step(std::span<const float, B * in>(x, B * in), *states,
                std::span<float, B * out>(y, B * out));
  };
  auto reset = [&] {
    for (auto& one : *states) one.reset();
  };
  peers::run_batch_stream(state, s, B, step, reset);
}

template <class Model, std::size_t B>
void batch_sequence(benchmark::State& state, const peers::stack& s) {
  const auto model = load<Model>(s);
  auto states = std::make_unique<std::array<typename Model::state, B>>();
  constexpr std::size_t in = Model::in_size, out = Model::out_size;
  peers::run_batch_sequence(state, s, B, [&](const std::vector<float>& xs, std::vector<float>& ys) {
    for (auto& one : *states) one.reset();
    for (std::size_t t = 0; t < peers::sequence_length; ++t)
      model->step(std::span<const float, B * in>(xs.data() + t * B * in, B * in), *states,
                  std::span<float, B * out>(ys.data() + t * B * out, B * out));
  });
}

/// Batch 1: the single-stream step.
template <class Model>
void single_stream(benchmark::State& state, const peers::stack& s) {
  const auto model = load<Model>(s);
  auto st = model->initial_state();
  constexpr std::size_t in = Model::in_size;
  auto step = [&](const float* x, float* y) {
    const auto out = model->step(std::span<const float, in>(x, in), st);
    std::copy(out.begin(), out.end(), y);
  };
  peers::run_batch_stream(state, s, 1, step, [&] { st.reset(); });
}

/// Batch 1: model.forward over the whole sequence.
template <class Model>
void single_sequence(benchmark::State& state, const peers::stack& s) {
  const auto model = load<Model>(s);
  xt::xtensor<float, 2> xs = xt::xtensor<float, 2>::from_shape({peers::sequence_length, s.in()});
  peers::run_batch_sequence(state, s, 1, [&](const std::vector<float>& in, std::vector<float>& ys) {
    std::copy(in.begin(), in.end(), xs.begin());
    const xt::xtensor<float, 2> out = model->forward(xs);
    std::copy(out.begin(), out.end(), ys.begin());
  });
}

template <cell C, std::size_t H>
using typed_model =
    std::conditional_t<C == cell::lstm, rnnx::network<rnnx::lstm<1, H>, rnnx::dense<H, 1>>,
                       rnnx::network<rnnx::gru<1, H>, rnnx::dense<H, 1>>>;

template <cell C, std::size_t H, std::size_t B>
void add_batch() {
  peers::add(
      "typed", "stream", C, H,
      [](benchmark::State& st) {
        batch_stream<typed_model<C, H>, B>(st, peers::model_stack(C, H));
      },
      peers::batch_variant(B));
  peers::add(
      "typed", "seq", C, H,
      [](benchmark::State& st) {
        batch_sequence<typed_model<C, H>, B>(st, peers::model_stack(C, H));
      },
      peers::batch_variant(B));
}

template <class Model>
void add_extra(const peers::extra_model& m) {
  peers::add(
      "typed", "stream", cell::lstm, m.hidden,
      [&m](benchmark::State& st) { single_stream<Model>(st, peers::extra_stack(m)); }, m.variant);
  peers::add(
      "typed", "seq", cell::lstm, m.hidden,
      [&m](benchmark::State& st) { single_sequence<Model>(st, peers::extra_stack(m)); }, m.variant);
}

template <std::size_t... H>
void add_batches(std::index_sequence<H...>) {
  (add_batch<cell::lstm, H, 8>(), ...);
  (add_batch<cell::lstm, H, 32>(), ...);
  (add_batch<cell::gru, H, 8>(), ...);
  (add_batch<cell::gru, H, 32>(), ...);
}

[[maybe_unused]] const bool added = [] {
  static_assert(peers::batch_sizes == std::array<std::size_t, 2>{8, 32});
  static_assert(peers::batch_hidden_sizes == std::array<std::size_t, 3>{32, 128, 256});
  add_batches(std::index_sequence<32, 128, 256>{});
  static_assert(peers::extra_models[0].in == 16 && peers::extra_models[0].hidden == 128 &&
                peers::extra_models[0].out == 16 && peers::extra_models[1].layers == 2 &&
                peers::extra_models[1].hidden == 64);
  add_extra<rnnx::network<rnnx::lstm<16, 128>, rnnx::dense<128, 16>>>(peers::extra_models[0]);
  add_extra<rnnx::network<rnnx::lstm<1, 64>, rnnx::lstm<64, 64>, rnnx::dense<64, 1>>>(
      peers::extra_models[1]);
  return true;
}();

}  // namespace
