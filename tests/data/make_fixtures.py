#!/usr/bin/python3
"""Generate the PyTorch reference fixtures in tests/data/fixtures/.

Three kinds, one JSON file per case, <case>.json (tests/data/README.md has
the full field list). Values are printed in the model's dtype so that they
read back exactly.

inference  {"case", "model" (rnnx weights document), "input" (T x In),
           "output" (T x Out)}: the model run by PyTorch in eval mode over
           the whole input as one batch-1 sequence from a zero state.
grad_*     {"case", "model", "loss", "many_to_one", "input" (B x T x In),
           "target", "output" (B x T x Out), "loss_value", "input_grad"
           (B x T x In), "grads" (one {"parameters": {...}} per model layer,
           shaped like the weights)}: one forward pass over the batch from
           zero states, a mean-reduced loss (mse, cross_entropy on logits,
           bce_with_logits; on every step or only the last) and full
           backprop through time.
optim_*    {"case", "model", "loss", "many_to_one", "input", "target",
           "optimizer" ({"type"} plus every torch.optim hyper-parameter by
           keyword), "clip" (null, {"max_norm"} or {"value"}), "steps",
           "losses", "final" (weights document)}: "steps" rounds of
           zero_grad, forward, mse loss, backward, clipping, optimizer.step()
           on one fixed LSTM(2,5)+Linear(5,1) model and batch.

Usage: /usr/bin/python3 tests/data/make_fixtures.py
           [--kind {inference,grad,optim,all}] [CASE ...]
(default: every case of --kind, which defaults to all; named CASEs may be of
any kind).
"""

import argparse
import copy
import math
import os
import sys
import zlib

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir, "codegen"))

from export_torch import export_model, to_json  # noqa: E402
from reference_cells import (CIFGLSTM, MGU, GRUResetBefore, IndRNN,  # noqa: E402
                             LightGRU)

FIXTURE_DIR = os.path.join(HERE, "fixtures")
STEPS = 1000

# Default init leaves LSTM/GRU states small (std 0.04-0.1 for the wider
# layers), so the recurrence would barely show in the outputs; doubling the
# weights widens them while staying unsaturated (< 0.1% of |h| > 0.95).
# Vanilla RNNs keep the default: a relu RNN diverges at twice the gain.
GATED_GAIN = 2.0


