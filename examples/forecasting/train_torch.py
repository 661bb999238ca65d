#!/usr/bin/python3
"""Train the forecasting demo's LSTM in PyTorch, for a side-by-side comparison.

forecasting_demo writes a job file with everything this script needs and
reads the result back, so both frameworks see exactly the same data:

  job (JSON):    initial_weights (path of an rnnx weight file, the model's
                 starting point), epochs, batch_size, lr, seed, progress_every,
                 window, inputs and targets (windows x window x 1, flattened,
                 scaled), series (the whole scaled series), first_test (index
                 of the first held-out year)
  result (JSON): train_seconds, final_loss, losses (per epoch), one_step and
                 recursive forecasts of the held-out years (scaled)

The model is nn.LSTM(1, H) + nn.Linear(H, 1) with H from the weight file,
trained with Adam and MSE on every step (next-year prediction), mini-batches
shuffled every epoch; one thread, as rnnx trains on one.

Usage: /usr/bin/python3 examples/forecasting/train_torch.py JOB RESULT
"""

import json
import sys
import time

import torch
from torch import nn


class Forecaster(nn.Module):
    """LSTM(1, H) + Linear(H, 1), in rnnx: network<lstm<1, H>, dense<H, 1>>."""

    def __init__(self, hidden):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc(self.lstm(x)[0])


def load_rnnx_weights(path):
    """A Forecaster holding the weights of an rnnx weight file (lstm, dense)."""
    with open(path, encoding="utf-8") as f:
        layers = json.load(f)["layers"]
    if [layer["type"] for layer in layers] != ["lstm", "dense"]:
        raise ValueError("%s: expected an lstm and a dense layer" % path)
    model = Forecaster(layers[0]["hidden_size"])
    lstm, dense = layers[0]["parameters"], layers[1]["parameters"]
    state = {"lstm.%s_l0" % name: lstm[name]
             for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    state.update({"fc.weight": dense["weight"], "fc.bias": dense["bias"]})
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return model


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        job = json.load(f)
    torch.manual_seed(job["seed"])
    torch.set_num_threads(1)
    window = job["window"]
    inputs = torch.tensor(job["inputs"]).reshape(-1, window, 1)
    targets = torch.tensor(job["targets"]).reshape(-1, window, 1)
    model = load_rnnx_weights(job["initial_weights"])
    optimizer = torch.optim.Adam(model.parameters(), lr=job["lr"])
    batch, epochs, every = job["batch_size"], job["epochs"], job["progress_every"]
    count = inputs.shape[0]

    losses = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(count)
        total = 0.0
        for first in range(0, count, batch):
            rows = order[first:first + batch]
            loss = nn.functional.mse_loss(model(inputs[rows]), targets[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / count)
        if epoch % every == 0 or epoch == epochs:
            seconds = time.perf_counter() - start
            updates = epoch * ((count + batch - 1) // batch)
            print("  epoch %4d/%d  loss %.5f  %8.0f sequences/s  %6.0f updates/s  %.2f s"
                  % (epoch, epochs, losses[-1], epoch * count / seconds,
                     updates / seconds, seconds), flush=True)
    train_seconds = time.perf_counter() - start

    # As the demo does: one step ahead from the true history, and recursively
    # from the last training year, each from the preceding window.
    series, first_test = job["series"], job["first_test"]

    def predict(history):
        xs = torch.tensor(history[-window:]).reshape(1, window, 1)
        return model(xs)[0, -1, 0].item()

    with torch.no_grad():
        one_step = [predict(series[:t]) for t in range(first_test, len(series))]
        history = list(series[:first_test])
        for _ in range(len(series) - first_test):
            history.append(predict(history))
    result = {
        "train_seconds": train_seconds,
        "final_loss": losses[-1],
        "losses": losses,
        "one_step": one_step,
        "recursive": history[first_test:],
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
