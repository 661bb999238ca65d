#!/usr/bin/python3
"""Live round trip (needs python3-torch): random PyTorch models of several topologies ->
codegen/export_torch.py -> codegen/rnnx-codegen -> C++ compiler -> run -> compared with
PyTorch's outputs (1e-5 for float, 1e-10 for double, over 300 steps) and with what
rnnx::load_weights reads from the same file (bit for bit).

    torch_roundtrip_test.py --cxx g++ --include include [--flag=-march=native ...]
                            [--seed N] [--work DIR]

Sizes and weights come from --seed (default: RNNX_ROUNDTRIP_SEED, else 1); the seed is printed
so a failure can be reproduced.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "codegen"))

from export_torch import export_model, to_json  # noqa: E402

CODEGEN = os.path.join(ROOT, "codegen", "rnnx-codegen")
STEPS = 300


class Chain(nn.Module):
    """Children in order; recurrent modules pass on output[0]."""

    def __init__(self, layers):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
            if isinstance(x, tuple):
                x = x[0]
        return x


def topologies(r):
    """(name, dtype, factory of layers); each factory draws its own sizes from r."""
    s = lambda: r.randint(1, 40)  # noqa: E731

    def lstm_dense():
        i, h = s(), s()
        return [nn.LSTM(i, h, batch_first=True), nn.Linear(h, r.randint(1, 6))]

    def gru2layer_dense_tanh():
        i, h = s(), s()
        return [nn.GRU(i, h, num_layers=2, batch_first=True), nn.Linear(h, r.randint(1, 6)),
                nn.Tanh()]

    def rnn_relu_dense_softmax():
        i, h = s(), s()
        return [nn.RNN(i, h, nonlinearity="relu", batch_first=True),
                nn.Linear(h, r.randint(2, 6)), nn.Softmax(dim=-1)]

    def dense_sigmoid_lstm_nobias_gru_dense():
        i, h, h2, h3 = s(), s(), s(), s()
        return [nn.Linear(i, h), nn.Sigmoid(), nn.LSTM(h, h2, bias=False, batch_first=True),
                nn.GRU(h2, h3, batch_first=True), nn.Linear(h3, r.randint(1, 6))]

    def double_gru_relu_rnn_tanh():
        i, h, h2 = s(), s(), s()
        return [nn.GRU(i, h, batch_first=True), nn.ReLU(), nn.RNN(h, h2, batch_first=True),
                nn.Tanh()]

    def embedding_lstm2_norm_softmax():
        v, d, h = r.randint(2, 40), s(), s()
        norm = nn.LayerNorm(h)
        with torch.no_grad():  # not PyTorch's ones and zeros, so that they are checked
            norm.weight.normal_()
            norm.bias.normal_()
        return [nn.Embedding(v, d, padding_idx=0),
                nn.LSTM(d, h, num_layers=2, dropout=0.3, batch_first=True), norm,
                nn.Dropout(0.25), nn.Linear(h, r.randint(2, 6)), nn.Softmax(dim=-1)]

    def bilstm2_dropout_dense():
        i, h = s(), s()
        return [nn.LSTM(i, h, num_layers=2, dropout=0.2, bidirectional=True, batch_first=True),
                nn.Linear(2 * h, r.randint(1, 6))]

    def double_bigru_birnn_relu_dense():
        i, h, h2 = s(), s(), s()
        return [nn.GRU(i, h, bidirectional=True, batch_first=True),
                nn.RNN(2 * h, h2, nonlinearity="relu", bidirectional=True, batch_first=True),
                nn.Linear(2 * h2, r.randint(1, 6)), nn.Tanh()]

    return [("lstm_dense", torch.float32, lstm_dense),
            ("gru2layer_dense_tanh", torch.float32, gru2layer_dense_tanh),
            ("rnn_relu_dense_softmax", torch.float32, rnn_relu_dense_softmax),
            ("dense_sigmoid_lstm_nobias_gru_dense", torch.float32,
             dense_sigmoid_lstm_nobias_gru_dense),
            ("double_gru_relu_rnn_tanh", torch.float64, double_gru_relu_rnn_tanh),
            ("embedding_lstm2_norm_softmax", torch.float32,
             embedding_lstm2_norm_softmax),
            # bidirectional: no streaming step, so the C++ side runs forward() over the whole
            # sequence (PyTorch's reverse direction starts from the last step).
            ("bilstm2_dropout_dense", torch.float32, bilstm2_dropout_dense),
            ("double_bigru_birnn_relu_dense", torch.float64, double_bigru_birnn_relu_dense)]


def make_models(seed, work):
    r = random.Random(seed)
    torch.manual_seed(seed)
    cases = []
    for name, dtype, factory in topologies(r):
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)  # the layers are built in the model's dtype
        try:
            model = Chain(factory()).eval()
        finally:
            torch.set_default_dtype(previous)
        doc = export_model(model)
        first = doc["layers"][0]
        if first["type"] == "embedding":  # token ids in, one per step
            ids = torch.randint(0, first["num_embeddings"], (STEPS,))
            with torch.no_grad():
                y = model(ids[None])[0]
            x = ids[:, None].to(dtype)
        else:
            features = first.get("input_size", first.get("in_features"))
            x = torch.randn(STEPS, features, dtype=dtype)
            with torch.no_grad():
                y = model(x[None])[0]
        path = os.path.join(work, name + ".json")
        with open(path, "w") as f:
            f.write(to_json({"model": doc, "input": x.tolist(), "output": y.tolist()},
                            doc["dtype"]))
        header = os.path.join(work, name + ".hpp")
        subprocess.run([sys.executable, CODEGEN, path, "--pointer", "/model", "-o", header,
                        "--name", "Net", "--namespace", "roundtrip::" + name, "-q"],
                       check=True)
        types = " -> ".join("%s%s" % (l["type"], [v for k, v in l.items()
                                                    if k not in ("type", "parameters")])
                            for l in doc["layers"])
        print("%-40s %s" % (name, types))
        cases.append((name, path))
    return cases


MAIN = r"""
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <rnnx/io/weights.hpp>
#include <xtensor/xtensor.hpp>
%(includes)s

