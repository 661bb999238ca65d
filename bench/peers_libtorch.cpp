// LibTorch (Debian libtorch-dev) in the peer comparison (bench/peers_common.hpp):
// libtorch/<mode>/<cell>/H:<H>, float, one intra-op thread, under c10::InferenceMode.
//   stream: torch::nn::LSTMCell / GRUCell + torch::nn::Linear, one step per call, the state
//           tensors carried; the input is written into a preallocated 1 x 1 tensor and the
//           output read with item<float>()
//   seq:    torch::nn::LSTM / GRU over the whole (T, 1, 1) sequence + Linear over (T, 1, H),
//           the whole-sequence API a LibTorch user calls (the cells above, looped in C++,
//           are slower per step than this)
// and the batch and extra-model cases of bench/peers_batch.hpp: libtorch/<mode>/<cell>/H:<H>/B:<B>
// the cells on a [B, 1] input and [B, H] states, the layers over (T, B, 1);
// libtorch/<mode>/lstm/H:128/In:16/Out:16 and .../H:64/L:2 at batch 1: stream one LSTMCell per
// layer + Linear(H, Out), seq one torch::nn::LSTM (num_layers 1 or 2) + Linear.

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
void set_parameters(torch::nn::Module& module, const peers::recurrent_weights& w,
                    const std::string& suffix) {
  const auto rows = std::int64_t(peers::gates(w.kind) * w.hidden), h = std::int64_t(w.hidden);
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters();
  params["weight_ih" + suffix].copy_(tensor(w.w_ih, {rows, std::int64_t(w.in)}));
  params["weight_hh" + suffix].copy_(tensor(w.w_hh, {rows, h}));
  params["bias_ih" + suffix].copy_(tensor(w.b_ih, {rows}));
  params["bias_hh" + suffix].copy_(tensor(w.b_hh, {rows}));
}

torch::nn::Linear make_head(const peers::stack& s) {
  torch::nn::Linear linear(std::int64_t(s.hidden()), std::int64_t(s.out));
  torch::NoGradGuard no_grad;
  linear->weight.copy_(tensor(s.w_out, {std::int64_t(s.out), std::int64_t(s.hidden())}));
  linear->bias.copy_(tensor(s.b_out, {std::int64_t(s.out)}));
  return linear;
}

/// One cell per layer + Linear over B streams (a [B, In] input, [B, H] states per layer
/// carried from step to step).
template <class Cell>
struct cell_model {
  cell_model(const peers::stack& s, std::size_t batch)
      : linear(make_head(s)), x(torch::zeros({std::int64_t(batch), std::int64_t(s.in())})) {
    for (const auto& w : s.layers) {
      modules.emplace_back(std::int64_t(w.in), std::int64_t(w.hidden));
      set_parameters(*modules.back(), w, "");
    }
    reset();
  }
  void reset() {
    hs.clear();
    for (const auto& m : modules) hs.push_back(torch::zeros({x.size(0), m->options.hidden_size()}));
    cs = hs;  // the same zeros: step replaces the tensors, never writes into them
  }
  /// One step of the B streams from the inputs written into x; the outputs [B, Out].
  torch::Tensor step() {
    const torch::Tensor* in = &x;
    for (std::size_t k = 0; k < modules.size(); ++k) {
      if constexpr (std::is_same_v<Cell, torch::nn::LSTMCell>) {
        std::tie(hs[k], cs[k]) = modules[k]->forward(*in, std::make_tuple(hs[k], cs[k]));
      } else {
        hs[k] = modules[k]->forward(*in, hs[k]);
      }
      in = &hs[k];
    }
    return linear->forward(*in);
  }
  std::vector<Cell> modules;
  torch::nn::Linear linear;
  torch::Tensor x;
  std::vector<torch::Tensor> hs, cs;
};

/// LSTM / GRU layers (num_layers = L, one module) + Linear over a (T, B, In) sequence.
template <class Layer, class Options>
struct layer_model {
  explicit layer_model(const peers::stack& s)
      : module(Options(std::int64_t(s.in()), std::int64_t(s.hidden()))
                   .num_layers(std::int64_t(s.layers.size()))),
        linear(make_head(s)) {
    for (std::size_t k = 0; k < s.layers.size(); ++k)
      set_parameters(*module, s.layers[k], "_l" + std::to_string(k));
    module->flatten_parameters();
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
  cell_model<Cell> model(peers::model_stack(c, h), 1);
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
  layer_model<Layer, Options> model(peers::model_stack(c, h));
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

/// The batch and extra-model cases: B streams of the stack s.
template <class Cell>
void batch_stream(benchmark::State& state, const peers::stack& s, std::size_t batch) {
  torch::set_num_threads(1);
  c10::InferenceMode inference;
  cell_model<Cell> model(s, batch);
  auto step = [&](const float* in, float* out) {
    std::copy_n(in, batch * s.in(), model.x.template data_ptr<float>());
    const torch::Tensor y = model.step().contiguous();
    std::copy_n(y.data_ptr<float>(), batch * s.out, out);
  };
  peers::run_batch_stream(state, s, batch, step, [&] { model.reset(); });
}

template <class Layer, class Options>
void batch_sequence(benchmark::State& state, const peers::stack& s, std::size_t batch) {
  torch::set_num_threads(1);
  c10::InferenceMode inference;
  layer_model<Layer, Options> model(s);
  torch::Tensor xs = torch::zeros(
      {std::int64_t(peers::sequence_length), std::int64_t(batch), std::int64_t(s.in())});
  peers::run_batch_sequence(state, s, batch,
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
          [h, b](benchmark::State& s) {
            batch_stream<torch::nn::LSTMCell>(s, peers::model_stack(cell::lstm, h), b);
          },
          variant);
      peers::add(
          "libtorch", "stream", cell::gru, h,
          [h, b](benchmark::State& s) {
            batch_stream<torch::nn::GRUCell>(s, peers::model_stack(cell::gru, h), b);
          },
          variant);
      peers::add(
          "libtorch", "seq", cell::lstm, h,
          [h, b](benchmark::State& s) {
            batch_sequence<torch::nn::LSTM, torch::nn::LSTMOptions>(
                s, peers::model_stack(cell::lstm, h), b);
          },
          variant);
      peers::add(
          "libtorch", "seq", cell::gru, h,
          [h, b](benchmark::State& s) {
            batch_sequence<torch::nn::GRU, torch::nn::GRUOptions>(
                s, peers::model_stack(cell::gru, h), b);
          },
          variant);
    }
  for (const peers::extra_model& m : peers::extra_models) {
    peers::add(
        "libtorch", "stream", cell::lstm, m.hidden,
        [&m](benchmark::State& s) {
          batch_stream<torch::nn::LSTMCell>(s, peers::extra_stack(m), 1);
        },
        m.variant);
    peers::add(
        "libtorch", "seq", cell::lstm, m.hidden,
        [&m](benchmark::State& s) {
          batch_sequence<torch::nn::LSTM, torch::nn::LSTMOptions>(s, peers::extra_stack(m), 1);
        },
        m.variant);
  }
  return true;
}();

}  // namespace
