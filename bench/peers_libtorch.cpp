// LibTorch (Debian libtorch-dev) in the peer comparison (bench/peers_common.hpp):
// libtorch/<mode>/<cell>/H:<H>, float, one intra-op thread, under c10::InferenceMode.
//   stream: torch::nn::LSTMCell / GRUCell + torch::nn::Linear, one step per call, the state
//           tensors carried; the input is written into a preallocated 1 x 1 tensor and the
//           output read with item<float>()
//   seq:    torch::nn::LSTM / GRU over the whole (T, 1, 1) sequence + Linear over (T, 1, H),
//           the whole-sequence API a LibTorch user calls (the cells above, looped in C++,
//           are slower per step than this)

#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/torch.h>

#include "peers_common.hpp"

namespace {

using peers::cell;

torch::Tensor tensor(const std::vector<float>& v, std::vector<std::int64_t> shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
}

/// Copies PyTorch-layout weights into a module's parameters named weight_ih<suffix> etc.
void set_parameters(torch::nn::Module& module, const peers::weights& w, const std::string& suffix) {
  const auto rows = std::int64_t(peers::gates(w.kind) * w.hidden), h = std::int64_t(w.hidden);
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters();
  params["weight_ih" + suffix].copy_(tensor(w.w_ih, {rows, 1}));
  params["weight_hh" + suffix].copy_(tensor(w.w_hh, {rows, h}));
  params["bias_ih" + suffix].copy_(tensor(w.b_ih, {rows}));
  params["bias_hh" + suffix].copy_(tensor(w.b_hh, {rows}));
}

torch::nn::Linear make_head(const peers::weights& w) {
  torch::nn::Linear linear(std::int64_t(w.hidden), 1);
  torch::NoGradGuard no_grad;
  linear->weight.copy_(tensor(w.w_out, {1, std::int64_t(w.hidden)}));
  linear->bias.fill_(w.b_out);
  return linear;
}

template <class Cell>
void stream(benchmark::State& state, cell c, std::size_t h) {
  torch::set_num_threads(1);
  c10::InferenceMode inference;
  const peers::weights& w = peers::model_weights(c, h);
  Cell module(1, std::int64_t(h));
  set_parameters(*module, w, "");
  auto linear = make_head(w);
  torch::Tensor x = torch::zeros({1, 1});
  float* x_value = x.data_ptr<float>();
  torch::Tensor hs, cs;
  auto reset = [&] {
    hs = torch::zeros({1, std::int64_t(h)});
    cs = torch::zeros({1, std::int64_t(h)});
  };
  auto step = [&](float value) {
    *x_value = value;
    if constexpr (std::is_same_v<Cell, torch::nn::LSTMCell>) {
      std::tie(hs, cs) = module->forward(x, std::make_tuple(hs, cs));
    } else {
      hs = module->forward(x, hs);
    }
    return linear->forward(hs).item<float>();
  };
  reset();
  if (!peers::verify_stream(state, c, h, step)) return;
  reset();
  peers::time_stream(state, c, h, step);
}

template <class Layer, class Options>
void sequence(benchmark::State& state, cell c, std::size_t h) {
  torch::set_num_threads(1);
  c10::InferenceMode inference;
  const peers::weights& w = peers::model_weights(c, h);
  Layer module(Options(1, std::int64_t(h)));
  set_parameters(*module, w, "_l0");
  module->flatten_parameters();
  auto linear = make_head(w);
  const std::vector<float> inputs = peers::sequence_inputs();
  const torch::Tensor xs = tensor(inputs, {std::int64_t(inputs.size()), 1, 1});
  auto run = [&] { return linear->forward(std::get<0>(module->forward(xs))).contiguous(); };
  const torch::Tensor ys = run();
  if (!peers::verify(state, c, h, std::span<const float>(ys.data_ptr<float>(), inputs.size())))
    return;
  peers::time_sequence(state, c, h, [&] {
    const torch::Tensor out = run();
    benchmark::DoNotOptimize(out.data_ptr<float>());
  });
}

[[maybe_unused]] const bool added = [] {
  benchmark::AddCustomContext("libtorch_version", TORCH_VERSION);
  for (const std::size_t h : peers::hidden_sizes) {
    peers::add("libtorch", "stream", cell::lstm, h,
               [h](benchmark::State& s) { stream<torch::nn::LSTMCell>(s, cell::lstm, h); });
    peers::add("libtorch", "stream", cell::gru, h,
               [h](benchmark::State& s) { stream<torch::nn::GRUCell>(s, cell::gru, h); });
    peers::add("libtorch", "seq", cell::lstm, h, [h](benchmark::State& s) {
      sequence<torch::nn::LSTM, torch::nn::LSTMOptions>(s, cell::lstm, h);
    });
    peers::add("libtorch", "seq", cell::gru, h, [h](benchmark::State& s) {
      sequence<torch::nn::GRU, torch::nn::GRUOptions>(s, cell::gru, h);
    });
  }
  return true;
}();

}  // namespace
