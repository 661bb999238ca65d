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
import warnings

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


# Models with a forward, for torch.jit.script and torch.jit.trace. Each takes
# (batch, time, features) when its first recurrent layer is batch_first,
# (time, batch, features) otherwise.

class Chain(nn.Module):
    """A custom chain: two-layer bias-free GRU, bias-free Linear, activations."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 6, num_layers=2, batch_first=True, bias=False)
        self.fc = nn.Linear(6, 4, bias=False)
        self.relu = nn.ReLU()
        self.out = nn.Linear(4, 2)
        self.act = nn.Softmax(dim=-1)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.act(self.out(self.relu(self.fc(y))))


class DeepLstm(nn.Module):
    """Three stacked LSTM layers (dropout between them), then a Linear."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 5, num_layers=3, batch_first=True, dropout=0.25)
        self.head = nn.Linear(5, 1)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y)


class Rnns(nn.Module):
    """nn.RNN relu and bias-free tanh, every activation, Softmax(dim=2)."""

    def __init__(self):
        super().__init__()
        self.relu_rnn = nn.RNN(3, 4, nonlinearity="relu")
        self.tanh_rnn = nn.RNN(4, 4, bias=False)
        self.tanh = nn.Tanh()
        self.sigmoid = nn.Sigmoid()
        self.identity = nn.Identity()
        self.fc = nn.Linear(4, 3)
        self.softmax = nn.Softmax(dim=2)

    def forward(self, x):
        y, _ = self.relu_rnn(x)
        y, _ = self.tanh_rnn(y)
        y = self.identity(self.sigmoid(self.tanh(y)))
        return self.softmax(self.fc(y))


class Nested(nn.Module):
    """A leading activation and nested nn.Sequential (flattened)."""

    def __init__(self):
        super().__init__()
        self.squash = nn.Tanh()
        self.encode = nn.Sequential(nn.Linear(3, 5), nn.Tanh())
        self.rnn = nn.GRU(5, 4)
        self.head = nn.Sequential(nn.Linear(4, 2), nn.Sigmoid())

    def forward(self, x):
        y, _ = self.rnn(self.encode(self.squash(x)))
        return self.head(y)


class Block(nn.Module):
    """A user module that is not a layer rnnx knows."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x) + x


class WithDropoutAndBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 4)
        self.drop = nn.Dropout(0.1)
        self.block = Block()

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.block(self.drop(y))


class WithBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 4)
        self.block = Block()

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.block(y)


class Bidirectional(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 4, bidirectional=True)

    def forward(self, x):
        y, _ = self.lstm(x)
        return y


class SoftmaxOverTime(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.act = nn.Softmax(dim=1)

    def forward(self, x):
        return self.act(self.fc(x))


class UnusedRnn(nn.Module):
    """Its RNN is never called, so a trace records nothing about it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.rnn = nn.RNN(2, 2, nonlinearity="relu")

    def forward(self, x):
        return self.fc(x)


def _example(model):
    """An input for tracing: 2 sequences of 3 steps of the model's features."""
    first = next(m for m in model.modules() if isinstance(m, (nn.RNNBase, nn.Linear)))
    features = first.input_size if isinstance(first, nn.RNNBase) else first.in_features
    return torch.randn(2, 3, features, dtype=next(model.parameters()).dtype)


def _torchscript_files(model, tmp):
    """torch.jit.save of the scripted and of the traced model: {how: path}."""
    model.eval()  # no dropout while tracing
    paths = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings
        for how, make in (("scripted", lambda: torch.jit.script(model)),
                          ("traced", lambda: torch.jit.trace(model, _example(model)))):
            paths[how] = os.path.join(tmp, "%s_%s.pt" % (type(model).__name__, how))
            torch.jit.save(make(), paths[how])
    return paths


def _export_quietly(module):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        doc = export_torch.export_model(module)
    return doc, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


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



