#!/usr/bin/env python3
"""Side-by-side timing of one Google Benchmark binary built two ways (two commits, two
instruction sets, two schedules): runs the binaries in alternation, a fresh process each round,
in shuffled order, and reports per benchmark the median of every round's time and the ratio.

  bench/compare_builds.py --rounds 9 --filter 'lstm_step|gru_step' \
      --label base build-base/bench/rnnx_bench_step --label new build/bench/rnnx_bench_step \
      --json out.json

The first build is the reference: ratio = time(other) / time(reference), below 1 is faster.
Each round runs Google Benchmark once (repetitions 1) per binary; the medians are over
rounds, so a slow moment of the machine hits both builds alike.
"""
import argparse
import json
import platform
import random
import re
import statistics
import subprocess
import sys


def cpu_description():
    model, flags, caches = "unknown", [], {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1].split()
    except OSError:
        pass
    wanted = [
        "sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
        "avx512_fp16", "amx_bf16", "asimd",
    ]
    return {"model": model, "isa": [f for f in wanted if f in flags], "machine": platform.machine()}


def run_once(binary, pattern, min_time, extra):
    cmd = [
        binary,
        f"--benchmark_filter={pattern}",
        f"--benchmark_min_time={min_time}",
        "--benchmark_format=json",
        *extra,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    times = {}
    for b in doc["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"{binary}: {b['name']}: {b.get('error_message')}")
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        value = b["cpu_time"] * scale
        if "ns/step" in b:
            value = b["ns/step"]
        times[b["name"]] = value
    return times, doc.get("context", {})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", nargs=2, action="append", metavar=("NAME", "BINARY"), required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--filter", default=".")
    parser.add_argument("--min-time", default="0.1")
    parser.add_argument("--json", help="write the medians and ratios here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("extra", nargs="*", help="more flags for every binary")
    args = parser.parse_args()
    if len(args.label) < 2:
        parser.error("give at least two --label NAME BINARY")
    rng = random.Random(args.seed)
    samples = {name: {} for name, _ in args.label}
    context = {}
    for r in range(args.rounds):
        order = list(args.label)
        rng.shuffle(order)
        for name, binary in order:
            times, context = run_once(binary, args.filter, args.min_time, args.extra)
            for bench, t in times.items():
                samples[name].setdefault(bench, []).append(t)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    reference = args.label[0][0]
    names = [n for n, _ in args.label]
    rows = []
    for bench in samples[reference]:
        medians = {n: statistics.median(samples[n][bench]) for n in names if bench in samples[n]}
        rows.append({"benchmark": bench, "median_ns": medians,
                     "ratio": {n: medians[n] / medians[reference] for n in medians if n != reference}})
    cpu = cpu_description()
    print(f"CPU: {cpu['model']} ({', '.join(cpu['isa'])}); {args.rounds} rounds, medians, ns")
    header = "| benchmark | " + " | ".join(names) + " | " + " | ".join(f"{n}/{reference}" for n in names[1:]) + " |"
    print(header)
    print("|" + "---|" * (1 + 2 * len(names) - 1))
    for row in rows:
        cells = [f"{row['median_ns'].get(n, float('nan')):.1f}" for n in names]
        ratios = [f"{row['ratio'].get(n, float('nan')):.3f}" for n in names[1:]]
        print(f"| {row['benchmark']} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    for n in names[1:]:
        rs = [row["ratio"][n] for row in rows if n in row["ratio"]]
        if rs:
            print(f"geomean {n}/{reference}: {statistics.geometric_mean(rs):.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu, "rounds": args.rounds, "builds": dict(args.label),
                       "context": {k: context.get(k) for k in ("caches", "num_cpus", "mhz_per_cpu")},
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
