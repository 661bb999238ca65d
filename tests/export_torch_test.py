#!/usr/bin/python3
"""codegen/export_torch.py: layer mapping, exact numbers, and its error messages.

Run by CTest when Debian's python3-torch is installed (/usr/bin/python3).
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
sys.path.insert(0, os.path.join(HERE, "..", "codegen"))
import export_torch  # noqa: E402


class Stack(nn.Module):
    """A chain given by registration order, as users write non-Sequential models."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 6, num_layers=2, batch_first=True)
        self.head = nn.Linear(6, 2)
        self.act = nn.Softmax(dim=-1)


class ExportTest(unittest.TestCase):
    def test_layers_names_shapes_and_exact_values(self):
        torch.manual_seed(0)
        model = nn.Sequential(nn.LSTM(2, 5), nn.Tanh(), nn.Linear(5, 3), nn.Sigmoid())
        doc = export_torch.export_model(model)
        self.assertEqual(doc["format"], "rnnx.weights")
        self.assertEqual(doc["dtype"], "float32")
        types = [layer["type"] for layer in doc["layers"]]
        self.assertEqual(types, ["lstm", "activation", "dense"])
        self.assertEqual(doc["layers"][2]["activation"], "sigmoid")
        lstm = doc["layers"][0]
        self.assertEqual(len(lstm["parameters"]["weight_ih"]), 20)
        self.assertEqual(len(lstm["parameters"]["weight_ih"][0]), 2)
        # The text must read back to the very same float32 values.
        text = export_torch.dumps(doc)
        back = json.loads(text)
        w = torch.tensor(back["layers"][0]["parameters"]["weight_hh"], dtype=torch.float32)
        self.assertTrue(torch.equal(w, model[0].weight_hh_l0.detach()))
        self.assertEqual(text, export_torch.dumps(export_torch.export_model(model)))

    def test_multi_layer_and_registration_order(self):
        doc = export_torch.export_model(Stack())
        self.assertEqual([l["type"] for l in doc["layers"]], ["gru", "gru", "dense"])
        self.assertEqual(doc["layers"][1]["input_size"], 6)
        self.assertEqual(doc["layers"][2]["activation"], "softmax")

    def test_bias_false_exports_zeros(self):
        doc = export_torch.export_model(nn.Sequential(nn.RNN(1, 4, bias=False, nonlinearity="relu")))
        layer = doc["layers"][0]
        self.assertEqual(layer["nonlinearity"], "relu")
        self.assertEqual(layer["parameters"]["bias_hh"], [0.0] * 4)

    def test_errors_name_the_module(self):
        cases = [
            (nn.Sequential(nn.LSTM(1, 4), nn.Conv1d(4, 4, 1)), "nn.Conv1d"),
            (nn.Sequential(nn.LSTM(1, 4, bidirectional=True)), "bidirectional"),
            (nn.Sequential(nn.LSTM(1, 4), nn.GRU(3, 2)), "expects 3"),
            (nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)), "Softmax"),
        ]
        for model, part in cases:
            with self.assertRaises(export_torch.ExportError) as ctx:
                export_torch.export_model(model)
            self.assertIn(part, str(ctx.exception))

    def test_command_line_round_trip(self):
        model = nn.Sequential(nn.GRU(1, 3), nn.Linear(3, 1))
        with tempfile.TemporaryDirectory() as tmp:
            pt, out = os.path.join(tmp, "m.pt"), os.path.join(tmp, "m.json")
            torch.save(model, pt)
            script = os.path.join(HERE, "..", "codegen", "export_torch.py")
            subprocess.run([sys.executable, script, pt, "-o", out], check=True)
            with open(out) as f:
                doc = json.load(f)
            self.assertEqual([l["type"] for l in doc["layers"]], ["gru", "dense"])
            bad = subprocess.run([sys.executable, script, os.path.join(tmp, "none.pt"), "-o", out],
                                 capture_output=True, text=True)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("error", bad.stderr)


if __name__ == "__main__":
    unittest.main()
