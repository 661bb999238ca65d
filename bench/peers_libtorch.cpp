// LibTorch (Debian libtorch-dev) in the peer comparison (bench/peers_common.hpp):
// libtorch/<mode>/<cell>/H:<H>, float, one intra-op thread, under c10::InferenceMode.
//   stream: torch::nn::LSTMCell / GRUCell + torch::nn::Linear, one step per call, the state
//           tensors carried; the input is written into a preallocated 1 x 1 tensor and the
//           output read with item<float>()
//   seq:    torch::nn::LSTM / GRU over the whole (T, 1, 1) sequence + Linear over (T, 1, H),
//           the whole-sequence API a LibTorch user calls (the cells above, looped in C++,
//           are slower per step than this)
// and the batch cases of bench/peers_batch.hpp (libtorch/<mode>/<cell>/H:<H>/B:<B>): the cells
// on a [B, 1] input and [B, H] states, and the layers over (T, B, 1).

#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/torch.h>

#include "peers_batch.hpp"

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

/// Cell + Linear over B streams (a [B, 1] input, [B, H] states carried from step to step).
template <class Cell>
struct cell_model {
  cell_model(cell c, std::size_t h, std::size_t batch)
      : w(peers::model_weights(c, h)),
        module(1, std::int64_t(h)),
        linear(make_head(w)),
        x(torch::zeros({std::int64_t(batch), 1})) {
    set_parameters(*module, w, "");
    reset();
  }
  void reset() {
    hs = torch::zeros({x.size(0), std::int64_t(w.hidden)});
    cs = torch::zeros({x.size(0), std::int64_t(w.hidden)});
  }
  /// One step of the B streams from the inputs written into x; the outputs [B, 1].
  torch::Tensor step() {
    if constexpr (std::is_same_v<Cell, torch::nn::LSTMCell>) {
      std::tie(hs, cs) = module->forward(x, std::make_tuple(hs, cs));
    } else {
      hs = module->forward(x, hs);
    }
    return linear->forward(hs);
  }
  const peers::weights& w;
  Cell module;
  torch::nn::Linear linear;
  torch::Tensor x, hs, cs;
};

/// LSTM / GRU layer + Linear over a (T, B, 1) sequence.
template <class Layer, class Options>
struct layer_model {
  layer_model(cell c, std::size_t h) : module(Options(1, std::int64_t(h))), linear(nullptr) {
    const peers::weights& w = peers::model_weights(c, h);
    set_parameters(*module, w, "_l0");
    module->flatten_parameters();
    linear = make_head(w);
  }
  torch::Tensor run(const torch::Tensor& xs) {
    return linear->forward(std::get<0>(module->forward(xs))).contiguous();
  }
  Layer module;
  torch::nn::Linear linear;
};

template <class Cell>
void stream(benchmark::State& state, cell c, std::size_t h) {
  torch::set_num_threads(1);
  c10::InferenceMode inference;
  cell_model<Cell> model(c, h, 1);
  float* x_value = model.x.template data_ptr<float>();
  auto step = [&](float value) {
    *x_value = value;
    return model.step().template item<float>();
  };
  if (!peers::verify_stream(state, c, h, step)) return;
  model.reset();
  peers::time_stream(state, c, h, step);
}

template <class Layer, class Options>
void sequence(benchmark::State& state, cell c, std::size_t h) {
  torch::set_num_threads(1);
  c10::InferenceMode inference;
  layer_model<Layer, Options> model(c, h);
  const std::vector<float> inputs = peers::sequence_inputs();
  const torch::Tensor xs = tensor(inputs, {std::int64_t(inputs.size()), 1, 1});
  const torch::Tensor ys = model.run(xs);
  if (!peers::verify(state, c, h, std::span<const float>(ys.data_ptr<float>(), inputs.size())))
    return;
  peers::time_sequence(state, c, h, [&] {
    const torch::Tensor out = model.run(xs);
    benchmark::DoNotOptimize(out.data_ptr<float>());
  });
}

template <class Cell>
void batch_stream(benchmark::State& state, cell c, std::size_t h, std::size_t batch) {
  torch::set_num_threads(1);
  c10::InferenceMode inference;
  cell_model<Cell> model(c, h, batch);
  auto step = [&](const float* in, float* out) {
    std::copy_n(in, batch, model.x.template data_ptr<float>());
    const torch::Tensor y = model.step().contiguous();
    std::copy_n(y.data_ptr<float>(), batch, out);
  };
  peers::run_batch_stream(state, peers::model_stack(c, h), batch, step, [&] { model.reset(); });
}

template <class Layer, class Options>
void batch_sequence(benchmark::State& state, cell c, std::size_t h, std::size_t batch) {
  torch::set_num_threads(1);
  c10::InferenceMode inference;
  layer_model<Layer, Options> model(c, h);
  torch::Tensor xs = torch::zeros({std::int64_t(peers::sequence_length), std::int64_t(batch), 1});
  peers::run_batch_sequence(state, peers::model_stack(c, h), batch,
                            [&](const std::vector<float>& in, std::vector<float>& ys) {
                              std::copy(in.begin(), in.end(), xs.data_ptr<float>());
                              const torch::Tensor out = model.run(xs);
                              std::copy_n(out.data_ptr<float>(), ys.size(), ys.begin());
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
  for (const std::size_t h : peers::batch_hidden_sizes)
    for (const std::size_t b : peers::batch_sizes) {
      const std::string variant = peers::batch_variant(b);
      peers::add(
          "libtorch", "stream", cell::lstm, h,
          [h, b](benchmark::State& s) { batch_stream<torch::nn::LSTMCell>(s, cell::lstm, h, b); },
          variant);
      peers::add(
          "libtorch", "stream", cell::gru, h,
          [h, b](benchmark::State& s) { batch_stream<torch::nn::GRUCell>(s, cell::gru, h, b); },
          variant);
      peers::add(
          "libtorch", "seq", cell::lstm, h,
          [h, b](benchmark::State& s) {
            batch_sequence<torch::nn::LSTM, torch::nn::LSTMOptions>(s, cell::lstm, h, b);
          },
          variant);
      peers::add(
          "libtorch", "seq", cell::gru, h,
          [h, b](benchmark::State& s) {
            batch_sequence<torch::nn::GRU, torch::nn::GRUOptions>(s, cell::gru, h, b);
          },
          variant);
    }
  return true;
}();

}  // namespace
