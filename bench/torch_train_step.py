#!/usr/bin/python3
"""Wall time of one full PyTorch training step, as the baseline for rnnx's train_step benchmark.

Usage: /usr/bin/python3 bench/torch_train_step.py [--out FILE.json] [--cells lstm,gru]
           [--filter REGEX] [--quick] [--repetitions N] [--min-time S] [--min-iters N] [--list]

One training step, exactly what is timed (float32, one intra-op and one inter-op thread):
    optimizer.zero_grad()                    # the installed torch's default set_to_none
    y = model(x)                             # x: (B, T, 1), batch_first
    loss = nn.MSELoss()(y, target)           # many-to-many: target is (B, T, 1)
    loss.backward()
    optimizer.step()                         # torch.optim.Adam(lr=1e-3, default betas)
model = LSTM(1 -> H, batch_first) or GRU(1 -> H, batch_first), then Linear(H -> 1) applied to
every time step.

Configurations are CONFIGS below, (cell, H, B, T) for each cell: to add one, append a tuple.
Benchmark names: torch_train_step/<cell>/H:<H>/B:<B>/T:<T>. bench/summarize.py --torch pairs
them with the C++ benchmarks train_step/<cell>/H:<H>/B:<B>/T:<T>.

FLOP count (the same formula as bench/step_bench.cpp, so GFLOP/s are comparable):
    forward, per time step and batch item:  2*G*H*(In+H) + 2*H*Out   (G = 4 LSTM, 3 GRU; In = Out = 1)
    training step:                          3 * B * T * that   (backward ~ 2x forward)
Matrix-vector work only: biases, activations, elementwise updates, the loss and Adam are ignored.

Timing: warm-up (at least 3 iterations and 0.3 s), then --repetitions repetitions (default 5),
each of max(--min-iters (20), as many iterations as fill --min-time (1 s)) back-to-back steps,
timed with time.perf_counter_ns (wall) and time.process_time_ns (CPU of the whole process).
A repetition's time is its total divided by its iterations; reported are the median over the
repetitions (real_time / cpu_time), the fastest (min_time_ns), the slowest (max_time_ns) and
spread_pct = 100 * (max - min) / median. The garbage collector is off while timing. --quick
(smoke tests): 2 repetitions of max(3 iterations, 0.05 s) after a 1-iteration warm-up.

Output: JSON shaped like Google Benchmark's ({"context": {...}, "benchmarks": [...]}, times
in ns per training step) to --out, default stdout; a human-readable table goes to stderr.
"""

import argparse
import datetime
import gc
import inspect
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

# (cell, hidden H, batch B, sequence length T). Input and output sizes are IN and OUT.
CONFIGS = [
    (cell, h, b, t)
    for cell in ("lstm", "gru")
    for (h, b, t) in ((32, 1, 100), (32, 16, 100), (128, 16, 100))
]
IN, OUT = 1, 1
GATES = {"lstm": 4, "gru": 3}
RNN = {"lstm": nn.LSTM, "gru": nn.GRU}
LR = 1e-3
SEED = 1234

FLOP_FORMULA = (
    "training step = 3 * B * T * (2*G*H*(In+H) + 2*H*Out), G = 4 LSTM / 3 GRU, In = Out = 1 "
    "(forward per time step and batch item, matrix-vector work only; backward ~ 2x forward; "
    "biases, activations, elementwise, loss and optimizer ignored)"
)


def name_of(cell, h, b, t):
    return f"torch_train_step/{cell}/H:{h}/B:{b}/T:{t}"


def forward_flops_per_step(cell, h, inputs=IN, outputs=OUT):
    return 2 * GATES[cell] * h * (inputs + h) + 2 * h * outputs


def train_step_flops(cell, h, b, t):
    return 3 * b * t * forward_flops_per_step(cell, h)


class Model(nn.Module):
    def __init__(self, cell, hidden):
        super().__init__()
        self.rnn = RNN[cell](IN, hidden, batch_first=True)
        self.dense = nn.Linear(hidden, OUT)

    def forward(self, x):
        y, _ = self.rnn(x)  # (B, T, H), zero initial state
        return self.dense(y)  # Linear on every time step: (B, T, OUT)


