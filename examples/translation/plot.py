#!/usr/bin/python3
"""Plot the translation demo's attention: for one or two held-out dates, the
weight each ISO output character (rows; "$" is the end token) gave to each
character of the written date (columns).

Usage: /usr/bin/python3 examples/translation/plot.py RESULTS.json OUT.png
(translation_demo writes RESULTS.json and runs this itself.)
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-2])
    with open(sys.argv[1], encoding="utf-8") as f:
        maps = json.load(f)["maps"]
    if not maps:
        sys.exit("plot.py: no attention maps in " + sys.argv[1])
    widths = [len(m["source"]) for m in maps]
    rows = max(len(m["output"]) for m in maps)
    size = (0.32 * sum(widths) + 3, 0.3 * rows + 1.2)
    fig, axes = plt.subplots(1, len(maps), figsize=size,
                             gridspec_kw={"width_ratios": widths},
                             squeeze=False, layout="constrained")
    for ax, m in zip(axes[0], maps):
        image = ax.imshow(m["weights"], cmap="viridis", vmin=0, vmax=1,
                          aspect="equal")
        ax.set_xticks(range(len(m["source"])), list(m["source"]))
        ax.set_yticks(range(len(m["output"])), list(m["output"]))
        ax.tick_params(length=0)
        ax.set_xlabel("written date: " + m["source"])
        ax.set_ylabel("output: " + m["output"].rstrip("$"))
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8,
                 label="attention weight")
    fig.suptitle("Where the decoder looks while writing each ISO character "
                 "(held-out dates, rnnx)")
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
