#!/usr/bin/python3
"""Train the translation demo's model in PyTorch, on the data the demo wrote.

The same model as translation_demo.cpp's Translator: an encoder (Embedding,
GRU) whose final state starts a decoder (Embedding, GRU), Luong "general"
attention of each decoder output q over the encoder outputs m,
a = softmax(q . W m), c = sum a m, and a head Linear(2H, head), tanh,
Linear(head, vocabulary) on [q ; c]. Trained the same way: the same initial
weights (the demo's, saved by rnnx::save_weights), the same batches in the
same order, teacher forcing, mean cross-entropy, gradient norm clipped, Adam
with the same per-epoch learning rates. One thread: rnnx trains on one.

Prints a progress line per epoch and, last, one JSON line with the results
(training seconds, per-epoch loss and held-out greedy exact match; the
evaluation is batched and not timed, as in the demo).

Usage: /usr/bin/python3 examples/translation/train_torch.py DATA.json
"""

import json
import sys
import time
from collections import defaultdict

import torch
from torch import nn


class Translator(nn.Module):
    def __init__(self, source_vocabulary, target_vocabulary, embedding, hidden,
                 head):
        super().__init__()
        # Registration order = rnnx's chain order, for loading its weights.
        self.encoder_embedding = nn.Embedding(source_vocabulary, embedding)
        self.encoder = nn.GRU(embedding, hidden, batch_first=True)
        self.decoder_embedding = nn.Embedding(target_vocabulary, embedding)
        self.decoder = nn.GRU(embedding, hidden, batch_first=True)
        self.attention = nn.Linear(hidden, hidden, bias=False)  # keys W m
        self.head1 = nn.Linear(2 * hidden, head)
        self.head2 = nn.Linear(head, target_vocabulary)

    def encode(self, source):
        memory, state = self.encoder(self.encoder_embedding(source))
        return memory, self.attention(memory), state

    def decode(self, memory, keys, target_in, state):
        queries, state = self.decoder(self.decoder_embedding(target_in), state)
        weights = torch.softmax(queries @ keys.transpose(1, 2), dim=-1)
        context = weights @ memory
        hidden = torch.tanh(self.head1(torch.cat([queries, context], dim=-1)))
        return self.head2(hidden), state

    def forward(self, source, target_in):
        memory, keys, state = self.encode(source)
        return self.decode(memory, keys, target_in, state)[0]


def load_rnnx_weights(model, path):
    """rnnx::save_weights' file: layers in the chain order, parameters in
    PyTorch's order, names and shapes."""
    with open(path, encoding="utf-8") as f:
        layers = json.load(f)["layers"]
    given = [(layer["type"] + "." + name, values) for layer in layers
             for name, values in layer["parameters"].items()]
    ours = list(model.parameters())
    if len(ours) != len(given):
        sys.exit("train_torch.py: %d parameters in %s, the model has %d"
                 % (len(given), path, len(ours)))
    with torch.no_grad():
        for p, (name, values) in zip(ours, given):
            values = torch.tensor(values)
            if values.shape != p.shape:
                sys.exit("train_torch.py: %s has shape %s, expected %s"
                         % (name, list(values.shape), list(p.shape)))
            p.copy_(values)


def greedy_exact_match(model, test, start, end):
    groups = defaultdict(list)
    for source, target in test:
        groups[len(source)].append((source, target))
    right = 0
    with torch.no_grad():
        for group in groups.values():
            source = torch.tensor([s for s, _ in group])
            memory, keys, state = model.encode(source)
            token = torch.full((len(group), 1), start)
            outputs = []
            for _ in range(len(group[0][1]) + 1):  # the date, then end
                logits, state = model.decode(memory, keys, token, state)
                token = logits.argmax(-1)
                outputs.append(token)
            outputs = torch.cat(outputs, dim=1).tolist()
            right += sum(out == target + [end]
                         for out, (_, target) in zip(outputs, group))
    return right / len(test)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    torch.set_num_threads(1)
    sizes = data["sizes"]
    model = Translator(sizes["source_vocabulary"], sizes["target_vocabulary"],
                       sizes["embedding"], sizes["hidden"], sizes["head"])
    load_rnnx_weights(model, data["initial_weights"])
    start, end = data["start"], data["end"]
    train, test = data["train"], data["test"]
    optimiser = torch.optim.Adam(model.parameters(), lr=data["lr"][0])
    loss_fn = nn.CrossEntropyLoss()
    history = {"loss": [], "accuracy": [], "epoch_seconds": [], "updates": 0}
    epochs = data["epochs"]
    for epoch, (batches, lr) in enumerate(zip(epochs, data["lr"]), 1):
        for group in optimiser.param_groups:
            group["lr"] = lr
        began = time.perf_counter()
        loss_sum = 0.0
        for batch in batches:
            source = torch.tensor([train[i][0] for i in batch])
            target = torch.tensor([train[i][1] + [end] for i in batch])
            target_in = torch.cat(
                [torch.full((len(batch), 1), start), target[:, :-1]], dim=1)
            logits = model(source, target_in)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]),
                           target.reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), data["clip"])
            optimiser.step()
            loss_sum += loss.item() * len(batch)
            history["updates"] += 1
        seconds = time.perf_counter() - began
        history["loss"].append(loss_sum / len(train))
        history["accuracy"].append(greedy_exact_match(model, test, start, end))
        history["epoch_seconds"].append(seconds)
        print("torch  epoch %2d/%d  loss %.4f  held-out exact match %5.1f%%  "
              "%6.0f dates/s  %.2f s"
              % (epoch, len(epochs), history["loss"][-1],
                 100 * history["accuracy"][-1], len(train) / seconds,
                 seconds), flush=True)
    history.update(seconds=sum(history["epoch_seconds"]),
                   version=torch.__version__, threads=torch.get_num_threads())
    print(json.dumps(history), flush=True)


if __name__ == "__main__":
    main()
