#!/usr/bin/python3
"""Convert an RTNeural JSON model to rnnx JSON weights (docs/weights-format.md).

    /usr/bin/python3 codegen/import_rtneural.py MODEL.json -o model.json [--dtype float32|float64]
        [--activation MODULE=FUNCTION ...]

then `rnnx-codegen model.json -o model.hpp --name Model`. Python 3 standard library only.

RTNeural reads two formats; the file says which.

Keras format (written by its python/model_utils.py, read by json_parser::parseJson): "in_shape"
(the last entry is the input size) and "layers", each with "type", "shape" (the last entry is
the output size), "weights" in Keras' layout and an optional "activation". The layers that map:

  RTNeural type                    rnnx layer     weights (Keras layout -> PyTorch's)
  dense, time-distributed-dense    dense          kernel [in][out] -> weight [out][in]; bias
                                                  (absent: zeros, as RTNeural reads it)
  gru                              gru            kernel [in][3H], recurrent [H][3H], bias [2][3H]
                                                  (input, recurrent); gates z, r, h -> r, z, n
  lstm                             lstm           kernel [in][4H], recurrent [H][4H], bias [4H];
                                                  gates i, f, c, o as PyTorch; bias_hh = 0
  prelu                            prelu          alpha [1][N] or [1][1] -> weight [N] or [1]
  activation                       activation     tanh, relu, sigmoid, softmax, elu

A dense layer's "activation" (one of those, or "" for none) becomes the dense layer's, as
RTNeural appends it as a separate layer. RTNeural ignores "activation" on GRU and LSTM layers
(Keras writes "tanh"); anything but "tanh" or "" there is refused, since the Keras model then
computed something else. RTNeural's GRU and LSTM need their bias (it reads weights[2]), so a
file without one is refused as it would not load there either. Refused with a message naming the
layer: conv1d, conv2d, batchnorm, batchnorm2d, and any type RTNeural does not know (its parser
skips those silently).

PyTorch format (python/gru_torch.py: json.dump(model.state_dict()), read by torch_helpers'
loadDense/loadGRU/loadLSTM, the architecture being in the user's C++): a flat object of
state_dict keys. Modules run in key order as a chain; a module's keys decide its layer:
"<p>weight_ih_l<k>"/"weight_hh_l<k>" with 4H rows an LSTM, 3H rows a GRU (one rnnx layer per k,
PyTorch's layout kept), "<p>weight" [out][in] with an optional "<p>bias" a dense layer. Missing
biases are zeros (RTNeural's hasBias=false); an LSTM keeps bias_ih and bias_hh (RTNeural adds
them). A state_dict holds no activations: --activation gru2=tanh applies one after module
"gru2" (an activation layer, or the dense layer's own activation). The input size is the first
weight's column count. Refused, naming the key: bidirectional (_reverse) and proj_size
(weight_hr) keys, nn.RNN weights, vectors and 3-D weights (norms, PReLU, convolutions), other
keys, modules whose keys are not together, and sizes that do not chain.
"""

import argparse
import json
import math
import re
import struct
import sys

from weights_text import DIGITS, dumps, write_atomically

FORMAT = "rnnx.weights"
VERSION = 1
# RTNeural's createActivation: its names are rnnx's.
ACTIVATIONS = {"": "identity", "tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid",
               "softmax": "softmax", "elu": "elu"}
DENSE_TYPES = ("dense", "time-distributed-dense")
KERAS_TYPES = DENSE_TYPES + ("gru", "lstm", "prelu", "activation")
NOT_IN_RNNX = ("conv1d", "conv2d", "batchnorm", "batchnorm2d")
# PyTorch's gate order as Keras gate indices.
GRU_GATES = (1, 0, 2)      # Keras z, r, h -> PyTorch r, z, n
LSTM_GATES = (0, 1, 2, 3)  # Keras i, f, c, o == PyTorch i, f, g, o


class ImportError_(ValueError):
    """The file is not an RTNeural model rnnx can represent."""


class NonFinite:
    def __init__(self, text):
        self.text = text


def unique_keys(pairs):
    """A JSON object, refused when it holds a key twice: which value is meant is open, and in a
    state_dict the key order is the model's layer order."""
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ImportError_("key %s appears twice in one object" % json.dumps(key)[:80])
        seen[key] = value
    return seen