class Chain(nn.Module):
    """Run the children in order; recurrent modules pass on output[0]."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)

    def forward(self, x):
        for layer in self.children():
            if isinstance(layer, nn.PReLU) and layer.num_parameters > 1:
                # nn.PReLU(N) slopes dim 1; rnnx::prelu<N, N> the features.
                x = layer(x.transpose(1, -1)).transpose(1, -1)
                continue
            x = layer(x)
            if isinstance(x, tuple):  # (output, state) from LSTM/GRU/RNN
                x = x[0]
        return x


def _lstm(i, h, **kw):
    return nn.LSTM(i, h, batch_first=True, **kw)


def _gru(i, h, **kw):
    return nn.GRU(i, h, batch_first=True, **kw)


def _rnn(i, h, nonlinearity="tanh"):
    return nn.RNN(i, h, nonlinearity=nonlinearity, batch_first=True)


def _layer_norm(n):
    """nn.LayerNorm(n) with random weight and bias (not ones and zeros), so
    that both are checked."""
    norm = nn.LayerNorm(n)
    with torch.no_grad():
        norm.weight.copy_(1 + 0.5 * torch.randn(n))
        norm.bias.copy_(0.5 * torch.randn(n))
    return norm


def _prelu(count):
    """nn.PReLU(count) with random slopes (not 0.25), some negative."""
    prelu = nn.PReLU(count)
    with torch.no_grad():
        prelu.weight.uniform_(-0.5, 1.0)
    return prelu


# name -> (dtype, steps, layer factory), default PyTorch init.
CASES = {
    "lstm_1_8__dense_1": (
        torch.float32, STEPS, lambda: [_lstm(1, 8), nn.Linear(8, 1)]),
    "lstm_3_33__dense_2_tanh": (
        torch.float32, STEPS,
        lambda: [_lstm(3, 33), nn.Linear(33, 2), nn.Tanh()]),
    "gru_2_7__dense_3_softmax": (
        torch.float32, STEPS,
        lambda: [_gru(2, 7), nn.Linear(7, 3), nn.Softmax(dim=-1)]),
    "rnn_tanh_4_17__dense_1": (
        torch.float32, STEPS, lambda: [_rnn(4, 17), nn.Linear(17, 1)]),
    "rnn_relu_2_9__dense_1_sigmoid": (
        torch.float32, STEPS,
        lambda: [_rnn(2, 9, "relu"), nn.Linear(9, 1), nn.Sigmoid()]),
    "stack_lstm_gru_dense": (
        torch.float32, STEPS,
        lambda: [_lstm(2, 16), _gru(16, 12), nn.Linear(12, 4), nn.ReLU(),
                 nn.Linear(4, 1)]),
    "lstm2layer_2_5__dense_1": (
        torch.float32, STEPS,
        lambda: [_lstm(2, 5, num_layers=2), nn.Linear(5, 1)]),
    "gru_nobias_1_16__dense_1": (
        torch.float32, STEPS,
        lambda: [_gru(1, 16, bias=False), nn.Linear(16, 1)]),
    "lstm_tanh_act_1_4": (
        torch.float32, STEPS, lambda: [_lstm(1, 4), nn.Tanh()]),
    "dense_5_6_sigmoid__dense_2": (
        torch.float32, STEPS,
        lambda: [nn.Linear(5, 6), nn.Sigmoid(), nn.Linear(6, 2)]),
    "double_lstm_1_20__dense_1": (
        torch.float64, STEPS, lambda: [_lstm(1, 20), nn.Linear(20, 1)]),
    "double_gru_3_11__rnn_tanh_6__dense_2": (
        torch.float64, STEPS,
        lambda: [_gru(3, 11), _rnn(11, 6), nn.Linear(6, 2)]),
    # Fewer steps: the 128-wide weights alone take ~0.9 MB.
    "lstm_1_128__dense_1": (
        torch.float32, 200, lambda: [_lstm(1, 128), nn.Linear(128, 1)]),
    # Run in eval mode, nn.Dropout is the identity: pure inference.
    "lstm_3_10__layer_norm__dropout__dense_2": (
        torch.float32, STEPS,
        lambda: [_lstm(3, 10), _layer_norm(10), nn.Dropout(0.2),
                 nn.Linear(10, 2)]),
    "gru_2_6__prelu__dense_3_elu__prelu_3": (
        torch.float32, STEPS,
        lambda: [_gru(2, 6), _prelu(1), nn.Linear(6, 3), nn.ELU(),
                 _prelu(3)]),
}


def make_input(steps, features, dtype):
    """Two sines per feature plus gaussian noise, amplitude ~1."""
    t = torch.arange(steps, dtype=torch.float64)[:, None]
    freq = 0.002 + 0.05 * torch.rand(2, features, dtype=torch.float64)
    phase = 2 * math.pi * torch.rand(2, features, dtype=torch.float64)
    x = (0.6 * torch.sin(2 * math.pi * freq[0] * t + phase[0])
         + 0.3 * torch.sin(2 * math.pi * freq[1] * t + phase[1])
         + 0.25 * torch.randn(steps, features, dtype=torch.float64))
    return x.to(dtype)


def _build_model(name, dtype, factory):
    """Seed the RNG from the case name, build the Chain, scale LSTM/GRU."""
    # A per-case seed from the name keeps cases independent of their order.
    torch.manual_seed(zlib.crc32(name.encode()))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # float64 cases get float64 init
    try:
        model = Chain(*factory())
    finally:
        torch.set_default_dtype(previous)
    with torch.no_grad():
        for layer in model.children():
            if isinstance(layer, (nn.LSTM, nn.GRU)):
                for p in layer.parameters():
                    p.mul_(GATED_GAIN)
    return model


def make_case(name):
    """Build, run and serialise one case; return (JSON text, stats)."""
    dtype, steps, factory = CASES[name]
    model = _build_model(name, dtype, factory)
    model.eval()
    doc = export_model(model)
    x = make_input(steps, _input_features(doc), dtype)
    with torch.no_grad():
        y = model(x[None])[0]
    fixture = {
        "case": name,
        "model": doc,
        "input": x.tolist(),
        "output": y.tolist(),
    }
    return to_json(fixture, doc["dtype"]), y


def _input_features(doc):
    first = doc["layers"][0]
    return first.get("input_size", first.get("in_features"))


def _output_features(doc):
    last = doc["layers"][-1]
    return last.get("hidden_size", last.get("out_features", last.get("size")))


# ---------------------------------------------------------------- gradients

LOSSES = ("mse", "cross_entropy", "bce_with_logits")


class GradCase:
    """One backprop-through-time fixture: model, loss and batch shape."""

    def __init__(self, dtype, batch, steps, loss, many_to_one, factory):
        assert loss in LOSSES
        self.dtype = dtype
        self.batch = batch
        self.steps = steps
        self.loss = loss
        self.many_to_one = many_to_one
        self.factory = factory


# Names: layers, then loss ("_last" = many_to_one), batch and steps;
# "double_" marks float64. Every bias is present (rnnx always has biases, so
# a bias=False model's exported zero bias would get a gradient PyTorch lacks).
GRAD_CASES = {
    "grad_lstm_1_8__dense_1__mse_b1_t7": GradCase(
        torch.float32, 1, 7, "mse", False,
        lambda: [_lstm(1, 8), nn.Linear(8, 1)]),
    "grad_lstm_3_13__dense_2_tanh__mse_last_b4_t50": GradCase(
        torch.float32, 4, 50, "mse", True,
        lambda: [_lstm(3, 13), nn.Linear(13, 2), nn.Tanh()]),
    "grad_lstm_1_4__tanh__mse_b1_t50": GradCase(
        torch.float32, 1, 50, "mse", False,
        lambda: [_lstm(1, 4), nn.Tanh()]),
    "grad_lstm_4_33__dense_5__ce_last_b4_t7": GradCase(
        torch.float32, 4, 7, "cross_entropy", True,
        lambda: [_lstm(4, 33), nn.Linear(33, 5)]),
    "grad_gru_2_7__dense_3__ce_b4_t7": GradCase(
        torch.float32, 4, 7, "cross_entropy", False,
        lambda: [_gru(2, 7), nn.Linear(7, 3)]),
    "grad_gru_2_7__relu__dense_2__bce_b4_t7": GradCase(
        torch.float32, 4, 7, "bce_with_logits", False,
        lambda: [_gru(2, 7), nn.ReLU(), nn.Linear(7, 2)]),
    "grad_rnn_tanh_4_9__dense_1_sigmoid__mse_b4_t7": GradCase(
        torch.float32, 4, 7, "mse", False,
        lambda: [_rnn(4, 9), nn.Linear(9, 1), nn.Sigmoid()]),
    "grad_rnn_relu_2_9__dense_2__bce_b4_t50": GradCase(
        torch.float32, 4, 50, "bce_with_logits", False,
        lambda: [_rnn(2, 9, "relu"), nn.Linear(9, 2)]),
    "grad_rnn_relu_3_13__dense_1__mse_last_b1_t1": GradCase(
        torch.float32, 1, 1, "mse", True,
        lambda: [_rnn(3, 13, "relu"), nn.Linear(13, 1)]),
    "grad_dense_5_6_relu__dense_2__mse_b4_t1": GradCase(
        torch.float32, 4, 1, "mse", False,
        lambda: [nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2)]),
    "grad_dense_4_5_tanh__dense_3_softmax__mse_b1_t7": GradCase(
        torch.float32, 1, 7, "mse", False,
        lambda: [nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3),
                 nn.Softmax(dim=-1)]),
    "grad_double_stack_lstm_2_13__gru_7__dense_2__mse_b4_t50": GradCase(
        torch.float64, 4, 50, "mse", False,
        lambda: [_lstm(2, 13), _gru(13, 7), nn.Linear(7, 2)]),
    "grad_double_lstm2layer_2_5__dense_1__mse_last_b4_t50": GradCase(
        torch.float64, 4, 50, "mse", True,
        lambda: [_lstm(2, 5, num_layers=2), nn.Linear(5, 1)]),
    "grad_double_gru_3_33__rnn_tanh_6__dense_2__bce_b1_t50": GradCase(
        torch.float64, 1, 50, "bce_with_logits", False,
        lambda: [_gru(3, 33), _rnn(33, 6), nn.Linear(6, 2)]),
    "grad_double_rnn_relu_2_7__dense_4__ce_b4_t50": GradCase(
        torch.float64, 4, 50, "cross_entropy", False,
        lambda: [_rnn(2, 7, "relu"), nn.Linear(7, 4)]),
    # Token ids in (see make_grad_case): the gradient reaches the embedding's
    # rows, none reaches the ids.
    "grad_embedding_11_6__gru_7__dense_11__ce_b4_t7": GradCase(
        torch.float32, 4, 7, "cross_entropy", False,
        lambda: [nn.Embedding(11, 6), _gru(6, 7), nn.Linear(7, 11)]),
    "grad_lstm_3_9__layer_norm__dense_2__mse_b4_t7": GradCase(
        torch.float32, 4, 7, "mse", False,
        lambda: [_lstm(3, 9), _layer_norm(9), nn.Linear(9, 2)]),
    "grad_lstm_3_7__prelu__dense_4_elu__prelu_4__dense_2__mse_b4_t7": GradCase(
        torch.float32, 4, 7, "mse", False,
        lambda: [_lstm(3, 7), _prelu(1), nn.Linear(7, 4), nn.ELU(),
                 _prelu(4), nn.Linear(4, 2)]),
    "grad_double_gru_2_6__prelu_6__elu__dense_3__mse_b3_t20": GradCase(
        torch.float64, 3, 20, "mse", False,
        lambda: [_gru(2, 6), _prelu(6), nn.ELU(), nn.Linear(6, 3)]),
    "grad_double_lstm_2_8__layer_norm__dense_3__mse_b4_t50": GradCase(
        torch.float64, 4, 50, "mse", False,
        lambda: [_lstm(2, 8), _layer_norm(8), nn.Linear(8, 3)]),
    # bidirectional=True: one rnnx bidirectional layer per PyTorch layer.
    "grad_double_bilstm2layer_2_5__dense_2__mse_b4_t50": GradCase(
        torch.float64, 4, 50, "mse", False,
        lambda: [_lstm(2, 5, num_layers=2, bidirectional=True),
                 nn.Linear(10, 2)]),
    "grad_bigru_3_6__dense_3__ce_last_b4_t7": GradCase(
        torch.float32, 4, 7, "cross_entropy", True,
        lambda: [_gru(3, 6, bidirectional=True), nn.Linear(12, 3)]),
    # Cells declared as equations that torch.nn lacks (reference_cells.py);
    # two of a kind stacked, so that dL/dx of the upper one is checked too.
    "grad_double_mgu_3_9__mgu_5__dense_2__mse_b3_t20": GradCase(
        torch.float64, 3, 20, "mse", False,
        lambda: [MGU(3, 9), MGU(9, 5), nn.Linear(5, 2)]),
    "grad_double_gru_reset_before_2_8__gru_reset_before_6__dense_2__mse_b3_t20":
        GradCase(torch.float64, 3, 20, "mse", False,
                 lambda: [GRUResetBefore(2, 8), GRUResetBefore(8, 6),
                          nn.Linear(6, 2)]),
    "grad_double_cifg_lstm_3_7__cifg_lstm_5__dense_2__mse_b3_t20": GradCase(
        torch.float64, 3, 20, "mse", False,
        lambda: [CIFGLSTM(3, 7), CIFGLSTM(7, 5), nn.Linear(5, 2)]),
    "grad_double_light_gru_3_7__light_gru_5__dense_2__mse_b3_t20": GradCase(
        torch.float64, 3, 20, "mse", False,
        lambda: [LightGRU(3, 7), LightGRU(7, 5), nn.Linear(5, 2)]),
    "grad_double_indrnn_3_7__indrnn_5__dense_2__mse_b3_t20": GradCase(
        torch.float64, 3, 20, "mse", False,
        lambda: [IndRNN(3, 7), IndRNN(7, 5), nn.Linear(5, 2)]),
    "grad_mgu_2_16__dense_1__mse_b4_t30": GradCase(
        torch.float32, 4, 30, "mse", False,
        lambda: [MGU(2, 16), nn.Linear(16, 1)]),
}


def make_batch(batch, steps, features, dtype):
    """batch x steps x features: make_input() for each sequence in turn."""
    return torch.stack([make_input(steps, features, dtype)
                        for _ in range(batch)])


def make_target(loss, shape, classes, dtype):
    """Random targets for loss; shape is (B, T) or (B,) plus the outputs."""
    if loss == "cross_entropy":
        return torch.randint(classes, shape)  # int64 class indices
    full = shape + (classes,)
    if loss == "mse":
        return (0.5 * torch.randn(full, dtype=torch.float64)).to(dtype)
    # bce_with_logits: probabilities 0, 1, 0.3 or uniform in [0, 1).
    pick = torch.randint(4, full)
    target = torch.rand(full, dtype=torch.float64)
    target[pick == 0] = 0.0
    target[pick == 1] = 1.0
    target[pick == 2] = 0.3
    return target.to(dtype)


def compute_loss(loss, output, target, many_to_one):
    """The fixture's loss (reduction "mean") of B x T x Out outputs."""
    if many_to_one:
        output = output[:, -1]
    if loss == "mse":
        return nn.MSELoss()(output, target)
    if loss == "bce_with_logits":
        return nn.BCEWithLogitsLoss()(output, target)
    # cross_entropy: one row of logits per (sequence, step).
    return nn.CrossEntropyLoss()(output.reshape(-1, output.shape[-1]),
                                 target.reshape(-1))


