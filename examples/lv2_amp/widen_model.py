#!/usr/bin/python3
"""Make the plug-in's second, larger model from the streaming example's trained one.

There is no PyTorch at build or test time, so the larger model is not trained: it is
examples/streaming/model.json (LSTM(1, 32) + Linear(32, 1)) widened to LSTM(1, H) +
Linear(H, 1). The trained units keep their weights and never read the new ones (their
recurrent weights from the new units are zero), so they compute what they computed; the new
units get seeded random weights and add a weak, slower-moving colour to the output through
small output weights. It sounds close to the trained model and costs what an LSTM-H costs:
it stands for a larger trained model, not a better one.

Usage: widen_model.py SOURCE.json -o OUT.json [--hidden 64] [--seed 17]
Standard library only; the same arguments give the same bytes.
"""

import argparse
import json
import random
import struct
import sys


def f32(x):
    """x rounded to float32, as a double: the value the loader will read back exactly."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def widen(doc, hidden, seed):
    lstm, dense = doc["layers"]
    if lstm["type"] != "lstm" or dense["type"] != "dense" or lstm["input_size"] != 1:
        raise ValueError("expected lstm<1, H> -> dense<H, 1>")
    old = lstm["hidden_size"]
    if hidden <= old:
        raise ValueError("--hidden must exceed the source's %d units" % old)
    rng = random.Random(seed)
    new = hidden - old
    scale = 1.0 / hidden ** 0.5

    def uniform(bound):
        return f32(rng.uniform(-bound, bound))

    p = lstm["parameters"]
    weight_ih, weight_hh, bias_ih, bias_hh = [], [], [], []
    for gate in range(4):  # PyTorch's gate blocks i, f, g, o, each widened in place
        rows = range(gate * old, (gate + 1) * old)
        for r in rows:
            weight_ih.append(p["weight_ih"][r])
            weight_hh.append(p["weight_hh"][r] + [0.0] * new)
            bias_ih.append(p["bias_ih"][r])
            bias_hh.append(p["bias_hh"][r])
        for _ in range(new):
            weight_ih.append([uniform(4 * scale)])
            weight_hh.append([uniform(scale) for _ in range(hidden)])
            # A forget-gate bias near 1 makes the new units remember longer than the old.
            bias_ih.append(f32(1.0) if gate == 1 else uniform(scale))
            bias_hh.append(uniform(scale))
    q = dense["parameters"]
    weight = [q["weight"][0] + [uniform(0.05) for _ in range(new)]]
    return {
        "format": doc["format"],
        "version": doc["version"],
        "dtype": "float32",
        "layers": [
            {"type": "lstm", "input_size": 1, "hidden_size": hidden,
             "parameters": {"weight_ih": weight_ih, "weight_hh": weight_hh,
                            "bias_ih": bias_ih, "bias_hh": bias_hh}},
            {"type": "dense", "in_features": hidden, "out_features": 1,
             "activation": dense["activation"],
             "parameters": {"weight": weight, "bias": q["bias"]}},
        ],
        "meta": {"example": "lv2_amp",
                 "made_by": "examples/lv2_amp/widen_model.py --hidden %d --seed %d"
                            % (hidden, seed),
                 "source": "examples/streaming/model.json"},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    with open(args.source, encoding="utf-8") as f:
        doc = json.load(f)
    try:
        text = json.dumps(widen(doc, args.hidden, args.seed), separators=(",", ":"))
    except (ValueError, KeyError) as e:
        sys.exit("widen_model.py: %s: %s" % (args.source, e))
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