template <class Net>
int check(const char* name, const char* path, std::unique_ptr<Net> generated) {
  using T = typename Net::scalar;
  std::ifstream in(path);
  const nlohmann::json fixture = nlohmann::json::parse(in);
  auto loaded = std::make_unique<Net>();
  rnnx::load_weights_from_json(*loaded, fixture.at("model"));
  const bool same = *generated == *loaded &&
                    rnnx::weights_to_string(*generated) == rnnx::weights_to_string(*loaded);
  const auto& xs = fixture.at("input");
  const auto& ys = fixture.at("output");
  double worst = 0;
  if constexpr (Net::streaming) {  // step by step
    auto state = generated->initial_state();
    for (std::size_t t = 0; t < xs.size(); ++t) {
      std::array<T, Net::in_size> x;
      for (std::size_t j = 0; j < Net::in_size; ++j) x[j] = xs[t][j].get<T>();
      const auto y = generated->step(x, state);
      for (std::size_t j = 0; j < Net::out_size; ++j)
        worst = std::max(worst, std::abs(double(y[j]) - ys[t][j].get<double>()));
    }
  } else {  // bidirectional: the whole sequence at once
    auto x = xt::xtensor<T, 2>::from_shape({xs.size(), Net::in_size});
    for (std::size_t t = 0; t < xs.size(); ++t)
      for (std::size_t j = 0; j < Net::in_size; ++j) x(t, j) = xs[t][j].get<T>();
    const xt::xtensor<T, 2> y = generated->forward(x);
    for (std::size_t t = 0; t < xs.size(); ++t)
      for (std::size_t j = 0; j < Net::out_size; ++j)
        worst = std::max(worst, std::abs(double(y(t, j)) - ys[t][j].get<double>()));
  }
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-10;
  std::printf("%%-40s max |rnnx - torch| = %%.3g (bound %%g, %%s)%%s\n", name, worst, tolerance,
              Net::streaming ? "step" : "forward", same ? "" : "  DIFFERS FROM load_weights");
  return same && worst <= tolerance ? 0 : 1;
}

int main() {
  int failures = 0;
%(checks)s
  return failures;
}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cxx", default="g++")
    parser.add_argument("--include", default=os.path.join(ROOT, "include"))
    parser.add_argument("--flag", action="append", default=[],
                        help="extra compiler flag (repeatable), e.g. --flag=-march=native")
    parser.add_argument("--seed", type=int,
                        default=int(os.environ.get("RNNX_ROUNDTRIP_SEED", "1")))
    parser.add_argument("--work", help="directory for the generated files (default: a "
                                       "temporary one, removed afterwards)")
    args = parser.parse_args()
    print("seed %d (RNNX_ROUNDTRIP_SEED=%d reproduces this run)" % (args.seed, args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        cases = make_models(args.seed, work)
        source = os.path.join(work, "roundtrip.cpp")
        with open(source, "w") as f:
            f.write(MAIN % {
                "includes": "\n".join('#include "%s.hpp"' % n for n, _ in cases),
                "checks": "\n".join(
                    '  failures += check("%s", %s, roundtrip::%s::make_Net());'
                    % (n, json.dumps(p), n) for n, p in cases)})
        binary = os.path.join(work, "roundtrip")
        command = [args.cxx, "-std=c++20", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
        if "clang" not in os.path.basename(args.cxx):
            command += ["-Wno-maybe-uninitialized", "-Wno-uninitialized"]  # g++ 12, see README
        command += args.flag + ["-I", args.include, "-I", work, source, "-o", binary]
        subprocess.run(command, check=True)
        return subprocess.run([binary]).returncode


if __name__ == "__main__":
    sys.exit(main())