def export_grads(model):
    """The parameters' .grad as rnnx layers: [{"parameters": {...}}, ...].

    A deep copy of the model holds the gradients in place of the weights, so
    export_model() lays them out (and splits multi-layer RNNs) exactly like
    the weights; parameter-free layers get an empty "parameters" object.
    """
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for (name, p), (_, q) in zip(model.named_parameters(),
                                     twin.named_parameters()):
            if p.grad is None:
                raise RuntimeError("parameter %s got no gradient" % name)
            q.copy_(p.grad)
    return [{"parameters": layer.get("parameters", {})}
            for layer in export_model(twin)["layers"]]


def make_grad_case(name):
    """Build, run forward + backward and serialise one gradient case."""
    case = GRAD_CASES[name]
    model = _build_model(name, case.dtype, case.factory)
    model.train()  # no dropout anywhere, so the same as eval
    doc = export_model(model)
    first = doc["layers"][0]
    shape = (case.batch,) if case.many_to_one else (case.batch, case.steps)
    if first["type"] == "embedding":
        # Token ids: torch takes a long tensor (B x T); the fixture holds the
        # ids as numbers (B x T x 1, as rnnx reads them), and no gradient
        # flows to them: "input_grad" is zeros.
        ids = torch.randint(first["num_embeddings"], (case.batch, case.steps))
        target = make_target(case.loss, shape, _output_features(doc),
                             case.dtype)
        y = model(ids)
        x = ids[..., None].to(case.dtype)
        input_grad = torch.zeros_like(x)
    else:
        x = make_batch(case.batch, case.steps, _input_features(doc),
                       case.dtype)
        target = make_target(case.loss, shape, _output_features(doc),
                             case.dtype)
        x.requires_grad_(True)
        y = model(x)
    loss = compute_loss(case.loss, y, target, case.many_to_one)
    model.zero_grad()
    loss.backward()
    if first["type"] != "embedding":
        input_grad = x.grad
    fixture = {
        "case": name,
        "model": doc,
        "loss": case.loss,
        "many_to_one": case.many_to_one,
        "input": x.detach().tolist(),
        "target": target.tolist(),
        "output": y.detach().tolist(),
        "loss_value": loss.item(),
        "input_grad": input_grad.tolist(),
        "grads": export_grads(model),
    }
    grads = torch.cat([p.grad.abs().flatten() for p in model.parameters()])
    stats = ("loss %.4g |grad| min %.2g max %.2g median %.2g, |input_grad| "
             "max %.2g" % (loss.item(), grads.min(), grads.max(),
                           grads.median(), input_grad.abs().max()))
    return to_json(fixture, doc["dtype"]), stats


