#!/usr/bin/python3
"""codegen/export_torch.py: layer mapping, exact numbers, and its error messages.

Run by CTest when Debian's python3-torch is installed (/usr/bin/python3).
"""

import copy
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


class Tokens(nn.Module):
    """Embedding (with padding_idx), a two-layer LSTM with dropout between its
    layers, LayerNorm, Dropout, bias-free LayerNorm-like (no affine), Linear."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(11, 6, padding_idx=0)
        self.lstm = nn.LSTM(6, 5, num_layers=2, batch_first=True, dropout=0.2)
        self.norm = nn.LayerNorm(5)
        self.drop = nn.Dropout(0.125)
        self.plain_norm = nn.LayerNorm(5, elementwise_affine=False)
        self.head = nn.Linear(5, 11)
        self.act = nn.Softmax(dim=-1)

    def forward(self, ids):
        y, _ = self.lstm(self.embed(ids))
        return self.act(self.head(self.plain_norm(self.drop(self.norm(y)))))


class EmbeddingMaxNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 3, max_norm=1.5)
        self.fc = nn.Linear(3, 1)

    def forward(self, ids):
        return self.fc(self.embed(ids))


class NormEps(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.norm = nn.LayerNorm(3, eps=1e-6)

    def forward(self, x):
        return self.norm(self.fc(x))


class NormTwoAxes(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.norm = nn.LayerNorm((3, 3))  # over time and features: the example is 2 x 3 x 3

    def forward(self, x):
        return self.norm(self.fc(x))


class OddDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.drop = nn.Dropout(0.1234567891)

    def forward(self, x):
        return self.drop(self.fc(x))


class UnusedNormAndDropout(nn.Module):
    """Its LayerNorm and Dropout are never called: a trace records nothing."""

    def __init__(self, which):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.extra = nn.LayerNorm(2) if which == "norm" else nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(x)


class UnusedEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(4, 2)

    def forward(self, x):
        return x


class WithBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 4)
        self.block = Block()

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.block(y)


class Bidirectional(nn.Module):
    """Each recurrent kind with bidirectional=True: a two-layer LSTM with dropout between,
    a relu RNN, a bias-free GRU, then a Linear on both directions' outputs."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 4, num_layers=2, bidirectional=True, dropout=0.5)
        self.rnn = nn.RNN(8, 3, nonlinearity="relu", bidirectional=True)
        self.gru = nn.GRU(6, 2, bidirectional=True, bias=False)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        y, _ = self.lstm(x)
        y, _ = self.rnn(y)
        y, _ = self.gru(y)
        return self.head(y)


class Projection(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 4, proj_size=2)

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


class Lists(nn.Module):
    """Layers in an nn.ModuleList and an nn.ModuleDict, run by loops."""

    def __init__(self):
        super().__init__()
        self.rnns = nn.ModuleList([nn.GRU(2, 5, batch_first=True),
                                   nn.GRU(5, 4, batch_first=True)])
        self.heads = nn.ModuleDict({"fc": nn.Linear(4, 3), "act": nn.Tanh()})

    def forward(self, x):
        for rnn in self.rnns:
            x, _ = rnn(x)
        for head in self.heads.values():
            x = head(x)
        return x


