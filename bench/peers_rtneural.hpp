#pragma once
// RTNeural's compile-time models (RTNeural::ModelT, github.com/jatinchowdhury18/RTNeural) in the
// peer comparison (bench/peers_common.hpp), one implementation per RTNeural backend:
//   rtneural-<backend>/<mode>/<cell>/H:<H>   backend eigen, xsimd or stl;
//       ModelT<float, 1, 1, LSTMLayerT<float, 1, H> or GRULayerT<float, 1, H>, DenseT<float, H, 1>>
//   stream: model.forward(&x) per call, the state carried in the model
//   seq:    model.reset(), then forward once per sample over the T = 1000 sequence (RTNeural
//           has no whole-sequence call; its users loop over the samples of a block)
// and the extra models of bench/peers_batch.hpp at batch 1 (a ModelT holds one stream's state,
// so there are no /B: rows): rtneural-<backend>/<mode>/lstm/H:128/In:16/Out:16, .../H:64/L:2.
// The weights are the shared PyTorch-layout ones, set through the layers' setters as RTNeural's
// torch_helpers.h sets a PyTorch state_dict: kernels transposed (In x G*H, U: H x G*H); LSTM
// gates in PyTorch's order (i, f, g, o) with b_ih + b_hh as one bias; GRU gates z, r, n (Keras'
// order: PyTorch's r and z blocks swapped) with both biases, since RTNeural's GRU applies r to
// W_hn h + b_hn as PyTorch's does.
//
// RTNeural picks its backend with RTNEURAL_USE_EIGEN / RTNEURAL_USE_XSIMD (neither: STL) and
// every backend defines the same names, so linking two of them as they are would merge
// different inline functions under one mangled name. Each backend therefore has its own
// translation unit, peers_rtneural_<backend>.cpp, which selects the backend and names RTNeural's
// namespace through RTNEURAL_NAMESPACE (RTNeural's own switch, read by every one of its headers)
// before including this file: rtneural_eigen::, rtneural_xsimd::, rtneural_stl::. What this file
// defines is in an anonymous namespace for the same reason.

#if !defined(RTNEURAL_NAMESPACE)
#error "define RTNEURAL_NAMESPACE (one name per backend) before including peers_rtneural.hpp"
#endif

// RTNeural aligns its buffers to RTNEURAL_DEFAULT_ALIGNMENT, and its xsimd backend moves whole
// batches with aligned loads and stores: the alignment has to be the width of the batches
// -march=native gives (RTNeural's own CMake picks 16, or 32 with RTNEURAL_USE_AVX).
#if !defined(RTNEURAL_DEFAULT_ALIGNMENT)
#if defined(__AVX512F__)
#define RTNEURAL_DEFAULT_ALIGNMENT 64
#elif defined(__AVX__)
#define RTNEURAL_DEFAULT_ALIGNMENT 32
#else
#define RTNEURAL_DEFAULT_ALIGNMENT 16
#endif
#endif

#if !defined(RNNX_RTNEURAL_COMMIT)
#define RNNX_RTNEURAL_COMMIT "(commit unknown)"
#endif

#include <RTNeural/RTNeural.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "peers_batch.hpp"

namespace {

namespace rt = RTNEURAL_NAMESPACE;
using peers::cell;

#if RTNEURAL_USE_EIGEN
constexpr std::string_view impl = "rtneural-eigen";
const std::string backend = "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
                            std::to_string(EIGEN_MAJOR_VERSION) + "." +
                            std::to_string(EIGEN_MINOR_VERSION);
#elif RTNEURAL_USE_XSIMD
constexpr std::string_view impl = "rtneural-xsimd";
const std::string backend = "xsimd " + std::to_string(XSIMD_VERSION_MAJOR) + "." +
                            std::to_string(XSIMD_VERSION_MINOR) + "." +
                            std::to_string(XSIMD_VERSION_PATCH);
#else
constexpr std::string_view impl = "rtneural-stl";
const std::string backend = "STL";
#endif

template <cell C, int In, int H>
using recurrent_layer =
    std::conditional_t<C == cell::lstm, rt::LSTMLayerT<float, In, H>, rt::GRULayerT<float, In, H>>;

template <cell C, int H>
using model = rt::ModelT<float, 1, 1, recurrent_layer<C, 1, H>, rt::DenseT<float, H, 1>>;

/// The PyTorch row behind RTNeural's gate column j: the same gate order for LSTM; for GRU,
/// RTNeural's z, r, n are PyTorch's blocks 1, 0, 2.
std::size_t torch_row(cell c, std::size_t j, std::size_t hidden) {
  if (c == cell::lstm || j >= 2 * hidden) return j;
  return j < hidden ? j + hidden : j - hidden;
}

/// A PyTorch G*H x n weight matrix as RTNeural's n x G*H, in RTNeural's gate order.
std::vector<std::vector<float>> kernel(const std::vector<float>& w, cell c, std::size_t hidden,
                                       std::size_t n) {
  std::vector<std::vector<float>> out(n, std::vector<float>(peers::gates(c) * hidden));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < out[i].size(); ++j) out[i][j] = w[torch_row(c, j, hidden) * n + i];
  return out;
}

