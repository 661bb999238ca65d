#!/usr/bin/python3
"""Generate the PyTorch reference fixtures in tests/data/fixtures/.

Each <case>.json holds {"case", "model" (rnnx weights document), "input"
(T x In), "output" (T x Out)}: the model run by PyTorch in eval mode over the
whole input as one batch-1 sequence from a zero initial state. Values are
printed in the model's dtype so that they read back exactly.

Usage: /usr/bin/python3 tests/data/make_fixtures.py [CASE ...]
"""

import argparse
import math
import os
import sys
import zlib

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir, "codegen"))

from export_torch import export_model, to_json  # noqa: E402

FIXTURE_DIR = os.path.join(HERE, "fixtures")
STEPS = 1000

# Default init leaves LSTM/GRU states small (std 0.04-0.1 for the wider
# layers), so the recurrence would barely show in the outputs; doubling the
# weights widens them while staying unsaturated (< 0.1% of |h| > 0.95).
# Vanilla RNNs keep the default: a relu RNN diverges at twice the gain.
GATED_GAIN = 2.0


class Chain(nn.Module):
    """Run the children in order; recurrent modules pass on output[0]."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
            if isinstance(x, tuple):  # (output, state) from LSTM/GRU/RNN
                x = x[0]
        return x


def _lstm(i, h, **kw):
    return nn.LSTM(i, h, batch_first=True, **kw)


def _gru(i, h, **kw):
    return nn.GRU(i, h, batch_first=True, **kw)


def _rnn(i, h, nonlinearity="tanh"):
    return nn.RNN(i, h, nonlinearity=nonlinearity, batch_first=True)


# name -> (dtype, steps, layer factory), default PyTorch init.
CASES = {
    "lstm_1_8__dense_1": (
        torch.float32, STEPS, lambda: [_lstm(1, 8), nn.Linear(8, 1)]),
    "lstm_3_33__dense_2_tanh": (
        torch.float32, STEPS,
        lambda: [_lstm(3, 33), nn.Linear(33, 2), nn.Tanh()]),
    "gru_2_7__dense_3_softmax": (
        torch.float32, STEPS,
        lambda: [_gru(2, 7), nn.Linear(7, 3), nn.Softmax(dim=-1)]),
    "rnn_tanh_4_17__dense_1": (
        torch.float32, STEPS, lambda: [_rnn(4, 17), nn.Linear(17, 1)]),
    "rnn_relu_2_9__dense_1_sigmoid": (
        torch.float32, STEPS,
        lambda: [_rnn(2, 9, "relu"), nn.Linear(9, 1), nn.Sigmoid()]),
    "stack_lstm_gru_dense": (
        torch.float32, STEPS,
        lambda: [_lstm(2, 16), _gru(16, 12), nn.Linear(12, 4), nn.ReLU(),
                 nn.Linear(4, 1)]),
    "lstm2layer_2_5__dense_1": (
        torch.float32, STEPS,
        lambda: [_lstm(2, 5, num_layers=2), nn.Linear(5, 1)]),
    "gru_nobias_1_16__dense_1": (
        torch.float32, STEPS,
        lambda: [_gru(1, 16, bias=False), nn.Linear(16, 1)]),
    "lstm_tanh_act_1_4": (
        torch.float32, STEPS, lambda: [_lstm(1, 4), nn.Tanh()]),
    "dense_5_6_sigmoid__dense_2": (
        torch.float32, STEPS,
        lambda: [nn.Linear(5, 6), nn.Sigmoid(), nn.Linear(6, 2)]),
    "double_lstm_1_20__dense_1": (
        torch.float64, STEPS, lambda: [_lstm(1, 20), nn.Linear(20, 1)]),
    "double_gru_3_11__rnn_tanh_6__dense_2": (
        torch.float64, STEPS,
        lambda: [_gru(3, 11), _rnn(11, 6), nn.Linear(6, 2)]),
    # Fewer steps: the 128-wide weights alone take ~0.9 MB.
    "lstm_1_128__dense_1": (
        torch.float32, 200, lambda: [_lstm(1, 128), nn.Linear(128, 1)]),
}


def make_input(steps, features, dtype):
    """Two sines per feature plus gaussian noise, amplitude ~1."""
    t = torch.arange(steps, dtype=torch.float64)[:, None]
    freq = 0.002 + 0.05 * torch.rand(2, features, dtype=torch.float64)
    phase = 2 * math.pi * torch.rand(2, features, dtype=torch.float64)
    x = (0.6 * torch.sin(2 * math.pi * freq[0] * t + phase[0])
         + 0.3 * torch.sin(2 * math.pi * freq[1] * t + phase[1])
         + 0.25 * torch.randn(steps, features, dtype=torch.float64))
    return x.to(dtype)


def make_case(name):
    """Build, run and serialise one case; return (JSON text, stats)."""
    dtype, steps, factory = CASES[name]
    # A per-case seed from the name keeps cases independent of their order.
    torch.manual_seed(zlib.crc32(name.encode()))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # float64 cases get float64 init
    try:
        model = Chain(*factory())
    finally:
        torch.set_default_dtype(previous)
    with torch.no_grad():
        for layer in model.children():
            if isinstance(layer, (nn.LSTM, nn.GRU)):
                for p in layer.parameters():
                    p.mul_(GATED_GAIN)
    model.eval()
    doc = export_model(model)
    x = make_input(steps, _input_features(doc), dtype)
    with torch.no_grad():
        y = model(x[None])[0]
    fixture = {
        "case": name,
        "model": doc,
        "input": x.tolist(),
        "output": y.tolist(),
    }
    return to_json(fixture, doc["dtype"]), y


def _input_features(doc):
    first = doc["layers"][0]
    return first.get("input_size", first.get("in_features"))


def main(argv=None):
    """Write the requested (default: all) fixtures and report sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help="cases to generate (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error("unknown case(s): %s" % ", ".join(unknown))
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    total = 0
    for name in args.cases or CASES:
        text, y = make_case(name)
        path = os.path.join(FIXTURE_DIR, name + ".json")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        size = len(text.encode())
        total += size
        print("%-40s %9d bytes  (output min %.3g max %.3g std %.3g)"
              % (name, size, y.min(), y.max(), y.std()))
    print("%-40s %9d bytes" % ("total", total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