class Residual(nn.Module):
    """Not a chain: the LSTM's output is added to its input."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 3, batch_first=True)
        self.fc = nn.Linear(3, 1)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y + x)


def _example(model):
    """An input for tracing: 2 sequences of 3 steps of the model's features
    (of token ids for a model with an embedding)."""
    embedding = next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)
    if embedding is not None:
        return torch.randint(0, embedding.num_embeddings, (2, 3))
    first = next(m for m in model.modules() if isinstance(m, (nn.RNNBase, nn.Linear)))
    features = first.input_size if isinstance(first, nn.RNNBase) else first.in_features
    if isinstance(model, UnusedEmbedding):
        return torch.randn(2, 3, 2)
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

    def test_own_cells_export_through_rnnx_layer(self):
        sys.path.insert(0, os.path.join(HERE, "data"))
        from reference_cells import MGU, IndRNN

        torch.manual_seed(3)
        model = nn.Sequential(MGU(2, 6), IndRNN(6, 4), nn.Linear(4, 1))
        doc = export_torch.export_model(model)
        self.assertEqual([l["type"] for l in doc["layers"]], ["mgu", "indrnn", "dense"])
        mgu = doc["layers"][0]
        self.assertEqual((mgu["input_size"], mgu["hidden_size"]), (2, 6))
        w = torch.tensor(mgu["parameters"]["weight_hh"], dtype=torch.float32)
        self.assertTrue(torch.equal(w, model[0].weight_hh.detach()))
        self.assertEqual(len(doc["layers"][1]["parameters"]["weight_hh"]), 4)  # a vector
        # Sizes are checked between own and built-in layers alike.
        with self.assertRaises(export_torch.ExportError) as ctx:
            export_torch.export_model(nn.Sequential(MGU(2, 6), nn.Linear(5, 1)))
        self.assertIn("outputs 6 values", str(ctx.exception))

        class Incomplete(nn.Module):
            def rnnx_layer(self):
                return {"type": "mine", "input_size": 1, "parameters": {}}

        with self.assertRaises(export_torch.ExportError) as ctx:
            export_torch.export_model(nn.Sequential(Incomplete()))
        self.assertIn("rnnx_layer() gave no 'hidden_size'", str(ctx.exception))

    def test_bias_false_exports_zeros(self):
        doc = export_torch.export_model(nn.Sequential(nn.RNN(1, 4, bias=False, nonlinearity="relu")))
        layer = doc["layers"][0]
        self.assertEqual(layer["nonlinearity"], "relu")
        self.assertEqual(layer["parameters"]["bias_hh"], [0.0] * 4)

    def test_errors_name_the_module(self):
        cases = [
            (nn.Sequential(nn.LSTM(1, 4), nn.Conv1d(4, 4, 1)), "nn.Conv1d"),
            (nn.Sequential(nn.LSTM(1, 4, proj_size=2)), "proj_size>0 is not supported"),
            (nn.Sequential(nn.LSTM(1, 4), nn.GRU(3, 2)), "expects 3"),
            (nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)), "Softmax"),
        ]
        for model, part in cases:
            with self.assertRaises(export_torch.ExportError) as ctx:
                export_torch.export_model(model)
            self.assertIn(part, str(ctx.exception))

    def test_bidirectional(self):
        torch.manual_seed(12)
        model = Bidirectional()
        doc = export_torch.export_model(model)
        self.assertEqual([(l["type"], l.get("cell"), l.get("input_size"), l.get("size"))
                          for l in doc["layers"]],
                         [("bidirectional", "lstm", 2, None), ("dropout", None, None, 8),
                          ("bidirectional", "lstm", 8, None), ("bidirectional", "rnn", 8, None),
                          ("bidirectional", "gru", 6, None), ("dense", None, None, None)])
        first, between, second, rnn, gru, head = doc["layers"]
        # The fields rnnx::save_weights writes: "cell", then the cell's own.
        self.assertEqual(list(first), ["type", "cell", "input_size", "hidden_size",
                                       "parameters"])
        self.assertEqual(list(rnn), ["type", "cell", "input_size", "hidden_size",
                                     "nonlinearity", "parameters"])
        self.assertEqual(rnn["nonlinearity"], "relu")
        self.assertEqual(between, {"type": "dropout", "size": 8, "p": "1/2"})
        self.assertEqual(list(second["parameters"]),
                         ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ih_reverse",
                          "weight_hh_reverse", "bias_ih_reverse", "bias_hh_reverse"])
        # PyTorch's weight_hh_l1_reverse is the second layer's weight_hh_reverse, exactly.
        for layer, k in ((first, 0), (second, 1)):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                for suffix in ("", "_reverse"):
                    self.assertTrue(torch.equal(
                        torch.tensor(layer["parameters"][name + suffix]),
                        getattr(model.lstm, "%s_l%d%s" % (name, k, suffix)).detach()),
                        (k, name, suffix))
        self.assertEqual(len(second["parameters"]["weight_ih_reverse"][0]), 8)
        # bias=False: zero biases for both directions.
        self.assertEqual(gru["parameters"]["bias_hh_reverse"], [0.0] * 6)
        self.assertEqual(head["in_features"], 4)
        # Sizes chain through 2 * hidden_size.
        with self.assertRaises(export_torch.ExportError) as ctx:
            export_torch.export_model(nn.Sequential(nn.GRU(2, 3, bidirectional=True),
                                                    nn.Linear(3, 1)))
        self.assertIn("size mismatch: '0' (nn.GRU) outputs 6 values but the next layer '1' "
                      "(nn.Linear) expects 3", str(ctx.exception))

    def test_embedding_layer_norm_dropout(self):
        torch.manual_seed(9)
        model = Tokens()
        doc = export_torch.export_model(model)
        self.assertEqual([l["type"] for l in doc["layers"]],
                         ["embedding", "lstm", "dropout", "lstm", "layer_norm", "dropout",
                          "layer_norm", "dense"])
        embed, _, between, _, norm, drop, plain, head = doc["layers"]
        self.assertEqual({k: v for k, v in embed.items() if k != "parameters"},
                         {"type": "embedding", "num_embeddings": 11, "embedding_dim": 6})
        # padding_idx: its (zero) row is exported like any other.
        w = torch.tensor(embed["parameters"]["weight"], dtype=torch.float32)
        self.assertTrue(torch.equal(w, model.embed.weight.detach()))
        self.assertEqual(w[0].tolist(), [0.0] * 6)
        self.assertEqual(between, {"type": "dropout", "size": 5, "p": "1/5"})
        self.assertEqual(drop, {"type": "dropout", "size": 5, "p": "1/8"})
        self.assertEqual(norm["normalized_shape"], 5)
        self.assertTrue(torch.equal(torch.tensor(norm["parameters"]["bias"]),
                                    model.norm.bias.detach()))
        self.assertEqual(plain["parameters"], {"weight": [1.0] * 5, "bias": [0.0] * 5})
        self.assertEqual(head["activation"], "softmax")
        # The document's text reads back as JSON, deterministically.
        text = export_torch.dumps(doc)
        self.assertEqual(json.loads(text)["layers"][2], between)
        self.assertEqual(text, export_torch.dumps(export_torch.export_model(model)))

    def test_recurrent_dropout_between_layers_only(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: dropout with num_layers=1
            doc, caught = _export_quietly(nn.GRU(2, 3, num_layers=1, dropout=0.5))
        self.assertEqual([l["type"] for l in doc["layers"]], ["gru"])
        doc, caught = _export_quietly(nn.RNN(2, 3, num_layers=3, dropout=1 / 3))
        self.assertEqual([(l["type"], l.get("p")) for l in doc["layers"]],
                         [("rnn", None), ("dropout", "1/3"), ("rnn", None), ("dropout", "1/3"),
                          ("rnn", None)])
        self.assertEqual(caught, [])  # no longer "ignored"
        doc, _ = _export_quietly(nn.LSTM(2, 3, num_layers=2, dropout=0.0))
        self.assertEqual([l["type"] for l in doc["layers"]], ["lstm", "lstm"])

    def test_dropout_fractions(self):
        for p, text in ((0.0, "0/1"), (0.5, "1/2"), (0.1, "1/10"), (0.3, "3/10"),
                        (1 / 3, "1/3"), (0.999999, "999999/1000000"), (2 / 7, "2/7")):
            doc = export_torch.export_model(nn.Sequential(nn.Linear(2, 4), nn.Dropout(p)))
            self.assertEqual(doc["layers"][1], {"type": "dropout", "size": 4, "p": text}, p)

    def test_leading_dropout_and_activation_take_the_next_size(self):
        doc = export_torch.export_model(nn.Sequential(
            nn.Dropout(0.5), nn.Tanh(), nn.Dropout(0.25), nn.Linear(3, 2), nn.Dropout(0.5),
            nn.ReLU()))
        self.assertEqual([(l["type"], l.get("size")) for l in doc["layers"]],
                         [("dropout", 3), ("activation", 3), ("dropout", 3), ("dense", None),
                          ("dropout", 2), ("activation", 2)])
        # Dropout between Linear and its activation keeps them apart.
        self.assertEqual(doc["layers"][3]["activation"], "identity")
        self.assertEqual(doc["layers"][5]["function"], "relu")

    def test_single_new_layer_modules(self):
        doc = export_torch.export_model(nn.Embedding(4, 2))
        self.assertEqual(doc["layers"][0]["type"], "embedding")
        doc = export_torch.export_model(nn.LayerNorm(3).double())
        self.assertEqual((doc["dtype"], doc["layers"][0]["type"]), ("float64", "layer_norm"))

    def test_new_layer_errors(self):
        cases = [
            (nn.Sequential(nn.Embedding(5, 3, max_norm=2.0), nn.Linear(3, 1)),
             "'0' (nn.Embedding): max_norm=2 is not supported"),
            (nn.Sequential(nn.Linear(3, 1), nn.Embedding(5, 3)),
             "'1' (nn.Embedding) must be the first layer: it takes token ids, and '0' "
             "(nn.Linear) outputs values"),
            (nn.Sequential(nn.Tanh(), nn.Embedding(5, 3)),
             "'1' (nn.Embedding) must be the first layer"),
            (nn.Sequential(nn.Embedding(5, 3), nn.LSTM(4, 2)),
             "size mismatch: '0' (nn.Embedding) outputs 3 values but the next layer '1' "
             "(nn.LSTM) expects 4"),
            (nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3, eps=1e-6)),
             "'1' (nn.LayerNorm): eps=1e-06 is not supported; rnnx::layer_norm uses eps=1e-05"),
            (nn.Sequential(nn.Linear(2, 3), nn.LayerNorm((4, 3))),
             "'1' (nn.LayerNorm): normalized_shape=[4, 3] is not supported"),
            (nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(4)),
             "'0' (nn.Linear) outputs 3 values but the next layer '1' (nn.LayerNorm) expects 4"),
            (nn.Sequential(nn.Linear(2, 3), nn.Dropout(1.0)),
             "'1' (nn.Dropout): p=1.0 is not supported: rnnx::dropout takes a probability in "
             "[0, 1)"),
            (nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.1234567891)),
             "'1' (nn.Dropout): p=0.1234567891 is not a fraction a/b with b <= 1000000"),
            (nn.LSTM(2, 3, num_layers=2, dropout=1.0),
             "'model' (nn.LSTM): dropout=1.0 is not supported"),
            (nn.GRU(2, 3, num_layers=2, dropout=0.1234567891),
             "'model' (nn.GRU): dropout=0.1234567891 is not a fraction a/b"),
            (nn.Sequential(nn.Dropout(0.5), nn.ReLU()),
             "model consists of activations, dropout and one-slope PReLUs "
             "only; their size is unknown"),
            (nn.Sequential(nn.Linear(2, 3), nn.AlphaDropout(0.5)),
             "unsupported module '1' (nn.AlphaDropout)"),
        ]
        for model, message in cases:
            with self.subTest(message=message):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with self.assertRaises(export_torch.ExportError) as ctx:
                        export_torch.export_model(model)
                self.assertIn(message, str(ctx.exception))
        # p is checked with the tolerance the docs state: a fraction within 1e-12 is fine.
        near = 0.3 + 5e-13
        doc = export_torch.export_model(nn.Sequential(nn.Linear(1, 1), nn.Dropout(near)))
        self.assertEqual(doc["layers"][1]["p"], "3/10")
        with self.assertRaises(export_torch.ExportError):
            export_torch.export_model(nn.Sequential(nn.Linear(1, 1), nn.Dropout(0.3 + 2e-12)))

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

    def test_module_list_and_dict(self):
        torch.manual_seed(21)
        doc = self.assert_same_as_eager(Lists())
        self.assertEqual([l["type"] for l in doc["layers"]], ["gru", "gru", "dense"])
        self.assertEqual(doc["layers"][2]["activation"], "tanh")

    def test_a_forward_that_is_not_the_chain_is_refused(self):
        torch.manual_seed(22)
        with tempfile.TemporaryDirectory() as tmp:
            model = Residual()
            for module in [model] + [export_torch.load_module(p)
                                     for p in _torchscript_files(model, tmp).values()]:
                with self.assertRaises(export_torch.ExportError) as ctx:
                    export_torch.export_model(module)
                self.assertIn("the model's forward is not its layers ('lstm' (nn.LSTM), "
                              "'fc' (nn.Linear)) applied one after the other",
                              str(ctx.exception))

    def test_custom_chain_bias_free_gru(self):
        torch.manual_seed(2)
        doc = self.assert_same_as_eager(Chain())
        self.assertEqual([l["type"] for l in doc["layers"]], ["gru", "gru", "dense", "dense"])
        self.assertEqual(doc["layers"][1]["parameters"]["bias_ih"], [0.0] * 18)
        self.assertEqual(doc["layers"][3]["activation"], "softmax")

    def test_multi_layer_lstm_with_dropout(self):
        torch.manual_seed(3)
        doc = self.assert_same_as_eager(DeepLstm())
        self.assertEqual([l["type"] for l in doc["layers"]],
                         ["lstm", "dropout", "lstm", "dropout", "lstm", "dense"])
        self.assertEqual(doc["layers"][1], {"type": "dropout", "size": 5, "p": "1/4"})

    def test_embedding_layer_norm_dropout(self):
        torch.manual_seed(10)
        doc = self.assert_same_as_eager(Tokens())
        self.assertEqual([l["type"] for l in doc["layers"]],
                         ["embedding", "lstm", "dropout", "lstm", "layer_norm", "dropout",
                          "layer_norm", "dense"])

    def test_new_layers_float64(self):
        torch.manual_seed(11)
        self.assertEqual(self.assert_same_as_eager(Tokens().double())["dtype"], "float64")

    def test_untraced_new_layers(self):
        with tempfile.TemporaryDirectory() as tmp:
            for model, message, scripted_exports in (
                    (UnusedNormAndDropout("norm"),
                     "'extra' (nn.LayerNorm): the traced graph does not show its "
                     "normalized_shape and eps (no aten::layer_norm call); was the module "
                     "called while tracing?", False),
                    # At inference a dropout is the identity: the chain computes the same.
                    (UnusedNormAndDropout("dropout"),
                     "'extra' (nn.Dropout): the traced graph does not show its probability "
                     "(no aten::dropout or aten::dropout_ call)", True),
                    (UnusedEmbedding(),
                     "'embed' (nn.Embedding): the traced graph does not show its max_norm "
                     "(no aten::embedding call)", False)):
                with self.subTest(message=message):
                    paths = _torchscript_files(model, tmp)
                    scripted = export_torch.load_module(paths["scripted"])
                    if scripted_exports:
                        export_torch.export_model(scripted)
                    else:  # its forward skips a layer: not a chain to export
                        with self.assertRaises(export_torch.ExportError) as ctx:
                            export_torch.export_model(scripted)
                        self.assertIn("is not its layers", str(ctx.exception))
                    with self.assertRaises(export_torch.ExportError) as ctx:
                        export_torch.export_model(export_torch.load_module(paths["traced"]))
                    self.assertIn(message, str(ctx.exception))

    def test_bidirectional(self):
        torch.manual_seed(13)
        doc = self.assert_same_as_eager(Bidirectional())
        self.assertEqual([l["type"] for l in doc["layers"]],
                         ["bidirectional", "dropout", "bidirectional", "bidirectional",
                          "bidirectional", "dense"])
        self.assertEqual(doc["layers"][3]["nonlinearity"], "relu")
        self.assertEqual(self.assert_same_as_eager(Bidirectional().double())["dtype"], "float64")

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
            (WithDropoutAndBlock(), "'block' (Block): its forward is not its layers applied "
                                    "one after the other in registration order"),
            (WithBlock(), "'block' (Block): its forward is not its layers applied one after "
                          "the other in registration order"),
            (EmbeddingMaxNorm(), "'embed' (nn.Embedding): max_norm=1.5 is not supported"),
            (NormEps(), "'norm' (nn.LayerNorm): eps=1e-06 is not supported"),
            (NormTwoAxes(), "'norm' (nn.LayerNorm): normalized_shape=[3, 3] is not supported"),
            (OddDropout(), "'drop' (nn.Dropout): p=0.1234567891 is not a fraction"),
            (Projection(), "'lstm' (nn.LSTM): proj_size>0 is not supported"),
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
            with self.assertRaises(export_torch.ExportError) as ctx:  # forward skips the RNN
                export_torch.export_model(export_torch.load_module(paths["scripted"]))
            self.assertIn("is not its layers", str(ctx.exception))
            with self.assertRaises(export_torch.ExportError) as ctx:
                export_torch.export_model(export_torch.load_module(paths["traced"]))
            self.assertIn("'rnn' (nn.RNN)", str(ctx.exception))
            self.assertIn("nonlinearity", str(ctx.exception))

    def test_traced_graphs_without_constants(self):
        """Options a traced graph passes as computed values, not constants, are refused
        (torch.jit.trace records constants, so these graphs are made by hand)."""

        class Value:
            def __init__(self, kind, value=None, inputs=()):
                self._node, self._value = Node(kind, inputs), value

            def node(self):
                return self._node

            def toIValue(self):  # noqa: N802 (torch's name)
                return self._value

        class Node:
            def __init__(self, kind, inputs=()):
                self._kind, self._inputs = kind, list(inputs)

            def kind(self):
                return self._kind

            def inputs(self):
                return iter(self._inputs)

        class Traced:
            def __init__(self, name, *nodes):
                self.original_name = name
                self.graph = type("Graph", (), {"nodes": lambda _: iter(nodes)})()
                qualified = "__torch__.torch.nn.modules.x." + name
                self._c = type("C", (), {"_type": lambda _: type(
                    "T", (), {"qualified_name": lambda _: qualified})()})()

        x, computed = Value("prim::Param"), Value("aten::mul")
        constant = lambda v: Value("prim::Constant", v)  # noqa: E731
        shape = Value("prim::ListConstruct", inputs=[constant(3)])
        dropout = Traced("Dropout", Node("aten::dropout", [x, computed, constant(False)]))
        with self.assertRaisesRegex(export_torch.ExportError,
                                    r"^'d' \(nn.Dropout\): the traced graph does not show a "
                                    r"constant p$"):
            export_torch._dropout_probability("d", dropout)
        for inputs, what in (([x, Value("aten::size"), None, None, constant(1e-5)],
                              "normalized_shape"),
                             ([x, Value("prim::ListConstruct", inputs=[computed]), None, None,
                               constant(1e-5)], "normalized_shape"),
                             ([x, shape, None, None, computed], "eps")):
            norm = Traced("LayerNorm", Node("aten::layer_norm", inputs))
            with self.assertRaisesRegex(export_torch.ExportError,
                                        r"^'n' \(nn.LayerNorm\): the traced graph does not show "
                                        r"a constant %s$" % what):
                export_torch._layer_norm_options("n", norm, {})
        norm = Traced("LayerNorm", Node("aten::layer_norm",
                                        [x, shape, None, None, constant(1e-5)]))
        self.assertEqual(export_torch._layer_norm_options("n", norm, {}),
                         {"normalized_shape": (3,), "eps": 1e-5, "elementwise_affine": False})
        with self.assertRaisesRegex(export_torch.ExportError,
                                    r"^'e' \(nn.Embedding\): TorchScript module has no 2-D "
                                    r"weight$"):
            export_torch._embedding_options("e", Traced("Embedding"), {})

    def test_command_line_gives_the_same_file(self):
        torch.manual_seed(8)
        model = DeepLstm()
        script = os.path.join(HERE, "..", "codegen", "export_torch.py")
        with tempfile.TemporaryDirectory() as tmp:
            paths = _torchscript_files(model, tmp)
            pickled = os.path.join(tmp, "pickled.pt")
            torch.save(model, pickled)
            self.assertFalse(export_torch.is_torchscript(pickled))
            # the command line stores a reference; TorchScript's equals the eager module's
            eager_text = export_torch.dumps(export_torch.export_model(
                model, reference_steps=export_torch.REFERENCE_STEPS)).encode()
            self.assertIn(b'"reference"', eager_text)
            self.assertIn(b'"p": "1/4"', eager_text)
            for how, path in paths.items():
                out = os.path.join(tmp, how + ".json")
                run = subprocess.run([sys.executable, script, path, "-o", out], check=True,
                                     capture_output=True, text=True)
                self.assertEqual(run.stderr, "")
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


class FloatOnlyForward(nn.Module):
    """A forward that builds float32 tensors of its own: it cannot run in float64."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 5, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        h0 = torch.zeros(1, x.shape[0], 5, dtype=torch.float32)
        y, _ = self.lstm(x, (h0, h0))
        return self.fc(y)


