#!/usr/bin/python3
"""Random PyTorch models, exported by codegen/export_torch.py and run by rnnx.

Each case is a model built at random from every layer the exporter supports
(nn.LSTM, nn.GRU, nn.RNN with either nonlinearity, one or two layers, one or
two directions, with or without bias; nn.Linear, its activations (nn.ELU and
nn.PReLU among them), nn.LayerNorm, nn.Dropout, nn.Embedding first), odd sizes,
batch_first either way, float32 or float64, put together the ways PyTorch users
write models: nn.Sequential, nn.ModuleList and nn.ModuleDict inside modules of
their own, nested. Each is exported eager and traced (the two documents must be
equal); rnnx-codegen turns the file into a header; a small program compiled
against it runs the model over 500 steps, and its outputs must match PyTorch's
within 1e-5 (float32) or 1e-9 (float64); each export also stores a 16-step
reference (eager and traced alike) that rnnx::verify_reference and the header's
self_test_Model() must pass. Cases whose forward is not a chain of their layers
in registration order (a skip connection, a reversed loop) must be refused with
the exporter's message, never exported.

Usage: /usr/bin/python3 tests/export_compositions_test.py [--count N] [--seed S]
       [--jobs J]   (CTest runs --count 6; the default 60 is the full set)
"""

import argparse
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import tempfile

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, os.pardir)
sys.path.insert(0, os.path.join(ROOT, "codegen"))
import export_torch  # noqa: E402

STEPS = 500
# The reference each export stores: rnnx::verify_reference and the header's self_test_Model()
# must pass on it.
REFERENCE_STEPS = 16

RUNNER = r"""
#include <cstdio>
#include <rnnx/rnnx.hpp>
#include "model.hpp"
// Reads T rows of Model::in_size values (token ids for an embedding) from stdin, prints the
// model's outputs over them, one row per step, from the zero state; then checks the weight file
// argv[1]'s reference (verify_reference and the header's self_test_Model).
int main(int argc, char** argv) {
  if (argc != 2) return 2;
  using T = Model::scalar;
  std::size_t steps = 0;
  if (std::scanf("%zu", &steps) != 1) return 2;
  xt::xtensor<T, 2> xs = xt::xtensor<T, 2>::from_shape({steps, Model::in_size});
  for (auto& v : xs) {
    double d;
    if (std::scanf("%lf", &d) != 1) return 2;
    v = static_cast<T>(d);
  }
  const auto model = make_Model();
  const auto ys = model->forward(xs);
  for (std::size_t t = 0; t < steps; ++t)
    for (std::size_t j = 0; j < Model::out_size; ++j)
      std::printf("%.17g%c", double(ys(t, j)), j + 1 == Model::out_size ? '\n' : ' ');
  try {
    rnnx::verify_reference(*model, argv[1]);
  } catch (const rnnx::weights_error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
  if (!self_test_Model()) {
    std::fprintf(stderr, "self_test_Model() failed\n");
    return 3;
  }
}
"""


def unwrap(x):
    return x[0] if isinstance(x, tuple) else x


class Holder(nn.Module):
    """A module of the user's own: runs its children in order, through a
    ModuleList, a ModuleDict or attributes."""

    def __init__(self, layers, style):
        super().__init__()
        self.style = style
        if style == "list":
            self.layers = nn.ModuleList(layers)
        elif style == "dict":
            self.layers = nn.ModuleDict({"l%d" % k: layer for k, layer in enumerate(layers)})
        else:
            for k, layer in enumerate(layers):
                self.add_module("part%d" % k, layer)

    def ordered(self):
        if self.style == "list":
            return list(self.layers)
        if self.style == "dict":
            return list(self.layers.values())
        return list(self.children())

    def forward(self, x):
        for layer in self.ordered():
            x = unwrap(layer(x))
        return x


class Skip(Holder):
    """Not a chain: adds its input to its output."""

    def forward(self, x):
        return super().forward(x) + x


class Reversed(Holder):
    """Not a chain: runs its layers last to first."""

    def forward(self, x):
        for layer in reversed(self.ordered()):
            x = unwrap(layer(x))
        return x


def prelu():
    """nn.PReLU() with a slope other than its initial 0.25. (nn.PReLU(N) slopes dim 1, time
    in these batch-first or time-major sequences, so only one shared slope composes here.)"""
    module = nn.PReLU()
    with torch.no_grad():
        module.weight.fill_(-0.375)
    return module


