#!/usr/bin/python3
"""Summarise a Google Benchmark JSON run of rnnx_bench_step or rnnx_bench_peers as Markdown.

Usage: bench/summarize.py RESULTS.json [OUT.md] [--torch TORCH.json] [--clock real|cpu]
                          [--plot OUT.png] [--plot-batch OUT.png] [--extra EXTRA.json ...]

Prints the table and, given OUT.md, writes it there too. Uses the "median" aggregates when the
run had --benchmark_repetitions > 1 (the plain runs otherwise). Columns:
  median ns/step   the "ns/step" counter: CPU time per time step (for *_forward, per step of T)
  wall ns/step     the same from wall-clock time; on a shared VM it also counts time the vCPU
                   was not running us (steal), so the CPU-time column is the one to quote
  GFLOP/s          the "GFLOP/s" counter (formula in bench/step_bench.cpp, elementwise ignored)
  % of peak        GFLOP/s over peak_fma's median GFLOP/s measured in the same run
  cv               coefficient of variation of ns/step across repetitions (noise indicator)

Implementations side by side (rnnx_bench_peers, bench/peers_common.hpp): rows named
<impl>/<mode>/<cell>/H:<H> (impl typed, dynamic, eigen, onednn, libtorch, pytorch,
rtneural-eigen, rtneural-xsimd, rtneural-stl; mode stream or seq)
are also tabulated per (mode, cell), one row per H: each implementation's median ns/step and,
in parentheses, its ratio to rnnx typed measured in the same run (peer ns / typed ns: > 1 means
typed is faster). bench/step_bench.cpp's names count as typed: lstm_step/H:<H> is
typed/stream/lstm/H:<H>, lstm_forward/H:<H>/T:<T> is typed/seq/lstm/H:<H> (likewise gru).
Rows with a variant after H (bench/peers_batch.hpp: /B:<B> for B streams, /In:16/Out:16 and /L:2
for the extra models) get their own table, "Batch and other models": one row per (variant, mode,
cell, H), each implementation's median ns per stream-step with its ratio to typed, then each
implementation's % of the FMA peak.
A benchmark that stopped with an error (e.g. its outputs did not match the reference) shows
"error" and its message is listed under the table.
--extra EXTRA.json (repeatable) merges another Google-Benchmark-shaped run into RESULTS.json
before anything is tabulated: its benchmarks are appended and its context keys added where
RESULTS.json has none (bench/torch_peers.py writes the pytorch/... rows this way).
With --plot OUT.png those rows are drawn with matplotlib (Agg backend; Debian
python3-matplotlib, imported only then): ns/step against H (log-log) and % of the FMA peak
against H, one line per implementation, one column of panels per (mode, cell).
With --plot-batch OUT.png the batch rows (<impl>/<mode>/<cell>/H:<H>/B:<B>) are drawn the same
way in a second figure: ns per stream-step and % of the FMA peak against H, one colour per
implementation, one line style per B (B = 8 solid, B = 32 dashed).

With --torch TORCH.json (written by bench/torch_train_step.py) a second table follows: the
PyTorch training step next to rnnx's, one row per configuration, paired by name:
  torch_train_step/<cell>/H:<H>/B:<B>/T:<T>   (TORCH.json)
  train_step/<cell>/H:<H>/B:<B>/T:<T>         (RESULTS.json; Google Benchmark suffixes such as
                                               /real_time or /iterations:N after T are ignored)
i.e. the same name without the "torch_" prefix; the fields are compared as numbers. Both sides
are one full training step per benchmark iteration (zero grads, forward over the B x T batch,
MSE loss, backward, Adam update). Columns (times in microseconds per training step):
  torch us, rnnx us  the median (rnnx: the "median" aggregate, else the median of the plain runs)
                     of real_time (wall clock; default) or, with --clock cpu, cpu_time; the torch
                     side is measured with one intra-op and one inter-op thread
  torch / rnnx       the ratio of those times: > 1 means rnnx is faster
  GFLOP/s            recomputed from that time, for both sides, with the formula both use:
                     3 * B * T * (2*G*H*(In+H) + 2*H*Out), In = Out = 1, G = 4 LSTM, 3 GRU
                     (training step = 3x the forward's matrix-vector work)
  torch spread       100 * (slowest - fastest) / median wall time over the torch repetitions
  rnnx cv            coefficient of variation over the rnnx repetitions (the "cv" aggregate)
Configurations present in one file only are listed with "-" on the other side.
Example:
  /usr/bin/python3 bench/torch_train_step.py --out /tmp/torch.json
  bench/summarize.py bench/results/DATE-HOST.json --torch /tmp/torch.json
Standard library only (matplotlib for --plot).
"""

