#!/usr/bin/python3
"""Train charlm_demo's model in PyTorch, the same way, for a timing and accuracy comparison.

charlm_demo runs this after its own training, with its settings and two files:
  --data   the book as symbol indices, one byte each: the training text, then the held-out
  --init   the demo's initial weights (rnnx format), so both start from the same model

Model: nn.LSTM(V, 128) + nn.Linear(128, V) on one-hot characters (rnnx:
network<lstm<V, 128>, dense<128, V>>). Batches: B streams read the training text side by
side, each a contiguous 1/B of it, T characters per update; the state is carried from
update to update (detached) and reset when the streams wrap round, as in the demo.
Cross-entropy, Adam, gradient norm clipping. --threads: as many threads as rnnx used.

Prints progress and writes --result (JSON): training seconds (updates only, without the
held-out evaluations), final held-out bits per character, the PyTorch version.

Usage: /usr/bin/python3 examples/charlm/train_torch.py --data D --train-chars N
       --vocabulary V --init INIT.json --steps S --batch B --bptt T --lr X --clip X
       --eval-every N --result OUT.json
"""

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn


class CharModel(nn.Module):
    def __init__(self, vocabulary, hidden):
        super().__init__()
        self.lstm = nn.LSTM(vocabulary, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, vocabulary)

    def forward(self, x, state=None):
        h, state = self.lstm(x, state)
        return self.fc(h), state


def load_rnnx_weights(path):
    """The demo's initial weights: the rnnx format mirrors the state_dict's names."""
    with open(path, encoding="utf-8") as f:
        layers = json.load(f)["layers"]
    lstm, dense = layers
    model = CharModel(lstm["input_size"], lstm["hidden_size"])
    state = {"lstm.%s_l0" % k: torch.tensor(v) for k, v in lstm["parameters"].items()}
    state.update({"fc.%s" % k: torch.tensor(v) for k, v in dense["parameters"].items()})
    model.load_state_dict(state)
    return model


def one_hot(symbols, vocabulary):
    return nn.functional.one_hot(symbols, vocabulary).float()


def bits_per_char(model, test, vocabulary):
    with torch.no_grad():
        logits, _ = model(one_hot(test[None, :-1], vocabulary))
        nats = nn.functional.cross_entropy(logits[0], test[1:])
    return nats.item() / math.log(2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--train-chars", type=int, required=True)
    p.add_argument("--vocabulary", type=int, required=True)
    p.add_argument("--init", required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--bptt", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--clip", type=float, required=True)
    p.add_argument("--eval-every", type=int, required=True)
    p.add_argument("--result", required=True)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    book = torch.from_numpy(np.fromfile(args.data, dtype=np.uint8).astype(np.int64))
    text, test = book[:args.train_chars], book[args.train_chars:]
    V, B, T = args.vocabulary, args.batch, args.bptt
    model = load_rnnx_weights(args.init)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)

    stream = (len(text) - 1) // B
    chunks = stream // T
    starts = torch.arange(B)[:, None] * stream + torch.arange(T)[None, :]
    state = None
    seconds, window_bits, window_seconds, window_steps = 0.0, 0.0, 0.0, 0
    log = []
    print("%8s %7s %12s %12s %10s %10s"
          % ("update", "epoch", "train bpc", "held-out", "chars/s", "seconds"))
    for step in range(1, args.steps + 1):
        start = time.perf_counter()
        chunk = (step - 1) % chunks
        if chunk == 0:
            state = None
        at = starts + chunk * T
        logits, state = model(one_hot(text[at], V), state)
        state = tuple(s.detach() for s in state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), text[at + 1].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        if args.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimiser.step()
        elapsed = time.perf_counter() - start

        seconds += elapsed
        window_seconds += elapsed
        window_bits += loss.item() / math.log(2)
        window_steps += 1
        test_bpc = None
        if step % args.eval_every == 0 or step == args.steps:
            test_bpc = bits_per_char(model, test, V)
            print("%8d %7.2f %12.3f %12.3f %10.0f %10.1f"
                  % (step, step / chunks, window_bits / window_steps, test_bpc,
                     window_steps * B * T / window_seconds, seconds), flush=True)
            window_bits, window_seconds, window_steps = 0.0, 0.0, 0
            final_bpc = test_bpc
        log.append((step, loss.item() / math.log(2), test_bpc, seconds))

    with open(args.result, "w", encoding="utf-8") as f:
        json.dump({"seconds": seconds, "final_bpc": final_bpc,
                   "torch_version": torch.__version__.split("a")[0].split("+")[0]}, f)
    # Next to the result: the curve plot.py draws beside rnnx's.
    with open(os.path.join(os.path.dirname(os.path.abspath(args.result)), "charlm_torch.csv"),
              "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["update", "train_bpc", "test_bpc", "seconds"])
        for step, train_bpc, test_bpc, elapsed in log:
            out.writerow([step, train_bpc, "" if test_bpc is None else test_bpc, elapsed])
    return 0


if __name__ == "__main__":
    sys.exit(main())
