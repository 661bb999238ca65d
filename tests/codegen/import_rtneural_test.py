#!/usr/bin/python3
"""codegen/import_rtneural.py: Keras' layouts and gate orders become PyTorch's (checked value by
value), and every file rnnx cannot represent is refused with one line naming the layer and no
output file. The committed fixture goes through import, rnnx-codegen and the compiler in
codegen_rtneural_test.cpp."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "codegen", "import_rtneural.py")
CODEGEN = os.path.join(HERE, "..", "..", "codegen", "rnnx-codegen")


def columns(rows, cols, base):
    """[rows][cols] where column c holds base * (c + 1) + r / 128 (exact in float32)."""
    return [[base * (c + 1) + r / 128 for c in range(cols)] for r in range(rows)]


def gru(inputs, hidden):
    return {"type": "gru", "activation": "tanh", "shape": [None, None, hidden],
            "weights": [columns(inputs, 3 * hidden, 1), columns(hidden, 3 * hidden, 10),
                        [[100.0 * (c + 1) for c in range(3 * hidden)],
                         [1000.0 * (c + 1) for c in range(3 * hidden)]]]}


def lstm(inputs, hidden):
    return {"type": "lstm", "activation": "tanh", "shape": [None, None, hidden],
            "weights": [columns(inputs, 4 * hidden, 1), columns(hidden, 4 * hidden, 10),
                        [100.0 * (c + 1) for c in range(4 * hidden)]]}


def dense(inputs, outputs, activation=""):
    return {"type": "dense", "activation": activation, "shape": [None, None, outputs],
            "weights": [columns(inputs, outputs, 1), [0.5] * outputs]}


def model(*layers, inputs=1):
    return {"in_shape": [None, None, inputs], "layers": list(layers)}


def prelu(alpha, size=None):
    return {"type": "prelu", "activation": "", "shape": [None, None, size or len(alpha)],
            "weights": [[alpha]]}


def rows(count, cols, base):
    """A PyTorch [count][cols] matrix whose row r holds base * (r + 1) + c / 128."""
    return [[base * (r + 1) + c / 128 for c in range(cols)] for r in range(count)]


def torch_recurrent(prefix, gates, inputs, hidden, num_layers=1, bias=True):
    """The state_dict entries of nn.GRU (gates 3) or nn.LSTM (gates 4), in PyTorch's order."""
    entries = {}
    for k in range(num_layers):
        entries["%sweight_ih_l%d" % (prefix, k)] = rows(gates * hidden,
                                                        inputs if k == 0 else hidden, 1)
        entries["%sweight_hh_l%d" % (prefix, k)] = rows(gates * hidden, hidden, 10)
        if bias:
            entries["%sbias_ih_l%d" % (prefix, k)] = [100.0 + r for r in range(gates * hidden)]
            entries["%sbias_hh_l%d" % (prefix, k)] = [200.0 + r for r in range(gates * hidden)]
    return entries


def torch_dense(prefix, inputs, outputs, bias=True):
    entries = {prefix + "weight": rows(outputs, inputs, 1)}
    if bias:
        entries[prefix + "bias"] = [0.5] * outputs
    return entries


def weights_document(*layers):
    return {"format": "rnnx.weights", "version": 1, "dtype": "float32", "layers": list(layers)}


