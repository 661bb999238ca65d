#!/usr/bin/python3
"""Write the weight files that carry a reference (docs/weights-format.md, "reference").

    /usr/bin/python3 tests/data/make_reference_fixtures.py      (needs python3-torch)

writes reference/<case>.json: a small PyTorch model exported by codegen/export_torch.py with
its reference (seeded random inputs, the outputs PyTorch computes for them in float64), as the
exporter's command line writes it by default. Each case seeds torch from zlib.crc32 of its name,
so an unchanged script rewrites identical bytes. The cases cover a streaming float model, a
float64 one, and one that starts with token ids and cannot stream (embedding, bidirectional).
"""

import os
import sys
import zlib

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir, "codegen"))

from export_torch import dumps, export_model  # noqa: E402

REFERENCE_DIR = os.path.join(HERE, "reference")

CASES = {
    "lstm_2_8__dense_3_tanh": (lambda: nn.Sequential(
        nn.LSTM(2, 8, batch_first=True), nn.Linear(8, 3), nn.Tanh()), 24),
    "double_gru_3_6__dense_2": (lambda: nn.Sequential(
        nn.GRU(3, 6), nn.Linear(6, 2)).double(), 16),
    "embedding_7_4__bigru_3__dense_2": (lambda: nn.Sequential(
        nn.Embedding(7, 4), nn.GRU(4, 3, batch_first=True, bidirectional=True),
        nn.Linear(6, 2)), 12),
}


def main():
    os.makedirs(REFERENCE_DIR, exist_ok=True)
    for case, (build, steps) in CASES.items():
        torch.manual_seed(zlib.crc32(case.encode()))
        text = dumps(export_model(build(), reference_steps=steps))
        path = os.path.join(REFERENCE_DIR, case + ".json")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print("%s: %d bytes" % (os.path.relpath(path, HERE), len(text)))


if __name__ == "__main__":
    main()