def make_problem(cell, h, b, t):
    torch.manual_seed(SEED)
    model = Model(cell, h)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.MSELoss()
    # Inputs: sines of random frequency and phase per batch item; target: a soft-clipped,
    # delayed copy (something learnable; the values do not change the work done).
    steps = torch.arange(t, dtype=torch.float32)
    freq = 0.01 + 0.2 * torch.rand(b, 1)
    phase = 2 * math.pi * torch.rand(b, 1)
    x = (0.5 * torch.sin(freq * steps + phase)).unsqueeze(-1).contiguous()
    target = torch.tanh(4 * torch.roll(x, 1, dims=1)).contiguous()

    def step():
        optimizer.zero_grad()
        y = model(x)
        loss = loss_fn(y, target)
        loss.backward()
        optimizer.step()
        return loss

    return step


def run_iterations(step, n):
    """n back-to-back steps; returns (wall ns, process CPU ns, last loss)."""
    c0 = time.process_time_ns()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        loss = step()
    t1 = time.perf_counter_ns()
    c1 = time.process_time_ns()
    return t1 - t0, c1 - c0, loss


def measure(step, repetitions, min_time_s, min_iters, warmup_iters, warmup_s):
    gc.collect()
    gc.disable()
    try:
        # Warm-up; also estimates the time per step for sizing the repetitions.
        done, elapsed = 0, 0
        while done < warmup_iters or elapsed < warmup_s * 1e9:
            wall, _, loss = run_iterations(step, 1)
            done += 1
            elapsed += wall
        per_step = elapsed / done
        iters = max(min_iters, math.ceil(min_time_s * 1e9 / per_step))
        walls, cpus = [], []
        for _ in range(repetitions):
            wall, cpu, loss = run_iterations(step, iters)
            walls.append(wall / iters)
            cpus.append(cpu / iters)
    finally:
        gc.enable()
    return iters, walls, cpus, float(loss)


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def cpu_capability():
    """The SIMD level ATen dispatches to ("AVX2", "AVX512", ...), as torch reports it."""
    match = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return match.group(1) if match else "?"


def context(args, repetitions, min_time_s, min_iters):
    zero_grad_default = inspect.signature(torch.optim.Optimizer.zero_grad).parameters.get("set_to_none")
    adam_defaults = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=LR).defaults
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "host_name": socket.gethostname(),
        "executable": " ".join([sys.executable] + sys.argv),
        "framework": "torch",
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "num_cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else [],
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "torch_cpu_capability": cpu_capability(),
        "mkldnn_enabled": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "dtype": "float32",
        "model": "RNN(In=1 -> H, batch_first; LSTM or GRU, zero initial state) -> Linear(H -> 1) on every step",
        "train_step": "optimizer.zero_grad(); y = model(x); loss = MSELoss()(y, target); "
        "loss.backward(); optimizer.step()",
        "zero_grad_set_to_none": zero_grad_default.default if zero_grad_default is not None else "?",
        "optimizer": {
            "name": "Adam",
            **{k: v for k, v in adam_defaults.items() if isinstance(v, (int, float, bool, str, tuple, type(None)))},
        },
        "flop_formula": FLOP_FORMULA,
        "timing": f"{repetitions} repetitions of max({min_iters} iterations, {min_time_s:g} s) after "
        "warm-up; real_time = median over repetitions of wall ns per training step "
        "(time.perf_counter_ns), cpu_time = the same with process CPU time; gc disabled",
        "quick": args.quick,
        "time_unit": "ns",
    }