/// A PyTorch G*H bias in RTNeural's gate order.
std::vector<float> gate_order(const std::vector<float>& b, cell c, std::size_t hidden) {
  std::vector<float> out(b.size());
  for (std::size_t j = 0; j < out.size(); ++j) out[j] = b[torch_row(c, j, hidden)];
  return out;
}

template <int In, int H>
void set(rt::LSTMLayerT<float, In, H>& layer, const peers::stack& s, std::size_t index) {
  const peers::recurrent_weights& w = s.layers.at(index);
  layer.setWVals(kernel(w.w_ih, w.kind, w.hidden, w.in));
  layer.setUVals(kernel(w.w_hh, w.kind, w.hidden, w.hidden));
  std::vector<float> bias(w.b_ih.size());
  for (std::size_t j = 0; j < bias.size(); ++j) bias[j] = w.b_ih[j] + w.b_hh[j];
  layer.setBVals(bias);
}

template <int In, int H>
void set(rt::GRULayerT<float, In, H>& layer, const peers::stack& s, std::size_t index) {
  const peers::recurrent_weights& w = s.layers.at(index);
  layer.setWVals(kernel(w.w_ih, w.kind, w.hidden, w.in));
  layer.setUVals(kernel(w.w_hh, w.kind, w.hidden, w.hidden));
  layer.setBVals({gate_order(w.b_ih, w.kind, w.hidden), gate_order(w.b_hh, w.kind, w.hidden)});
}

/// The head: Out x H, PyTorch's layout already.
template <int H, int Out>
void set(rt::DenseT<float, H, Out>& dense, const peers::stack& s, std::size_t) {
  std::vector<std::vector<float>> w(s.out);
  for (std::size_t o = 0; o < s.out; ++o)
    w[o].assign(s.w_out.begin() + std::ptrdiff_t(o * s.hidden()),
                s.w_out.begin() + std::ptrdiff_t((o + 1) * s.hidden()));
  dense.setWeights(w);
  dense.setBias(s.b_out.data());
}

/// A model on the heap (LSTM(1 -> 256) holds 1 MB of weights), its layers set from s in order,
/// at the zero state.
template <class Model>
std::unique_ptr<Model> load(const peers::stack& s) {
  auto model = std::make_unique<Model>();
  std::size_t index = 0;
  std::apply([&](auto&... layer) { (set(layer, s, index++), ...); }, model->getLayers());
  model->reset();
  return model;
}

template <class Model>
void stream(benchmark::State& state, cell c, std::size_t h) {
  const auto model = load<Model>(peers::model_stack(c, h));
  auto step = [&](float x) { return model->forward(&x); };
  if (!peers::verify_stream(state, c, h, step)) return;
  model->reset();
  peers::time_stream(state, c, h, step);
}

template <class Model>
void sequence(benchmark::State& state, cell c, std::size_t h) {
  const auto model = load<Model>(peers::model_stack(c, h));
  const std::vector<float> xs = peers::sequence_inputs();
  std::vector<float> ys(xs.size());
  auto run = [&] {
    model->reset();
    for (std::size_t t = 0; t < xs.size(); ++t) ys[t] = model->forward(&xs[t]);
  };
  run();
  if (!peers::verify(state, c, h, ys)) return;
  peers::time_sequence(state, c, h, [&] {
    run();
    benchmark::DoNotOptimize(ys.data());
  });
}