def random_layers(rng, features, embedding):
    """A random list of layers taking `features` values; returns (layers, the
    size after each, batch_first)."""
    batch_first = rng.random() < 0.5
    layers, sizes = [], []
    size = features
    if embedding:
        vocabulary = rng.choice([5, 11, 17])
        size = rng.choice([3, 6, 9])
        layers.append(nn.Embedding(vocabulary, size))
        sizes.append(size)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["lstm", "gru", "rnn", "linear", "norm", "dropout"])
        if kind in ("lstm", "gru", "rnn"):
            hidden = rng.choice([1, 3, 5, 7, 12, 17])
            options = dict(num_layers=rng.choice([1, 1, 2]), bidirectional=rng.random() < 0.3,
                           bias=rng.random() < 0.8, batch_first=batch_first)
            if options["num_layers"] == 2 and rng.random() < 0.5:
                options["dropout"] = 0.25
            if kind == "rnn":
                options["nonlinearity"] = rng.choice(["tanh", "relu"])
            cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
            layers.append(cls(size, hidden, **options))
            size = hidden * (2 if options["bidirectional"] else 1)
        elif kind == "linear":
            out = rng.choice([1, 2, 4, 9])
            layers.append(nn.Linear(size, out, bias=rng.random() < 0.8))
            size = out
            activation = rng.choice([None, nn.Tanh(), nn.Sigmoid(), nn.ReLU(), nn.Identity(),
                                     nn.Softmax(dim=-1), nn.ELU(), prelu()])
            if activation is not None:
                sizes.append(size)
                layers.append(activation)
        elif kind == "norm" and size > 1:  # over 1 value: the bias, plus PyTorch's rounding
            layers.append(nn.LayerNorm(size))
        else:
            layers.append(nn.Dropout(0.25))
        sizes.append(size)
    if all(isinstance(l, nn.Dropout) for l in layers):  # a chain needs a layer with a size
        layers.append(nn.Linear(size, 2))
        size = 2
        sizes.append(size)
    return layers, sizes, batch_first


def insert_non_chain(rng, layers, sizes, features, embedding):
    """Puts a module whose forward is not its layers in order somewhere in
    the list, between layers whose sizes it keeps."""
    k = rng.randint(1 if embedding else 0, len(layers))
    size = sizes[k - 1] if k > 0 else features
    if rng.random() < 0.5:
        odd = Skip([nn.Linear(size, size), nn.Tanh()], rng.choice(["list", "dict", "attributes"]))
    else:
        odd = Reversed([nn.Linear(size, size), nn.LayerNorm(size)],
                       rng.choice(["list", "dict", "attributes"]))
    layers.insert(k, odd)


def compose(rng, layers):
    """The layers put together at random."""
    groups, k = [], 0
    while k < len(layers):
        n = rng.randint(1, len(layers) - k)
        groups.append(layers[k:k + n])
        k += n
    parts = []
    for group in groups:
        recurrent = any(isinstance(l, (nn.LSTM, nn.GRU, nn.RNN)) for l in group)
        style = rng.choice(["list", "dict", "attributes", "bare"]
                           + ([] if recurrent else ["sequential"]))
        if style == "bare" and len(group) == 1:
            parts.append(group[0])
        elif style == "sequential":
            parts.append(nn.Sequential(*group))
        else:
            parts.append(Holder(group, rng.choice(["list", "dict", "attributes"])))
    return Holder(parts, rng.choice(["list", "dict", "attributes"]))


def make_case(seed):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    dtype = rng.choice([torch.float32, torch.float64])
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        embedding = rng.random() < 0.2
        features = 1 if embedding else rng.choice([1, 2, 3, 5])
        layers, sizes, batch_first = random_layers(rng, features, embedding)
        chain = rng.random() < 0.85
        if not chain:
            insert_non_chain(rng, layers, sizes, features, embedding)
        model = compose(rng, layers)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    if embedding:
        vocabulary = layers[0].num_embeddings
        xs = torch.randint(vocabulary, (STEPS, 1))
        x = xs[None, :, 0] if batch_first else xs[:, None, 0]
    else:
        t = torch.arange(STEPS, dtype=torch.float64)[:, None]
        xs = (0.7 * torch.sin(0.05 * t * (1 + torch.arange(features))) +
              0.3 * torch.randn(STEPS, features, dtype=torch.float64)).to(dtype)
        x = xs[None] if batch_first else xs[:, None]
    if isinstance(x, torch.Tensor) and x.dtype != torch.long:
        x = x.to(dtype)
    return model, x, xs, batch_first, chain, dtype


