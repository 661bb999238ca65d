#!/usr/bin/python3
"""Convert an ONNX model to rnnx JSON weights (docs/weights-format.md).

    /usr/bin/python3 codegen/import_onnx.py MODEL.onnx -o model.json

then `rnnx-codegen model.json -o model.hpp --name Model`. Needs Debian's python3-onnx.

Accepted graphs are a chain, as torch.onnx.export writes for a module of nn.LSTM / nn.GRU /
nn.RNN / nn.Linear and activation layers: from the one graph input to the one graph output,
each node feeding the next, made of

    LSTM, GRU, RNN      one direction, zero (or absent) initial states, no peepholes, no clip,
                        PyTorch's activations (GRU: linear_before_reset=1), each followed by
                        Squeeze of axis 1 (num_directions); Y_h / Y_c must be unused
    MatMul [+ Add]      a constant [in x out] weight, then optionally a constant bias
    Gemm                alpha = beta = 1, transA = 0, constant B and C
    Tanh, Sigmoid, Relu, Softmax (over the last axis), Identity, Dropout (inference: identity)
    Transpose           perm [1, 0, 2] only (batch_first models)

plus the shape arithmetic torch emits to build the zero initial states (Shape, Gather,
Unsqueeze, Concat, Constant, ConstantOfShape, Expand, Cast, Slice). Any other node, a branch,
or a non-zero initial state is refused with a message naming the node.

ONNX orders gates differently from PyTorch, and so from rnnx: LSTM i, o, f, c (PyTorch i, f,
g, o) and GRU z, r, h (PyTorch r, z, n); the conversion reorders the weight and bias rows.
ONNX's B input holds W_b then R_b: they become bias_ih and bias_hh.
"""

import argparse
import json
import sys
from collections import defaultdict

import numpy as np
import onnx
from onnx import numpy_helper

import weights_text
from weights_text import DIGITS

FORMAT = "rnnx.weights"
VERSION = 1

# PyTorch's gate order as blocks of ONNX's.
GATE_ORDER = {"LSTM": (0, 2, 3, 1),  # ONNX i, o, f, c -> i, f, g(=c), o
              "GRU": (1, 0, 2),      # ONNX z, r, h -> r, z, n(=h)
              "RNN": (0,)}
KIND = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                       "RNN": ["Tanh"]}
ACTIVATION_OPS = {"Tanh": "tanh", "Sigmoid": "sigmoid", "Relu": "relu", "Softmax": "softmax"}
PASS_THROUGH = {"Identity", "Dropout"}
SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Constant", "ConstantOfShape",
             "Expand", "Cast", "Slice", "Reshape", "Range", "Add", "Sub", "Mul", "Div"}
# Ops that only rearrange their input.
LAYOUT_OPS = {"Transpose", "Identity", "Squeeze", "Unsqueeze", "Reshape", "Cast"}
# Ops whose output is all zeros when their first input is (the others give shapes or indices).
ZERO_PRESERVING = {"Expand", "Slice", "Reshape", "Squeeze", "Unsqueeze", "Cast", "Identity",
                   "Gather", "Transpose", "Tile"}
SUPPORTED = ("LSTM, GRU, RNN, MatMul (+ Add), Gemm, Tanh, Sigmoid, Relu, Softmax, Identity, "
             "Dropout, Transpose [1, 0, 2]")
DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


class ImportError_(ValueError):
    """The ONNX graph cannot be represented in the rnnx weight format."""


