#!/usr/bin/python3
"""Write the RTNeural fixtures: PyTorch models saved in RTNeural's two JSON formats.

    /usr/bin/python3 tests/data/make_rtneural_fixtures.py      (needs python3-torch)

writes

  rtneural/<case>.json         the model in RTNeural's Keras format (as its python/model_utils.py
                               writes from Keras: "in_shape", "layers" with "type",
                               "activation", "shape" and Keras-layout "weights"), or for the
                               torch_* cases in its PyTorch format (as its python/gru_torch.py
                               writes: json.dump(model.state_dict()), modules named as there)
  fixtures/rtneural_<case>.json  {"case", "model", "input", "output"} as make_fixtures.py's
                               inference fixtures: "model" is the same module exported by
                               codegen/export_torch.py, "output" PyTorch's run of "input"

A state_dict has no activations: the torch_* cases' activation modules become the
`--activation MODULE=FUNCTION` options that tests/codegen/CMakeLists.txt passes to the import.

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

from make_fixtures import STEPS, _build_model, _prelu, make_input  # noqa: E402
from make_fixtures import export_model, to_json  # noqa: E402

RTNEURAL_DIR = os.path.join(HERE, "rtneural")
FIXTURE_DIR = os.path.join(HERE, "fixtures")

CASES = {
    "dense_tanh_gru_lstm_dense_relu_dense_softmax": lambda: [
        nn.Linear(1, 8), nn.Tanh(), nn.GRU(8, 8, batch_first=True),
        nn.LSTM(8, 6, batch_first=True), nn.Linear(6, 4), nn.ReLU(),
        nn.Linear(4, 3), nn.Softmax(dim=-1)],
    # RTNeural's elu and prelu (a slope per feature, and one spread over the layer).
    "dense_elu_gru_prelu_dense_prelu_dense_elu": lambda: [
        nn.Linear(1, 6), nn.ELU(), nn.GRU(6, 5, batch_first=True), _prelu(5),
        nn.Linear(5, 4), _prelu(1), nn.Linear(4, 3), nn.ELU()],
}

# PyTorch-format cases: (state_dict module name or None for an activation, module, ...) in
# order. The first is RTNeural's gru_torch.py model with a shorter stack.
TORCH_CASES = {
    "torch_gru_gru2_dense": lambda: [
        ("gru", nn.GRU(1, 8, batch_first=True)),
        ("gru2", nn.GRU(8, 8, num_layers=2, batch_first=True)),
        ("dense", nn.Linear(8, 1))],
    "torch_lstm_dense_tanh": lambda: [
        ("lstm", nn.LSTM(2, 8, batch_first=True)), ("dense", nn.Linear(8, 3)),
        (None, nn.Tanh())],
    "torch_no_bias_gru_relu_lstm_dense_softmax": lambda: [
        ("gru", nn.GRU(1, 6, bias=False, batch_first=True)), (None, nn.ReLU()),
        ("lstm", nn.LSTM(6, 4, num_layers=2, bias=False, batch_first=True)),
        ("dense", nn.Linear(4, 2, bias=False)), (None, nn.Softmax(dim=-1))],
}
TORCH_INPUTS = {"torch_lstm_dense_tanh": 2}

ACTIVATIONS = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Softmax: "softmax",
               nn.ELU: "elu"}


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
        elif isinstance(layer, nn.PReLU):
            # Keras' PReLU(shared_axes=[1]): alpha [1][N], or [1][1] with shared_axes=[1, 2]
            entry = {"type": "prelu", "activation": "", "weights": [[layer.weight.tolist()]]}
        else:
            entry = {"type": "activation", "activation": ACTIVATIONS[type(layer)],
                     "weights": []}
        entry["shape"] = [None, None, size] if shape is None else shape
        layers.append(entry)
    return layers


def torch_state_dict(model, names):
    """RTNeural's PyTorch format: the state_dict with the modules named as in its examples
    (the Chain names them 0, 1, ...)."""
    return {names[int(key.split(".", 1)[0])] + "." + key.split(".", 1)[1]: value.tolist()
            for key, value in model.state_dict().items()}


def activation_options(named_layers):
    """The import's --activation options: each activation module applies to the module before."""
    return ["--activation=%s=%s" % (named_layers[i - 1][0], ACTIVATIONS[type(module)])
            for i, (name, module) in enumerate(named_layers) if name is None]


def write_rtneural_file(name, content, indent):
    with open(os.path.join(RTNEURAL_DIR, name + ".json"), "w", encoding="utf-8",
              newline="\n") as f:
        json.dump(content, f, indent=indent)
        f.write("\n")


def make_case(name):
    case = "rtneural_" + name
    if name in TORCH_CASES:
        named_layers = []

        def factory():  # modules made under the case's seed, whatever ran before
            named_layers[:] = TORCH_CASES[name]()
            return [module for _, module in named_layers]
        model = _build_model(case, torch.float32, factory)
        features = TORCH_INPUTS.get(name, 1)
    else:
        model = _build_model(case, torch.float32, CASES[name])
        features = 1
    model.eval()
    with torch.no_grad():
        if name in TORCH_CASES:
            # One line, as json.dump writes it in RTNeural's gru_torch.py.
            write_rtneural_file(name, torch_state_dict(
                model, [n for n, _ in named_layers]), None)
            print("%-60s import options: %s" % (name, " ".join(
                activation_options(named_layers)) or "none"))
        else:
            write_rtneural_file(name, {"in_shape": [None, None, 1],
                                       "layers": rtneural_layers(model)}, 4)
    doc = export_model(model)
    x = make_input(STEPS, features, torch.float32)
    with torch.no_grad():
        y = model(x[None])[0]
    text = to_json({"case": case, "model": doc, "input": x.tolist(), "output": y.tolist()},
                   doc["dtype"])
    with open(os.path.join(FIXTURE_DIR, case + ".json"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write(text)
    print("%-60s %7d bytes fixture" % (case, len(text)))


def main():
    os.makedirs(RTNEURAL_DIR, exist_ok=True)
    for name in list(CASES) + list(TORCH_CASES):
        make_case(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
