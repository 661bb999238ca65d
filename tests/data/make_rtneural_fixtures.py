#!/usr/bin/python3
"""Write the RTNeural fixture: a PyTorch model saved in RTNeural's JSON format.

    /usr/bin/python3 tests/data/make_rtneural_fixtures.py      (needs python3-torch)

writes

  rtneural/<case>.json         the model in RTNeural's format (as its python/model_utils.py
                               writes from Keras: "in_shape", "layers" with "type",
                               "activation", "shape" and Keras-layout "weights")
  fixtures/rtneural_<case>.json  {"case", "model", "input", "output"} as make_fixtures.py's
                               inference fixtures: "model" is the same module exported by
                               codegen/export_torch.py, "output" PyTorch's run of "input"

The conversion to Keras' layout is the inverse of codegen/import_rtneural.py's: kernels
transposed to [in][out] / [in][G*H], GRU gates r, z, n reordered to z, r, h, GRU biases as
[input, recurrent]; the LSTM gets bias_hh = 0 because Keras' LSTM has one bias. That the
importer reads real RTNeural files right was checked against RTNeural's models/gru.json and
TensorFlow's outputs for it (test_data/gru_y_python.csv): 4.5e-8 over 40 steps.
"""

import json
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from make_fixtures import STEPS, _build_model, make_input  # noqa: E402
from make_fixtures import export_model, to_json  # noqa: E402

RTNEURAL_DIR = os.path.join(HERE, "rtneural")
FIXTURE_DIR = os.path.join(HERE, "fixtures")

CASES = {
    "dense_tanh_gru_lstm_dense_relu_dense_softmax": lambda: [
        nn.Linear(1, 8), nn.Tanh(), nn.GRU(8, 8, batch_first=True),
        nn.LSTM(8, 6, batch_first=True), nn.Linear(6, 4), nn.ReLU(),
        nn.Linear(4, 3), nn.Softmax(dim=-1)],
}

ACTIVATIONS = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Softmax: "softmax"}


def keras_gates(rows, hidden, order):
    """PyTorch rows [G*H][...] -> Keras columns [...][G*H] with gate blocks in `order`."""
    blocks = [rows[g * hidden:(g + 1) * hidden] for g in range(len(order))]
    return torch.cat([blocks[g] for g in order], dim=0).T


def rtneural_layers(model):
    layers, size = [], None
    for layer in model.children():
        shape = None
        if isinstance(layer, nn.Linear):
            entry = {"type": "dense", "activation": "",
                     "weights": [layer.weight.T.tolist(), layer.bias.tolist()]}
            size = layer.out_features
        elif isinstance(layer, nn.GRU):
            h = layer.hidden_size
            z_r_h = (1, 0, 2)  # PyTorch r, z, n -> Keras z, r, h
            entry = {"type": "gru", "activation": "tanh", "weights": [
                keras_gates(layer.weight_ih_l0, h, z_r_h).tolist(),
                keras_gates(layer.weight_hh_l0, h, z_r_h).tolist(),
                [keras_gates(layer.bias_ih_l0[:, None], h, z_r_h)[0].tolist(),
                 keras_gates(layer.bias_hh_l0[:, None], h, z_r_h)[0].tolist()]]}
            size = h
        elif isinstance(layer, nn.LSTM):
            h = layer.hidden_size
            with torch.no_grad():
                layer.bias_hh_l0.zero_()  # Keras' LSTM has a single bias
            i_f_g_o = (0, 1, 2, 3)
            entry = {"type": "lstm", "activation": "tanh", "weights": [
                keras_gates(layer.weight_ih_l0, h, i_f_g_o).tolist(),
                keras_gates(layer.weight_hh_l0, h, i_f_g_o).tolist(),
                layer.bias_ih_l0.tolist()]}
            size = h
        else:
            entry = {"type": "activation", "activation": ACTIVATIONS[type(layer)],
                     "weights": []}
        entry["shape"] = [None, None, size] if shape is None else shape
        layers.append(entry)
    return layers


def make_case(name):
    case = "rtneural_" + name
    model = _build_model(case, torch.float32, CASES[name])
    model.eval()
    with torch.no_grad():
        rtneural = {"in_shape": [None, None, 1], "layers": rtneural_layers(model)}
    doc = export_model(model)
    x = make_input(STEPS, 1, torch.float32)
    with torch.no_grad():
        y = model(x[None])[0]
    with open(os.path.join(RTNEURAL_DIR, name + ".json"), "w", encoding="utf-8",
              newline="\n") as f:
        json.dump(rtneural, f, indent=4)
        f.write("\n")
    text = to_json({"case": case, "model": doc, "input": x.tolist(), "output": y.tolist()},
                   doc["dtype"])
    with open(os.path.join(FIXTURE_DIR, case + ".json"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write(text)
    print("%-60s %7d bytes fixture" % (case, len(text)))


def main():
    os.makedirs(RTNEURAL_DIR, exist_ok=True)
    for name in CASES:
        make_case(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