def prepare(seed, workdir):
    """Builds, exports and runs case `seed` in PyTorch, writing what the rnnx
    side needs; returns (problem, or '' when done, or None when the rnnx side
    is still to run; the case's files)."""
    model, x, xs, batch_first, chain, dtype = make_case(seed)
    try:
        doc = export_torch.export_model(model, reference_steps=REFERENCE_STEPS)
    except export_torch.ExportError as err:
        if chain:
            return "seed %d: a chain was refused: %s" % (seed, err), None
        if "is not its layers" not in str(err):
            return "seed %d: refused for the wrong reason: %s" % (seed, err), None
        return "", None
    if not chain:
        return "seed %d: a model whose forward is not a chain was exported" % seed, None
    traced = torch.jit.trace(model, x[:, :3] if batch_first else x[:3], check_trace=False)
    if export_torch.export_model(traced, reference_steps=REFERENCE_STEPS) != doc:
        return "seed %d: the traced model exports differently from the eager one" % seed, None
    with torch.no_grad():
        expected = model(x)
    expected = (expected[0] if batch_first else expected[:, 0]).double()
    case = os.path.join(workdir, "case%d" % seed)
    os.makedirs(case, exist_ok=True)
    export_torch.write_weights(doc, os.path.join(case, "model.json"))
    with open(os.path.join(case, "input.txt"), "w") as f:
        f.write("%d\n%s\n" % (STEPS, "\n".join(" ".join(repr(float(v)) for v in row)
                                               for row in xs.tolist())))
    return None, (seed, case, expected, 1e-5 if dtype == torch.float32 else 1e-9)


def run_rnnx(seed, case, expected, tolerance):
    """rnnx-codegen, compile, run: '' when rnnx matches PyTorch."""
    header = os.path.join(case, "model.hpp")
    made = subprocess.run([sys.executable, os.path.join(ROOT, "codegen", "rnnx-codegen"),
                           os.path.join(case, "model.json"), "-o", header, "-q"],
                          capture_output=True, text=True)
    if made.returncode != 0:
        return "seed %d: rnnx-codegen failed: %s" % (seed, made.stderr)
    source = os.path.join(case, "runner.cpp")
    with open(source, "w") as f:
        f.write(RUNNER)
    program = os.path.join(case, "runner")
    build = subprocess.run(["g++", "-std=gnu++20", "-O1", "-march=native", "-I",
                            os.path.join(ROOT, "include"), "-I", case, source, "-o", program],
                           capture_output=True, text=True)
    if build.returncode != 0:
        return "seed %d: the runner does not compile:\n%s" % (seed, build.stderr[-2000:])
    with open(os.path.join(case, "input.txt")) as f:
        run = subprocess.run([program, os.path.join(case, "model.json")], stdin=f,
                             capture_output=True, text=True)
    if run.returncode != 0:
        return "seed %d: the runner failed: %s" % (seed, run.stderr)
    actual = torch.tensor([[float(v) for v in line.split()]
                           for line in run.stdout.splitlines()], dtype=torch.float64)
    if actual.shape != expected.shape:
        return "seed %d: rnnx gives %s outputs, PyTorch %s" % (seed, list(actual.shape),
                                                               list(expected.shape))
    worst = (actual - expected).abs().max().item()
    if not worst <= tolerance:
        return "seed %d: rnnx differs from PyTorch by %.3g (tolerance %g)" % (seed, worst,
                                                                            tolerance)
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    seeds = range(args.seed, args.seed + args.count)
    problems, to_run, refused = [], [], 0
    with tempfile.TemporaryDirectory() as workdir:
        for seed in seeds:  # torch's global seed and default dtype: one at a time
            problem, case = prepare(seed, workdir)
            if problem:
                problems.append(problem)
            elif case is None:
                refused += 1
            else:
                to_run.append(case)
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            problems += [p for p in pool.map(lambda c: run_rnnx(*c), to_run) if p]
    for problem in problems:
        print(problem, file=sys.stderr)
    print("%d cases: %d run by rnnx, %d refused as they must be; %d failed"
          % (args.count, len(to_run), refused, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