def describe(node):
    """"node '/lstm/LSTM' (LSTM)" for messages."""
    return "node %s (%s)" % (json.dumps(node.name or "<unnamed>"), node.op_type)


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class Graph:
    def __init__(self, model):
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          1)
        self.constants = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        # One wrapper object per node, kept: nodes are identified by id() below.
        self.nodes = list(self.graph.node)
        self.producer = {}
        self.consumers = defaultdict(list)
        for node in self.nodes:
            if node.domain not in ("", "ai.onnx"):
                raise ImportError_("%s: operators of domain %s are not supported"
                                   % (describe(node), json.dumps(node.domain)))
            for name in node.output:
                if name:
                    self.producer[name] = node
            for index, name in enumerate(node.input):
                if name:
                    self.consumers[name].append((node, index))
            if node.op_type == "Constant":
                a = attributes(node)
                if "value" in a:
                    self.constants[node.output[0]] = numpy_helper.to_array(a["value"])
                elif "value_float" in a or "value_int" in a:
                    self.constants[node.output[0]] = np.array(a.get("value_float",
                                                                    a.get("value_int")))
                elif "value_floats" in a or "value_ints" in a:
                    self.constants[node.output[0]] = np.array(a.get("value_floats",
                                                                    a.get("value_ints")))
        self.outputs = [o.name for o in self.graph.output]
        self.main = set()       # nodes of the chain
        self.auxiliary = set()  # shape arithmetic feeding initial states and Squeeze axes

    def constant(self, name, node, what):
        if name not in self.constants:
            raise ImportError_("%s: %s must be a constant (an initializer or a Constant node)"
                               % (describe(node), what))
        if name in self.producer:
            self.auxiliary.add(id(self.producer[name]))
        return self.constants[name]

    def mark_auxiliary(self, name, node, what):
        """Accept the nodes computing tensor `name` as shape arithmetic."""
        stack = [name]
        while stack:
            tensor = stack.pop()
            producer = self.producer.get(tensor)
            if producer is None or id(producer) in self.auxiliary:
                continue
            if producer.op_type not in SHAPE_OPS:
                raise ImportError_("%s: its %s is computed by %s, which is not shape "
                                   "arithmetic" % (describe(node), what, describe(producer)))
            self.auxiliary.add(id(producer))
            if producer.op_type != "Shape":  # Shape reads only the shape of its input
                stack.extend(i for i in producer.input if i)

    def shape_only(self, node):
        """Whether all that is used of `node` is the shape of its output: a Shape node, or a
        layout op whose outputs reach only such nodes (torch leaves these behind)."""
        if node.op_type == "Shape":
            return True
        if node.op_type not in LAYOUT_OPS or any(o in self.outputs for o in node.output):
            return False
        users = [user for o in node.output if o for user, _ in self.consumers.get(o, [])]
        return bool(users) and all(self.shape_only(user) for user in users)

    def mark_shape_only(self, node):
        self.auxiliary.add(id(node))
        if node.op_type == "Shape":  # what uses the shape is checked where it is used
            return
        for o in node.output:
            for user, _ in self.consumers.get(o, []):
                self.mark_shape_only(user)

    def is_zero(self, name, node, what):
        """Whether tensor `name` is provably all zeros (absent counts as zero)."""
        if not name:
            return True
        if name in self.constants:
            if name in self.producer:
                self.auxiliary.add(id(self.producer[name]))
            return not np.any(self.constants[name])
        producer = self.producer.get(name)
        if producer is None:
            return False  # a graph input: a state the caller passes in
        if producer.op_type in ZERO_PRESERVING:  # zeros in, zeros out; the rest is shapes
            zero = self.is_zero(producer.input[0], node, what)
            self.auxiliary.add(id(producer))
            for shape_input in producer.input[1:]:
                if shape_input:
                    self.mark_auxiliary(shape_input, node, what)
            return zero
        if producer.op_type == "ConstantOfShape":
            value = attributes(producer).get("value")
            self.auxiliary.add(id(producer))
            self.mark_auxiliary(producer.input[0], node, what)
            return value is None or not np.any(numpy_helper.to_array(value))
        return False


def check_dtype(array, node, dtypes):
    if array.dtype not in DTYPES:
        raise ImportError_("%s: weights of type %s are not supported (float32 or float64)"
                           % (describe(node), array.dtype))
    dtypes.add(DTYPES[array.dtype])


def reorder(rows, op, hidden):
    """Gate blocks of `rows` (gates * hidden along axis 0) from ONNX's order to PyTorch's."""
    blocks = [rows[g * hidden:(g + 1) * hidden] for g in range(len(GATE_ORDER[op]))]
    return np.concatenate([blocks[g] for g in GATE_ORDER[op]], axis=0)


