#!/usr/bin/python3
"""Export a PyTorch model to rnnx JSON weights (docs/weights-format.md).

Library use::

    from export_torch import export_model, load_module, write_weights
    write_weights(export_model(model), "model.json")  # nn.Module or
    # ScriptModule; load_module(path) reads either kind of file

Command line::

    /usr/bin/python3 codegen/export_torch.py MODEL.pt -o model.json \
        [--dtype float32|float64] [--reference-steps N | --no-reference]

where MODEL.pt is either

- a full module written by ``torch.save(model)`` (its class must be
  importable), or
- a TorchScript file written by ``torch.jit.save`` of a scripted
  (``torch.jit.script``) or traced (``torch.jit.trace``) module; no Python
  class is needed. The format is detected from the file's contents.

The module is an nn.Sequential, a single supported layer, or a module whose
direct children (in registration order; nested nn.Sequential flattened) form
the layer chain of nn.LSTM, nn.GRU, nn.RNN (any num_layers, batch_first either
way, bias=False; dropout=p becomes a dropout layer between consecutive
layers; bidirectional=True gives one bidirectional layer per PyTorch layer,
its parameters named weight_ih_reverse etc. for PyTorch's
weight_ih_l{k}_reverse, its output 2 * hidden_size), nn.Linear, nn.Embedding (first layer only; no max_norm),
nn.LayerNorm (one size, eps=1e-5), nn.Dropout (p a fraction a/b, b <= 10**6),
nn.PReLU (one slope, or one per feature: nn.PReLU(N) slopes dim 1, so a
sequence model gives it (batch, N, time) or one step's (batch, N)), nn.Identity, nn.Sigmoid, nn.Tanh,
nn.ReLU, nn.ELU (alpha=1) and nn.Softmax over the last axis.
A TorchScript module gives exactly the document its eager module gives: its
children are recognised by their TorchScript type (torch.nn's classes), their
options read from the ScriptModule's attributes (scripted) or inferred from
the parameter names and shapes and the traced graph (traced: aten::rnn_relu /
rnn_tanh, the recurrent dropout, Softmax dim, Dropout p, ELU alpha and
LayerNorm normalized_shape / eps constants, aten::embedding_renorm_ for max_norm).
Anything else is refused, naming the first unsupported submodule.
"""

import argparse
import copy
import fractions
import inspect
import json
import math
import os
import pickle
import re
import sys
import warnings
import zipfile

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
    nn.ELU: "elu",
    nn.Softmax: "softmax",
}

# Parameter-free or per-step layers other than the recurrent ones, nn.Linear and
# the activations.
_OTHERS = {nn.Embedding: "embedding", nn.LayerNorm: "layer_norm",
           nn.Dropout: "dropout", nn.PReLU: "prelu"}

# The eps rnnx::layer_norm uses (nn.LayerNorm's default).
_LAYER_NORM_EPS = 1e-5

# A dropout probability becomes the fraction a/b closest to it with b at most
# this; it must then equal p to within _DROPOUT_TOLERANCE.
_DROPOUT_MAX_DENOMINATOR = 10 ** 6
_DROPOUT_TOLERANCE = 1e-12

_SUPPORTED = ("nn.LSTM, nn.GRU, nn.RNN, nn.Linear, nn.Embedding, nn.LayerNorm, "
              "nn.Dropout, nn.PReLU, nn.Identity, nn.Sigmoid, nn.Tanh, nn.ReLU, "
              "nn.ELU, nn.Softmax")

# nn.Softmax dims that mean "the feature axis" both for a 3-D (batch, time,
# feature) or (time, batch, feature) tensor and for any input via -1.
_SOFTMAX_DIMS = (-1, 2)


class ExportError(ValueError):
    """The model cannot be represented in the rnnx weight format."""


def _type_name(module):
    """The module's class as messages show it: "nn.Linear", "Stack"."""
    if isinstance(module, _Scripted):
        return module.type_name
    cls = type(module)
    prefix = "nn." if cls.__module__.startswith("torch.nn") else ""
    return prefix + cls.__name__


def _describe(name, module):
    """Name a chain element for error messages, e.g. "'fc' (nn.Linear)"."""
    return "'%s' (%s)" % (name, _type_name(module))


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


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _is_layer(module):
    """Whether the module is one layer of the chain (supported or not), rather
    than a composition of layers to look into."""
    return (type(module) in _RECURRENT or type(module) in _OTHERS
            or type(module) in _ACTIVATIONS or type(module) is nn.Linear
            or callable(getattr(module, "rnnx_layer", None))
            or not any(True for _ in module.children()))


def _is_torch_layer(module):
    """Whether the module is itself one supported torch.nn layer (eager or
    TorchScript)."""
    if isinstance(module, torch.jit.ScriptModule):
        cls = _scripted_class(module)
        return cls is not None and cls not in _CONTAINERS
    return isinstance(module, tuple(_RECURRENT) + (nn.Linear,) + tuple(_OTHERS)
                      + tuple(_ACTIVATIONS))


