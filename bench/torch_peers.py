#!/usr/bin/python3
"""PyTorch eager in the peer comparison (bench/peers_common.hpp): the sixth implementation.

Usage: /usr/bin/python3 bench/torch_peers.py --models MODELS.json --out FILE.json
           [--benchmark_filter=REGEX] [--benchmark_repetitions=N] [--benchmark_min_time=S]
           [--list]

MODELS.json is what `rnnx_bench_peers --export_models=MODELS.json` writes: the very weights,
input table and double-precision reference outputs that the C++ peers are verified and timed
with. Every model is LSTM(1 -> H) or GRU(1 -> H) + Linear(H -> 1), float32, one intra-op and one
inter-op thread, under torch.inference_mode(). Benchmark names, as the C++ peers':
  pytorch/stream/<cell>/H:<H>  nn.LSTMCell / nn.GRUCell + nn.Linear, one time step per Python
                               call, batch 1, the state tensors carried from call to call; the
                               input x_t = table[t % 1024] is a ready (1, 1) tensor (the table
                               split once, outside the timing) and the output is read with
                               .item(), as a caller handing samples to a model would
  pytorch/seq/<cell>/H:<H>     nn.LSTM / nn.GRU over the whole (T, 1, 1) sequence from the zero
                               state, then nn.Linear over (T, 1, H): one call, times per step
and the cases of bench/peers_batch.hpp, from the same MODELS.json:
  pytorch/stream/<cell>/H:<H>/B:<B>  the cells on a (B, 1) input and (B, H) states, one step of
                                     all B streams per Python call (inputs ready (B, 1) tensors,
                                     the (B, 1) output tensor returned, not converted)
  pytorch/seq/<cell>/H:<H>/B:<B>     nn.LSTM / nn.GRU over (T, B, 1) + nn.Linear
  pytorch/<mode>/lstm/H:128/In:16/Out:16, pytorch/<mode>/lstm/H:64/L:2   batch 1: stream one
                                     nn.LSTMCell per layer + nn.Linear(H, Out); seq one nn.LSTM
                                     (num_layers 1 or 2) + nn.Linear
  (stream k reads the table 97 k entries ahead of stream 0, input feature j 61 j entries ahead,
  as the C++ peers; ns/step counts stream-steps: a call of B streams is B steps)
Before timing, each benchmark runs 1000 steps from the zero state (250 for B streams, each
compared with its own reference) and compares its outputs with the reference; above the
tolerance (1e-5, from MODELS.json) it is reported as an error and not timed (counter
max_abs_diff as in C++).

Timing, like Google Benchmark with --benchmark_repetitions=N --benchmark_min_time=S: a warm-up
of about S, then N repetitions (default 5) of as many iterations as fill S seconds (default
0.2); per repetition ns/step = process CPU time / steps (the C++ tables quote CPU time) and wall
time. The garbage collector is off while timing.

Output: Google-Benchmark-shaped JSON ({"context", "benchmarks"}) with one row per repetition
and the median, mean, stddev and cv aggregates, each carrying the counters ns/step, GFLOP/s,
flops_per_step and max_abs_diff (FLOPs as peers_common.hpp: 2*G*H*(In+H) + 2*H*Out, summed
over the layers).
`bench/summarize.py PEERS.json OUT.md --extra FILE.json` merges it into the peers tables as the
"pytorch" column.
"""

import argparse
import datetime
import gc
import json
import math
import os
import platform
import re
import socket
import statistics
import sys
import time

import torch
from torch import nn

from torch_train_step import cpu_capability, cpu_model

GATES = {"lstm": 4, "gru": 3}
CELLS = {"lstm": nn.LSTMCell, "gru": nn.GRUCell}
LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU}


def flops_per_step(cell, h, inputs=1, outputs=1):
    return 2 * GATES[cell] * h * (inputs + h) + 2 * h * outputs


def stack_flops(layers):
    """flops_per_step of a weight document's layers: each recurrent layer's, then the head's."""
    *recurrent, dense = layers
    total = 2 * dense["in_features"] * dense["out_features"]
    for r in recurrent:
        total += flops_per_step(r["type"], r["hidden_size"], r["input_size"], 0)
    return total