def recurrent_layer(g, node, width, dtypes):
    op = node.op_type
    a = attributes(node)
    where = describe(node)
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction != "forward":
        raise ImportError_("%s: direction %s is not supported (only forward; bidirectional "
                           "layers are not in rnnx)" % (where, json.dumps(direction)))
    hidden = a.get("hidden_size")
    gates = len(GATE_ORDER[op])
    activations = [s.decode() if isinstance(s, bytes) else s
                   for s in a.get("activations", DEFAULT_ACTIVATIONS[op])]
    nonlinearity = None
    if op == "RNN":
        if activations not in (["Tanh"], ["Relu"]):
            raise ImportError_("%s: activations %s are not supported (Tanh or Relu)"
                               % (where, activations))
        nonlinearity = activations[0].lower()
    elif activations != DEFAULT_ACTIVATIONS[op]:
        raise ImportError_("%s: activations %s are not supported (PyTorch's are %s)"
                           % (where, activations, DEFAULT_ACTIVATIONS[op]))
    for unsupported in ("clip", "activation_alpha", "activation_beta"):
        if unsupported in a:
            raise ImportError_("%s: attribute '%s' is not supported" % (where, unsupported))
    if a.get("input_forget", 0) != 0:
        raise ImportError_("%s: input_forget=1 is not supported" % where)
    if a.get("layout", 0) != 0:
        raise ImportError_("%s: layout=1 (batch-major) is not supported" % where)
    if op == "GRU" and a.get("linear_before_reset", 0) != 1:
        raise ImportError_("%s: linear_before_reset=0 is not supported (PyTorch's GRU, and "
                           "rnnx's, apply the reset gate after the hidden matmul: 1)" % where)
    inputs = list(node.input) + [""] * (8 - len(node.input))
    w = g.constant(inputs[1], node, "W")
    r = g.constant(inputs[2], node, "R")
    for array in (w, r):
        check_dtype(array, node, dtypes)
    if w.ndim != 3 or w.shape[0] != 1 or r.ndim != 3 or r.shape[0] != 1:
        raise ImportError_("%s: W and R must have shape [1, gates*hidden, ...], found %s and %s"
                           % (where, list(w.shape), list(r.shape)))
    w, r = w[0], r[0]
    if hidden is None:
        hidden = r.shape[1]
    if w.shape[0] != gates * hidden or r.shape != (gates * hidden, hidden):
        raise ImportError_("%s: W %s and R %s do not match hidden_size %d with %d gates"
                           % (where, list(w.shape), list(r.shape), hidden, gates))
    if width is not None and w.shape[1] != width:
        raise ImportError_("%s: takes %d inputs, but the previous layer gives %d"
                           % (where, w.shape[1], width))
    if inputs[3]:
        b = g.constant(inputs[3], node, "B")
        check_dtype(b, node, dtypes)
        if b.shape != (1, 2 * gates * hidden):
            raise ImportError_("%s: B must have shape [1, %d], found %s"
                               % (where, 2 * gates * hidden, list(b.shape)))
        b_ih, b_hh = b[0, :gates * hidden], b[0, gates * hidden:]
    else:
        b_ih = b_hh = np.zeros(gates * hidden, dtype=w.dtype)
    if inputs[4]:
        raise ImportError_("%s: sequence_lens is not supported" % where)
    if inputs[7]:
        raise ImportError_("%s: peephole weights (P) are not supported" % where)
    for index, what in ((5, "initial_h"), (6, "initial_c")):
        if index == 6 and op != "LSTM":
            continue
        if not g.is_zero(inputs[index], node, what):
            raise ImportError_("%s: %s is not zero; rnnx layers start from a zero state "
                               "(pass states through network::state instead)" % (where, what))
    for extra in node.output[1:]:
        if extra and (g.consumers.get(extra) or extra in g.outputs):
            raise ImportError_("%s: its final-state output %s is used; only the sequence "
                               "output Y can be" % (where, json.dumps(extra)))
    layer = {"type": KIND[op], "input_size": int(w.shape[1]), "hidden_size": int(hidden)}
    if nonlinearity:
        layer["nonlinearity"] = nonlinearity
    layer["parameters"] = {
        "weight_ih": reorder(w, op, hidden), "weight_hh": reorder(r, op, hidden),
        "bias_ih": reorder(b_ih, op, hidden), "bias_hh": reorder(b_hh, op, hidden)}
    return layer