class ReferenceTest(unittest.TestCase):
    """The "reference" export_torch.py stores (docs/weights-format.md): seeded inputs in the
    file's dtype and the float64 outputs of the file's own weights for them."""

    def expected_outputs(self, doc, module, batch_first=True):
        """The reference outputs, recomputed here: float64 copy of the weights as the file
        holds them, the inputs as one batch-1 sequence."""
        model = module.to(getattr(torch, doc["dtype"])).double().eval()
        x = torch.tensor(doc["reference"]["inputs"], dtype=torch.float64)
        with torch.no_grad():
            y = model(x.unsqueeze(0 if batch_first else 1))
        y = y[0] if isinstance(y, tuple) else y
        return y.squeeze(0 if batch_first else 1).tolist()

    def assert_close(self, got, expected, tolerance=1e-12):
        self.assertEqual(len(got), len(expected))
        for row, expected_row in zip(got, expected):
            self.assertEqual(len(row), len(expected_row))
            for a, b in zip(row, expected_row):
                self.assertLessEqual(abs(a - b), tolerance * max(1, abs(b)))

    def test_reference_is_the_float64_output_of_the_files_weights(self):
        torch.manual_seed(31)
        model = Chain()
        doc = export_torch.export_model(model, reference_steps=12)
        reference = doc["reference"]
        self.assertEqual(list(reference), ["inputs", "outputs", "tolerance"])
        self.assertEqual(reference["tolerance"], 1e-5)
        self.assertEqual(len(reference["inputs"]), 12)
        self.assertTrue(all(len(row) == 3 for row in reference["inputs"]))
        for row in reference["inputs"]:  # float32 values, so that rnnx reads the same
            for v in row:
                self.assertEqual(torch.tensor(v, dtype=torch.float32).item(), v)
        self.assert_close(reference["outputs"], self.expected_outputs(doc, copy.deepcopy(model)))
        # the float32 model's own output differs: the reference is not PyTorch's rounding
        with torch.no_grad():
            own = model.eval()(torch.tensor([reference["inputs"]])).squeeze(0).double().tolist()
        self.assertGreater(max(abs(a - b) for r, e in zip(own, reference["outputs"])
                               for a, b in zip(r, e)), 1e-12)
        # deterministic, and the document without it is unchanged
        self.assertEqual(export_torch.export_model(model, reference_steps=12), doc)
        del doc["reference"]
        self.assertEqual(export_torch.export_model(model), doc)

    def test_float64_time_major_tokens_and_no_forward(self):
        torch.manual_seed(32)
        model = nn.Sequential(nn.GRU(3, 4), nn.Linear(4, 2)).double()  # (time, batch, feature)
        doc = export_torch.export_model(model, reference_steps=5)
        self.assertEqual(doc["reference"]["tolerance"], 1e-9)
        with torch.no_grad():
            x = torch.tensor(doc["reference"]["inputs"], dtype=torch.float64).unsqueeze(1)
            y = model[1](model[0](x)[0]).squeeze(1).tolist()
        self.assert_close(doc["reference"]["outputs"], y)

        doc = export_torch.export_model(Tokens(), reference_steps=9)
        ids = [row[0] for row in doc["reference"]["inputs"]]
        self.assertTrue(all(isinstance(k, int) and 0 <= k < 11 for k in ids), ids)
        self.assertEqual([len(row) for row in doc["reference"]["outputs"]], [11] * 9)

        torch.manual_seed(33)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the forward it lacks cannot be checked
            doc = export_torch.export_model(Stack(), reference_steps=4)
        self.assertEqual([len(row) for row in doc["reference"]["outputs"]], [2] * 4)

    def test_a_forward_that_needs_float32_runs_as_its_chain(self):
        torch.manual_seed(34)
        model = FloatOnlyForward()
        doc = export_torch.export_model(model, reference_steps=6)
        expected = copy.deepcopy(model).double().eval()
        with torch.no_grad():
            x = torch.tensor([doc["reference"]["inputs"]], dtype=torch.float64)
            y = expected.fc(expected.lstm(x)[0]).squeeze(0).tolist()
        self.assert_close(doc["reference"]["outputs"], y)

    def test_command_line_options(self):
        torch.manual_seed(35)
        script = os.path.join(HERE, "..", "codegen", "export_torch.py")
        with tempfile.TemporaryDirectory() as tmp:
            pt = os.path.join(tmp, "m.pt")
            torch.save(nn.Sequential(nn.LSTM(1, 3, batch_first=True), nn.Linear(3, 1)), pt)

            def exported(*options):
                out = os.path.join(tmp, "m.json")
                subprocess.run([sys.executable, script, pt, "-o", out, *options], check=True)
                with open(out) as f:
                    return json.load(f)

            self.assertEqual(len(exported()["reference"]["inputs"]), 16)
            self.assertEqual(len(exported("--reference-steps", "40")["reference"]["outputs"]), 40)
            self.assertNotIn("reference", exported("--no-reference"))
            bad = subprocess.run([sys.executable, script, pt, "-o", os.path.join(tmp, "x.json"),
                                  "--reference-steps", "0"], capture_output=True, text=True)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("--reference-steps must be at least 1", bad.stderr)


if __name__ == "__main__":
    unittest.main()
