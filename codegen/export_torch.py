#!/usr/bin/python3
"""Export a PyTorch model to rnnx JSON weights (docs/weights-format.md).

Library use::

    from export_torch import export_model, write_weights
    write_weights(export_model(model), "model.json")

Command line::

    /usr/bin/python3 codegen/export_torch.py MODEL.pt -o model.json \
        [--dtype float32|float64]

where MODEL.pt was written by ``torch.save(model)`` of a full module: an
nn.Sequential, or a module whose direct children form the layer chain.
"""

import argparse
import inspect
import json
import math
import sys
import warnings

import numpy as np
import torch
from torch import nn

FORMAT = "rnnx.weights"
VERSION = 1

_DTYPES = {"float32": np.float32, "float64": np.float64}
_TORCH_DTYPES = {torch.float32: "float32", torch.float64: "float64"}

# Significant digits that make a printed value read back bit-identically.
_DIGITS = {"float32": 9, "float64": 17}

_RECURRENT = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}

_ACTIVATIONS = {
    nn.Identity: "identity",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.ReLU: "relu",
    nn.Softmax: "softmax",
}

# nn.Softmax dims that mean "the feature axis" both for a 3-D (batch, time,
# feature) or (time, batch, feature) tensor and for any input via -1.
_SOFTMAX_DIMS = (-1, 2)


class ExportError(ValueError):
    """The model cannot be represented in the rnnx weight format."""


def _describe(name, module):
    """Name a chain element for error messages, e.g. "'fc' (nn.Linear)"."""
    cls = type(module)
    prefix = "nn." if cls.__module__.startswith("torch.nn") else ""
    return "'%s' (%s%s)" % (name, prefix, cls.__name__)


def _resolve_dtype(dtype, module):
    """Return "float32" or "float64": the requested dtype or the module's."""
    if dtype is None:
        found = {p.dtype for p in module.parameters()}
        if not found:
            return "float32"  # parameter-free chain: nothing to round
        if len(found) > 1:
            raise ExportError("model mixes parameter dtypes %s; pass "
                              "dtype='float32' or 'float64'"
                              % ", ".join(sorted(str(d) for d in found)))
        (torch_dtype,) = found
        if torch_dtype not in _TORCH_DTYPES:
            raise ExportError("model parameters are %s; pass dtype='float32' "
                              "or 'float64' to convert" % torch_dtype)
        return _TORCH_DTYPES[torch_dtype]
    if isinstance(dtype, torch.dtype):
        dtype = _TORCH_DTYPES.get(dtype, str(dtype))
    if dtype not in _DTYPES:
        raise ExportError("dtype must be 'float32' or 'float64', not %r"
                          % (dtype,))
    return dtype


def _values(tensor, dtype, what):
    """Convert a tensor to nested lists of Python floats rounded to dtype."""
    array = tensor.detach().cpu().to(torch.float64).numpy().astype(
        _DTYPES[dtype])
    if not np.all(np.isfinite(array)):
        raise ExportError("%s contains NaN or infinity" % what)
    return array.tolist()


def _zeros(count):
    return [0.0] * count


def _chain_of(module):
    """Return the (name, module) pairs forming the layer chain."""
    if isinstance(module, tuple(_RECURRENT) + (nn.Linear,)):
        return [("model", module)]
    chain = []
    for name, child in module.named_children():
        # A nested Sequential runs its children in order too: flatten it.
        if isinstance(child, nn.Sequential):
            chain.extend(("%s.%s" % (name, sub_name), sub)
                         for sub_name, sub in _chain_of(child))
        else:
            chain.append((name, child))
    if not chain:
        raise ExportError("the model (%s) has no child modules to export"
                          % type(module).__name__)
    return chain


