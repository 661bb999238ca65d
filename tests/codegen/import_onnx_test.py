#!/usr/bin/python3
"""codegen/import_onnx.py on graphs built here with onnx.helper: ONNX's gate orders become
PyTorch's (checked value by value), the ops torch.onnx.export writes map to layers, and every
graph rnnx cannot represent is refused with one line naming the node and no output file.
The committed torch.onnx.export files (tests/data/onnx) go through import, rnnx-codegen and
the compiler in codegen_onnx_test.cpp."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "codegen", "import_onnx.py")
CODEGEN = os.path.join(HERE, "..", "..", "codegen", "rnnx-codegen")


def tensor(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def gate_blocks(gates, hidden, cols, base):
    """Rows gates*hidden x cols where gate block g holds base*(g+1) + row/100 + col/1000."""
    rows = np.arange(gates * hidden)[:, None]
    values = base * (rows // hidden + 1) + (rows % hidden) / 100 + np.arange(cols)[None] / 1000
    return values.astype(np.float32)


class Builder:
    """A chain graph: x -> nodes -> the last node's output is the graph output."""

    def __init__(self, features=2, steps_first=True, dtype=TensorProto.FLOAT):
        self.nodes, self.inits, self.count = [], [], 0
        shape = ["steps", 1, features] if steps_first else ["steps", features]
        self.input = helper.make_tensor_value_info("x", dtype, shape)
        self.current = "x"

    def name(self, prefix):
        self.count += 1
        return "%s_%d" % (prefix, self.count)

    def const(self, array, prefix="c"):
        name = self.name(prefix)
        self.inits.append(tensor(name, array))
        return name

    def node(self, op, inputs, outputs=1, name=None, **attrs):
        name = name or self.name(op.lower())
        outs = [name + "_out%d" % i for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs

    def op(self, op, *extra_inputs, name=None, **attrs):
        self.current = self.node(op, [self.current] + list(extra_inputs), name=name, **attrs)[0]
        return self

    def recurrent(self, op, hidden, w, r, b=None, initial=(), name=None, squeeze=True,
                  **attrs):
        inputs = [self.current, self.const(w[None]), self.const(r[None]),
                  self.const(b[None]) if b is not None else "", ""] + list(initial)
        outs = self.node(op, inputs, outputs=3 if op == "LSTM" else 2, name=name,
                         hidden_size=hidden, **attrs)
        self.current = outs[0]
        if squeeze:
            self.op("Squeeze", self.const(np.array([1], dtype=np.int64)))
        return outs

    def model(self, outputs=None):
        outputs = outputs or [self.current]
        graph = helper.make_graph(
            self.nodes, "g", [self.input],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
            initializer=self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


class ImportOnnx(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_import(self, model):
        path = os.path.join(self.dir, "model.onnx")
        if isinstance(model, bytes):
            with open(path, "wb") as f:
                f.write(model)
        else:
            onnx.save(model, path)
        out = os.path.join(self.dir, "model.json")
        result = subprocess.run([sys.executable, TOOL, path, "-o", out], capture_output=True,
                                text=True)
        doc = None
        if os.path.exists(out):
            with open(out) as f:
                doc = json.load(f)
        return result, doc

    def imported(self, model):
        result, doc = self.run_import(model)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        # What the importer writes is a valid weight file for rnnx-codegen.
        check = subprocess.run([sys.executable, CODEGEN, os.path.join(self.dir, "model.json"),
                                "--check", "-q"], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        return doc

    def assert_refused(self, model, pattern):
        result, doc = self.run_import(model)
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertRegex(lines[0], r"^import_onnx: error: .*model\.onnx: ")
        self.assertRegex(lines[0], pattern)
        self.assertIsNone(doc)
        self.assertEqual(sorted(os.listdir(self.dir)), ["model.onnx"])

    # ---- conversions --------------------------------------------------------------------

    def test_lstm_gates_become_pytorch_order(self):
        h, i = 3, 2
        w, r = gate_blocks(4, h, i, 1), gate_blocks(4, h, h, 10)
        b = np.concatenate([gate_blocks(4, h, 1, 100)[:, 0], gate_blocks(4, h, 1, 1000)[:, 0]])
        builder = Builder(i)
        builder.recurrent("LSTM", h, w, r, b)
        doc = self.imported(builder.model())
        layer = doc["layers"][0]
        self.assertEqual((layer["type"], layer["input_size"], layer["hidden_size"]),
                         ("lstm", 2, 3))
        p = layer["parameters"]
        onnx_blocks = lambda rows: [rows[k * h:(k + 1) * h] for k in range(4)]  # noqa: E731
        for name, source in (("weight_ih", w), ("weight_hh", r), ("bias_ih", b[:4 * h]),
                             ("bias_hh", b[4 * h:])):
            i_, o_, f_, c_ = onnx_blocks(np.asarray(source))
            expected = np.concatenate([i_, f_, c_, o_])  # PyTorch: i, f, g, o
            np.testing.assert_array_equal(np.asarray(p[name], dtype=np.float32), expected, name)

    def test_gru_gates_become_pytorch_order(self):
        h, i = 2, 1
        w, r = gate_blocks(3, h, i, 1), gate_blocks(3, h, h, 10)
        builder = Builder(i)
        builder.recurrent("GRU", h, w, r, linear_before_reset=1)
        doc = self.imported(builder.model())
        p = doc["layers"][0]["parameters"]
        z, r_, n = w[:h], w[h:2 * h], w[2 * h:]
        np.testing.assert_array_equal(np.asarray(p["weight_ih"], np.float32),
                                      np.concatenate([r_, z, n]))  # PyTorch: r, z, n
        self.assertEqual(p["bias_ih"], [0.0] * 6)  # no B: zero biases
        self.assertEqual(p["bias_hh"], [0.0] * 6)

    def test_rnn_relu_matmul_add_and_activations(self):
        b = Builder(2)
        w, r = gate_blocks(1, 3, 2, 1), gate_blocks(1, 3, 3, 10)
        b.recurrent("RNN", 3, w, r, activations=["Relu"])
        weight = np.arange(12, dtype=np.float32).reshape(3, 4) / 8  # MatMul's B: in x out
        b.op("MatMul", b.const(weight))
        self.current_bias = b.const(np.array([0.5, -0.5, 1, 2], dtype=np.float32))
        b.current = b.node("Add", [self.current_bias, b.current])[0]  # bias first, as torch
        b.op("Tanh").op("Identity").op("Softmax", axis=-1)
        doc = self.imported(b.model())
        self.assertEqual([layer["type"] for layer in doc["layers"]],
                         ["rnn", "dense", "activation"])
        self.assertEqual(doc["layers"][0]["nonlinearity"], "relu")
        dense = doc["layers"][1]
        self.assertEqual((dense["in_features"], dense["out_features"], dense["activation"]),
                         (3, 4, "tanh"))
        np.testing.assert_array_equal(np.asarray(dense["parameters"]["weight"]), weight.T)
        self.assertEqual(dense["parameters"]["bias"], [0.5, -0.5, 1, 2])
        self.assertEqual(doc["layers"][2], {"type": "activation", "size": 4,
                                            "function": "softmax"})

    def test_gemm_both_layouts_and_matmul_without_bias(self):
        b = Builder(3, steps_first=False)
        w1 = np.arange(6, dtype=np.float32).reshape(2, 3)  # out x in (transB=1, as torch)
        b.op("Gemm", b.const(w1), b.const(np.array([1, 2], dtype=np.float32)), transB=1)
        w2 = np.arange(4, dtype=np.float32).reshape(2, 2) + 10  # in x out (transB=0)
        b.op("Gemm", b.const(w2), b.const(np.array([3, 4], dtype=np.float32)))
        b.op("MatMul", b.const(np.ones((2, 1), dtype=np.float32))).op("Sigmoid")
        doc = self.imported(b.model())
        layers = doc["layers"]
        np.testing.assert_array_equal(np.asarray(layers[0]["parameters"]["weight"]), w1)
        np.testing.assert_array_equal(np.asarray(layers[1]["parameters"]["weight"]), w2.T)
        self.assertEqual(layers[2]["parameters"]["bias"], [0.0])
        self.assertEqual(layers[2]["activation"], "sigmoid")

    def test_leading_activation_and_float64(self):
        b = Builder(2, dtype=TensorProto.DOUBLE)
        b.op("Relu").op("MatMul", b.const(np.full((2, 1), 0.1, dtype=np.float64)))
        doc = self.imported(b.model())
        self.assertEqual(doc["dtype"], "float64")
        self.assertEqual(doc["layers"][0], {"type": "activation", "size": 2, "function": "relu"})
        self.assertEqual(doc["layers"][1]["parameters"]["weight"], [[0.1, 0.1]])

    def test_zero_initial_states_are_accepted(self):
        b = Builder(1)
        zeros = b.const(np.zeros((1, 1, 2), dtype=np.float32))
        b.recurrent("LSTM", 2, gate_blocks(4, 2, 1, 1), gate_blocks(4, 2, 2, 1),
                    initial=[zeros, zeros])
        self.imported(b.model())

    # ---- refusals -----------------------------------------------------------------------

    def test_unsupported_node(self):
        b = Builder(2)
        b.op("Conv", b.const(np.ones((1, 1, 1), dtype=np.float32)), name="encoder/conv")
        self.assert_refused(b.model(), r'node "encoder/conv" \(Conv\) is not supported; '
                                       r"supported: LSTM, GRU, RNN, MatMul")

    def test_bidirectional(self):
        b = Builder(1)
        b.recurrent("LSTM", 2, gate_blocks(4, 2, 1, 1), gate_blocks(4, 2, 2, 1), name="bi",
                    direction="bidirectional")
        self.assert_refused(b.model(), r'node "bi" \(LSTM\): direction "bidirectional" is not '
                                       r"supported")

    def test_gru_reset_before_matmul(self):
        b = Builder(1)
        b.recurrent("GRU", 2, gate_blocks(3, 2, 1, 1), gate_blocks(3, 2, 2, 1), name="g")
        self.assert_refused(b.model(), r'node "g" \(GRU\): linear_before_reset=0 is not '
                                       r"supported")

    def test_nonzero_initial_state(self):
        b = Builder(1)
        ones = b.const(np.ones((1, 1, 2), dtype=np.float32))
        b.recurrent("RNN", 2, gate_blocks(1, 2, 1, 1), gate_blocks(1, 2, 2, 1), name="r",
                    initial=[ones])
        self.assert_refused(b.model(), r'node "r" \(RNN\): initial_h is not zero')

    def test_final_state_used(self):
        b = Builder(1)
        outs = b.recurrent("GRU", 2, gate_blocks(3, 2, 1, 1), gate_blocks(3, 2, 2, 1),
                           name="g", linear_before_reset=1)
        b.nodes.append(helper.make_node("Identity", [outs[1]], ["h_copy"], name="keep_h"))
        self.assert_refused(b.model(), r'node "g" \(GRU\): its final-state output "g_out1" is '
                                       r"used")

    def test_peepholes_clip_and_activations(self):
        b = Builder(1)
        w, r = gate_blocks(4, 2, 1, 1), gate_blocks(4, 2, 2, 1)
        b.recurrent("LSTM", 2, w, r, name="l", clip=3.0)
        self.assert_refused(b.model(), r'node "l" \(LSTM\): attribute \'clip\' is not supported')
        b = Builder(1)
        b.recurrent("LSTM", 2, w, r, initial=["", "", b.const(np.ones((1, 6), np.float32))],
                    name="l")
        self.assert_refused(b.model(), r"node \"l\" \(LSTM\): peephole weights \(P\)")
        b = Builder(1)
        b.recurrent("RNN", 2, gate_blocks(1, 2, 1, 1), gate_blocks(1, 2, 2, 1), name="r",
                    activations=["Sigmoid"])
        self.assert_refused(b.model(), r"node \"r\" \(RNN\): activations \['Sigmoid'\] are not "
                                       r"supported \(Tanh or Relu\)")

    def test_branching_graph(self):
        b = Builder(2)
        t = b.node("Tanh", ["x"], name="left")[0]
        s = b.node("Sigmoid", ["x"], name="right")[0]
        b.current = b.node("Add", [t, s], name="join")[0]
        self.assert_refused(b.model(), r'the graph branches: tensor "x" feeds node "left" '
                                       r'\(Tanh\) and node "right" \(Sigmoid\)')

    def test_softmax_axis_and_transpose_perm(self):
        b = Builder(2)
        b.op("Softmax", axis=0, name="sm")
        self.assert_refused(b.model(), r'node "sm" \(Softmax\): only softmax over the last axis')
        b = Builder(2)
        b.op("Transpose", perm=[0, 2, 1], name="t")
        self.assert_refused(b.model(), r'node "t" \(Transpose\): only perm \[1, 0, 2\]')

    def test_non_constant_weight_and_shape_mismatch(self):
        b = Builder(2, steps_first=False)
        computed = b.node("Sigmoid", [b.const(np.ones((2, 2), dtype=np.float32))])[0]
        b.op("MatMul", computed, name="mm")
        self.assert_refused(b.model(), r'node "mm" \(MatMul\): the second input \(the weight\) '
                                       r"must be a constant")
        b = Builder(1)
        b.recurrent("RNN", 3, gate_blocks(1, 3, 1, 1), gate_blocks(1, 3, 3, 1))
        b.op("MatMul", b.const(np.ones((4, 1), dtype=np.float32)), name="fc")
        self.assert_refused(b.model(), r'node "fc" \(MatMul\): takes 4 inputs, but the '
                                       r"previous layer gives 3")

    def test_weight_types(self):
        b = Builder(2, steps_first=False)
        b.op("MatMul", b.const(np.ones((2, 1), dtype=np.float16)), name="half")
        self.assert_refused(b.model(), r'node "half" \(MatMul\): weights of type float16 are '
                                       r"not supported")
        b = Builder(2, steps_first=False)
        b.op("MatMul", b.const(np.ones((2, 2), dtype=np.float32)))
        b.op("MatMul", b.const(np.ones((2, 1), dtype=np.float64)))
        self.assert_refused(b.model(), r"the weights mix float32 and float64")

    def test_unrelated_node(self):
        b = Builder(2)
        b.op("Tanh")
        b.nodes.append(helper.make_node("Sigmoid", ["x_unused"], ["s"], name="stray"))
        self.assert_refused(b.model(), r'node "stray" \(Sigmoid\) is not part of the layer '
                                       r"chain")

    def test_not_onnx(self):
        self.assert_refused(b"\xff\x00 this is not a protobuf", r"not an ONNX model")
        self.assert_refused(Builder(2).model(), r"the graph holds no layers")


if __name__ == "__main__":
    unittest.main()
