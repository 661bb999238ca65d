#!/usr/bin/python3
"""Train the classification demo's model in PyTorch, on the data the demo wrote.

The same model as classification_demo.cpp's Classifier, GRU(symbols, hidden)
+ Linear(hidden, classes) with the loss on the last letter, trained the same
way: Adam, batches of words of one length, batch order shuffled per epoch.
The input file (written by the demo) holds the settings on its first line and
then one word per line: "train|test LABEL ID ID ...", IDs being the letters'
one-hot positions.

Prints a progress line per epoch and, last, one JSON line with the results
(training seconds, per-epoch loss and held-out accuracy). Held-out evaluation
is not timed, as in the demo. One thread: rnnx trains on one.

Usage: /usr/bin/python3 examples/classification/train_torch.py DATA_FILE
"""

import json
import random
import sys
import time
from collections import defaultdict

import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, symbols, hidden, classes):
        super().__init__()
        self.gru = nn.GRU(symbols, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc(self.gru(x)[0][:, -1])


def read_data(path):
    with open(path, encoding="utf-8") as f:
        fields = f.readline().split()
        settings = {k: float(v) for k, v in zip(fields[::2], fields[1::2])}
        splits = {"train": [], "test": []}
        for line in f:
            split, label, *ids = line.split()
            splits[split].append((int(label), [int(i) for i in ids]))
    return settings, splits["train"], splits["test"]


def by_length(examples):
    groups = defaultdict(list)
    for label, ids in examples:
        groups[len(ids)].append((label, ids))
    return groups


def tensors(batch, symbols):
    ids = torch.tensor([ids for _, ids in batch])
    x = nn.functional.one_hot(ids, symbols).float()
    return x, torch.tensor([label for label, _ in batch])


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    settings, train, test = read_data(sys.argv[1])
    symbols, hidden, classes = (int(settings[k])
                                for k in ("symbols", "hidden", "classes"))
    epochs, batch_size = int(settings["epochs"]), int(settings["batch"])
    seed = int(settings["seed"])
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = random.Random(seed)

    model = Classifier(symbols, hidden, classes)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings["lr"])
    loss_fn = nn.CrossEntropyLoss()
    groups = by_length(train)
    test_batches = [tensors(g, symbols) for g in by_length(test).values()]
    history = {"loss": [], "accuracy": [], "seconds": []}
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        batches = []
        for group in groups.values():
            rng.shuffle(group)
            batches += [group[i:i + batch_size]
                        for i in range(0, len(group), batch_size)]
        rng.shuffle(batches)
        loss_sum = 0.0
        model.train()
        for batch in batches:
            x, y = tensors(batch, symbols)
            loss = loss_fn(model(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            loss_sum += loss.item() * len(batch)
        seconds = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            right = sum(int((model(x).argmax(1) == y).sum())
                        for x, y in test_batches)
        history["loss"].append(loss_sum / len(train))
        history["accuracy"].append(right / len(test))
        history["seconds"].append(seconds)
        print("torch  epoch %2d/%d  loss %.4f  held-out accuracy %5.1f%%  "
              "%7.0f words/s  %.2f s"
              % (epoch, epochs, history["loss"][-1],
                 100 * history["accuracy"][-1], len(train) / seconds,
                 seconds), flush=True)
    history.update(seconds=sum(history["seconds"]),
                   epoch_seconds=history["seconds"],
                   version=torch.__version__, threads=torch.get_num_threads())
    print(json.dumps(history), flush=True)


if __name__ == "__main__":
    main()