def dense_layer(weight, bias, node, width, dtypes):
    """weight: [out x in] (PyTorch's layout)."""
    check_dtype(weight, node, dtypes)
    if weight.ndim != 2:
        raise ImportError_("%s: the weight must be a matrix, found shape %s"
                           % (describe(node), list(weight.shape)))
    out_features, in_features = weight.shape
    if width is not None and in_features != width:
        raise ImportError_("%s: takes %d inputs, but the previous layer gives %d"
                           % (describe(node), in_features, width))
    if bias is None:
        bias = np.zeros(out_features, dtype=weight.dtype)
    else:
        check_dtype(bias, node, dtypes)
        bias = bias.reshape(-1) if bias.ndim == 2 and bias.shape[0] == 1 else bias
        if bias.shape != (out_features,):
            raise ImportError_("%s: the bias must have %d values, found shape %s"
                               % (describe(node), out_features, list(bias.shape)))
    return {"type": "dense", "in_features": int(in_features), "out_features": int(out_features),
            "activation": "identity", "parameters": {"weight": weight, "bias": bias}}


def squeeze_axes(g, node):
    if g.opset >= 13 and len(node.input) > 1 and node.input[1]:
        return [int(v) for v in np.ravel(g.constant(node.input[1], node, "axes"))]
    return list(attributes(node).get("axes", []))


def out_width(layer):
    return layer.get("hidden_size", layer.get("out_features", layer.get("size")))


def convert(model):
    """An ONNX ModelProto -> the rnnx weights document (numpy arrays as values)."""
    g = Graph(model)
    inputs = [i for i in g.graph.input if i.name not in g.constants]
    if len(inputs) != 1 or len(g.outputs) != 1:
        raise ImportError_("the graph must have one input and one output, found inputs %s and "
                           "outputs %s" % ([i.name for i in inputs], g.outputs))
    dims = inputs[0].type.tensor_type.shape.dim
    rank = len(dims) if dims else None
    width = dims[-1].dim_value if dims and dims[-1].HasField("dim_value") else None
    layers, dtypes = [], set()
    current = inputs[0].name
    swapped = False           # an odd number of Transposes [1, 0, 2] since the input
    time_major_when = None    # the value of `swapped` for which axis 0 is time
    while current not in g.outputs:
        users = []
        for node, index in g.consumers.get(current, []):
            if g.shape_only(node):
                g.mark_shape_only(node)
            else:
                users.append((node, index))
        if not users:
            raise ImportError_("tensor %s leads nowhere: it is not the graph output %s"
                               % (json.dumps(current), json.dumps(g.outputs[0])))
        if len(users) > 1:
            raise ImportError_("the graph branches: tensor %s feeds %s; only a chain of layers "
                               "is supported" % (json.dumps(current),
                                                 " and ".join(describe(n) for n, _ in users)))
        node, index = users[0]
        op = node.op_type
        g.main.add(id(node))
        if op in GATE_ORDER:
            if index != 0:
                raise ImportError_("%s: the chain enters it as input %d, not as X"
                                   % (describe(node), index))
            if time_major_when is None:
                time_major_when = swapped
            elif swapped != time_major_when:
                raise ImportError_("%s: its input is batch-major here (an unmatched "
                                   "Transpose)" % describe(node))
            layers.append(recurrent_layer(g, node, width, dtypes))
            y = node.output[0] if node.output else ""
            squeezes = g.consumers.get(y, []) if y else []
            if len(squeezes) != 1 or squeezes[0][0].op_type != "Squeeze" \
                    or squeeze_axes(g, squeezes[0][0]) != [1]:
                raise ImportError_("%s: its output Y must go to one Squeeze of axis 1 "
                                   "(num_directions)" % describe(node))
            g.main.add(id(squeezes[0][0]))
            current = squeezes[0][0].output[0]
            rank = 3
        elif op == "Transpose":
            if list(attributes(node).get("perm", [])) != [1, 0, 2]:
                raise ImportError_("%s: only perm [1, 0, 2] (batch_first) is supported, found "
                                   "%s" % (describe(node), list(attributes(node).get("perm", []))))
            swapped = not swapped
            current = node.output[0]
        elif op == "MatMul":
            if index != 0:
                raise ImportError_("%s: the chain must be its first input" % describe(node))
            weight = g.constant(node.input[1], node, "the second input (the weight)").T
            bias, current = None, node.output[0]
            adds = g.consumers.get(current, [])
            if len(adds) == 1 and adds[0][0].op_type == "Add" and current not in g.outputs:
                add = adds[0][0]
                other = add.input[1 - adds[0][1]]
                if other in g.constants:
                    bias = g.constant(other, add, "the bias")
                    g.main.add(id(add))
                    current = add.output[0]
            layers.append(dense_layer(weight, bias, node, width, dtypes))
        elif op == "Gemm":
            a = attributes(node)
            if index != 0 or a.get("transA", 0) != 0 or a.get("alpha", 1.0) != 1.0 \
                    or a.get("beta", 1.0) != 1.0:
                raise ImportError_("%s: only A x B' + C with the chain as A, transA=0 and "
                                   "alpha=beta=1 is supported" % describe(node))
            b = g.constant(node.input[1], node, "B")
            weight = b if a.get("transB", 0) == 1 else b.T
            bias = g.constant(node.input[2], node, "C") if len(node.input) > 2 \
                and node.input[2] else None
            layers.append(dense_layer(weight, bias, node, width, dtypes))
            current = node.output[0]
        elif op in ACTIVATION_OPS:
            function = ACTIVATION_OPS[op]
            if op == "Softmax":
                axis = attributes(node).get("axis", -1 if g.opset >= 13 else 1)
                if not (axis == -1 or (rank is not None and axis == rank - 1)):
                    raise ImportError_("%s: only softmax over the last axis is supported, "
                                       "found axis %d" % (describe(node), axis))
            last = layers[-1] if layers else None
            if last and last["type"] == "dense" and last["activation"] == "identity":
                last["activation"] = function
            else:
                size = out_width(last) if last else width
                if size is None:
                    raise ImportError_("%s: the input's feature size is unknown" % describe(node))
                layers.append({"type": "activation", "size": int(size), "function": function})
            current = node.output[0]
        elif op in PASS_THROUGH:
            for extra in node.output[1:]:
                if extra and g.consumers.get(extra):
                    raise ImportError_("%s: its mask output is used" % describe(node))
            current = node.output[0]
        else:
            raise ImportError_("%s is not supported; supported: %s" % (describe(node), SUPPORTED))
        if layers:
            width = out_width(layers[-1])
    for node in g.nodes:
        unused_constant = node.op_type == "Constant" and not any(
            g.consumers.get(o) or o in g.outputs for o in node.output)
        if id(node) not in g.main and id(node) not in g.auxiliary and not unused_constant:
            raise ImportError_("%s is not part of the layer chain (unused, or a computation "
                               "rnnx cannot represent)" % describe(node))
    if not layers:
        raise ImportError_("the graph holds no layers")
    if len(dtypes) > 1:
        raise ImportError_("the weights mix float32 and float64")
    return {"format": FORMAT, "version": VERSION, "dtype": dtypes.pop() if dtypes else "float32",
            "layers": layers}


