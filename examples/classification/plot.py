#!/usr/bin/python3
"""Plot the classification demo's results: loss and held-out accuracy over
training time (rnnx and, if it ran, PyTorch) and the confusion matrix.

Usage: /usr/bin/python3 examples/classification/plot.py RESULTS.json OUT.png
(classification_demo writes RESULTS.json and runs this itself.)
"""

import itertools
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-2])
    with open(sys.argv[1], encoding="utf-8") as f:
        results = json.load(f)
    runs = [("rnnx", results["rnnx"], "tab:blue")]
    if results.get("torch"):
        runs.append(("PyTorch", results["torch"], "tab:orange"))

    fig, (ax_loss, ax_acc, ax_conf) = plt.subplots(1, 3, figsize=(15, 4.5))
    for name, run, colour in runs:
        seconds = run.get("epoch_seconds", run["seconds"])
        elapsed = list(itertools.accumulate(seconds))
        ax_loss.plot(elapsed, run["loss"], "o-", color=colour, label=name)
        ax_acc.plot(elapsed, [100 * a for a in run["accuracy"]], "o-",
                    color=colour, label=name)
    for ax, label in ((ax_loss, "training loss (cross-entropy)"),
                      (ax_acc, "held-out accuracy (%)")):
        ax.set_xlabel("training time (s)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if len(runs) > 1:
        ax_loss.set_xscale("log")
        ax_acc.set_xscale("log")
    ax_acc.axhline(100 / len(results["languages"]), color="grey", ls="--")

    languages = results["languages"]
    confusion = results["confusion"]
    ax_conf.imshow(confusion, cmap="Blues")
    ax_conf.set_xticks(range(len(languages)), languages, rotation=30)
    ax_conf.set_yticks(range(len(languages)), languages)
    ax_conf.set_xlabel("predicted")
    ax_conf.set_ylabel("true")
    ax_conf.set_title("rnnx, held-out words")
    top = max(max(row) for row in confusion)
    for i, row in enumerate(confusion):
        for j, n in enumerate(row):
            ax_conf.text(j, i, str(n), ha="center", va="center",
                         color="white" if n > top / 2 else "black")
    fig.suptitle("Which language is a word from? GRU classifier")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