def _chain_of(module):
    """Return the (name, module) pairs forming the layer chain: the layers in
    registration order, looking into containers (nn.Sequential, nn.ModuleList,
    nn.ModuleDict) and other modules made of layers, however nested.
    (_check_plain_chain checks that forward runs them in that order.)"""
    if isinstance(module, tuple(_RECURRENT) + (nn.Linear,) + tuple(_OTHERS)):
        return [("model", module)]
    chain = []
    for name, child in module.named_children():
        if _is_layer(child):
            chain.append((name, child))
        else:
            chain.extend(("%s.%s" % (name, sub_name), sub)
                         for sub_name, sub in _chain_of(child))
    if not chain:
        type_name = _type_name(module)
        if type_name.startswith("nn."):
            type_name = type_name[len("nn."):]
        raise ExportError("the model (%s) has no child modules to export"
                          % type_name)
    return chain


# --- TorchScript ------------------------------------------------------------
#
# A ScriptModule (torch.jit.script or torch.jit.trace, saved by torch.jit.save
# and read by torch.jit.load) keeps its submodules in registration order, each
# with its TorchScript type (e.g. __torch__.torch.nn.modules.rnn.LSTM, or
# ...rnn.___torch_mangle_3.LSTM when traced) and its parameters by name. It is
# rebuilt as the equivalent eager module (the same torch.nn classes holding
# the very same parameter tensors) and exported by the eager code, so both
# give the same document and the same errors. Scripted modules keep the
# options torch.nn declares as constants (hidden_size, num_layers, bias,
# batch_first, dropout, bidirectional, proj_size, nonlinearity, in_features,
# out_features, dim); traced ones keep none, so they are inferred from the
# parameter names and shapes and from the traced graph.

_MANGLE = re.compile(r"\.___torch_mangle_\d+(?=\.)")
_TORCH_NN_PREFIX = "__torch__.torch.nn.modules."

# TorchScript class name of torch.nn's supported classes -> eager class.
_SCRIPTED_CLASSES = {cls.__name__: cls for cls in (
    nn.LSTM, nn.GRU, nn.RNN, nn.Linear, *_CONTAINERS, *_OTHERS,
    *_ACTIVATIONS)}

# aten operator of each RNN nonlinearity in a traced graph.
_RNN_OPERATORS = {"aten::rnn_tanh": "tanh", "aten::rnn_relu": "relu"}
_RECURRENT_OPERATORS = ("aten::lstm", "aten::gru") + tuple(_RNN_OPERATORS)


class _Scripted(nn.Module):
    """Stands for a TorchScript module that has no eager equivalent here.

    As a chain element it is an unsupported module, named by its TorchScript
    type; as the top-level module it is a chain of its children.
    """

    def __init__(self, type_name):
        super().__init__()
        self.type_name = type_name


def _script_type(module):
    """Return (qualified TorchScript type without mangling, class name)."""
    qualified = _MANGLE.sub("", module._c._type().qualified_name())
    return qualified, getattr(module, "original_name",
                              qualified.rsplit(".", 1)[-1])


def _scripted_class(module):
    """The torch.nn class a ScriptModule was made from, or None."""
    qualified, name = _script_type(module)
    if not qualified.startswith(_TORCH_NN_PREFIX):
        return None
    return _SCRIPTED_CLASSES.get(name)


def _scripted_type_name(module):
    qualified, name = _script_type(module)
    if qualified.startswith("__torch__.torch.nn."):
        return "nn." + name
    return name


def _script_parameters(module):
    return dict(module.named_parameters(recurse=False))


def _graph_nodes(module, kinds):
    """The nodes of the given kinds in the module's forward graph."""
    try:
        graph = module.graph
    except (AttributeError, RuntimeError):
        return []  # e.g. a scripted nn.LSTM: forward is overloaded
    return [node for node in graph.nodes() if node.kind() in kinds]


def _constant_input(node, index):
    """The value of a node's constant input, or None."""
    inputs = list(node.inputs())
    if index >= len(inputs) or inputs[index].node().kind() != "prim::Constant":
        return None
    return inputs[index].toIValue()


def _option(module, attribute, infer):
    """A scripted module's attribute, or infer() for a traced one."""
    if hasattr(module, attribute):
        return getattr(module, attribute)
    return infer()