def parse(data):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ImportError_("not UTF-8 (byte 0x%02x at offset %d)"
                           % (data[err.start], err.start)) from None
    try:
        return json.loads(text, parse_constant=NonFinite, object_pairs_hook=unique_keys)
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


def convert_keras(document, dtype):
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
            raise ImportError_("%s has no rnnx equivalent; supported: %s"
                               % (where, ", ".join(KERAS_TYPES)))
        if kind not in KERAS_TYPES:
            raise ImportError_("%s: unknown layer type (RTNeural's parser would skip it); "
                               "supported: %s" % (where, ", ".join(KERAS_TYPES)))
        if activation not in ACTIVATIONS:
            raise ImportError_("%s: activation %s is not supported (tanh, relu, sigmoid, "
                               "softmax, elu or none)" % (where, json.dumps(activation)[:40]))
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
        if kind == "prelu":
            layers.append(prelu_layer(c, weights, width, size, activation, where))
            continue
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
    return finished(layers, dtype)


def prelu_layer(c, weights, width, size, activation, where):
    """Keras' PReLU(shared_axes=[1]) alpha, [1][N] or [1][1] (shared_axes=[1, 2]); RTNeural
    reads row 0 and spreads a single value over the layer."""
    if size != width:
        raise ImportError_("%s: 'shape' ends in %d, but its input has %d values"
                           % (where, size, width))
    if activation != "":
        raise ImportError_("%s: activation %s; RTNeural ignores it on a prelu layer"
                           % (where, json.dumps(activation)))
    if len(weights) != 1 or not isinstance(weights[0], list) or len(weights[0]) != 1:
        raise ImportError_("%s: 'weights' must hold one array of one row (alpha [1][N], "
                           "Keras' shared_axes=[1]), found %s" % (where, describe(
                               weights[0] if len(weights) == 1 else weights)))
    alpha = weights[0][0]
    count = len(alpha) if isinstance(alpha, list) and len(alpha) == 1 else width
    return {"type": "prelu", "size": width, "num_parameters": count,
            "parameters": {"weight": c.vector(alpha, count, "%s: weights[0][0] (alpha)"
                                              % where)}}


def finished(layers, dtype):
    if not layers:
        raise ImportError_("the model has no layers rnnx can run (only empty activations)")
    return {"format": FORMAT, "version": VERSION, "dtype": dtype, "layers": layers}


# A state_dict key's last component; everything before it is the module's prefix.
RECURRENT_PARAMETER = re.compile(r"(weight|bias)_(ih|hh)_l(\d+)$")
PYTORCH_FORMAT_HINT = re.compile(r"(^|\.)(weight|bias)(_(ih|hh|hr)_l\d+(_reverse)?)?$")
RECURRENT_KINDS = {4: "lstm", 3: "gru"}


def is_state_dict(document):
    """RTNeural's PyTorch format (python/gru_torch.py: json.dump(model.state_dict())): a flat
    object of parameter names, no 'in_shape' or 'layers'."""
    return ("in_shape" not in document and "layers" not in document
            and any(PYTORCH_FORMAT_HINT.search(key) for key in document))


def module_groups(document):
    """[(prefix, {name: value})] in the state_dict's order: its modules in registration order,
    which RTNeural's PyTorch-format models run as a chain."""
    groups = []
    for key, value in document.items():
        prefix, _, name = key.rpartition(".")
        prefix = prefix + "." if prefix else ""
        if groups and groups[-1][0] == prefix:
            groups[-1][1][name] = value
        elif any(p == prefix for p, _ in groups):
            raise ImportError_("key %s: the keys of module %s are not together, so the "
                               "module order is unclear" % (json.dumps(key), json.dumps(prefix)))
        else:
            groups.append((prefix, {name: value}))
    return groups


def row_count(value, key):
    if not isinstance(value, list) or not value or not isinstance(value[0], list):
        raise ImportError_("key %s must be a matrix (a list of rows), found %s"
                           % (json.dumps(key), describe(value)))
    if value[0] and isinstance(value[0][0], list):
        raise ImportError_("key %s has 3 or more dimensions (a convolution?); only nn.Linear, "
                           "nn.GRU and nn.LSTM map" % json.dumps(key))
    if not value[0]:
        raise ImportError_("key %s has rows of 0 values" % json.dumps(key))
    return len(value), len(value[0])


