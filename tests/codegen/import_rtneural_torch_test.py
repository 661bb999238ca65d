#!/usr/bin/python3
"""codegen/import_rtneural.py on models with nn.ELU and nn.PReLU (needs python3-torch): PyTorch
modules written in RTNeural's Keras format (tests/data/make_rtneural_fixtures.py's conversion)
and in its PyTorch format (a state_dict, the ELU named by --activation), imported, and the
weight file run by a reference that reads it (rnnx's layer equations in torch, float64) against
PyTorch's run of the original module.

rnnx-codegen and the C++ loader do not read elu and prelu yet, so this is the check that the
importer maps them, and everything around them, right until a compiled test can.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
TOOL = os.path.join(HERE, "..", "..", "codegen", "import_rtneural.py")
sys.path.insert(0, DATA)

from make_fixtures import Chain, make_input  # noqa: E402
from make_rtneural_fixtures import rtneural_layers  # noqa: E402

STEPS = 300
TOLERANCE = 1e-5  # float32 weights and PyTorch's float32 run against a float64 reference

FUNCTIONS = {"identity": lambda v: v, "tanh": torch.tanh, "relu": torch.relu,
             "sigmoid": torch.sigmoid, "softmax": lambda v: torch.softmax(v, -1),
             "elu": nn.functional.elu}


def run_weights(document, x):
    """The rnnx weight file's model on x [steps][features], from the file alone."""
    h = x.to(torch.float64)[None]
    for layer in document["layers"]:
        p = {name: torch.tensor(value, dtype=torch.float64)
             for name, value in layer.get("parameters", {}).items()}
        kind = layer["type"]
        if kind in ("gru", "lstm"):
            cell = (nn.GRU if kind == "gru" else nn.LSTM)(
                layer["input_size"], layer["hidden_size"], batch_first=True).double()
            with torch.no_grad():
                for name, value in p.items():
                    getattr(cell, name + "_l0").copy_(value)
                h = cell(h)[0]
        elif kind == "dense":
            h = FUNCTIONS[layer["activation"]](h @ p["weight"].T + p["bias"])
        elif kind == "activation":
            h = FUNCTIONS[layer["function"]](h)
        elif kind == "prelu":
            # weight [num_parameters]: one per feature, or one for all
            h = torch.where(h >= 0, h, p["weight"] * h)
        else:
            raise AssertionError("layer type %s is not in this reference" % kind)
    return h[0]


def pytorch_model(seed, *layers):
    torch.manual_seed(seed)
    model = Chain(*layers).eval()
    with torch.no_grad():
        for layer in model.children():
            if isinstance(layer, nn.PReLU):
                # Negative and above-one slopes, so a wrong or misplaced alpha shows.
                layer.weight.copy_(torch.linspace(-0.5, 1.5, layer.weight.numel()))
    return model


class ImportRtneuralTorch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def imported(self, content, *args):
        source = os.path.join(self.tmp.name, "model.json")
        out = os.path.join(self.tmp.name, "out.json")
        with open(source, "w") as f:
            json.dump(content, f)
        result = subprocess.run([sys.executable, TOOL, source, "-o", out] + list(args),
                                capture_output=True, text=True)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        with open(out) as f:
            return json.load(f)

    def assert_same_outputs(self, model, document, features):
        x = make_input(STEPS, features, torch.float32)
        with torch.no_grad():
            expected = model(x[None])[0].to(torch.float64)
            worst = (run_weights(document, x) - expected).abs().max().item()
        self.assertLess(worst, TOLERANCE)
        # Outputs well above the tolerance, so the comparison is not vacuous.
        self.assertGreater(expected.abs().max().item(), 100 * TOLERANCE)

    def test_keras_format_elu_and_prelu(self):
        model = pytorch_model(21, nn.Linear(1, 6), nn.ELU(), nn.GRU(6, 5, batch_first=True),
                              nn.PReLU(5), nn.Linear(5, 4), nn.PReLU(1), nn.Linear(4, 3),
                              nn.ELU())
        with torch.no_grad():
            content = {"in_shape": [None, None, 1], "layers": rtneural_layers(model)}
        document = self.imported(content)
        self.assertEqual([(l["type"], l.get("activation"), l.get("num_parameters"))
                          for l in document["layers"]],
                         [("dense", "elu", None), ("gru", None, None), ("prelu", None, 5),
                          ("dense", "identity", None), ("prelu", None, 1),
                          ("dense", "elu", None)])
        self.assert_same_outputs(model, document, 1)

    def test_pytorch_format_elu_after_dense_and_after_lstm(self):
        model = pytorch_model(9, nn.LSTM(2, 6, batch_first=True), nn.ELU(),
                              nn.Linear(6, 3), nn.ELU())
        names = {"0": "lstm", "2": "dense"}
        with torch.no_grad():
            content = {names[k.split(".")[0]] + "." + k.split(".", 1)[1]: v.tolist()
                       for k, v in model.state_dict().items()}
        document = self.imported(content, "--activation", "lstm=elu",
                                 "--activation", "dense=elu")
        self.assertEqual([(l["type"], l.get("activation", l.get("function")))
                          for l in document["layers"]],
                         [("lstm", None), ("activation", "elu"), ("dense", "elu")])
        self.assert_same_outputs(model, document, 2)


if __name__ == "__main__":
    unittest.main()
