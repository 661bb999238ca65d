#!/usr/bin/python3
"""The derived-versus-hand-written table from a rnnx_bench_derived JSON run.

Usage: /usr/bin/python3 bench/summarize_derived.py RUN.json [--markdown OUT.md]

Pairs every derived/<case> row with baseline/<case>, takes the median of each one's
repetitions (real time per iteration, or the ns/step counter where the row has one), and prints
derived / baseline per case (below 1: the derived cell is faster).
"""

import argparse
import json
import statistics
import sys


def medians(runs):
    values = {}
    for b in runs["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        name = b["run_name"]
        value = b.get("ns/step", b["real_time"])
        values.setdefault(name, []).append(value)
    return {name: statistics.median(v) for name, v in values.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    with open(args.run) as f:
        runs = json.load(f)
    m = medians(runs)
    lines = ["| case | derived | hand-written | derived / hand-written |", "|---|---:|---:|---:|"]
    ratios = []
    for name in sorted(m):
        if not name.startswith("derived/"):
            continue
        case = name[len("derived/"):]
        base = m.get("baseline/" + case)
        if base is None:
            continue
        unit = "us" if case.startswith("train/") else "ns/step"
        scale = 1e-3 if case.startswith("train/") else 1.0
        ratio = m[name] / base
        ratios.append(ratio)
        lines.append(f"| {case} | {m[name] * scale:.1f} {unit} | {base * scale:.1f} {unit} | "
                     f"{ratio:.3f} |")
    if not ratios:
        sys.exit("no derived/baseline pairs in " + args.run)
    lines.append(f"| geometric mean | | | "
                 f"{statistics.geometric_mean(ratios):.3f} |")
    ctx = runs.get("context", {})
    header = (f"{ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs, "
              f"{ctx.get('date', '?')}; medians of "
              f"{max(len([b for b in runs['benchmarks'] if b.get('run_name') == n and b.get('run_type') == 'iteration']) for n in m)} "
              "interleaved repetitions")
    text = header + "\n\n" + "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