def _recurrent_options(name, module, cls):
    """nn.LSTM/GRU/RNN constructor arguments of a ScriptModule."""
    params = _script_parameters(module)
    what = "'%s' (nn.%s)" % (name, cls.__name__)
    if "weight_ih_l0" not in params or "weight_hh_l0" not in params:
        raise ExportError("%s: TorchScript module has no weight_ih_l0 and "
                          "weight_hh_l0" % what)
    gates = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}[cls]
    nodes = _graph_nodes(module, _RECURRENT_OPERATORS)
    # aten::lstm/gru/rnn_*(input, hx, params, has_biases, num_layers,
    #                      dropout, train, bidirectional, batch_first)
    node = nodes[0] if nodes else None

    def traced(index, default):
        value = _constant_input(node, index) if node is not None else None
        return default if value is None else value

    def nonlinearity():
        if node is None or node.kind() not in _RNN_OPERATORS:
            raise ExportError("%s: the traced graph does not show its "
                              "nonlinearity (aten::rnn_tanh or rnn_relu); "
                              "was the module called while tracing?" % what)
        return _RNN_OPERATORS[node.kind()]

    proj = params.get("weight_hr_l0")
    options = {
        "input_size": _option(module, "input_size",
                              lambda: params["weight_ih_l0"].shape[1]),
        "hidden_size": _option(module, "hidden_size",
                               lambda: params["weight_hh_l0"].shape[0]
                               // gates),
        "num_layers": _option(module, "num_layers", lambda: sum(
            1 for p in params if re.fullmatch(r"weight_ih_l\d+", p))),
        "bias": _option(module, "bias", lambda: "bias_ih_l0" in params),
        "batch_first": _option(module, "batch_first",
                               lambda: traced(8, False)),
        "dropout": _option(module, "dropout", lambda: traced(5, 0.0)),
        "bidirectional": _option(module, "bidirectional",
                                 lambda: "weight_ih_l0_reverse" in params),
    }
    if cls is nn.LSTM:
        options["proj_size"] = _option(
            module, "proj_size",
            lambda: 0 if proj is None else proj.shape[0])
    if cls is nn.RNN:
        options["nonlinearity"] = _option(module, "nonlinearity",
                                          nonlinearity)
    return options


def _softmax_dim(name, module):
    def traced():
        nodes = _graph_nodes(module, ("aten::softmax",))
        dim = _constant_input(nodes[0], 1) if nodes else None
        if dim is None:
            raise ExportError("'%s' (nn.Softmax): the traced graph does not "
                              "show its dim (no aten::softmax with a "
                              "constant dim); was the module called while "
                              "tracing?" % name)
        return dim
    return _option(module, "dim", traced)


def _elu_alpha(name, module):
    def traced():
        # aten::elu(input, alpha, scale, input_scale)
        node = _traced_call(name, module, ("aten::elu", "aten::elu_"), "alpha")
        alpha = _constant_input(node, 1)
        if alpha is None:
            raise ExportError("'%s' (nn.ELU): the traced graph does not show "
                              "a constant alpha" % name)
        return alpha
    return _option(module, "alpha", traced)


def _constant_list(node, index):
    """The value of a node's input built by prim::ListConstruct of constants
    (as a traced graph passes normalized_shape), or None."""
    inputs = list(node.inputs())
    if index >= len(inputs):
        return None
    producer = inputs[index].node()
    if producer.kind() == "prim::Constant":
        value = inputs[index].toIValue()
        return list(value) if isinstance(value, (list, tuple)) else None
    if producer.kind() != "prim::ListConstruct":
        return None
    values = []
    for item in producer.inputs():
        if item.node().kind() != "prim::Constant":
            return None
        values.append(item.toIValue())
    return values


def _traced_call(name, module, kinds, what):
    """The first node of one of `kinds` in a traced module's graph; an
    ExportError saying `what` is unknown without it."""
    nodes = _graph_nodes(module, kinds)
    if not nodes:
        raise ExportError("'%s' (nn.%s): the traced graph does not show its "
                          "%s (no %s call); was the module called while "
                          "tracing?" % (name, _script_type(module)[1], what,
                                        " or ".join(kinds)))
    return nodes[0]


def _embedding_options(name, module, params):
    """nn.Embedding constructor arguments of a ScriptModule."""
    weight = params.get("weight")
    if weight is None or weight.dim() != 2:
        raise ExportError("'%s' (nn.Embedding): TorchScript module has no "
                          "2-D weight" % name)

    def traced_max_norm():
        # F.embedding with max_norm calls aten::embedding_renorm_(weight,
        # input, max_norm, norm_type) before aten::embedding; without it,
        # only aten::embedding.
        _traced_call(name, module, ("aten::embedding",), "max_norm")
        renorm = _graph_nodes(module, ("aten::embedding_renorm_",))
        if not renorm:
            return None
        value = _constant_input(renorm[0], 2)
        return float("nan") if value is None else value

    return {
        "num_embeddings": _option(module, "num_embeddings",
                                  lambda: weight.shape[0]),
        "embedding_dim": _option(module, "embedding_dim",
                                 lambda: weight.shape[1]),
        # Not used by the export (it only masks a gradient); kept when known.
        "padding_idx": getattr(module, "padding_idx", None),
        "max_norm": _option(module, "max_norm", traced_max_norm),
    }


def _layer_norm_options(name, module, params):
    """nn.LayerNorm constructor arguments of a ScriptModule."""
    def node():
        return _traced_call(name, module, ("aten::layer_norm",),
                            "normalized_shape and eps")

    def traced_shape():
        # aten::layer_norm(input, normalized_shape, weight, bias, eps, cudnn)
        shape = _constant_list(node(), 1)
        if shape is None:
            raise ExportError("'%s' (nn.LayerNorm): the traced graph does "
                              "not show a constant normalized_shape" % name)
        return shape

    def traced_eps():
        eps = _constant_input(node(), 4)
        if eps is None:
            raise ExportError("'%s' (nn.LayerNorm): the traced graph does "
                              "not show a constant eps" % name)
        return eps

    return {
        "normalized_shape": tuple(_option(module, "normalized_shape",
                                          traced_shape)),
        "eps": _option(module, "eps", traced_eps),
        "elementwise_affine": _option(module, "elementwise_affine",
                                      lambda: "weight" in params),
    }


def _dropout_probability(name, module):
    def traced():
        # aten::dropout(input, p, train)
        node = _traced_call(name, module, ("aten::dropout", "aten::dropout_"),
                            "probability")
        p = _constant_input(node, 1)
        if p is None:
            raise ExportError("'%s' (nn.Dropout): the traced graph does not "
                              "show a constant p" % name)
        return p
    return _option(module, "p", traced)


def _eager_layer(name, module, cls):
    """Build the eager torch.nn module equivalent to a ScriptModule."""
    params = _script_parameters(module)
    with warnings.catch_warnings():
        # e.g. "dropout option adds dropout after all but last recurrent
        # layer": the export itself warns about dropout.
        warnings.simplefilter("ignore")
        if cls in _RECURRENT:
            eager = cls(**_recurrent_options(name, module, cls))
        elif cls is nn.Linear:
            weight = params.get("weight")
            if weight is None or weight.dim() != 2:
                raise ExportError("'%s' (nn.Linear): TorchScript module has "
                                  "no 2-D weight" % name)
            eager = nn.Linear(
                _option(module, "in_features", lambda: weight.shape[1]),
                _option(module, "out_features", lambda: weight.shape[0]),
                bias="bias" in params)
        elif cls is nn.Softmax:
            eager = nn.Softmax(dim=_softmax_dim(name, module))
        elif cls is nn.ELU:
            eager = nn.ELU(alpha=_elu_alpha(name, module))
        elif cls is nn.PReLU:
            weight = params.get("weight")
            if weight is None or weight.dim() != 1:
                raise ExportError("'%s' (nn.PReLU): TorchScript module has "
                                  "no 1-D weight" % name)
            eager = nn.PReLU(num_parameters=weight.shape[0])
        elif cls is nn.Embedding:
            options = _embedding_options(name, module, params)
            eager = nn.Embedding(options.pop("num_embeddings"),
                                 options.pop("embedding_dim"))
            # Set, not passed: the constructor checks them, and zeroes the
            # padding row of the weight it makes (replaced below anyway).
            eager.padding_idx = options["padding_idx"]
            eager.max_norm = options["max_norm"]
        elif cls is nn.LayerNorm:
            options = _layer_norm_options(name, module, params)
            eager = nn.LayerNorm(options["normalized_shape"],
                                 elementwise_affine=options["elementwise_affine"])
            eager.eps = options["eps"]
        elif cls is nn.Dropout:
            eager = nn.Dropout()
            # Set, not passed: nn.Dropout refuses p outside [0, 1] itself.
            eager.p = _dropout_probability(name, module)
        else:
            eager = cls()
    # The very same tensors, whatever their dtype, so that the values are
    # exactly the scripted module's.
    expected = dict(eager.named_parameters(recurse=False))
    what = "'%s' (nn.%s)" % (name, cls.__name__)
    if set(expected) != set(params):
        raise ExportError("%s: TorchScript module holds parameters %s, but "
                          "its options call for %s"
                          % (what, ", ".join(sorted(params)) or "none",
                             ", ".join(sorted(expected)) or "none"))
    for pname, tensor in params.items():
        if tensor.shape != expected[pname].shape:
            raise ExportError("%s: TorchScript parameter %s has shape %s, "
                              "expected %s" % (what, pname,
                                               list(tensor.shape),
                                               list(expected[pname].shape)))
        setattr(eager, pname, nn.Parameter(tensor.detach(),
                                           requires_grad=False))
    return eager


def _eager_child(name, module):
    """One chain element: a torch.nn layer, a container of them (also a
    module of another type that has children), or a stand-in."""
    cls = _scripted_class(module)
    if cls is None or cls in _CONTAINERS:
        children = list(module.named_children())
        if cls is None and not children:
            return _Scripted(_scripted_type_name(module))
        container = nn.Sequential() if cls is not None else \
            _Scripted(_scripted_type_name(module))
        for sub_name, sub in children:
            container.add_module(sub_name,
                                 _eager_child("%s.%s" % (name, sub_name), sub))
        return container
    return _eager_layer(name, module, cls)


def eager_from_script(module):
    """Rebuild a ScriptModule as the eager module export_model reads.

    Supported torch.nn layers become those layers holding the ScriptModule's
    own parameter tensors; a top-level module of another type becomes a
    chain of its children; other children become stand-ins that
    export_model refuses, naming them.
    """
    cls = _scripted_class(module)
    if cls is not None:
        return _eager_child("model", module)
    chain = _Scripted(_scripted_type_name(module))
    for name, child in module.named_children():
        chain.add_module(name, _eager_child(name, child))
    return chain


def _recurrent_layers(name, module, dtype):
    """Expand an nn.LSTM/GRU/RNN into one rnnx layer per PyTorch layer."""
    what = _describe(name, module)
    if getattr(module, "proj_size", 0) > 0:
        raise ExportError("%s: proj_size>0 is not supported" % what)
    # PyTorch applies dropout to the output of every layer but the last.
    between = None
    if module.dropout > 0 and module.num_layers > 1:
        between = _dropout_fraction(module.dropout, what + ": dropout")
    kind = _RECURRENT[type(module)]
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    hidden = module.hidden_size
    # bidirectional=True: one rnnx bidirectional<cell> layer per PyTorch
    # layer, its output (and the next layer's input) both directions' h.
    directions = ("", "_reverse") if module.bidirectional else ("",)
    out = hidden * len(directions)
    layers = []
    for k in range(module.num_layers):
        label = what
        if module.num_layers > 1:
            label = "%s layer l%d" % (what, k)  # PyTorch's _l{k} suffix
        layer = {"type": "bidirectional", "cell": kind} \
            if module.bidirectional else {"type": kind}
        layer["input_size"] = module.input_size if k == 0 else out
        layer["hidden_size"] = hidden
        if kind == "rnn":
            if module.nonlinearity not in ("tanh", "relu"):
                raise ExportError("%s: nonlinearity %r is not supported"
                                  % (what, module.nonlinearity))
            layer["nonlinearity"] = module.nonlinearity
        params = {}
        for suffix in directions:
            for pname in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                # PyTorch: weight_ih_l0_reverse; rnnx: weight_ih_reverse.
                attr = "%s_l%d%s" % (pname, k, suffix)
                if module.bias or pname.startswith("weight"):
                    params[pname + suffix] = _values(
                        getattr(module, attr), dtype, "%s.%s" % (what, attr))
                else:
                    params[pname + suffix] = _zeros(gates * hidden)
        layer["parameters"] = params
        layers.append((label, layer))
        if between is not None and k + 1 < module.num_layers:
            layers.append(("%s dropout after l%d" % (what, k),
                           {"type": "dropout", "size": out, "p": between}))
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


def _dropout_fraction(p, what):
    """A dropout probability as the reduced fraction "a/b" rnnx::dropout takes.

    ExportError unless 0 <= p < 1 and a fraction with a denominator of at
    most 10**6 equals p to 1e-12 (e.g. 0.2 -> "1/5", 0.125 -> "1/8").
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) \
            or not math.isfinite(p) or not 0 <= p < 1:
        raise ExportError("%s=%r is not supported: rnnx::dropout takes a "
                          "probability in [0, 1)" % (what, p))
    fraction = fractions.Fraction(p).limit_denominator(_DROPOUT_MAX_DENOMINATOR)
    if abs(float(fraction) - p) > _DROPOUT_TOLERANCE:
        raise ExportError("%s=%r is not a fraction a/b with b <= %d (the "
                          "nearest, %s, differs by %.3g); rnnx::dropout "
                          "takes p as a std::ratio"
                          % (what, p, _DROPOUT_MAX_DENOMINATOR, fraction,
                             abs(float(fraction) - p)))
    # Fraction is always reduced; "0/1" for p = 0.
    return "%d/%d" % (fraction.numerator, fraction.denominator)


def _dropout_layer(name, module):
    """nn.Dropout(p) -> a dropout layer; its size is filled in later."""
    what = _describe(name, module)
    return {"type": "dropout", "size": None,
            "p": _dropout_fraction(module.p, what + ": p")}


def _embedding_layer(name, module, dtype):
    """nn.Embedding(V, D) -> an embedding layer (its input: one token id)."""
    what = _describe(name, module)
    if module.max_norm is not None:
        raise ExportError("%s: max_norm=%g is not supported (each lookup "
                          "would renormalise the rows in place)"
                          % (what, module.max_norm))
    # padding_idx only masks that row's gradient in training: at inference
    # the row is looked up like any other.
    return {
        "type": "embedding",
        "num_embeddings": module.num_embeddings,
        "embedding_dim": module.embedding_dim,
        "parameters": {"weight": _values(module.weight, dtype,
                                         what + ".weight")},
    }


def _layer_norm_layer(name, module, dtype):
    """nn.LayerNorm(N) (eps 1e-5, over the last axis) -> a layer_norm layer."""
    what = _describe(name, module)
    shape = tuple(module.normalized_shape)
    if len(shape) != 1:
        raise ExportError("%s: normalized_shape=%s is not supported; only "
                          "normalisation over the feature axis (one size, "
                          "e.g. nn.LayerNorm(%d)) is"
                          % (what, list(shape), shape[-1] if shape else 1))
    if module.eps != _LAYER_NORM_EPS:
        raise ExportError("%s: eps=%r is not supported; rnnx::layer_norm "
                          "uses eps=1e-05 (nn.LayerNorm's default)"
                          % (what, module.eps))
    (size,) = shape
    weight = getattr(module, "weight", None)
    bias = getattr(module, "bias", None)
    params = {
        "weight": ([1.0] * size if weight is None
                   else _values(weight, dtype, what + ".weight")),
        "bias": (_zeros(size) if bias is None
                 else _values(bias, dtype, what + ".bias")),
    }
    return {"type": "layer_norm", "normalized_shape": size,
            "parameters": params}


def _prelu_layer(name, module, dtype):
    """nn.PReLU(P) -> a prelu layer: one slope (P = 1, sized by its
    neighbours later) or one per feature (P = its size)."""
    what = _describe(name, module)
    count = module.num_parameters
    return {"type": "prelu", "size": count if count > 1 else None,
            "num_parameters": count,
            "parameters": {"weight": _values(module.weight, dtype,
                                             what + ".weight")}}


def _activation_function(name, module):
    """Return the rnnx activation name for an activation module."""
    function = _ACTIVATIONS[type(module)]
    if function == "softmax" and module.dim not in _SOFTMAX_DIMS:
        raise ExportError("%s: only Softmax over the feature axis (dim=-1 or "
                          "dim=2) is supported, not dim=%r"
                          % (_describe(name, module), module.dim))
    if function == "elu" and module.alpha != 1.0:
        raise ExportError("%s: alpha=%r is not supported; rnnx::elu has "
                          "alpha=1 (nn.ELU's default)"
                          % (_describe(name, module), module.alpha))
    return function


# Layers whose size is that of their input (filled in from their neighbours).
_SIZED_BY_NEIGHBOURS = ("activation", "dropout", "prelu")


# A layer of a module's own rnnx_layer(): a recurrent cell declared in C++.
_CELL_SIZE_FIELDS = ("input_size", "hidden_size")

_SCHEMA = {}  # type -> entry of the layer schema rnnx's C++ layers describe themselves in


def _schema_entry(kind):
    """The layer schema's entry for `kind` (codegen/layers.json beside this module, or
    share/rnnx/layers.json when installed), None for a type it does not list (a cell of the
    user's own, sized by input_size and hidden_size)."""
    if not _SCHEMA:
        here = os.path.dirname(os.path.realpath(__file__))
        for path in (os.path.join(here, "layers.json"),
                     os.path.join(here, os.pardir, "layers.json")):
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    _SCHEMA.update((e["type"], e) for e in json.load(f)["layers"])
                break
        else:
            raise ExportError("the layer schema layers.json is not beside export_torch.py "
                              "nor one directory up (a broken installation)")
    return _SCHEMA.get(kind)


def _layer_size(layer, which):
    """The layer's input or output size ('input', 'output') from the schema's formulas."""
    entry = _schema_entry(layer["type"])
    if entry is None:
        return layer[_CELL_SIZE_FIELDS[0 if which == "input" else 1]]
    factor = 1
    if "wraps" in entry:  # bidirectional: the cell's sizes, its outputs side by side
        if which == "output":
            factor = entry["wraps"]["output_factor"]
        entry = _schema_entry(layer[entry["wraps"]["key"]]) or {
            "input": {"attribute": _CELL_SIZE_FIELDS[0], "factor": 1},
            "output": {"attribute": _CELL_SIZE_FIELDS[1], "factor": 1}}
    formula = entry[which]
    size = layer[formula["attribute"]] if "attribute" in formula else 1
    return None if size is None else factor * formula["factor"] * size  # None: not known yet


def _input_size(layer):
    return _layer_size(layer, "input")


def _output_size(layer):
    return _layer_size(layer, "output")


def _size_leading_layers(named):
    """Give activations and dropouts that start the chain the input size of
    the first layer with sizes of its own."""
    def sized(layer):
        return (layer["type"] not in _SIZED_BY_NEIGHBOURS
                or layer["size"] is not None)

    for _, layer in named:
        if sized(layer):
            size = _input_size(layer)
            break
    else:
        raise ExportError("model consists of activations, dropout and "
                          "one-slope PReLUs only; their size is unknown")
    for _, layer in named:
        if sized(layer):
            break
        layer["size"] = size


def _own_layer(name, module, dtype):
    """The layer a module describes itself through rnnx_layer(): a cell the user
    declared in C++ (rnnx::cell) and wrote in PyTorch too. It returns {"type",
    "input_size", "hidden_size", any other attributes, "parameters": {name:
    tensor}}, each tensor shaped as the cell's parameter."""
    what = _describe(name, module)
    layer = dict(module.rnnx_layer())
    for field in ("type",) + _CELL_SIZE_FIELDS + ("parameters",):
        if field not in layer:
            raise ExportError("%s: rnnx_layer() gave no '%s'" % (what, field))
    layer["parameters"] = {
        key: _values(tensor, dtype, "%s: %s" % (what, key))
        for key, tensor in layer["parameters"].items()}
    return layer


def _apply_chain(layers, x):
    """What the rnnx layers compute, in PyTorch: the chain applied to a
    (batch, time, feature) batch."""
    for layer in layers:
        if isinstance(layer, nn.PReLU) and layer.num_parameters > 1:
            # rnnx's prelu slopes each step's features; nn.PReLU(N) slopes
            # dim 1, so a sequence model hands it the features there.
            x = layer(x.transpose(1, -1)).transpose(1, -1)
            continue
        x = layer(x)
        if isinstance(x, tuple):  # (output, state) of a recurrent layer
            x = x[0]
    return x


def _composites(module):
    """The (name, module) pairs of the modules of the user's own inside
    `module` that hold layers (neither a layer nor a container)."""
    found = []
    for name, child in module.named_modules():
        if (child is not module and not _is_layer(child)
                and not isinstance(child, _CONTAINERS)):
            found.append((name, child))
    return found


def _same(a, b):
    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
            and a.shape == b.shape
            and torch.allclose(a, b, rtol=1e-5, atol=1e-6))


