#!/usr/bin/python3
"""Plot the streaming demo's results: the held-out note through the true
system, PyTorch and rnnx, rnnx's differences, and the per-sample latency
histogram (with the clock-only loop for comparison).

Usage: /usr/bin/python3 examples/streaming/plot.py RESULTS.json OUT.png
(streaming_demo writes RESULTS.json and runs this itself.)
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SAMPLE_RATE = 48000.0


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-2])
    with open(sys.argv[1], encoding="utf-8") as f:
        r = json.load(f)
    ms = [1000.0 * n / SAMPLE_RATE for n in range(len(r["input"]))]

    fig, (ax_sig, ax_err, ax_lat) = plt.subplots(1, 3, figsize=(16, 4.5))
    ax_sig.plot(ms, r["input"], color="lightgrey", label="input")
    ax_sig.plot(ms, r["system"], color="black", lw=2.5, label="true system")
    ax_sig.plot(ms, r["torch"], color="tab:orange", lw=1.5, label="PyTorch")
    ax_sig.plot(ms, r["rnnx"], color="tab:blue", lw=0.8, ls="--",
                label="rnnx (generated header)")
    ax_sig.set_xlabel("time (ms)")
    ax_sig.set_title("held-out plucked note, 48 kHz")
    ax_sig.legend(fontsize=8)

    ax_err.plot(ms, [a - b for a, b in zip(r["rnnx"], r["system"])],
                color="tab:red", lw=0.8, label="rnnx - true system")
    ax_err.plot(ms, [1e4 * (a - b) for a, b in zip(r["rnnx"], r["torch"])],
                color="tab:blue", lw=0.8, label="(rnnx - PyTorch) x 10^4")
    ax_err.set_xlabel("time (ms)")
    ax_err.set_title("differences")
    ax_err.legend(fontsize=8)

    per_decade = r["bins_per_decade"]
    for key, label, colour in (("step_ns_histogram", "step() + clock reading",
                                "tab:blue"),
                               ("clock_ns_histogram", "clock reading alone",
                                "grey")):
        counts = r[key]
        edges = [10 ** (k / per_decade) for k in range(len(counts) + 1)]
        ax_lat.stairs(counts, edges, color=colour, label=label)
    ax_lat.axvline(1e9 / SAMPLE_RATE, color="tab:red", ls="--",
                   label="one sample at 48 kHz")
    ax_lat.set_xscale("log")
    ax_lat.set_yscale("log")
    ax_lat.set_xlabel("time per sample (ns)")
    ax_lat.set_ylabel("samples")
    ax_lat.set_title("latency of every sample")
    ax_lat.legend(fontsize=8)
    for ax in (ax_sig, ax_err, ax_lat):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