class ImportRtneural(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_import(self, content, *args):
        path = os.path.join(self.dir, "model.json")
        with open(path, "wb") as f:
            f.write(content if isinstance(content, bytes) else json.dumps(content).encode())
        out = os.path.join(self.dir, "out.json")
        if os.path.exists(out):
            os.remove(out)
        result = subprocess.run([sys.executable, TOOL, path, "-o", out] + list(args),
                                capture_output=True, text=True)
        doc = None
        if os.path.exists(out):
            with open(out) as f:
                doc = json.load(f)
        return result, doc

    def imported(self, content, *args):
        """The imported document, which rnnx-codegen also validates."""
        result, doc = self.run_import(content, *args)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        check = subprocess.run([sys.executable, CODEGEN, os.path.join(self.dir, "out.json"),
                                "--check", "-q"], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        return doc

    def assert_refused(self, content, pattern, *args):
        result, doc = self.run_import(content, *args)
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertRegex(lines[0], r"^import_rtneural: error: .*model\.json: ")
        self.assertRegex(lines[0], pattern)
        self.assertIsNone(doc)
        self.assertEqual(os.listdir(self.dir), ["model.json"])

    def test_gru_gates_and_biases(self):
        h = 2
        doc = self.imported(model(gru(1, h)))
        p = doc["layers"][0]["parameters"]
        # Keras column c (gate c // h: z, r, h) holds 1 * (c + 1); PyTorch rows r, z, n.
        keras_column_of_row = [h + u for u in range(h)] + [u for u in range(h)] + \
            [2 * h + u for u in range(h)]
        self.assertEqual([row[0] for row in p["weight_ih"]],
                         [1.0 * (c + 1) for c in keras_column_of_row])
        self.assertEqual(p["weight_hh"][0], [10.0 * (keras_column_of_row[0] + 1) + k / 128
                                             for k in range(h)])
        self.assertEqual(p["bias_ih"], [100.0 * (c + 1) for c in keras_column_of_row])
        self.assertEqual(p["bias_hh"], [1000.0 * (c + 1) for c in keras_column_of_row])

    def test_lstm_keeps_gate_order_and_gets_zero_bias_hh(self):
        doc = self.imported(model(lstm(2, 3), inputs=2))
        p = doc["layers"][0]["parameters"]
        self.assertEqual(p["weight_ih"][5], [6.0, 6.0078125])  # row 5 = Keras column 5, both inputs
        self.assertEqual(p["bias_ih"], [100.0 * (c + 1) for c in range(12)])
        self.assertEqual(p["bias_hh"], [0.0] * 12)

    def test_dense_activations_and_standalone_activation(self):
        doc = self.imported(model(dense(1, 3, "tanh"), dense(3, 2),
                                  {"type": "activation", "activation": "softmax",
                                   "shape": [None, None, 2], "weights": []},
                                  {"type": "activation", "activation": "", "weights": []},
                                  {"type": "activation", "activation": "relu", "weights": []}))
        self.assertEqual([(l["type"], l.get("activation", l.get("function")))
                          for l in doc["layers"]],
                         [("dense", "tanh"), ("dense", "softmax"), ("activation", "relu")])
        self.assertEqual(doc["layers"][0]["parameters"]["weight"], [[1.0], [2.0], [3.0]])
        self.assertEqual(doc["layers"][2]["size"], 2)

    def test_dense_without_bias_gets_zeros(self):
        # Keras Dense(use_bias=False): RTNeural's file holds the kernel only.
        layer = dense(1, 3)
        layer["weights"] = layer["weights"][:1]
        doc = self.imported(model(layer))
        self.assertEqual(doc["layers"][0]["parameters"]["bias"], [0.0, 0.0, 0.0])
        self.assertEqual(doc["layers"][0]["parameters"]["weight"], [[1.0], [2.0], [3.0]])

    def test_dtypes(self):
        content = model(dense(1, 1))
        content["layers"][0]["weights"][1] = [0.1]
        self.assertEqual(self.imported(content)["layers"][0]["parameters"]["bias"],
                         [0.100000001])
        doc = self.imported(content, "--dtype", "float64")
        self.assertEqual(doc["dtype"], "float64")
        self.assertEqual(doc["layers"][0]["parameters"]["bias"], [0.1])

    def test_elu_and_prelu_exactly(self):
        # RTNeural's prelu reads alpha from weights[0][0]: N values, or 1 spread over the layer.
        doc = self.imported(model(
            dense(1, 3, "elu"), prelu([0.25, -0.5, 2.0]), dense(3, 2),
            {"type": "activation", "activation": "elu", "weights": []}, prelu([0.125], 2),
            {"type": "activation", "activation": "elu", "weights": []}))
        self.assertEqual(doc, weights_document(
            {"type": "dense", "in_features": 1, "out_features": 3, "activation": "elu",
             "parameters": {"weight": [[1.0], [2.0], [3.0]], "bias": [0.5, 0.5, 0.5]}},
            {"type": "prelu", "size": 3, "num_parameters": 3,
             "parameters": {"weight": [0.25, -0.5, 2.0]}},
            {"type": "dense", "in_features": 3, "out_features": 2, "activation": "elu",
             "parameters": {"weight": [[1.0, 1.0078125, 1.015625], [2.0, 2.0078125, 2.015625]],
                            "bias": [0.5, 0.5]}},
            {"type": "prelu", "size": 2, "num_parameters": 1, "parameters": {"weight": [0.125]}},
            {"type": "activation", "size": 2, "function": "elu"}))

    def test_prelu_refusals(self):
        wide = prelu([0.25, 0.5])
        self.assert_refused(model(dense(1, 3), wide),
                            r"layer 1 \(prelu\): 'shape' ends in 2, but its input has 3 values")
        wide["shape"] = [None, None, 3]
        self.assert_refused(model(dense(1, 3), wide), r"layer 1 \(prelu\): weights\[0\]\[0\] "
                                                      r"\(alpha\) must be a list of 3 numbers")
        per_step = prelu([0.25])
        per_step["weights"] = [[[0.25], [0.5]]]  # Keras alpha per time step: RTNeural reads row 0
        self.assert_refused(model(per_step), r"layer 0 \(prelu\): 'weights' must hold one array "
                                             r"of one row \(alpha \[1\]\[N\]")
        with_activation = prelu([0.25])
        with_activation["activation"] = "tanh"
        self.assert_refused(model(with_activation),
                            r'layer 0 \(prelu\): activation "tanh"; RTNeural ignores it')

    def test_pytorch_format_stack_and_dense(self):
        # RTNeural's gru_torch.json layout: nn.GRU, nn.GRU(num_layers=2), nn.Linear.
        state = torch_recurrent("gru.", 3, 2, 2) | torch_recurrent("gru2.", 3, 2, 3, 2) \
            | torch_dense("dense.", 3, 1)
        doc = self.imported(state)
        self.assertEqual([(l["type"], l.get("input_size", l.get("in_features")),
                           l.get("hidden_size", l.get("out_features"))) for l in doc["layers"]],
                         [("gru", 2, 2), ("gru", 2, 3), ("gru", 3, 3), ("dense", 3, 1)])
        # PyTorch's own layout and gate order, nothing reordered.
        self.assertEqual(doc["layers"][2]["parameters"],
                         {name[len("gru2."):-len("_l1")]: value for name, value in state.items()
                          if name.startswith("gru2.") and name.endswith("_l1")})
        self.assertEqual(doc["layers"][3]["activation"], "identity")
        self.assertEqual(doc["layers"][3]["parameters"],
                         {"weight": [[1.0, 1.0078125, 1.015625]], "bias": [0.5]})

    def test_pytorch_format_lstm_keeps_both_biases(self):
        doc = self.imported(torch_recurrent("lstm.", 4, 1, 2) | torch_dense("dense.", 2, 1))
        p = doc["layers"][0]["parameters"]
        self.assertEqual((p["bias_ih"], p["bias_hh"]),
                         ([100.0 + r for r in range(8)], [200.0 + r for r in range(8)]))
        self.assertEqual(p["weight_ih"][7], [8.0])

    def test_pytorch_format_without_bias_and_without_prefix(self):
        doc = self.imported(torch_recurrent("", 4, 1, 2, bias=False))
        p = doc["layers"][0]["parameters"]
        self.assertEqual((p["bias_ih"], p["bias_hh"]), ([0.0] * 8, [0.0] * 8))
        doc = self.imported(torch_recurrent("model.rnn.", 3, 1, 2, num_layers=2, bias=False)
                            | torch_dense("model.out.", 2, 3, bias=False))
        self.assertEqual(doc["layers"][1]["parameters"]["bias_hh"], [0.0] * 6)
        self.assertEqual(doc["layers"][2]["parameters"]["bias"], [0.0] * 3)

    def test_pytorch_format_activations(self):
        state = torch_recurrent("gru.", 3, 1, 2) | torch_dense("dense.", 2, 3) \
            | torch_dense("out.", 3, 2)
        doc = self.imported(state, "--activation", "gru=relu", "--activation", "dense.=tanh",
                            "--activation", "out=softmax")
        self.assertEqual([(l["type"], l.get("activation", l.get("function")), l.get("size"))
                          for l in doc["layers"]],
                         [("gru", None, None), ("activation", "relu", 2), ("dense", "tanh", None),
                          ("dense", "softmax", None)])
        doc = self.imported(state, "--activation", "dense=elu")
        self.assertEqual(doc["layers"][1]["activation"], "elu")
        self.assert_refused(state, r'--activation lstm=\.\.\.: no module "lstm"; the modules are '
                                   r'"gru", "dense", "out"', "--activation", "lstm=tanh")
        result, doc = self.run_import(state, "--activation", "dense=gelu")
        self.assertEqual(result.returncode, 2)
        self.assertRegex(result.stderr, r"'dense=gelu': expected MODULE=FUNCTION with FUNCTION "
                                        r"one of elu, relu, sigmoid, softmax, tanh")
        self.assertIsNone(doc)
        result, doc = self.run_import(state, "--activation", "dense=tanh", "--activation",
                                      "dense=relu")
        self.assertEqual(result.returncode, 2)
        self.assertRegex(result.stderr, r"--activation names module 'dense' twice")
        self.assertIsNone(doc)

    def test_pytorch_format_refusals(self):
        gru2 = torch_recurrent("gru.", 3, 1, 2)
        self.assert_refused(gru2 | {"gru.weight_ih_l0_reverse": rows(6, 1, 1)},
                            r'key "gru.weight_ih_l0_reverse": a bidirectional layer, which '
                            r'RTNeural does not load')
        self.assert_refused(torch_recurrent("lstm.", 4, 1, 2)
                            | {"lstm.weight_hr_l0": rows(1, 2, 1)},
                            r'key "lstm.weight_hr_l0": an LSTM with proj_size')
        self.assert_refused({"rnn.weight_ih_l0": rows(2, 1, 1), "rnn.weight_hh_l0": rows(2, 2, 1)},
                            r'key "rnn.weight_hh_l0" is 2 x 2: not 4H x H \(LSTM\) or 3H x H '
                            r'\(GRU\); an nn.RNN, which RTNeural does not load')
        self.assert_refused({"conv.weight": [[[1.0, 2.0]]], "conv.bias": [0.0]},
                            r'key "conv.weight" has 3 or more dimensions \(a convolution\?\)')
        self.assert_refused(gru2 | {"norm.weight": [1.0, 1.0], "norm.bias": [0.0, 0.0]},
                            r'key "norm.weight" is a vector, not nn.Linear\'s \[out\]\[in\] '
                            r'matrix')
        self.assert_refused(gru2 | {"bn.running_mean": [0.0, 0.0]},
                            r'key "bn.running_mean" is not a parameter of nn.Linear')
        self.assert_refused(gru2 | {"gru.running_mean": [0.0]},
                            r'key "gru.running_mean" is not a parameter of nn.GRU or nn.LSTM')
        self.assert_refused(gru2 | torch_dense("dense.", 3, 1),
                            r'key "dense.weight" \(\[out\]\[in\] with in = 2\)\[0\] must be a '
                            r'list of 2 numbers, found 3 entries')
        self.assert_refused(gru2 | torch_recurrent("gru2.", 3, 3, 2),
                            r'key "gru2.weight_ih_l0" \(3H x input 2\)\[0\] must be a list of 2 '
                            r'numbers, found 3 entries')
        self.assert_refused(torch_dense("a.", 1, 1, bias=False) | torch_dense("b.", 1, 1)
                            | {"a.bias": [0.0]},
                            r'key "a.bias": the keys of module "a." are not together')
        missing = torch_recurrent("gru.", 3, 1, 2, num_layers=2)
        del missing["gru.weight_hh_l0"]
        self.assert_refused(missing, r'key "gru.weight_hh_l0" is missing \(module "gru." has '
                                     r'layer 1\)')
        mixed = torch_recurrent("m.", 3, 1, 2, num_layers=2)
        mixed["m.weight_hh_l1"] = rows(8, 2, 10)  # an LSTM's layer 1
        self.assert_refused(mixed, r'key "m.weight_hh_l1": layer 1 of module "m." is not a gru')
        one_bias = dict(gru2)
        del one_bias["gru.bias_ih_l0"]
        self.assert_refused(one_bias, r'key "gru.bias_hh_l0" is there without key '
                                      r'"gru.bias_ih_l0"')
        self.assert_refused({"dense.weight": [[]]}, r'key "dense.weight" has rows of 0 values')
        self.assert_refused({"dense.bias": [0.0]},
                            r'key "dense.bias" is there without "dense.weight"')
        self.assert_refused(torch_dense("dense.", 1, 1) | {"dense.bias": [float("nan")]},
                            r'key "dense.bias"\[0\] is NaN, not a finite number')

    def test_refusals(self):
        conv = {"type": "conv1d", "activation": "", "shape": [None, None, 4], "weights": [],
                "kernel_size": [3], "dilation": [1]}
        self.assert_refused(model(dense(1, 4), conv),
                            r"layer 1 \(conv1d\) has no rnnx equivalent; supported: dense")
        self.assert_refused(model({"type": "batchnorm", "shape": [None, None, 1],
                                   "weights": []}),
                            r"layer 0 \(batchnorm\) has no rnnx equivalent")
        self.assert_refused(model({"type": "transformer", "weights": []}),
                            r"layer 0 \(transformer\): unknown layer type \(RTNeural's parser "
                            r"would skip it\)")
        empty = dense(1, 2)
        empty["weights"] = []
        self.assert_refused(model(empty), r"layer 0 \(dense\): 'weights' must hold the kernel "
                                          r"and optionally the bias \(1 or 2 arrays\), found 0")
        self.assert_refused(model(dense(1, 2, "selu")),
                            r'layer 0 \(dense\): activation "selu" is not supported \(tanh, '
                            r'relu, sigmoid, softmax, elu or none\)')
        bad = gru(1, 2)
        bad["activation"] = "relu"
        self.assert_refused(model(bad), r'layer 0 \(gru\): activation "relu"; RTNeural ignores')
        bad = gru(1, 2)
        bad["weights"][1] = columns(2, 5, 1)
        self.assert_refused(model(bad), r"layer 0 \(gru\): weights\[1\] \(recurrent \[H\]\[3H\]\)"
                                        r"\[0\] must be a list of 6 numbers, found 5 entries")
        self.assert_refused(model(dense(1, 2), dense(3, 1)),
                            r"layer 1 \(dense\): weights\[0\] \(kernel \[in\]\[out\]\) must be "
                            r"2 rows of 1 numbers, found 3 entries")
        text = json.dumps(model(dense(1, 1))).replace("0.5", "NaN")
        self.assert_refused(text.encode(), r"weights\[1\] \(bias\)\[0\] is NaN, not a finite")
        self.assert_refused(model(dense(1, 1)) | {"in_shape": [None, 1, 8, 8]},
                            r"'in_shape' has 4 dimensions \(a conv2d model\)")
        self.assert_refused({"layers": []}, r"field 'in_shape' is missing \(is this an RTNeural "
                                            r"model file\? PyTorch-format ones hold")
        self.assert_refused({"layers": [], "dense.weight": [[1.0]]},
                            r"field 'in_shape' is missing")
        self.assert_refused(model(dense(1, 1)), r"--activation applies to PyTorch-format files",
                            "--activation", "dense=tanh")
        self.assert_refused(b'{"dense.weight": [[1.0]], "dense.weight": [[2.0]]}',
                            r'key "dense.weight" appears twice in one object')
        self.assert_refused(b"\xfe{}", r"not UTF-8")
        self.assert_refused(b"{", r"not valid JSON")


if __name__ == "__main__":
    unittest.main()