import json
import re
import statistics
import sys


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1000:
        return f"{ns:,.0f}"
    return f"{ns:.1f}"


# Pairing of the PyTorch baseline with rnnx's train_step benchmark (see the docstring).
TORCH_NAME = re.compile(r"^torch_train_step/(\w+)/H:(\d+)/B:(\d+)/T:(\d+)$")
RNNX_NAME = re.compile(r"^train_step/(\w+)/H:(\d+)/B:(\d+)/T:(\d+)(?:/.*)?$")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def train_step_flops(cell, h, b, t, inputs=1, outputs=1):
    """FLOPs of one training step: 3x the forward's matrix-vector work (bench/torch_train_step.py)."""
    if cell not in GATES:
        return None
    return 3 * b * t * (2 * GATES[cell] * h * (inputs + h) + 2 * h * outputs)


def fmt_us(ns):
    if ns is None:
        return "-"
    us = ns / 1000.0
    return f"{us:,.0f}" if us >= 1000 else f"{us:.1f}"


def config_label(key):
    cell, h, b, t = key
    return f"{cell}/H:{h}/B:{b}/T:{t}"


def rnnx_train_steps(rows, key_name):
    """{(cell, H, B, T): (median ns, cv or None)} for the train_step rows of a Google Benchmark run."""
    medians, cvs, plain = {}, {}, {}
    for b in rows:
        match = RNNX_NAME.match(b.get("run_name", b.get("name", "")))
        if not match or key_name not in b:
            continue
        key = (match[1], int(match[2]), int(match[3]), int(match[4]))
        run_type, aggregate = b.get("run_type", "iteration"), b.get("aggregate_name")
        if run_type == "aggregate" and aggregate == "cv":
            cvs[key] = b[key_name]  # a fraction, whatever time_unit says
            continue
        ns = b[key_name] * TO_NS.get(b.get("time_unit", "ns"), 1.0)
        if run_type == "aggregate" and aggregate == "median":
            medians[key] = ns
        elif run_type == "iteration":
            plain.setdefault(key, []).append(ns)
    out = {}
    for key, times in plain.items():
        cv = None
        if len(times) > 1:
            cv = statistics.stdev(times) / statistics.mean(times)
        out[key] = (statistics.median(times), cv)
    for key, ns in medians.items():
        out[key] = (ns, cvs.get(key))
    return out


