#!/usr/bin/python3
"""Convert an RTNeural JSON model to rnnx JSON weights (docs/weights-format.md).

    /usr/bin/python3 codegen/import_rtneural.py MODEL.json -o model.json [--dtype float32|float64]

then `rnnx-codegen model.json -o model.hpp --name Model`. Python 3 standard library only.

RTNeural's files (written by its python/model_utils.py from Keras, and read by its
json_parser::parseJson) hold "in_shape" (the last entry is the input size) and "layers", each
with "type", "shape" (the last entry is the output size), "weights" in Keras' layout and an
optional "activation". The layers that map:

  RTNeural type                    rnnx layer     weights (Keras layout -> PyTorch's)
  dense, time-distributed-dense    dense          kernel [in][out] -> weight [out][in]; bias
  gru                              gru            kernel [in][3H], recurrent [H][3H], bias [2][3H]
                                                  (input, recurrent); gates z, r, h -> r, z, n
  lstm                             lstm           kernel [in][4H], recurrent [H][4H], bias [4H];
                                                  gates i, f, c, o as PyTorch; bias_hh = 0
  activation                       activation     tanh, relu, sigmoid, softmax

A dense layer's "activation" (tanh, relu, sigmoid, softmax, or "" for none) becomes the dense
layer's, as RTNeural appends it as a separate layer. RTNeural ignores "activation" on GRU and
LSTM layers (Keras writes "tanh"); anything but "tanh" or "" there is refused, since the Keras
model then computed something else. Refused with a message naming the layer: conv1d, conv2d,
prelu, batchnorm, batchnorm2d, elu, and any type RTNeural does not know (its parser skips
those silently).
"""

import argparse
import json
import math
import struct
import sys

from weights_text import DIGITS, dumps, write_atomically

FORMAT = "rnnx.weights"
VERSION = 1
ACTIVATIONS = {"": "identity", "tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid",
               "softmax": "softmax"}
DENSE_TYPES = ("dense", "time-distributed-dense")
NOT_IN_RNNX = ("conv1d", "conv2d", "prelu", "batchnorm", "batchnorm2d")
# PyTorch's gate order as Keras gate indices.
GRU_GATES = (1, 0, 2)      # Keras z, r, h -> PyTorch r, z, n
LSTM_GATES = (0, 1, 2, 3)  # Keras i, f, c, o == PyTorch i, f, g, o


class ImportError_(ValueError):
    """The file is not an RTNeural model rnnx can represent."""


class NonFinite:
    def __init__(self, text):
        self.text = text


def parse(data):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ImportError_("not UTF-8 (byte 0x%02x at offset %d)"
                           % (data[err.start], err.start)) from None
    try:
        return json.loads(text, parse_constant=NonFinite)
    except json.JSONDecodeError as err:
        raise ImportError_("not valid JSON: %s at line %d, column %d"
                           % (err.msg, err.lineno, err.colno)) from None
    except RecursionError:
        raise ImportError_("not valid JSON: nested too deeply") from None


class Converter:
    def __init__(self, dtype):
        self.dtype = dtype

    def number(self, value, what):
        if isinstance(value, NonFinite):
            raise ImportError_("%s is %s, not a finite number" % (what, value.text))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ImportError_("%s is not a number" % what)
        try:
            v = float(value)
        except OverflowError:
            v = math.inf
        if self.dtype == "float32" and math.isfinite(v):
            try:
                v = struct.unpack("<f", struct.pack("<f", v))[0]
            except OverflowError:
                v = math.inf
        if not math.isfinite(v):
            raise ImportError_("%s = %s is outside the %s range"
                               % (what, json.dumps(value)[:30], self.dtype))
        return v

    def vector(self, value, length, what):
        if not isinstance(value, list) or len(value) != length:
            raise ImportError_("%s must be a list of %d numbers, found %s"
                               % (what, length, describe(value)))
        return [self.number(v, "%s[%d]" % (what, i)) for i, v in enumerate(value)]

    def matrix(self, value, rows, cols, what):
        if not isinstance(value, list) or len(value) != rows:
            raise ImportError_("%s must be %d rows of %d numbers, found %s"
                               % (what, rows, cols, describe(value)))
        return [self.vector(row, cols, "%s[%d]" % (what, r)) for r, row in enumerate(value)]


