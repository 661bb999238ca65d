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
        result = subprocess.run([sys.executable, TOOL, path, "-o", out] + list(args),
                                capture_output=True, text=True)
        doc = None
        if os.path.exists(out):
            with open(out) as f:
                doc = json.load(f)
        return result, doc

    def imported(self, content, *args):
        result, doc = self.run_import(content, *args)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        check = subprocess.run([sys.executable, CODEGEN, os.path.join(self.dir, "out.json"),
                                "--check", "-q"], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        return doc

    def assert_refused(self, content, pattern):
        result, doc = self.run_import(content)
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

    def test_refusals(self):
        conv = {"type": "conv1d", "activation": "", "shape": [None, None, 4], "weights": [],
                "kernel_size": [3], "dilation": [1]}
        self.assert_refused(model(dense(1, 4), conv),
                            r"layer 1 \(conv1d\) has no rnnx equivalent; supported: dense")
        self.assert_refused(model({"type": "prelu", "shape": [None, None, 1], "weights": []}),
                            r"layer 0 \(prelu\) has no rnnx equivalent")
        self.assert_refused(model({"type": "transformer", "weights": []}),
                            r"layer 0 \(transformer\): unknown layer type \(RTNeural's parser "
                            r"would skip it\)")
        empty = dense(1, 2)
        empty["weights"] = []
        self.assert_refused(model(empty), r"layer 0 \(dense\): 'weights' must hold the kernel "
                                          r"and optionally the bias \(1 or 2 arrays\), found 0")
        self.assert_refused(model(dense(1, 2, "elu")),
                            r'layer 0 \(dense\): activation "elu" is not supported')
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
                                            r"model file\?\)")
        self.assert_refused(b"\xfe{}", r"not UTF-8")
        self.assert_refused(b"{", r"not valid JSON")


if __name__ == "__main__":
    unittest.main()