# ---------------------------------------------------------------- optimisers

OPTIM_STEPS = 20
OPTIM_BATCH, OPTIM_T = 3, 6

# Every hyper-parameter of each optimiser, by its torch.optim keyword, with
# torch's defaults (SGD's lr has none); a case overrides some of them.
OPTIMIZER_DEFAULTS = {
    "sgd": {"lr": None, "momentum": 0.0, "dampening": 0.0,
            "weight_decay": 0.0, "nesterov": False},
    "adam": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
             "weight_decay": 0.0, "amsgrad": False},
    "adamw": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
              "weight_decay": 1e-2, "amsgrad": False},
    "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0,
                "momentum": 0.0, "centered": False},
    "adagrad": {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0,
                "initial_accumulator_value": 0.0, "eps": 1e-10},
}

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}


class OptimCase:
    """One optimiser run: dtype, optimiser type, overrides and clipping."""

    def __init__(self, dtype, kind, clip=None, **overrides):
        unknown = set(overrides) - set(OPTIMIZER_DEFAULTS[kind])
        assert not unknown, unknown
        self.dtype = dtype
        self.kind = kind
        self.hyper = dict(OPTIMIZER_DEFAULTS[kind], **overrides)
        self.clip = clip


OPTIM_CASES = {
    "optim_adam": OptimCase(torch.float64, "adam", lr=1e-2),
    "optim_adam_amsgrad": OptimCase(torch.float64, "adam", lr=1e-2,
                                    amsgrad=True),
    "optim_adam_l2": OptimCase(torch.float64, "adam", lr=1e-2,
                               weight_decay=1e-2),
    "optim_adamw": OptimCase(torch.float64, "adamw", lr=1e-2,
                             weight_decay=1e-2),
    "optim_sgd": OptimCase(torch.float64, "sgd", lr=0.1),
    "optim_sgd_momentum": OptimCase(torch.float64, "sgd", lr=0.1,
                                    momentum=0.9),
    "optim_sgd_nesterov_wd": OptimCase(torch.float64, "sgd", lr=0.1,
                                       momentum=0.9, nesterov=True,
                                       weight_decay=1e-3),
    "optim_rmsprop": OptimCase(torch.float64, "rmsprop", lr=1e-2),
    "optim_rmsprop_centered_momentum": OptimCase(
        torch.float64, "rmsprop", lr=1e-2, centered=True, momentum=0.9),
    "optim_adagrad": OptimCase(torch.float64, "adagrad", lr=0.1,
                               lr_decay=1e-2, initial_accumulator_value=0.1),
    "optim_adam_clip_norm": OptimCase(torch.float64, "adam", lr=1e-2,
                                      clip={"max_norm": 0.05}),
    "optim_sgd_clip_value": OptimCase(torch.float64, "sgd", lr=0.1,
                                      clip={"value": 0.02}),
    "optim_float_adam": OptimCase(torch.float32, "adam", lr=1e-2),
}