def describe(value):
    if isinstance(value, list):
        return "%d entries" % len(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a number" if not isinstance(value, bool) else "a boolean"


def last_size(shape, what):
    if not isinstance(shape, list) or not shape:
        raise ImportError_("%s must be a list ending in a size" % what)
    if len(shape) == 4:
        raise ImportError_("%s has 4 dimensions (a conv2d model); rnnx has no conv2d" % what)
    size = shape[-1]
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ImportError_("%s must end in a positive integer, found %s"
                           % (what, json.dumps(size)))
    return size


def transpose(rows):
    return [list(column) for column in zip(*rows)]


def gate_rows(columns, hidden, order):
    """Keras columns [in][G*H] -> PyTorch rows [G*H][in] in PyTorch's gate order."""
    rows = transpose(columns)
    return [row for gate in order for row in rows[gate * hidden:(gate + 1) * hidden]]


def gate_vector(values, hidden, order):
    return [v for gate in order for v in values[gate * hidden:(gate + 1) * hidden]]


def convert(document, dtype):
    if not isinstance(document, dict):
        raise ImportError_("the document must be a JSON object with 'in_shape' and 'layers'")
    if "in_shape" not in document:
        raise ImportError_("field 'in_shape' is missing (is this an RTNeural model file?)")
    width = last_size(document["in_shape"], "'in_shape'")
    layers_in = document.get("layers")
    if not isinstance(layers_in, list) or not layers_in:
        raise ImportError_("field 'layers' must be a non-empty list")
    c = Converter(dtype)
    layers = []
    for index, layer in enumerate(layers_in):
        if not isinstance(layer, dict):
            raise ImportError_("layer %d must be an object" % index)
        kind = layer.get("type")
        if not isinstance(kind, str):
            raise ImportError_("layer %d: field 'type' (a string) is missing" % index)
        where = "layer %d (%s)" % (index, kind)
        activation = layer.get("activation", "")
        if not isinstance(activation, str):
            raise ImportError_("%s: 'activation' must be a string" % where)
        if kind in NOT_IN_RNNX:
            raise ImportError_("%s has no rnnx equivalent; supported: dense, "
                               "time-distributed-dense, gru, lstm, activation" % where)
        if kind not in DENSE_TYPES + ("gru", "lstm", "activation"):
            raise ImportError_("%s: unknown layer type (RTNeural's parser would skip it); "
                               "supported: dense, time-distributed-dense, gru, lstm, "
                               "activation" % where)
        if activation not in ACTIVATIONS:
            raise ImportError_("%s: activation %s is not supported (tanh, relu, sigmoid, "
                               "softmax or none)" % (where, json.dumps(activation)[:40]))
        if kind == "activation":
            if activation == "":
                continue  # RTNeural adds nothing
            last = layers[-1] if layers else None
            if last and last["type"] == "dense" and last["activation"] == "identity":
                last["activation"] = ACTIVATIONS[activation]
            else:
                layers.append({"type": "activation", "size": width,
                               "function": ACTIVATIONS[activation]})
            continue
        size = last_size(layer.get("shape"), "%s: 'shape'" % where)
        weights = layer.get("weights")
        if not isinstance(weights, list):
            raise ImportError_("%s: 'weights' must be a list" % where)
        if kind in DENSE_TYPES:
            # Keras' Dense(use_bias=False) is written as the kernel alone; RTNeural reads the
            # missing bias as zeros.
            if len(weights) not in (1, 2):
                raise ImportError_("%s: 'weights' must hold the kernel and optionally the bias "
                                   "(1 or 2 arrays), found %d" % (where, len(weights)))
            kernel = c.matrix(weights[0], width, size, "%s: weights[0] (kernel [in][out])" % where)
            bias = c.vector(weights[1], size, "%s: weights[1] (bias)" % where) \
                if len(weights) == 2 else [0.0] * size
            layers.append({"type": "dense", "in_features": width, "out_features": size,
                           "activation": ACTIVATIONS[activation],
                           "parameters": {"weight": transpose(kernel), "bias": bias}})
        else:
            if len(weights) != 3:
                raise ImportError_("%s: 'weights' must hold 3 arrays, found %d"
                                   % (where, len(weights)))
            if activation not in ("", "tanh"):
                raise ImportError_("%s: activation %s; RTNeural ignores it and computes tanh, "
                                   "Keras does not, so which one the model means is unclear"
                                   % (where, json.dumps(activation)))
            gates = 3 if kind == "gru" else 4
            order = GRU_GATES if kind == "gru" else LSTM_GATES
            g = gates * size
            kernel = c.matrix(weights[0], width, g, "%s: weights[0] (kernel [in][%dH])"
                              % (where, gates))
            recurrent = c.matrix(weights[1], size, g, "%s: weights[1] (recurrent [H][%dH])"
                                 % (where, gates))
            if kind == "gru":
                bias = c.matrix(weights[2], 2, g, "%s: weights[2] (bias [2][3H])" % where)
                bias_ih, bias_hh = bias
            else:
                bias_ih = c.vector(weights[2], g, "%s: weights[2] (bias [4H])" % where)
                bias_hh = [0.0] * g
            layers.append({"type": kind, "input_size": width, "hidden_size": size,
                           "parameters": {
                               "weight_ih": gate_rows(kernel, size, order),
                               "weight_hh": gate_rows(recurrent, size, order),
                               "bias_ih": gate_vector(bias_ih, size, order),
                               "bias_hh": gate_vector(bias_hh, size, order)}})
        width = size
    if not layers:
        raise ImportError_("the model has no layers rnnx can run (only empty activations)")
    return {"format": FORMAT, "version": VERSION, "dtype": dtype, "layers": layers}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="import_rtneural.py",
        description="Convert an RTNeural JSON model (dense/gru/lstm/activation layers) to "
                    "rnnx JSON weights.")
    parser.add_argument("model", help="RTNeural model file (JSON)")
    parser.add_argument("-o", "--output", required=True, help="weight file to write")
    parser.add_argument("--dtype", choices=sorted(DIGITS), default="float32",
                        help="value type of the weight file (default float32, as Keras "
                             "trains; values are rounded to it)")
    args = parser.parse_args(argv)
    try:
        try:
            with open(args.model, "rb") as f:
                data = f.read()
        except OSError as err:
            raise ImportError_("cannot read: %s" % (err.strerror or err)) from None
        text = dumps(convert(parse(data), args.dtype))
        write_atomically(args.output, text)
    except (ImportError_, OSError) as err:
        print(("import_rtneural: error: %s: %s" % (args.model, err)).replace("\n", " "),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
