#!/usr/bin/python3
"""Plot charlm_demo's training curves: bits per character against updates and against time.

Reads charlm_rnnx.csv, charlm_baselines.csv and, when PyTorch ran, charlm_torch.csv from DIR,
the demo's output folder, and writes DIR/charlm_loss.png. charlm_demo runs it when matplotlib
is installed.

Usage: /usr/bin/python3 examples/charlm/plot.py DIR
"""

import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    run = {k: [float(r[k]) for r in rows] for k in ("update", "train_bpc", "seconds")}
    tested = [r for r in rows if r["test_bpc"]]
    run["test_update"] = [float(r["update"]) for r in tested]
    run["test_seconds"] = [float(r["seconds"]) for r in tested]
    run["test_bpc"] = [float(r["test_bpc"]) for r in tested]
    return run


def smooth(values, width=20):
    """Running mean: single updates are noisy, the trend is what matters."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= width:
            total -= values[i - width]
        out.append(total / min(i + 1, width))
    return out


def main(argv):
    if len(argv) != 2:
        print("usage: %s DIR" % argv[0], file=sys.stderr)
        return 2
    folder = argv[1]
    runs = [(label, color, read(os.path.join(folder, name)))
            for name, label, color in [("charlm_rnnx.csv", "rnnx", "tab:blue"),
                                       ("charlm_torch.csv", "PyTorch", "tab:orange")]
            if os.path.exists(os.path.join(folder, name))]
    baselines = []
    if os.path.exists(os.path.join(folder, "charlm_baselines.csv")):
        with open(os.path.join(folder, "charlm_baselines.csv"), newline="",
                  encoding="utf-8") as f:
            baselines = [(r["baseline"], float(r["bpc"])) for r in csv.DictReader(f)]

    fig, (by_update, by_time) = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for label, color, run in runs:
        # Same start, same batches: PyTorch's curve lies on rnnx's, so it is dashed on top.
        style = "--" if label == "PyTorch" else "-"
        by_update.plot(run["update"], smooth(run["train_bpc"]), style, color=color,
                       label=label + " training (running mean)")
        by_update.plot(run["test_update"], run["test_bpc"], style, marker="o", color=color,
                       label=label + " held-out")
        by_time.plot(run["test_seconds"], run["test_bpc"], style, marker="o", color=color,
                     label=label + " held-out")
    for ax in (by_update, by_time):
        for name, bpc in baselines:
            ax.axhline(bpc, color="gray", linestyle=":", linewidth=1)
            ax.annotate(name, (0, bpc), xycoords=("axes fraction", "data"), xytext=(4, 2),
                        textcoords="offset points", color="gray", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend()
    by_update.set_xlabel("update")
    by_update.set_ylabel("bits per character")
    by_time.set_xlabel("training time, s (one thread; log scale)")
    by_time.set_xscale("log")
    fig.suptitle("Character LSTM on The Adventures of Sherlock Holmes")
    fig.tight_layout()
    out = os.path.join(folder, "charlm_loss.png")
    fig.savefig(out, dpi=100)
    print("plot: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