def _recurrent_layers(name, module, dtype):
    """Expand an nn.LSTM/GRU/RNN into one rnnx layer per PyTorch layer."""
    what = _describe(name, module)
    if module.bidirectional:
        raise ExportError("%s: bidirectional=True is not supported" % what)
    if getattr(module, "proj_size", 0) > 0:
        raise ExportError("%s: proj_size>0 is not supported" % what)
    if module.dropout > 0:
        warnings.warn("%s: dropout=%g is ignored (rnnx runs inference only)"
                      % (what, module.dropout), stacklevel=3)
    kind = _RECURRENT[type(module)]
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    hidden = module.hidden_size
    layers = []
    for k in range(module.num_layers):
        label = what
        if module.num_layers > 1:
            label = "%s layer l%d" % (what, k)  # PyTorch's _l{k} suffix
        layer = {
            "type": kind,
            "input_size": module.input_size if k == 0 else hidden,
            "hidden_size": hidden,
        }
        if kind == "rnn":
            if module.nonlinearity not in ("tanh", "relu"):
                raise ExportError("%s: nonlinearity %r is not supported"
                                  % (what, module.nonlinearity))
            layer["nonlinearity"] = module.nonlinearity
        params = {}
        for pname in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            attr = "%s_l%d" % (pname, k)
            if module.bias or pname.startswith("weight"):
                params[pname] = _values(getattr(module, attr), dtype,
                                        "%s.%s" % (what, attr))
            else:
                params[pname] = _zeros(gates * hidden)
        layer["parameters"] = params
        layers.append((label, layer))
    return layers


def _dense_layer(name, module, dtype):
    """Convert an nn.Linear into a dense layer with identity activation."""
    what = _describe(name, module)
    params = {"weight": _values(module.weight, dtype, what + ".weight")}
    if module.bias is not None:
        params["bias"] = _values(module.bias, dtype, what + ".bias")
    else:
        params["bias"] = _zeros(module.out_features)
    return {
        "type": "dense",
        "in_features": module.in_features,
        "out_features": module.out_features,
        "activation": "identity",
        "parameters": params,
    }


def _activation_function(name, module):
    """Return the rnnx activation name for an activation module."""
    function = _ACTIVATIONS[type(module)]
    if function == "softmax" and module.dim not in _SOFTMAX_DIMS:
        raise ExportError("%s: only Softmax over the feature axis (dim=-1 or "
                          "dim=2) is supported, not dim=%r"
                          % (_describe(name, module), module.dim))
    return function


def _input_size(layer):
    return layer.get("input_size", layer.get("in_features", layer.get("size")))


def _output_size(layer):
    return layer.get("hidden_size",
                     layer.get("out_features", layer.get("size")))


def _size_leading_activations(named):
    """Give activations that start the chain the first real layer's input."""
    for _, layer in named:
        if layer["type"] != "activation":
            size = _input_size(layer)
            break
    else:
        raise ExportError("model consists of activations only; their size "
                          "is unknown")
    for _, layer in named:
        if layer["type"] != "activation":
            break
        layer["size"] = size


def export_model(module, dtype=None):
    """Return the rnnx weights document (a dict) for a PyTorch module.

    ``module`` is an nn.Sequential, a single supported layer, or any module
    whose direct children (in registration order) form the layer chain.
    ``dtype`` is "float32" or "float64" (default: the parameters' dtype).
    """
    dtype = _resolve_dtype(dtype, module)
    named = []  # (label for messages, layer dict) per emitted layer
    for name, child in _chain_of(module):
        cls = type(child)
        if cls in _RECURRENT:
            named.extend(_recurrent_layers(name, child, dtype))
        elif cls is nn.Linear:
            named.append((_describe(name, child),
                          _dense_layer(name, child, dtype)))
        elif cls in _ACTIVATIONS:
            function = _activation_function(name, child)
            last = named[-1][1] if named else None
            if (last is not None and last["type"] == "dense"
                    and last["activation"] == "identity"):
                last["activation"] = function
                continue
            # A leading activation's size is filled in below.
            layer = {"type": "activation",
                     "size": _output_size(last) if last else None,
                     "function": function}
            named.append((_describe(name, child), layer))
        else:
            raise ExportError(
                "unsupported module %s; supported: nn.LSTM, nn.GRU, nn.RNN, "
                "nn.Linear, nn.Identity, nn.Sigmoid, nn.Tanh, nn.ReLU, "
                "nn.Softmax" % _describe(name, child))
    _size_leading_activations(named)
    for (prev_label, prev), (label, layer) in zip(named, named[1:]):
        if _output_size(prev) != _input_size(layer):
            raise ExportError(
                "size mismatch: %s outputs %d values but the next layer %s "
                "expects %d" % (prev_label, _output_size(prev), label,
                                _input_size(layer)))
    return {
        "format": FORMAT,
        "version": VERSION,
        "dtype": dtype,
        "layers": [layer for _, layer in named],
    }