class TorchScriptTest(unittest.TestCase):
    """TorchScript files (torch.jit.save) give exactly the eager module's document."""

    def assert_same_as_eager(self, model):
        eager, eager_warnings = _export_quietly(model)
        with tempfile.TemporaryDirectory() as tmp:
            for how, path in _torchscript_files(model, tmp).items():
                with self.subTest(model=type(model).__name__, how=how):
                    self.assertTrue(export_torch.is_torchscript(path))
                    loaded = export_torch.load_module(path)
                    self.assertIsInstance(loaded, torch.jit.ScriptModule)
                    doc, doc_warnings = _export_quietly(loaded)
                    self.assertEqual(doc, eager)
                    self.assertEqual(export_torch.dumps(doc), export_torch.dumps(eager))
                    self.assertEqual(doc_warnings, eager_warnings)
        return eager

    def test_sequential(self):
        torch.manual_seed(1)
        doc = self.assert_same_as_eager(nn.Sequential(
            nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 4, bias=False), nn.Softmax(dim=-1)))
        self.assertEqual([l["activation"] for l in doc["layers"]], ["relu", "softmax"])

    def test_custom_chain_bias_free_gru(self):
        torch.manual_seed(2)
        doc = self.assert_same_as_eager(Chain())
        self.assertEqual([l["type"] for l in doc["layers"]], ["gru", "gru", "dense", "dense"])
        self.assertEqual(doc["layers"][1]["parameters"]["bias_ih"], [0.0] * 18)
        self.assertEqual(doc["layers"][3]["activation"], "softmax")

    def test_multi_layer_lstm_with_dropout(self):
        torch.manual_seed(3)
        doc = self.assert_same_as_eager(DeepLstm())
        self.assertEqual([l["type"] for l in doc["layers"]], ["lstm"] * 3 + ["dense"])

    def test_rnn_relu_tanh_and_activations(self):
        torch.manual_seed(4)
        doc = self.assert_same_as_eager(Rnns())
        self.assertEqual([(l["type"], l.get("nonlinearity", l.get("function")))
                          for l in doc["layers"]],
                         [("rnn", "relu"), ("rnn", "tanh"), ("activation", "tanh"),
                          ("activation", "sigmoid"), ("activation", "identity"),
                          ("dense", None)])

    def test_nested_sequential_and_leading_activation(self):
        torch.manual_seed(5)
        doc = self.assert_same_as_eager(Nested())
        self.assertEqual(doc["layers"][0], {"type": "activation", "size": 3, "function": "tanh"})

    def test_float64(self):
        torch.manual_seed(6)
        self.assertEqual(self.assert_same_as_eager(Chain().double())["dtype"], "float64")

    def test_single_layer_module(self):
        torch.manual_seed(7)
        doc = self.assert_same_as_eager(nn.LSTM(2, 3, num_layers=2))
        self.assertEqual([l["input_size"] for l in doc["layers"]], [2, 3])

    def test_errors_name_the_first_unsupported_submodule(self):
        cases = [
            (WithDropoutAndBlock(), "unsupported module 'drop' (nn.Dropout)"),
            (WithBlock(), "unsupported module 'block' (Block)"),
            (Bidirectional(), "'lstm' (nn.LSTM): bidirectional=True is not supported"),
            (SoftmaxOverTime(), "'act' (nn.Softmax): only Softmax over the feature axis"),
        ]
        with tempfile.TemporaryDirectory() as tmp:
            for model, message in cases:
                with self.assertRaises(export_torch.ExportError) as ctx:
                    export_torch.export_model(model)
                eager_message = str(ctx.exception)
                self.assertIn(message, eager_message)
                for how, path in _torchscript_files(model, tmp).items():
                    with self.subTest(model=type(model).__name__, how=how):
                        with self.assertRaises(export_torch.ExportError) as ctx:
                            export_torch.export_model(export_torch.load_module(path))
                        self.assertEqual(str(ctx.exception), eager_message)

    def test_untraced_rnn_has_no_known_nonlinearity(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = _torchscript_files(UnusedRnn(), tmp)
            export_torch.export_model(export_torch.load_module(paths["scripted"]))
            with self.assertRaises(export_torch.ExportError) as ctx:
                export_torch.export_model(export_torch.load_module(paths["traced"]))
            self.assertIn("'rnn' (nn.RNN)", str(ctx.exception))
            self.assertIn("nonlinearity", str(ctx.exception))

    def test_command_line_gives_the_same_file(self):
        torch.manual_seed(8)
        model = DeepLstm()
        script = os.path.join(HERE, "..", "codegen", "export_torch.py")
        with tempfile.TemporaryDirectory() as tmp:
            paths = _torchscript_files(model, tmp)
            pickled = os.path.join(tmp, "pickled.pt")
            torch.save(model, pickled)
            self.assertFalse(export_torch.is_torchscript(pickled))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # dropout is ignored
                eager_text = export_torch.dumps(export_torch.export_model(model)).encode()
            for how, path in paths.items():
                out = os.path.join(tmp, how + ".json")
                run = subprocess.run([sys.executable, script, path, "-o", out], check=True,
                                     capture_output=True, text=True)
                self.assertIn("dropout=0.25 is ignored", run.stderr)
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), eager_text, how)
            garbage = os.path.join(tmp, "garbage.pt")
            with open(garbage, "wb") as f:
                f.write(b"not a model")
            bad = subprocess.run([sys.executable, script, garbage, "-o", os.path.join(tmp, "g.json")],
                                 capture_output=True, text=True)
            self.assertEqual(bad.returncode, 1)
            self.assertRegex(bad.stderr, r"^export_torch: error: cannot read .*garbage\.pt")
            self.assertEqual(len(bad.stderr.splitlines()), 1)
            self.assertFalse(os.path.exists(os.path.join(tmp, "g.json")))


if __name__ == "__main__":
    unittest.main()
