#!/usr/bin/python3
"""Write the ONNX fixtures: small PyTorch models exported by torch.onnx.export.

    /usr/bin/python3 tests/data/make_onnx_fixtures.py      (needs python3-torch)

For each case it writes

  onnx/<case>.onnx            the model as torch.onnx.export writes it (opset 14)
  fixtures/onnx_<case>.json   {"case", "model", "input", "output"} as make_fixtures.py's
                              inference fixtures: "model" is the same module exported by
                              codegen/export_torch.py (so an ONNX import must reproduce it
                              exactly), "output" PyTorch's run of "input" (1000 steps)

Seeds come from the case names, so an unchanged script rewrites the same weights and
fixtures; the .onnx bytes also depend on the torch version (1.13.1 made the committed ones).
"""

import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from make_fixtures import STEPS, Chain, _build_model, make_input  # noqa: E402
from make_fixtures import export_model, to_json  # noqa: E402

ONNX_DIR = os.path.join(HERE, "onnx")
FIXTURE_DIR = os.path.join(HERE, "fixtures")

# name: (input layout, factory). "batch_first": (1, T, F) through batch_first=True layers,
# which torch exports with Transposes; "time_major": (T, 1, F); "rows": (T, F), Linear layers
# only, which torch exports as Gemm nodes.
CASES = {
    # Every recurrent op, a two-layer nn.LSTM (two ONNX LSTM nodes), a GRU without bias (no B
    # input), MatMul + Add, and activations both merged into the dense layer and standalone.
    "stack_batch_first": ("batch_first", lambda: [
        nn.LSTM(2, 8, num_layers=2, batch_first=True),
        nn.GRU(8, 6, bias=False, batch_first=True),
        nn.RNN(6, 5, nonlinearity="relu", batch_first=True),
        nn.Linear(5, 3), nn.Tanh(), nn.Softmax(dim=-1)]),
    "lstm_3_10__dense_2": ("time_major", lambda: [nn.LSTM(3, 10), nn.Linear(10, 2)]),
    "gemm_4_8_relu__dense_2_sigmoid": ("rows", lambda: [
        nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2), nn.Sigmoid()]),
}


def make_case(name):
    layout, factory = CASES[name]
    case = "onnx_" + name
    model = _build_model(case, torch.float32, factory)
    model.eval()
    doc = export_model(model)
    features = doc["layers"][0].get("input_size", doc["layers"][0].get("in_features"))
    x = make_input(STEPS, features, torch.float32)
    shaped = {"batch_first": x[None], "time_major": x[:, None], "rows": x}[layout]
    with torch.no_grad():
        y = model(shaped)
    y = {"batch_first": lambda: y[0], "time_major": lambda: y[:, 0], "rows": lambda: y}[layout]()
    steps_axis = {"batch_first": 1, "time_major": 0, "rows": 0}[layout]
    dummy = shaped.narrow(steps_axis, 0, 10)
    path = os.path.join(ONNX_DIR, name + ".onnx")
    torch.onnx.export(model, (dummy,), path, input_names=["x"], output_names=["y"],
                      opset_version=14,
                      dynamic_axes={"x": {steps_axis: "steps"}, "y": {steps_axis: "steps"}})
    fixture = {"case": case, "model": doc, "input": x.tolist(), "output": y.tolist()}
    text = to_json(fixture, doc["dtype"])
    with open(os.path.join(FIXTURE_DIR, case + ".json"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write(text)
    print("%-40s %7d bytes onnx, %7d bytes fixture" % (case, os.path.getsize(path), len(text)))


def main():
    os.makedirs(ONNX_DIR, exist_ok=True)
    for name in CASES:
        make_case(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