def load_parameters(modules, layers):
    """Copies the rnnx weight document's recurrent parameters into modules, a list of
    (module, suffix) (one nn.LSTMCell per layer, suffix ""; or one nn.LSTM, suffixes "_l0",
    "_l1", ...), and returns an nn.Linear holding its dense head."""
    *recurrent, dense = layers
    with torch.no_grad():
        for (module, suffix), layer in zip(modules, recurrent, strict=True):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                target = getattr(module, name + suffix)
                value = torch.tensor(layer["parameters"][name], dtype=torch.float32)
                if value.shape != target.shape:
                    raise ValueError(f"{name}: shape {tuple(value.shape)}, expected {tuple(target.shape)}")
                target.copy_(value)
        head = nn.Linear(dense["in_features"], dense["out_features"])
        head.weight.copy_(torch.tensor(dense["parameters"]["weight"], dtype=torch.float32))
        head.bias.copy_(torch.tensor(dense["parameters"]["bias"], dtype=torch.float32))
    return head


def batch_inputs(inputs, steps, batch, features, stream_phase, feature_phase):
    """(steps, batch, features): input j of stream k at step t, as peers_batch.hpp's input_value."""
    n = len(inputs)
    return torch.tensor([[[inputs[(t + stream_phase * k + feature_phase * j) % n]
                           for j in range(features)] for k in range(batch)] for t in range(steps)],
                        dtype=torch.float32)


def stream_case(layers, xs):
    """(step(t), first_outputs(steps), 1) for one step of all B streams per call: one cell per
    recurrent layer of the weight document, the states carried; xs (n, B, In) read at t % n."""
    *recurrent, _ = layers
    cell = recurrent[0]["type"]
    modules = [CELLS[cell](r["input_size"], r["hidden_size"]) for r in recurrent]
    head = load_parameters([(m, "") for m in modules], layers)
    batch = xs.shape[1]
    inputs = list(xs.unbind(0))
    n = len(inputs)
    state = {}

    def reset():
        state["h"] = [torch.zeros(batch, r["hidden_size"]) for r in recurrent]
        state["c"] = [torch.zeros(batch, r["hidden_size"]) for r in recurrent]

    if cell == "lstm":
        def advance(x):
            hs, cs = state["h"], state["c"]
            for k, module in enumerate(modules):
                hs[k], cs[k] = module(x, (hs[k], cs[k]))
                x = hs[k]
            return head(x)
    else:
        def advance(x):
            hs = state["h"]
            for k, module in enumerate(modules):
                hs[k] = module(x, hs[k])
                x = hs[k]
            return head(x)

    if batch == 1 and head.out_features == 1:
        def step(t):  # one sample in, one sample out, as a caller streaming audio would
            return advance(inputs[t % n]).item()
    else:
        def step(t):
            return advance(inputs[t % n])

    def first_outputs(count):
        reset()
        ys = torch.stack([advance(inputs[t % n]) for t in range(count)])
        reset()
        return ys

    reset()
    return step, first_outputs, batch


def sequence_case(layers, xs):
    """(run(_), first_outputs(steps), T * B): one nn.LSTM / nn.GRU with num_layers = the
    document's recurrent layers over xs (T, B, In) from the zero state, then nn.Linear."""
    *recurrent, _ = layers
    cell = recurrent[0]["type"]
    module = LAYERS[cell](recurrent[0]["input_size"], recurrent[0]["hidden_size"],
                          num_layers=len(recurrent))
    head = load_parameters([(module, f"_l{k}") for k in range(len(recurrent))], layers)

    def run(_):
        return head(module(xs)[0])

    def first_outputs(count):
        return run(0)[:count]

    return run, first_outputs, xs.shape[0] * xs.shape[1]


def stream_references(references, batch, out):
    """(steps, B, Out) from B streams' flattened reference outputs."""
    return torch.tensor(references[:batch], dtype=torch.float64).view(batch, -1, out).transpose(0, 1)