def _check_plain_chain(module, eager, chain, named):
    """Refuse a model whose forward is not its layers applied one after the
    other in registration order (a skip connection, a reordering, an
    operation between layers): run both on a random batch and compare.
    `module` is the user's (eager or TorchScript), `eager` the eager module
    the chain was read from. When they differ, name the innermost module of
    the user's own whose forward differs from its layers."""
    first = named[0][1]
    params = list(module.parameters())
    dtype = params[0].dtype if params else torch.float32
    generator = torch.Generator().manual_seed(0)
    if first["type"] == "embedding":
        x = torch.randint(first["num_embeddings"], (2, 7), generator=generator)
    else:
        x = torch.randn(2, 7, _input_size(first), generator=generator,
                        dtype=dtype)
    layers = [layer for _, layer in chain]
    modules = list(module.modules()) + layers
    training = [m.training for m in modules]

    def output(f, value):
        y = f(value)
        return y[0] if isinstance(y, tuple) else y

    try:
        for m in modules:
            m.eval()
        with torch.no_grad():
            try:
                expected = output(module, x)
            except Exception as err:  # noqa: BLE001 - any failure of user code
                warnings.warn("could not check that the model's forward runs "
                              "its layers in registration order: calling it "
                              "on a batch of shape %s failed (%s); exported "
                              "as that chain" % (list(x.shape), err))
                return
            try:
                actual = _apply_chain(layers, x)
            except Exception:  # noqa: BLE001 - the chain does not even run
                actual = None
            if _same(expected, actual):
                return
            # The culprit: a module of the user's own whose forward, on the
            # input the layers before it give, is not its own layers.
            for name, composite in reversed(_composites(eager)):
                prefix = name + "."
                before = []
                for label, layer in chain:
                    if label.startswith(prefix):
                        break
                    before.append(layer)
                own = [layer for label, layer in chain if label.startswith(prefix)]
                try:
                    value = _apply_chain(before, x)
                    same = _same(output(module.get_submodule(name), value),
                                 _apply_chain(own, value))
                except Exception:  # noqa: BLE001
                    same = False
                if not same:
                    raise ExportError(
                        "%s: its forward is not its layers applied one after "
                        "the other in registration order (a skip connection, "
                        "a reordering or an operation between layers cannot "
                        "be exported)" % _describe(name, composite))
    finally:
        for m, mode in zip(modules, training):
            m.train(mode)
    raise ExportError(
        "the model's forward is not its layers (%s) applied one after the "
        "other in registration order: a skip connection, a reordering or an "
        "operation between layers cannot be exported"
        % ", ".join(label for label, _ in named))