def fmt_us(ns):
    us = ns / 1000.0
    return f"{us:,.0f}" if us >= 1000 else f"{us:.1f}"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog="See the module docstring (head -40 bench/torch_train_step.py) for what is timed.",
    )
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    parser.add_argument("--cells", default="lstm,gru", help="comma-separated subset of lstm,gru (default: both)")
    parser.add_argument("--filter", default=None, help="only benchmarks whose name matches this regex (re.search)")
    parser.add_argument("--quick", action="store_true", help="short timing, for smoke tests")
    parser.add_argument("--repetitions", type=int, default=None, help="default 5 (2 with --quick)")
    parser.add_argument("--min-time", type=float, default=None, help="seconds per repetition, default 1 (0.05 with --quick)")
    parser.add_argument("--min-iters", type=int, default=None, help="iterations per repetition at least, default 20 (3 with --quick)")
    parser.add_argument("--list", action="store_true", help="print the selected benchmark names and exit")
    args = parser.parse_args()

    # Before any parallel work: set_num_interop_threads raises once the pool has started.
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = [c for c in cells if c not in GATES]
    if unknown:
        parser.error(f"unknown cell(s) {', '.join(unknown)}; known: {', '.join(GATES)}")
    pattern = re.compile(args.filter) if args.filter else None
    selected = [
        cfg for cfg in CONFIGS if cfg[0] in cells and (pattern is None or pattern.search(name_of(*cfg)))
    ]
    if args.list:
        for cfg in selected:
            print(name_of(*cfg))
        return 0
    if not selected:
        sys.stderr.write("no benchmark matches --cells/--filter\n")
        return 1

    repetitions = args.repetitions or (2 if args.quick else 5)
    min_time_s = args.min_time if args.min_time is not None else (0.05 if args.quick else 1.0)
    min_iters = args.min_iters or (3 if args.quick else 20)
    warmup_iters, warmup_s = (1, 0.0) if args.quick else (3, 0.3)

    ctx = context(args, repetitions, min_time_s, min_iters)
    header = (
        f"{'benchmark':<42} {'median us':>10} {'min us':>10} {'spread':>7} {'cpu us':>10} "
        f"{'GFLOP/s':>8} {'iters':>6}"
    )
    sys.stderr.write(
        f"torch {ctx['torch_version']}, {ctx['threads']} thread(s) (interop {ctx['interop_threads']}), "
        f"{ctx['host_name']}, {ctx['cpu_model']}, load average "
        f"{', '.join(f'{x:.2f}' for x in ctx['load_avg'])}\n"
        f"{ctx['timing']}\n{header}\n"
    )
    benchmarks = []
    for cell, h, b, t in selected:
        name = name_of(cell, h, b, t)
        iters, walls, cpus, loss = measure(make_problem(cell, h, b, t), repetitions, min_time_s, min_iters, warmup_iters, warmup_s)
        if not math.isfinite(loss):
            sys.stderr.write(f"{name}: loss is not finite ({loss})\n")
            return 1
        median = statistics.median(walls)
        flops = train_step_flops(cell, h, b, t)
        row = {
            "name": name,
            "run_name": name,
            "run_type": "iteration",
            "cell": cell,
            "hidden": h,
            "batch": b,
            "seq_len": t,
            "input_size": IN,
            "output_size": OUT,
            "repetitions": repetitions,
            "iterations": iters,
            "threads": ctx["threads"],
            "real_time": median,
            "cpu_time": statistics.median(cpus),
            "time_unit": "ns",
            "min_time_ns": min(walls),
            "max_time_ns": max(walls),
            "spread_pct": 100.0 * (max(walls) - min(walls)) / median,
            "cv": statistics.stdev(walls) / statistics.mean(walls) if len(walls) > 1 else 0.0,
            "repetition_times_ns": walls,
            "flops_per_iteration": flops,
            "gflops": flops / median,
            "GFLOP/s": flops / median,
            "final_loss": loss,
        }
        benchmarks.append(row)
        sys.stderr.write(
            f"{name:<42} {fmt_us(median):>10} {fmt_us(row['min_time_ns']):>10} "
            f"{row['spread_pct']:>6.1f}% {fmt_us(row['cpu_time']):>10} {row['gflops']:>8.3f} {iters:>6}\n"
        )
    sys.stderr.write(
        f"times per training step (us, wall; 'cpu us' = process CPU); spread = (max - min) / median "
        f"over repetitions.\nFLOPs: {FLOP_FORMULA}.\n"
    )

    text = json.dumps({"context": ctx, "benchmarks": benchmarks}, indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