def torch_comparison(run, torch_path, clock):
    """Markdown lines comparing TORCH.json with the train_step rows of `run`; None on bad input."""
    try:
        with open(torch_path, encoding="utf-8") as f:
            torch_run = json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"{torch_path}: {e}\n")
        return None
    key_name = "real_time" if clock == "real" else "cpu_time"
    torch_rows = {}
    for b in torch_run.get("benchmarks", []) if isinstance(torch_run, dict) else []:
        match = TORCH_NAME.match(b.get("name", ""))
        if match and key_name in b:
            key = (match[1], int(match[2]), int(match[3]), int(match[4]))
            ns = b[key_name] * TO_NS.get(b.get("time_unit", "ns"), 1.0)
            torch_rows[key] = (ns, b.get("spread_pct"))
    if not torch_rows:
        sys.stderr.write(f"{torch_path}: no torch_train_step/<cell>/H:_/B:_/T:_ benchmarks "
                         "(expected the output of bench/torch_train_step.py)\n")
        return None
    rnnx_rows = rnnx_train_steps(run.get("benchmarks", []), key_name)
    keys = list(torch_rows) + [k for k in rnnx_rows if k not in torch_rows]
    tctx, ctx = torch_run.get("context", {}), run.get("context", {})
    clock_name = "wall clock (real_time)" if clock == "real" else "CPU time (cpu_time)"
    lines = [
        "",
        f"## Training step: PyTorch vs rnnx, {clock_name}",
        "",
        f"PyTorch {tctx.get('torch_version', '?')}, {tctx.get('threads', '?')} thread(s) "
        f"(interop {tctx.get('interop_threads', '?')}), {tctx.get('date', '?')} on "
        f"{tctx.get('host_name', '?')}, load average "
        f"{', '.join(f'{x:.2f}' for x in tctx.get('load_avg', [])) or '?'}"
        + (" (--quick run)" if tctx.get("quick") else "")
        + f"; rnnx: {ctx.get('date', '?')} on {ctx.get('host_name', '?')}.",
        "",
        "| config | torch us | rnnx us | torch / rnnx | torch GFLOP/s | rnnx GFLOP/s | torch spread | rnnx cv |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def gflops(key, ns):
        flops = train_step_flops(*key)
        return f"{flops / ns:.2f}" if (flops is not None and ns) else "-"

    for key in keys:
        t_ns, spread = torch_rows.get(key, (None, None))
        r_ns, cv = rnnx_rows.get(key, (None, None))
        ratio = f"{t_ns / r_ns:.2f}" if (t_ns and r_ns) else "-"
        lines.append(
            f"| {config_label(key)} | {fmt_us(t_ns)} | {fmt_us(r_ns)} | {ratio} | "
            f"{gflops(key, t_ns) if t_ns else '-'} | {gflops(key, r_ns) if r_ns else '-'} | "
            f"{f'{spread:.1f}%' if spread is not None else '-'} | "
            f"{f'{100.0 * cv:.1f}%' if cv is not None else '-'} |"
        )
    lines += [
        "",
        "One training step per row: zero grads, forward over the B x T batch (In = 1, many-to-many "
        "Dense(H, 1)), MSE loss, backward, Adam (lr 1e-3). Times in microseconds per training "
        "step (medians); torch / rnnx > 1 means rnnx is faster. FLOPs per training step = "
        "3 * B * T * (2*G*H*(In+H) + 2*H*Out), the forward's matrix-vector work times 3. "
        "torch spread = (max - min) / median over its repetitions; rnnx cv over its repetitions.",
    ]
    return lines


# Implementations side by side (rnnx_bench_peers; bench/step_bench.cpp's names map to typed).
PEER_NAME = re.compile(r"^([\w-]+)/(stream|seq)/(\w+)/H:(\d+)$")  # rtneural-<backend>: a hyphen
STEP_NAME = re.compile(r"^(\w+)_step/H:(\d+)$")
FORWARD_NAME = re.compile(r"^(\w+)_forward/H:(\d+)/T:\d+$")
IMPLEMENTATIONS = ["typed", "dynamic", "eigen", "onednn", "libtorch", "pytorch", "rtneural-eigen",
                   "rtneural-xsimd", "rtneural-stl"]
MODES = {"stream": "streaming, one step per call (batch 1)",
         "seq": "whole sequence, T = 1000, per step"}


def peer_key(name):
    """(impl, mode, cell, H) of a side-by-side row, or None."""
    match = PEER_NAME.match(name)
    if match and match[3] in GATES:
        return match[1], match[2], match[3], int(match[4])
    match = STEP_NAME.match(name)
    if match and match[1] in GATES:
        return "typed", "stream", match[1], int(match[2])
    match = FORWARD_NAME.match(name)
    if match and match[1] in GATES:
        return "typed", "seq", match[1], int(match[2])
    return None


def peer_groups(chosen, rows):
    """({(mode, cell): {H: {impl: row}}}, {(impl, mode, cell, H): error message}, impls)."""
    groups, errors = {}, {}
    for b in rows:
        key = peer_key(b.get("run_name", b.get("name", "")))
        if key and b.get("error_occurred"):
            errors[key] = b.get("error_message", "error")
    for b in chosen:
        key = peer_key(b.get("run_name", b["name"]))
        if key and not b.get("error_occurred") and b.get("ns/step") is not None:
            impl, mode, cell, h = key
            groups.setdefault((mode, cell), {}).setdefault(h, {})[impl] = b
    seen = {k[0] for k in errors} | {i for g in groups.values() for r in g.values() for i in r}
    impls = [i for i in IMPLEMENTATIONS if i in seen] + sorted(seen - set(IMPLEMENTATIONS))
    return groups, errors, impls


def group_order(groups, errors):
    keys = set(groups) | {(k[1], k[2]) for k in errors}
    cells = ["lstm", "gru", "rnn"]
    return sorted(keys, key=lambda k: (list(MODES).index(k[0]) if k[0] in MODES else 9,
                                       cells.index(k[1]) if k[1] in cells else 9, k[1]))


def peer_tables(chosen, rows):
    """Markdown lines: one table per (mode, cell), rows H, each implementation's ns/step (ratio)."""
    groups, errors, impls = peer_groups(chosen, rows)
    if not groups and not errors:
        return []
    lines = ["", "## Implementations side by side", "",
             "Median ns/step (CPU time) and, in parentheses, the ratio to rnnx typed in the same "
             "run (peer / typed: > 1 means typed is faster)."]
    for mode, cell in group_order(groups, errors):
        by_h = groups.get((mode, cell), {})
        hs = sorted(set(by_h) | {k[3] for k in errors if k[1:3] == (mode, cell)})
        lines += ["", f"### {cell.upper()}(1 -> H) + Dense(H -> 1), {MODES.get(mode, mode)}", "",
                  "| H | " + " | ".join(impls) + " |",
                  "| ---: | " + " | ".join("---:" for _ in impls) + " |"]
        for h in hs:
            row = by_h.get(h, {})
            typed = row.get("typed", {}).get("ns/step")
            cells = []
            for impl in impls:
                if (impl, mode, cell, h) in errors:
                    cells.append("error")
                    continue
                ns = row.get(impl, {}).get("ns/step")
                if ns is None:
                    cells.append("-")
                elif impl == "typed" or not typed:
                    cells.append(fmt_ns(ns))
                else:
                    cells.append(f"{fmt_ns(ns)} ({ns / typed:.2f}x)")
            lines.append(f"| {h} | " + " | ".join(cells) + " |")
    if errors:
        lines += ["", "Stopped with an error:", ""]
        lines += [f"- {impl}/{mode}/{cell}/H:{h}: {message}"
                  for (impl, mode, cell, h), message in sorted(errors.items())]
    return lines


VARIANT_NAME = re.compile(r"^([\w-]+)/(stream|seq)/(\w+)/H:(\d+)((?:/\w+:\d+)+)$")
VARIANTS = {"/In:16/Out:16": "LSTM(16 -> 128) + Dense(128 -> 16)",
            "/L:2": "LSTM(1 -> 64) + LSTM(64 -> 64) + Dense(64 -> 1)"}


def variant_label(variant, mode, cell, h):
    mode_text = "stream" if mode == "stream" else "T=1000"
    if variant.startswith("/B:"):
        return f"{cell.upper()}(1 -> {h}) + Dense, B={variant[3:]}, {mode_text}"
    return f"{VARIANTS.get(variant, f'{cell.upper()} H={h}{variant}')}, {mode_text}"


def variant_tables(chosen, rows, peak):
    """Markdown lines: the rows with a variant (batch, extra models), implementations side by side."""
    table, errors = {}, {}
    for b in rows:
        match = VARIANT_NAME.match(b.get("run_name", b.get("name", "")))
        if match and b.get("error_occurred"):
            errors[b.get("run_name", b["name"])] = b.get("error_message", "error")
    for b in chosen:
        match = VARIANT_NAME.match(b.get("run_name", b["name"]))
        if match and not b.get("error_occurred") and b.get("ns/step") is not None:
            impl, mode, cell, h, variant = match[1], match[2], match[3], int(match[4]), match[5]
            table.setdefault((variant, mode, cell, h), {})[impl] = b
    if not table and not errors:
        return []
    seen = {i for r in table.values() for i in r}
    impls = [i for i in IMPLEMENTATIONS if i in seen] + sorted(seen - set(IMPLEMENTATIONS))

    def order(key):
        variant, mode, cell, h = key
        batch = int(variant[3:]) if variant.startswith("/B:") else 0
        return (batch == 0, variant if batch == 0 else "", list(MODES).index(mode), cell != "lstm",
                cell, h, batch)

    lines = ["", "## Batch and other models", "",
             "Median ns per stream-step (CPU time; a call of B streams counts B steps, T = 1000 "
             "of B sequences T * B) and, in parentheses, the ratio to rnnx typed in the same run "
             "(> 1: typed is faster); then each implementation's GFLOP/s as % of the FMA peak"
             + (f" ({peak:.0f} GFLOP/s)." if peak else "."), "",
             "| case | " + " | ".join(impls) + " | " + " | ".join(f"{i} % peak" for i in impls) + " |",
             "| --- | " + " | ".join("---:" for _ in impls * 2) + " |"]
    for key in sorted(table, key=order):
        row = table[key]
        typed = row.get("typed", {}).get("ns/step")
        times, pcts = [], []
        for impl in impls:
            b = row.get(impl)
            if b is None:
                times.append("-")
                pcts.append("-")
                continue
            ns = b["ns/step"]
            times.append(fmt_ns(ns) if impl == "typed" or not typed
                         else f"{fmt_ns(ns)} ({ns / typed:.2f}x)")
            gf = b.get("GFLOP/s")
            pcts.append(f"{100.0 * gf / peak:.1f}" if (gf is not None and peak) else "-")
        lines.append(f"| {variant_label(*key)} | " + " | ".join(times) + " | " + " | ".join(pcts) + " |")
    if errors:
        lines += ["", "Stopped with an error:", ""]
        lines += [f"- {name}: {message}" for name, message in sorted(errors.items())]
    return lines


def pyplot_or_none(flag, path):
    """matplotlib.pyplot on the Agg backend, or None (with a note) when it is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.stderr.write(f"{flag}: matplotlib is not installed (Debian: python3-matplotlib); "
                         f"{path} not written\n")
        return None
    return plt


def plot_panels(plt, columns, peak):
    """(figure, axes): a row of ns panels and, with a peak, a row of % of peak panels."""
    n_rows = 2 if peak else 1
    return plt.subplots(n_rows, columns, figsize=(4.3 * columns, 3.8 * n_rows), squeeze=False)


def finish_column(axes, j, hs, peak, title, ylabel):
    """Titles, labels, log-2 H axis and grid of panel column j."""
    axes[0][j].set_title(title)
    axes[0][j].set_yscale("log")
    axes[0][j].set_ylabel(ylabel)
    if peak:
        axes[1][j].set_ylabel(f"% of FMA peak ({peak:.0f} GFLOP/s)")
        axes[1][j].set_ylim(bottom=0)
    for row in axes:
        row[j].set_xscale("log", base=2)
        row[j].set_xticks(hs)
        row[j].set_xticklabels([str(h) for h in hs])
        row[j].set_xlabel("hidden size H")
        row[j].grid(True, which="both", alpha=0.3)


def save_figure(plt, fig, handles, labels, title, path):
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def implementation_styles(impls):
    markers = "osD^vx*+PX"
    return {impl: (f"C{i % 10}", markers[i % len(markers)]) for i, impl in enumerate(impls)}


def draw_plot(chosen, rows, peak, path, title):
    """ns/step and % of FMA peak against H per implementation, to a PNG; False if impossible."""
    groups, _, impls = peer_groups(chosen, rows)
    if not groups:
        sys.stderr.write(f"--plot: no <impl>/<mode>/<cell>/H:<H> rows to draw; {path} not written\n")
        return False
    plt = pyplot_or_none("--plot", path)
    if plt is None:
        return False
    panels = group_order(groups, {})
    fig, axes = plot_panels(plt, len(panels), peak)
    styles = implementation_styles(impls)
    for j, (mode, cell) in enumerate(panels):
        by_h = groups[(mode, cell)]
        hs_all = sorted(by_h)
        for impl in impls:
            hs = [h for h in hs_all if impl in by_h[h]]
            if not hs:
                continue
            color, marker = styles[impl]
            ns = [by_h[h][impl]["ns/step"] for h in hs]
            axes[0][j].plot(hs, ns, color=color, marker=marker, label=impl)
            if peak:
                pct = [100.0 * by_h[h][impl].get("GFLOP/s", 0.0) / peak for h in hs]
                axes[1][j].plot(hs, pct, color=color, marker=marker, label=impl)
        finish_column(axes, j, hs_all, peak, f"{cell.upper()} + Dense, {mode}",
                      "ns per step (CPU time)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    save_figure(plt, fig, handles, labels, title, path)
    return True


BATCH_LINES = ("-", "--", ":", "-.")


def draw_batch_plot(chosen, peak, path, title):
    """The batch rows (<impl>/<mode>/<cell>/H:<H>/B:<B>): ns per stream-step and % of the FMA
    peak against H, one panel column per (mode, cell), one colour per implementation and one
    line style per B; to a PNG. False if there is nothing to draw or no matplotlib."""
    groups = {}  # (mode, cell) -> (impl, B) -> H -> row
    for b in chosen:
        match = VARIANT_NAME.match(b.get("run_name", b["name"]))
        if (match and match[5].startswith("/B:") and not b.get("error_occurred")
                and b.get("ns/step") is not None):
            impl, mode, cell, h, batch = match[1], match[2], match[3], int(match[4]), int(match[5][3:])
            groups.setdefault((mode, cell), {}).setdefault((impl, batch), {})[h] = b
    if not groups:
        sys.stderr.write(f"--plot-batch: no <impl>/<mode>/<cell>/H:<H>/B:<B> rows to draw; "
                         f"{path} not written\n")
        return False
    plt = pyplot_or_none("--plot-batch", path)
    if plt is None:
        return False
    seen = {impl for g in groups.values() for impl, _ in g}
    impls = [i for i in IMPLEMENTATIONS if i in seen] + sorted(seen - set(IMPLEMENTATIONS))
    batches = sorted({batch for g in groups.values() for _, batch in g})
    styles = implementation_styles(impls)
    panels = group_order(groups, {})
    fig, axes = plot_panels(plt, len(panels), peak)
    for j, (mode, cell) in enumerate(panels):
        lines = groups[(mode, cell)]
        hs_all = sorted({h for by_h in lines.values() for h in by_h})
        for (impl, batch), by_h in sorted(lines.items(), key=lambda kv: (impls.index(kv[0][0]), kv[0][1])):
            hs = sorted(by_h)
            color, marker = styles[impl]
            style = dict(color=color, marker=marker,
                         linestyle=BATCH_LINES[batches.index(batch) % len(BATCH_LINES)])
            axes[0][j].plot(hs, [by_h[h]["ns/step"] for h in hs], **style)
            if peak:
                pct = [100.0 * by_h[h].get("GFLOP/s", 0.0) / peak for h in hs]
                axes[1][j].plot(hs, pct, **style)
        finish_column(axes, j, hs_all, peak, f"{cell.upper()} + Dense, {mode}, B streams",
                      "ns per stream-step (CPU time)")
    # Legend: colours name the implementations, line styles the batch sizes.
    handles = [plt.Line2D([], [], color=styles[i][0], marker=styles[i][1]) for i in impls]
    handles += [plt.Line2D([], [], color="grey", linestyle=BATCH_LINES[k % len(BATCH_LINES)])
                for k in range(len(batches))]
    save_figure(plt, fig, handles, impls + [f"B = {b}" for b in batches], title, path)
    return True


def parse_args(argv):
    """(RESULTS.json, OUT.md or None, TORCH.json or None, clock, OUT.png or None, [EXTRA.json],
    batch OUT.png or None) or None on a usage error."""
    positional, torch_path, clock, plot_path, extra_paths = [], None, "real", None, []
    batch_plot_path = None
    args = list(argv[1:])
    options = ("--torch", "--clock", "--plot", "--plot-batch", "--extra")
    while args:
        arg = args.pop(0)
        if arg in options:
            if not args:
                return None
            value = args.pop(0)
        elif arg.startswith(tuple(o + "=" for o in options)):
            arg, value = arg.split("=", 1)
        else:
            positional.append(arg)
            continue
        if arg == "--torch":
            torch_path = value
        elif arg == "--plot":
            plot_path = value
        elif arg == "--plot-batch":
            batch_plot_path = value
        elif arg == "--extra":
            extra_paths.append(value)
        elif value in ("real", "cpu"):
            clock = value
        else:
            return None
    if len(positional) not in (1, 2):
        return None
    return (positional[0], (positional[1] if len(positional) == 2 else None), torch_path, clock,
            plot_path, extra_paths, batch_plot_path)


def merge_extra(run, path):
    """Appends EXTRA.json's benchmarks to run and adds its missing context keys; False on bad input."""
    try:
        with open(path, encoding="utf-8") as f:
            extra = json.load(f)
        benchmarks = extra["benchmarks"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.stderr.write(f"{path}: {e!r} (expected Google-Benchmark-shaped JSON)\n")
        return False
    run.setdefault("benchmarks", []).extend(benchmarks)
    context = run.setdefault("context", {})
    for key, value in extra.get("context", {}).items():
        context.setdefault(key, value)
    return True


def main(argv):
    parsed = parse_args(argv)
    if parsed is None:
        sys.stderr.write(__doc__)
        return 2
    results_path, out_path, torch_path, clock, plot_path, extra_paths, batch_plot_path = parsed
    with open(results_path, encoding="utf-8") as f:
        run = json.load(f)
    if not all(merge_extra(run, path) for path in extra_paths):
        return 1
    rows = run.get("benchmarks", [])
    medians = [b for b in rows if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
    cvs = {b["run_name"]: b for b in rows if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "cv"}
    chosen = medians if medians else [b for b in rows if b.get("run_type", "iteration") == "iteration"]
    if not chosen:
        sys.stderr.write(f"{results_path}: no benchmarks\n")
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
    ]
    machine = [f"{key}: {ctx[key]}" for key in ("cpu_model", "simd", "build", "peers_threads",
                                                 "eigen_version", "onednn_version",
                                                 "rtneural-eigen", "rtneural-xsimd", "rtneural-stl",
                                                 "libtorch_version", "pytorch_version")
               if key in ctx]
    if machine:
        lines += ["", "; ".join(machine) + "."]
    lines += [
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
    lines += peer_tables(chosen, rows)
    lines += variant_tables(chosen, rows, peak)
    if torch_path is not None:
        comparison = torch_comparison(run, torch_path, clock)
        if comparison is None:
            return 1
        lines += comparison
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out_path is not None:
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(text)
    title = f"rnnx and peers, {ctx.get('date', '?')} on {ctx.get('host_name', '?')}"
    if plot_path is not None and draw_plot(chosen, rows, peak, plot_path, title):
        sys.stderr.write(f"plot: {plot_path}\n")
    if batch_plot_path is not None and draw_batch_plot(chosen, peak, batch_plot_path,
                                                        f"{title}, B streams"):
        sys.stderr.write(f"plot: {batch_plot_path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