/// One step of a model with In inputs and Out outputs. forward(const float*) reads a vector
/// input with aligned loads (xsimd: whole batches), so x goes through a padded aligned buffer.
template <class Model>
class vector_step {
 public:
  explicit vector_step(Model& model) : model_(model) {}
  void operator()(const float* x, float* y) {
    std::copy_n(x, Model::input_size, input_);
    model_.forward(input_);
    std::copy_n(model_.getOutputs(), Model::output_size, y);
  }

 private:
  static constexpr int lanes = RTNEURAL_DEFAULT_ALIGNMENT / int(sizeof(float));
  static constexpr int padded_inputs = rt::ceil_div(Model::input_size, lanes) * lanes;
  Model& model_;
  alignas(RTNEURAL_DEFAULT_ALIGNMENT) float input_[padded_inputs]{};
};

template <class Model>
void extra_stream(benchmark::State& state, const peers::stack& s) {
  const auto model = load<Model>(s);
  peers::run_batch_stream(state, s, 1, vector_step<Model>(*model), [&] { model->reset(); });
}

template <class Model>
void extra_sequence(benchmark::State& state, const peers::stack& s) {
  const auto model = load<Model>(s);
  vector_step<Model> step(*model);
  peers::run_batch_sequence(state, s, 1, [&](const std::vector<float>& xs, std::vector<float>& ys) {
    model->reset();
    for (std::size_t t = 0; t < peers::sequence_length; ++t)
      step(xs.data() + t * s.in(), ys.data() + t * s.out);
  });
}

template <class Model>
void add_extra(const peers::extra_model& m) {
  peers::add(
      impl, "stream", cell::lstm, m.hidden,
      [&m](benchmark::State& st) { extra_stream<Model>(st, peers::extra_stack(m)); }, m.variant);
  peers::add(
      impl, "seq", cell::lstm, m.hidden,
      [&m](benchmark::State& st) { extra_sequence<Model>(st, peers::extra_stack(m)); }, m.variant);
}

template <int... H>
bool add_all(std::integer_sequence<int, H...>) {
  (peers::add(impl, "stream", cell::lstm, H,
              [](benchmark::State& s) { stream<model<cell::lstm, H>>(s, cell::lstm, H); }),
   ...);
  (peers::add(impl, "stream", cell::gru, H,
              [](benchmark::State& s) { stream<model<cell::gru, H>>(s, cell::gru, H); }),
   ...);
  (peers::add(impl, "seq", cell::lstm, H,
              [](benchmark::State& s) { sequence<model<cell::lstm, H>>(s, cell::lstm, H); }),
   ...);
  (peers::add(impl, "seq", cell::gru, H,
              [](benchmark::State& s) { sequence<model<cell::gru, H>>(s, cell::gru, H); }),
   ...);
  static_assert(peers::extra_models[0].in == 16 && peers::extra_models[0].hidden == 128 &&
                peers::extra_models[0].out == 16 && peers::extra_models[1].layers == 2 &&
                peers::extra_models[1].hidden == 64);
  add_extra<rt::ModelT<float, 16, 16, rt::LSTMLayerT<float, 16, 128>, rt::DenseT<float, 128, 16>>>(
      peers::extra_models[0]);
  add_extra<rt::ModelT<float, 1, 1, rt::LSTMLayerT<float, 1, 64>, rt::LSTMLayerT<float, 64, 64>,
                       rt::DenseT<float, 64, 1>>>(peers::extra_models[1]);
  return true;
}

static_assert(peers::hidden_sizes == std::array<std::size_t, 6>{8, 16, 32, 64, 128, 256});
[[maybe_unused]] const bool added = [] {
  // Which RTNeural (CMake passes the checkout's commit), with which backend and alignment.
  benchmark::AddCustomContext(std::string(impl), "RTNeural " RNNX_RTNEURAL_COMMIT ", " + backend +
                                                     ", RTNEURAL_DEFAULT_ALIGNMENT " +
                                                     std::to_string(RTNEURAL_DEFAULT_ALIGNMENT));
  return add_all(std::integer_sequence<int, 8, 16, 32, 64, 128, 256>{});
}();

}  // namespace