# The reference a weight file carries (docs/weights-format.md, "reference"): this many steps by
# default, from inputs of this seed.
REFERENCE_STEPS = 16
_REFERENCE_SEED = 0
# How far rnnx's outputs may stray from the reference: |y - expected| <= tolerance *
# max(1, |expected|). The reference is computed in float64 from the file's own weights, so the
# allowance is rnnx's rounding alone: float arithmetic over a short sequence stays near 1e-6
# (the export tests check 1e-5 over 500 steps); double near 1e-13.
_REFERENCE_TOLERANCE = {"float32": 1e-5, "float64": 1e-9}


class _Chain(nn.Module):
    """Layers applied one after the other, as rnnx runs them (_apply_chain)."""

    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        return _apply_chain(self.layers, x)


def _reference(module, chain, doc, steps, seed=_REFERENCE_SEED):
    """The document's "reference": `steps` seeded random inputs (token ids for an embedding)
    rounded to the file's dtype, and the outputs the model computes for them as one batch-1
    sequence from a zero state, in eval mode, in float64 from the file's very weights."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ExportError("reference steps must be a positive integer, not %r" % (steps,))
    dtype = doc["dtype"]
    first = doc["layers"][0]
    generator = torch.Generator().manual_seed(seed)
    if first["type"] == "embedding":
        ids = torch.randint(first["num_embeddings"], (steps,), generator=generator)
        inputs = [[int(k)] for k in ids]
    else:
        x = torch.randn(steps, _input_size(first), generator=generator, dtype=torch.float64)
        x = x.to(getattr(torch, dtype)).to(torch.float64)  # as the file's dtype holds them
        inputs = x.tolist()
    batch_first = next((layer.batch_first for _, layer in chain
                        if type(layer) in _RECURRENT), True)
    # A module of the user's own runs its forward; a container, a TorchScript module's eager
    # equivalent, or a forward that cannot run in float64 (one that builds float32 tensors of
    # its own) or at all, runs the chain export_model read and wrote (_check_plain_chain
    # compared the two). nn.Sequential itself cannot pass a recurrent layer's (output, state) on.
    own = not isinstance(module, _CONTAINERS + (_Scripted,)) and not _is_torch_layer(module)
    chain_module = _Chain([layer for _, layer in chain])

    def run(runnable):
        model = copy.deepcopy(runnable).to(getattr(torch, dtype)).to(torch.float64).eval()
        if first["type"] == "embedding":
            sequence = torch.tensor([row[0] for row in inputs], dtype=torch.long)
        else:
            sequence = torch.tensor(inputs, dtype=torch.float64)
        with torch.no_grad():
            y = model(sequence.unsqueeze(0 if batch_first else 1))
        y = y[0] if isinstance(y, tuple) else y
        return y.squeeze(0 if batch_first else 1)

    y = None
    if own:
        try:
            y = run(module)
        except Exception:  # noqa: BLE001 - any failure of user code: the chain below
            y = None
    if y is None:
        y = run(chain_module)
    if tuple(y.shape) != (steps, _output_size(doc["layers"][-1])):
        raise ExportError("cannot compute the reference: the model's output for a sequence of "
                          "%d steps has shape %s (--no-reference skips it)"
                          % (steps, list(y.shape)))
    outputs = y.to(torch.float64).tolist()
    for row in outputs:
        if not all(math.isfinite(v) for v in row):
            raise ExportError("cannot store the reference: the model's output is not finite "
                              "(--no-reference skips it)")
    tolerance = _REFERENCE_TOLERANCE[dtype]
    return {"inputs": inputs, "outputs": outputs, "tolerance": tolerance}


def export_model(module, dtype=None, reference_steps=0):
    """Return the rnnx weights document (a dict) for a PyTorch module.

    ``module`` is an nn.Sequential, a single supported layer, or any module
    whose direct children (in registration order) form the layer chain; a
    child with an rnnx_layer() method (a cell declared in C++ and written in
    PyTorch too) exports as the layer that method describes; or
    the same as a TorchScript module (torch.jit.script / trace / load),
    which gives the same document.
    ``dtype`` is "float32" or "float64" (default: the parameters' dtype).
    ``reference_steps`` > 0 adds a "reference" of that many steps: inputs and
    the model's outputs for them (rnnx::verify_reference and rnnx-codegen's
    self_test_<Name>() check a model against it).
    """
    original = module
    if isinstance(module, torch.jit.ScriptModule):
        module = eager_from_script(module)
    dtype = _resolve_dtype(dtype, module)
    named = []  # (label for messages, layer dict) per emitted layer
    chain = _chain_of(module)
    for name, child in chain:
        cls = type(child)
        if cls in _RECURRENT:
            named.extend(_recurrent_layers(name, child, dtype))
        elif cls is nn.Linear:
            named.append((_describe(name, child),
                          _dense_layer(name, child, dtype)))
        elif cls is nn.Embedding:
            if named:
                raise ExportError(
                    "%s must be the first layer: it takes token ids, and "
                    "%s outputs values" % (_describe(name, child),
                                           named[-1][0]))
            named.append((_describe(name, child),
                          _embedding_layer(name, child, dtype)))
        elif cls is nn.LayerNorm:
            named.append((_describe(name, child),
                          _layer_norm_layer(name, child, dtype)))
        elif cls in (nn.Dropout, nn.PReLU):
            layer = (_dropout_layer(name, child) if cls is nn.Dropout
                     else _prelu_layer(name, child, dtype))
            if named and layer["size"] is None:
                layer["size"] = _output_size(named[-1][1])
            named.append((_describe(name, child), layer))
        elif callable(getattr(child, "rnnx_layer", None)):
            named.append((_describe(name, child), _own_layer(name, child, dtype)))
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
            raise ExportError("unsupported module %s; supported: %s"
                              % (_describe(name, child), _SUPPORTED))
    _size_leading_layers(named)
    for (prev_label, prev), (label, layer) in zip(named, named[1:]):
        if _output_size(prev) != _input_size(layer):
            raise ExportError(
                "size mismatch: %s outputs %d values but the next layer %s "
                "expects %d" % (prev_label, _output_size(prev), label,
                                _input_size(layer)))
    # A module of its own (not a container) decides the order in its forward.
    if not isinstance(original, _CONTAINERS) and not _is_torch_layer(original):
        _check_plain_chain(original, module, chain, named)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "dtype": dtype,
        "layers": [layer for _, layer in named],
    }
    if reference_steps:
        doc["reference"] = _reference(module, chain, doc, reference_steps)
    return doc


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


def is_torchscript(path):
    """True if path is a TorchScript archive (written by torch.jit.save).

    Both torch.save and torch.jit.save write zip archives; only TorchScript's
    hold the module's code (<archive>/code/) and <archive>/constants.pkl.
    """
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        for entry in archive.namelist():
            parts = entry.split("/")
            if len(parts) > 2 and parts[1] == "code":
                return True
            if len(parts) == 2 and parts[1] == "constants.pkl":
                return True
    return False


def load_module(path):
    """Load a module: torch.jit.save's TorchScript or torch.save's pickle.

    Returns a ScriptModule for a TorchScript file, an nn.Module otherwise.
    """
    if is_torchscript(path):
        try:
            return torch.jit.load(path, map_location="cpu")
        except RuntimeError as err:
            message = str(err).strip().splitlines()
            raise ExportError("cannot load TorchScript file %s: %s"
                              % (path, message[0] if message else err)
                              ) from err
    kwargs = {"map_location": "cpu"}
    # torch >= 2.6 defaults to weights_only=True, which refuses modules.
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = False
    try:
        obj = torch.load(path, **kwargs)
    except (AttributeError, ModuleNotFoundError) as err:
        raise ExportError(
            "cannot unpickle %s: %s (the model's class must be importable; "
            "put its module on PYTHONPATH, or save the model with "
            "torch.jit.save instead)" % (path, err)) from err
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
        message = str(err).strip().splitlines()
        raise ExportError("cannot read %s as a torch.save or torch.jit.save "
                          "file: %s" % (path, message[0] if message else
                                        type(err).__name__)) from err
    if not isinstance(obj, nn.Module):
        hint = ""
        if isinstance(obj, dict):
            hint = " (a state_dict has no layer structure: save the module " \
                   "itself with torch.save(model) or torch.jit.save)"
        raise ExportError("%s holds an object of type %s, not an "
                          "nn.Module%s" % (path, type(obj).__name__, hint))
    return obj


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Export a PyTorch model (torch.save'd module or "
                    "torch.jit.save'd TorchScript) to rnnx JSON weights "
                    "(docs/weights-format.md).")
    parser.add_argument("model", help="file written by torch.save(model) or "
                                      "torch.jit.save(scripted or traced "
                                      "model)")
    parser.add_argument("-o", "--output", required=True,
                        help="output JSON file ('-' for stdout)")
    parser.add_argument("--dtype", choices=sorted(_DTYPES),
                        help="value type (default: the model's parameters')")
    parser.add_argument("--reference-steps", type=int, default=REFERENCE_STEPS,
                        help="steps of the reference stored in the file: seeded random "
                             "inputs and the model's outputs for them (default %d)"
                             % REFERENCE_STEPS)
    parser.add_argument("--no-reference", action="store_true",
                        help="store no reference")
    args = parser.parse_args(argv)
    if args.reference_steps < 1:
        parser.error("--reference-steps must be at least 1")
    try:
        doc = export_model(load_module(args.model), args.dtype,
                           0 if args.no_reference else args.reference_steps)
        write_weights(doc, args.output)
    except (ExportError, OSError) as err:
        print("export_torch: error: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