def _optim_problem(dtype):
    """The model, input and target every optimiser case starts from."""
    model = _build_model("optim", torch.float64,
                         lambda: [_lstm(2, 5), nn.Linear(5, 1)])
    x = make_batch(OPTIM_BATCH, OPTIM_T, 2, torch.float64)
    target = make_target("mse", (OPTIM_BATCH, OPTIM_T), 1, torch.float64)
    return model.to(dtype), x.to(dtype), target.to(dtype)


def make_optim_case(name):
    """Train the shared problem OPTIM_STEPS steps; serialise the run."""
    case = OPTIM_CASES[name]
    model, x, target = _optim_problem(case.dtype)
    model.train()
    doc = export_model(model)
    hyper = dict(case.hyper)
    if "betas" in hyper:
        hyper["betas"] = tuple(hyper["betas"])  # torch wants a tuple
    optimizer = OPTIMIZERS[case.kind](model.parameters(), **hyper)
    losses, clipped = [], 0
    for _ in range(OPTIM_STEPS):
        optimizer.zero_grad()
        loss = compute_loss("mse", model(x), target, False)
        losses.append(loss.item())
        loss.backward()
        if case.clip and "max_norm" in case.clip:
            norm = nn.utils.clip_grad_norm_(model.parameters(),
                                            case.clip["max_norm"], 2.0)
            clipped += bool(norm > case.clip["max_norm"])
        elif case.clip:
            value = case.clip["value"]
            clipped += any(bool((p.grad.abs() > value).any())
                           for p in model.parameters())
            nn.utils.clip_grad_value_(model.parameters(), value)
        optimizer.step()
    fixture = {
        "case": name,
        "model": doc,
        "loss": "mse",
        "many_to_one": False,
        "input": x.tolist(),
        "target": target.tolist(),
        "optimizer": dict({"type": case.kind}, **case.hyper),
        "clip": case.clip,
        "steps": OPTIM_STEPS,
        "losses": losses,
        "final": export_model(model),
    }
    stats = "loss %.4g -> %.4g" % (losses[0], losses[-1])
    if case.clip:
        stats += ", clipping active in %d/%d steps" % (clipped, OPTIM_STEPS)
    return to_json(fixture, doc["dtype"]), stats


