#!/usr/bin/python3
"""Draw forecasting_demo's held-out forecasts, truth vs rnnx (and PyTorch),
and both training-loss curves.

Usage: /usr/bin/python3 examples/forecasting/plot_forecast.py forecast.json forecast.png
forecast.json is written by forecasting_demo.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        r = json.load(f)
    years = r["years"]
    context = [(y, v) for y, v in zip(r["history_years"], r["history"])
               if years[0] - 40 <= y < years[0]]

    fig, axes = plt.subplots(3, 1, figsize=(10, 10),
                             gridspec_kw={"height_ratios": [3, 3, 2]})
    for ax, kind, title in ((axes[0], "one_step", "one year ahead from the true history"),
                            (axes[1], "recursive", "recursive from %d (forecasts fed back)"
                             % (years[0] - 1))):
        ax.plot([y for y, _ in context], [v for _, v in context], color="0.6",
                label="training data")
        ax.plot(years, r["truth"], color="black", lw=2, label="observed")
        if kind == "one_step":
            ax.plot(years, r["persistence"], color="0.5", ls=":", label="persistence y[t-1]")
        ax.plot(years, r["rnnx"][kind], color="tab:blue", marker="o", ms=3, label="rnnx LSTM")
        if "torch" in r:
            ax.plot(years, r["torch"][kind], color="tab:orange", ls="--",
                    label="PyTorch LSTM")
        ax.axvline(years[0] - 0.5, color="0.8", lw=1)
        ax.set_title("Yearly sunspot number, held-out %d-%d: %s" % (years[0], years[-1], title))
        ax.set_ylabel("sunspot number")
        ax.legend(loc="upper left", fontsize=8)
        ax.set_xlim(context[0][0] - 1, years[-1] + 1)
    axes[1].set_xlabel("year")

    # Same initial weights and settings: the curves should track each other.
    ax = axes[2]
    for name, label, style in (("rnnx", "rnnx", "-"), ("torch", "PyTorch", "--")):
        if name in r:
            losses = r[name]["losses"]
            ax.plot(range(1, len(losses) + 1), losses, ls=style, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training MSE (scaled)")
    ax.set_title("Training loss per epoch")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