def format_number(value, dtype):
    """Print a float so that it reads back bit-identically as dtype."""
    return "%.*g" % (_DIGITS[dtype], value)


def _is_scalar(value):
    return value is None or isinstance(value, (bool, int, float, str))


def _is_vector(value):
    return (isinstance(value, list)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in value))


def _scalar(value, dtype):
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExportError("cannot write non-finite value %r" % value)
        return format_number(value, dtype)
    if isinstance(value, str):
        return _json_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_string(text):
    # The json module's escaping is exact and deterministic.
    return json.dumps(text)


def _emit(value, dtype, indent, out):
    """Append the JSON text of value to out (a list of strings).

    Layout: numeric vectors on one line, matrices one row per line, dicts
    with only scalar values on one line, everything else one item per line.
    """
    pad = " " * indent
    inner = " " * (indent + 2)
    if _is_scalar(value):
        out.append(_scalar(value, dtype))
    elif _is_vector(value):
        out.append("[" + ",".join(_scalar(v, dtype) for v in value) + "]")
    elif isinstance(value, dict):
        if all(_is_scalar(v) for v in value.values()):
            out.append("{" + ", ".join(
                "%s: %s" % (_json_string(k), _scalar(v, dtype))
                for k, v in value.items()) + "}")
            return
        out.append("{\n")
        for i, (key, item) in enumerate(value.items()):
            out.append(inner + _json_string(str(key)) + ": ")
            _emit(item, dtype, indent + 2, out)
            out.append(",\n" if i + 1 < len(value) else "\n")
        out.append(pad + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        out.append("[\n")
        for i, item in enumerate(value):
            out.append(inner)
            _emit(item, dtype, indent + 2, out)
            out.append(",\n" if i + 1 < len(value) else "\n")
        out.append(pad + "]")
    else:
        raise TypeError("cannot write %s as JSON" % type(value).__name__)


def to_json(value, dtype):
    """Return deterministic JSON text for value, floats printed as dtype."""
    if dtype not in _DIGITS:
        raise ExportError("dtype must be 'float32' or 'float64', not %r"
                          % (dtype,))
    out = []
    _emit(value, dtype, 0, out)
    out.append("\n")
    return "".join(out)


def dumps(doc):
    """Return the JSON text of a weights document."""
    return to_json(doc, doc["dtype"])


def write_weights(doc, path):
    """Write a weights document to path ("-" for stdout)."""
    text = dumps(doc)
    if path == "-":
        sys.stdout.write(text)
        return
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def load_module(path):
    """Load a full module written by torch.save(model)."""
    kwargs = {"map_location": "cpu"}
    # torch >= 2.6 defaults to weights_only=True, which refuses modules.
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = False
    try:
        obj = torch.load(path, **kwargs)
    except (AttributeError, ModuleNotFoundError) as err:
        raise ExportError(
            "cannot unpickle %s: %s (the model's class must be importable; "
            "put its module on PYTHONPATH)" % (path, err)) from err
    if not isinstance(obj, nn.Module):
        hint = ""
        if isinstance(obj, dict):
            hint = " (a state_dict has no layer structure: save the module " \
                   "itself with torch.save(model))"
        raise ExportError("%s holds an object of type %s, not an "
                          "nn.Module%s" % (path, type(obj).__name__, hint))
    return obj


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Export a torch.save'd PyTorch model to rnnx JSON "
                    "weights (docs/weights-format.md).")
    parser.add_argument("model", help="file written by torch.save(model)")
    parser.add_argument("-o", "--output", required=True,
                        help="output JSON file ('-' for stdout)")
    parser.add_argument("--dtype", choices=sorted(_DTYPES),
                        help="value type (default: the model's parameters')")
    args = parser.parse_args(argv)
    try:
        doc = export_model(load_module(args.model), args.dtype)
        write_weights(doc, args.output)
    except (ExportError, OSError) as err:
        print("export_torch: error: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