def number(value, dtype):
    text = "%.*g" % (DIGITS[dtype], value)
    if not np.isfinite(value):
        raise ImportError_("a weight is %s; the weight format holds finite numbers only" % text)
    return text


def dumps(doc):
    """The document as JSON text, values rounded to its dtype and checked finite."""
    dtype = doc["dtype"]
    rounded = {"float64": np.float64, "float32": np.float32}[dtype]
    layers = []
    for layer in doc["layers"]:
        layer = dict(layer)
        if "parameters" in layer:
            layer["parameters"] = {name: np.asarray(values, dtype=rounded).tolist()
                                   for name, values in layer["parameters"].items()}
        layers.append(layer)
    return weights_text.dumps(dict(doc, layers=layers), lambda v: number(v, dtype))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="import_onnx.py",
        description="Convert an ONNX model (as torch.onnx.export writes for LSTM/GRU/RNN/"
                    "Linear/activation chains) to rnnx JSON weights.")
    parser.add_argument("model", help="ONNX file")
    parser.add_argument("-o", "--output", required=True, help="weight file to write")
    args = parser.parse_args(argv)
    try:
        try:
            model = onnx.load(args.model)
        except OSError as err:
            raise ImportError_("cannot read: %s" % (err.strerror or err)) from None
        except Exception as err:  # protobuf's DecodeError and friends
            raise ImportError_("not an ONNX model: %s" % str(err).splitlines()[0]) from None
        text = dumps(convert(model))
        weights_text.write_atomically(args.output, text)
    except (ImportError_, OSError) as err:
        print(("import_onnx: error: %s: %s" % (args.model, err)).replace("\n", " "),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