def max_abs_diff(got, want):
    """Largest |got - want| over two tensors of the same shape, inf on a mismatch or NaN."""
    got = torch.as_tensor(got, dtype=torch.float64)
    want = torch.as_tensor(want, dtype=torch.float64)
    if got.shape != want.shape:
        return math.inf
    d = (got - want).abs()
    return math.inf if torch.isnan(d).any() else float(d.max())


def time_case(run, steps_per_iteration, repetitions, min_time_s):
    """[(cpu ns/step, wall ns/step, iterations)] per repetition, after a warm-up of ~min_time_s."""
    gc.collect()
    gc.disable()
    try:
        done, t0 = 0, time.perf_counter_ns()
        while done < 3 or time.perf_counter_ns() - t0 < min_time_s * 1e9:
            run(done)
            done += 1
        per_iteration = (time.perf_counter_ns() - t0) / done
        iterations = max(1, math.ceil(min_time_s * 1e9 / per_iteration))
        out, t = [], 0
        for _ in range(repetitions):
            c0, w0 = time.process_time_ns(), time.perf_counter_ns()
            for _ in range(iterations):
                run(t)
                t += 1
            w1, c1 = time.perf_counter_ns(), time.process_time_ns()
            steps = iterations * steps_per_iteration
            out.append(((c1 - c0) / steps, (w1 - w0) / steps, iterations))
    finally:
        gc.enable()
    return out


def rows_for(name, flops, runs, diff):
    """Google-Benchmark-shaped rows: one per repetition, then median, mean, stddev, cv."""
    base = {"run_name": name, "repetitions": len(runs), "threads": 1, "time_unit": "ns",
            "flops_per_step": flops, "max_abs_diff": diff}
    rows = []
    for i, (cpu, wall, iterations) in enumerate(runs):
        rows.append({**base, "name": name, "run_type": "iteration", "repetition_index": i,
                     "iterations": iterations, "real_time": wall, "cpu_time": cpu,
                     "ns/step": cpu, "GFLOP/s": flops / cpu})
    cpus, walls = [r[0] for r in runs], [r[1] for r in runs]
    mean_cpu = statistics.mean(cpus)
    stdev = statistics.stdev if len(runs) > 1 else (lambda _: 0.0)
    aggregates = {
        "median": (statistics.median(cpus), statistics.median(walls)),
        "mean": (mean_cpu, statistics.mean(walls)),
        "stddev": (stdev(cpus), stdev(walls)),
        "cv": (stdev(cpus) / mean_cpu, stdev(walls) / statistics.mean(walls)),
    }
    for aggregate, (cpu, wall) in aggregates.items():
        gflops = flops / cpu if aggregate in ("median", "mean") and cpu else 0.0
        rows.append({**base, "name": f"{name}_{aggregate}", "run_type": "aggregate",
                     "aggregate_name": aggregate, "iterations": len(runs), "real_time": wall,
                     "cpu_time": cpu, "ns/step": cpu, "GFLOP/s": gflops})
    return rows


def context(args):
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "host_name": socket.gethostname(),
        "executable": " ".join([sys.executable] + sys.argv),
        "num_cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else [],
        "pytorch_version": torch.__version__,
        "pytorch_cpu_capability": cpu_capability(),
        "python_version": platform.python_version(),
        "pytorch_threads": torch.get_num_threads(),
        "pytorch_interop_threads": torch.get_num_interop_threads(),
        "timing": f"{args.benchmark_repetitions} repetitions of max(1 iteration, "
        f"{args.benchmark_min_time:g} s) after a warm-up; ns/step = process CPU time per step",
        "models": args.models,
    }