def recurrent_layers(c, prefix, params, width):
    """nn.GRU/nn.LSTM (any num_layers) as one rnnx layer per PyTorch layer; RTNeural's loadGRU
    and loadLSTM with hasBias=false read missing biases as zeros."""
    for name in params:
        if name.endswith("_reverse"):
            raise ImportError_("key %s: a bidirectional layer, which RTNeural does not load"
                               % json.dumps(prefix + name))
        if name.startswith("weight_hr_l"):
            raise ImportError_("key %s: an LSTM with proj_size, which RTNeural does not load"
                               % json.dumps(prefix + name))
        if not RECURRENT_PARAMETER.match(name):
            raise ImportError_("key %s is not a parameter of nn.GRU or nn.LSTM (next to %s)"
                               % (json.dumps(prefix + name),
                                  json.dumps(prefix + next(iter(params)))))
    count = 1 + max(int(RECURRENT_PARAMETER.match(n).group(3)) for n in params)
    layers, kind = [], None
    for k in range(count):
        ih, hh = "weight_ih_l%d" % k, "weight_hh_l%d" % k
        for name in (ih, hh):
            if name not in params:
                raise ImportError_("key %s is missing (module %s has layer %d)"
                                   % (json.dumps(prefix + name), json.dumps(prefix), count - 1))
        rows, hidden = row_count(params[hh], prefix + hh)
        if width is None:  # the model's input size
            width = row_count(params[ih], prefix + ih)[1]
        gates = rows // hidden if hidden and rows % hidden == 0 else 0
        if gates not in RECURRENT_KINDS:
            raise ImportError_("key %s is %d x %d: not 4H x H (LSTM) or 3H x H (GRU)%s"
                               % (json.dumps(prefix + hh), rows, hidden,
                                  "; an nn.RNN, which RTNeural does not load"
                                  if gates == 1 else ""))
        if kind not in (None, RECURRENT_KINDS[gates]):
            raise ImportError_("key %s: layer %d of module %s is not a %s like layer 0"
                               % (json.dumps(prefix + hh), k, json.dumps(prefix), kind))
        kind = RECURRENT_KINDS[gates]
        size = gates * hidden

        def key(name):
            return "key " + json.dumps(prefix + name)

        weight_ih = c.matrix(params[ih], size, width, "%s (%dH x input %d)"
                             % (key(ih), gates, width))
        weight_hh = c.matrix(params[hh], size, hidden, key(hh))
        bias_names = ("bias_ih_l%d" % k, "bias_hh_l%d" % k)
        present = [name in params for name in bias_names]
        if present[0] != present[1]:
            raise ImportError_("%s is there without %s" % (key(bias_names[present[1]]),
                                                          key(bias_names[present[0]])))
        bias_ih, bias_hh = ([c.vector(params[name], size, key(name)) for name in bias_names]
                            if present[0] else ([0.0] * size, [0.0] * size))
        layers.append({"type": kind, "input_size": width, "hidden_size": hidden,
                       "parameters": {"weight_ih": weight_ih, "weight_hh": weight_hh,
                                      "bias_ih": bias_ih, "bias_hh": bias_hh}})
        width = hidden
    return layers, width


def dense_layer(c, prefix, params, width):
    """nn.Linear: RTNeural's loadDense with hasBias=false reads a missing bias as zeros."""
    for name in params:
        if name not in ("weight", "bias"):
            raise ImportError_("key %s is not a parameter of nn.Linear (next to %s)"
                               % (json.dumps(prefix + name), json.dumps(prefix + "weight")))
    if "weight" not in params:
        raise ImportError_("key %s is there without %s" % (json.dumps(prefix + "bias"),
                                                           json.dumps(prefix + "weight")))
    key = prefix + "weight"
    weight = params["weight"]
    if isinstance(weight, list) and weight and not isinstance(weight[0], list):
        raise ImportError_("key %s is a vector, not nn.Linear's [out][in] matrix: a norm or "
                           "PReLU layer, which RTNeural's PyTorch loaders do not read"
                           % json.dumps(key))
    rows, columns = row_count(weight, key)
    width = columns if width is None else width
    weight = c.matrix(params["weight"], rows, width, "key %s ([out][in] with in = %d)"
                      % (json.dumps(key), width))
    bias = c.vector(params["bias"], rows, "key %s" % json.dumps(prefix + "bias")) \
        if "bias" in params else [0.0] * rows
    return {"type": "dense", "in_features": width, "out_features": rows,
            "activation": "identity", "parameters": {"weight": weight, "bias": bias}}, rows


