#!/usr/bin/python3
"""Summarise a Google Benchmark JSON run of rnnx_bench_step as a Markdown table.

Usage: bench/summarize.py RESULTS.json [OUT.md]

Prints the table and, given OUT.md, writes it there too. Uses the "median" aggregates when the
run had --benchmark_repetitions > 1 (the plain runs otherwise). Columns:
  median ns/step   the "ns/step" counter: CPU time per time step (for *_forward, per step of T)
  wall ns/step     the same from wall-clock time; on a shared VM it also counts time the vCPU
                   was not running us (steal), so the CPU-time column is the one to quote
  GFLOP/s          the "GFLOP/s" counter (formula in bench/step_bench.cpp, elementwise ignored)
  % of peak        GFLOP/s over peak_fma's median GFLOP/s measured in the same run
  cv               coefficient of variation of ns/step across repetitions (noise indicator)
Standard library only.
"""

import json
import sys


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1000:
        return f"{ns:,.0f}"
    return f"{ns:.1f}"


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        run = json.load(f)
    rows = run.get("benchmarks", [])
    medians = [b for b in rows if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
    cvs = {b["run_name"]: b for b in rows if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "cv"}
    chosen = medians if medians else [b for b in rows if b.get("run_type", "iteration") == "iteration"]
    if not chosen:
        sys.stderr.write(f"{argv[1]}: no benchmarks\n")
        return 1

    def name(b):
        return b.get("run_name", b["name"])

    peak = next((b.get("GFLOP/s") for b in chosen if name(b) == "peak_fma"), None)
    ctx = run.get("context", {})
    lines = [
        f"# rnnx benchmarks: {ctx.get('date', '?')} on {ctx.get('host_name', '?')}",
        "",
        f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz (as reported), "
        f"load average {', '.join(f'{x:.2f}' for x in ctx.get('load_avg', [])) or '?'}; "
        f"library build: {ctx.get('library_build_type', '?')}. "
        + (f"{medians[0].get('repetitions', '?')} repetitions, medians." if medians else "Single run."),
        "",
        "| benchmark | median ns/step | GFLOP/s | % of peak | cv | wall ns/step |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for b in chosen:
        n = name(b)
        gflops = b.get("GFLOP/s")
        ns = b.get("ns/step")
        pct = f"{100.0 * gflops / peak:.1f}" if (gflops is not None and peak) else "-"
        cv_row = cvs.get(n)
        cv_key = "ns/step" if ns is not None else "cpu_time"
        cv = f"{100.0 * cv_row[cv_key]:.1f}%" if cv_row and cv_key in cv_row else "-"
        gf = f"{gflops:.2f}" if gflops is not None else "-"
        label = f"{n} ({b['label']})" if b.get("label") else n
        # ns/step = cpu_time / steps per iteration, so the same steps turn real_time into wall ns/step.
        wall = None
        if ns and b.get("cpu_time") and b.get("time_unit", "ns") == "ns":
            wall = b["real_time"] / (b["cpu_time"] / ns)
        lines.append(f"| {label} | {fmt_ns(ns)} | {gf} | {pct} | {cv} | {fmt_ns(wall)} |")
    lines += [
        "",
        "FLOPs per step = 2*G*H*(In+H) + 2*H*Out (G = 4 LSTM, 3 GRU; matrix-vector work only, "
        "biases, activations and elementwise updates ignored; logical H, not SIMD-padded). "
        "Peak = peak_fma (independent FMAs on xsimd::batch<float>, one core). "
        "Times are CPU time per step (wall clock in the last column); *_forward is one forward() "
        "over T steps divided by T. cv = coefficient of variation of ns/step over the repetitions.",
    ]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