KINDS = {
    "inference": (CASES, make_case),
    "grad": (GRAD_CASES, make_grad_case),
    "optim": (OPTIM_CASES, make_optim_case),
}


def _stats(kind, result):
    if kind == "inference":
        return "(output min %.3g max %.3g std %.3g)" % (
            result.min(), result.max(), result.std())
    return "(%s)" % result


def main(argv=None):
    """Write the requested (default: all) fixtures and report sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help="cases to generate, of any kind (default: all "
                             "cases of --kind)")
    parser.add_argument("--kind", choices=sorted(KINDS) + ["all"],
                        default="all",
                        help="which fixtures to generate when no CASE is "
                             "named (default: all)")
    args = parser.parse_args(argv)
    kinds = sorted(KINDS) if args.kind == "all" else [args.kind]
    owner = {name: kind for kind in kinds for name in KINDS[kind][0]}
    unknown = [name for name in args.cases if name not in owner]
    if unknown:
        parser.error("unknown %scase(s): %s" % (
            "" if args.kind == "all" else args.kind + " ",
            ", ".join(unknown)))
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    total = 0
    for name in args.cases or list(owner):
        kind = owner[name]
        text, result = KINDS[kind][1](name)
        path = os.path.join(FIXTURE_DIR, name + ".json")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        size = len(text.encode())
        total += size
        print("%-40s %9d bytes  %s" % (name, size, _stats(kind, result)))
    print("%-40s %9d bytes" % ("total", total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