def convert_state_dict(document, dtype, activations):
    c = Converter(dtype)
    groups = module_groups(document)
    unknown = set(activations) - {prefix.rstrip(".") for prefix, _ in groups}
    if unknown:
        raise ImportError_("--activation %s=...: no module %s; the modules are %s"
                           % (sorted(unknown)[0], json.dumps(sorted(unknown)[0]),
                              ", ".join(json.dumps(p.rstrip(".")) for p, _ in groups)))
    layers, width = [], None  # the input size: the first weight's column count
    for prefix, params in groups:
        if any(name.startswith(("weight_", "bias_")) for name in params):
            new, width = recurrent_layers(c, prefix, params, width)
            layers.extend(new)
        else:
            layer, width = dense_layer(c, prefix, params, width)
            layers.append(layer)
        function = activations.get(prefix.rstrip("."))
        if function is None:
            continue
        if layers[-1]["type"] == "dense" and layers[-1]["activation"] == "identity":
            layers[-1]["activation"] = function
        else:
            layers.append({"type": "activation", "size": width, "function": function})
    return finished(layers, dtype)


def convert(document, dtype, activations=None):
    """The rnnx weights document of an RTNeural model file, either format; activations maps a
    PyTorch module's name to the activation applied after it (a state_dict names none)."""
    activations = activations or {}
    if isinstance(document, dict) and is_state_dict(document):
        return convert_state_dict(document, dtype, activations)
    if activations:
        raise ImportError_("--activation applies to PyTorch-format files (a state_dict); this "
                           "file's layers carry their own activations")
    if not isinstance(document, dict):
        raise ImportError_("the document must be a JSON object with 'in_shape' and 'layers'")
    if "in_shape" not in document:
        raise ImportError_("field 'in_shape' is missing (is this an RTNeural model file? "
                           "PyTorch-format ones hold state_dict keys such as 'gru.weight_ih_l0')")
    return convert_keras(document, dtype)


def activation_option(text):
    module, sep, function = text.partition("=")
    if not sep or function not in ACTIVATIONS or function == "":
        raise argparse.ArgumentTypeError(
            "%r: expected MODULE=FUNCTION with FUNCTION one of %s"
            % (text, ", ".join(sorted(f for f in ACTIVATIONS if f))))
    return module.rstrip("."), ACTIVATIONS[function]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="import_rtneural.py",
        description="Convert an RTNeural JSON model (Keras format: dense/gru/lstm/prelu/"
                    "activation layers; PyTorch format: a state_dict of nn.Linear/GRU/LSTM "
                    "modules) to rnnx JSON weights.")
    parser.add_argument("model", help="RTNeural model file (JSON, either format)")
    parser.add_argument("-o", "--output", required=True, help="weight file to write")
    parser.add_argument("--dtype", choices=sorted(DIGITS), default="float32",
                        help="value type of the weight file (default float32, as Keras "
                             "trains; values are rounded to it)")
    parser.add_argument("--activation", action="append", default=[], type=activation_option,
                        metavar="MODULE=FUNCTION",
                        help="PyTorch-format files only: apply FUNCTION (%s) to the output "
                             "of the module whose keys start with MODULE. (e.g. dense=tanh); "
                             "repeat for several modules"
                             % ", ".join(sorted(f for f in ACTIVATIONS if f)))
    args = parser.parse_args(argv)
    activations = {}
    for module, function in args.activation:
        if module in activations:
            parser.error("--activation names module %r twice" % module)
        activations[module] = function
    try:
        try:
            with open(args.model, "rb") as f:
                data = f.read()
        except OSError as err:
            raise ImportError_("cannot read: %s" % (err.strerror or err)) from None
        text = dumps(convert(parse(data), args.dtype, activations))
        write_atomically(args.output, text)
    except (ImportError_, OSError) as err:
        print(("import_rtneural: error: %s: %s" % (args.model, err)).replace("\n", " "),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