def all_cases(exported, pattern):
    """[(name, mode, weight layers, inputs (T, B, In), reference (T, B, Out))] whose name matches
    pattern, in the order rnnx_bench_peers runs them: mode, variant (none, batch, extra), cell, H."""
    inputs, length = exported["inputs"], exported["sequence_length"]
    phases = (exported.get("stream_phase", 97), exported.get("feature_phase", 61))
    weights = {(m["cell"], m["hidden"]): m["weights"]["layers"] for m in exported["models"]}
    cases = []

    def add(name, mode, layers, make_inputs, make_reference):
        if pattern.search(name):
            cases.append((name, mode, layers, make_inputs(), make_reference()))

    for mode in ("stream", "seq"):
        steps = len(inputs) if mode == "stream" else length
        for cell in GATES:
            for m in exported["models"]:
                if m["cell"] == cell:
                    add(f"pytorch/{mode}/{cell}/H:{m['hidden']}", mode, m["weights"]["layers"],
                        lambda: batch_inputs(inputs, steps, 1, 1, *phases),
                        lambda: torch.tensor(m["reference"], dtype=torch.float64).view(-1, 1, 1))
        batch_cases = [(b, m) for m in exported.get("batch_models", []) for b in m["batch_sizes"]]
        for b, m in sorted(batch_cases, key=lambda c: (c[0], list(GATES).index(c[1]["cell"]), c[1]["hidden"])):
            add(f"pytorch/{mode}/{m['cell']}/H:{m['hidden']}/B:{b}", mode,
                weights[(m["cell"], m["hidden"])], lambda: batch_inputs(inputs, steps, b, 1, *phases),
                lambda: stream_references(m["references"], b, 1))
        for m in exported.get("extra_models", []):
            add(f"pytorch/{mode}/{m['cell']}/H:{m['hidden']}{m['variant']}", mode,
                m["weights"]["layers"], lambda: batch_inputs(inputs, steps, 1, m["in"], *phases),
                lambda: torch.tensor(m["reference"], dtype=torch.float64).view(-1, 1, m["out"]))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                                     epilog="See the docstring (head -35 bench/torch_peers.py).")
    parser.add_argument("--models", required=True, help="written by rnnx_bench_peers --export_models=FILE")
    parser.add_argument("--out", help="write the JSON here (required unless --list)")
    parser.add_argument("--benchmark_filter", default="", help="only names matching this regex (re.search)")
    parser.add_argument("--benchmark_repetitions", type=int, default=5)
    parser.add_argument("--benchmark_min_time", type=float, default=0.2, help="seconds per repetition")
    parser.add_argument("--list", action="store_true", help="print the selected names and exit")
    args = parser.parse_args()
    if args.benchmark_repetitions < 1 or args.benchmark_min_time <= 0:
        parser.error("--benchmark_repetitions must be >= 1 and --benchmark_min_time > 0")

    torch.set_num_threads(1)  # before any parallel work: interop threads cannot change later
    torch.set_num_interop_threads(1)
    try:
        with open(args.models, encoding="utf-8") as f:
            exported = json.load(f)
        tolerance = exported["tolerance"]
    except (OSError, ValueError, KeyError) as e:
        sys.stderr.write(f"{args.models}: {e!r} (expected rnnx_bench_peers --export_models output)\n")
        return 1
    pattern = re.compile(args.benchmark_filter)
    cases = all_cases(exported, pattern)
    if args.list:
        print("\n".join(c[0] for c in cases))
        return 0
    if not args.out:
        parser.error("--out is required")
    if not cases:
        sys.stderr.write(f"no benchmark matches --benchmark_filter={args.benchmark_filter}\n")

    ctx = context(args)
    sys.stderr.write(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
                     f"load average {', '.join(f'{x:.2f}' for x in ctx['load_avg'])}\n")
    benchmarks = []
    with torch.inference_mode():
        for name, mode, layers, xs, want in cases:
            run, first_outputs, steps = (stream_case if mode == "stream" else sequence_case)(layers, xs)
            got = first_outputs(want.shape[0]).reshape(want.shape)
            diff = max_abs_diff(got, want)
            if not diff <= tolerance:
                message = f"outputs differ from the reference by {diff} > {tolerance}"
                benchmarks.append({"name": name, "run_name": name, "run_type": "iteration",
                                   "error_occurred": True, "error_message": message})
                sys.stderr.write(f"{name}: {message}\n")
                continue
            runs = time_case(run, steps, args.benchmark_repetitions, args.benchmark_min_time)
            benchmarks += rows_for(name, stack_flops(layers), runs, diff)
            median = statistics.median(r[0] for r in runs)
            sys.stderr.write(f"{name:<40} {median:>12,.0f} ns/step (CPU, median of {len(runs)})"
                             f"  max_abs_diff {diff:.2e}\n")
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"context": ctx, "benchmarks": benchmarks}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
