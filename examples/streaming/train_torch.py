#!/usr/bin/python3
"""Train the streaming demo's model: an LSTM that emulates a tiny "amp".

The emulated system is a one-pole low-pass (cutoff 1 kHz at 48 kHz) followed
by tanh soft clipping with a drive of 4:

    lp[n] = lp[n-1] + a * (x[n] - lp[n-1]),   a = 1 - exp(-2 pi fc / fs)
    y[n]  = tanh(drive * lp[n])

The low-pass is what makes it a system with memory: y[n] depends on the input
over the last ~8 samples (the filter's time constant), so a memoryless network
could not fit it, while LSTM(1, 32) + Linear(32, 1) does comfortably.

Writes, next to this script:
  model.json      the trained model, rnnx weights format, float32
  reference.json  a held-out test signal, the system's output for it and
                  PyTorch's model output for it (both from a zero state)

Usage: /usr/bin/python3 examples/streaming/train_torch.py [--steps N]
Seeded: reruns with the same PyTorch write identical files. About 35 s on
two cores.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir, "codegen"))

from export_torch import export_model, to_json, write_weights  # noqa: E402

SAMPLE_RATE = 48000.0
CUTOFF_HZ = 1000.0
DRIVE = 4.0
HIDDEN = 32
SEED = 20240601

BATCH = 32
# Many times the filter's time constant, so most of each segment is past the
# zero-state start-up that training and inference share.
SEGMENT = 256
TEST_SAMPLES = 2000


def reference_system(x):
    """The emulated system on a 1-D float64 array, from a zero state."""
    a = 1.0 - math.exp(-2.0 * math.pi * CUTOFF_HZ / SAMPLE_RATE)
    y = np.empty_like(x)
    lp = 0.0
    for n, sample in enumerate(x):
        lp += a * (sample - lp)
        y[n] = math.tanh(DRIVE * lp)
    return y


def training_signal(rng, samples):
    """Sum of 1-4 sines plus a chirp plus noise, random level.

    Frequencies are log-uniform over 30 Hz - 8 kHz so the model sees both the
    pass band (where the clipper does the work) and the stop band (where the
    filter does), and levels span quiet (almost linear) to hot (clipping).
    """
    n = np.arange(samples) / SAMPLE_RATE
    x = np.zeros(samples)
    for _ in range(rng.integers(1, 5)):
        freq = math.exp(rng.uniform(math.log(30.0), math.log(8000.0)))
        level = rng.uniform(0.2, 1.0)
        phase = rng.uniform(0, 2 * math.pi)
        x += level * np.sin(2 * math.pi * freq * n + phase)
    f0, f1 = np.exp(rng.uniform(math.log(30.0), math.log(8000.0), size=2))
    duration = samples / SAMPLE_RATE
    phase = 2 * math.pi * (f0 * n + (f1 - f0) * n * n / (2 * duration))
    x += rng.uniform(0.0, 1.0) * np.sin(phase)
    x *= rng.uniform(0.02, 1.0) / max(np.abs(x).max(), 1e-9)
    x += rng.uniform(0.0, 0.05) * rng.standard_normal(samples)
    return x


def test_signal(rng):
    """A plucked note: 196 Hz (G3) with decaying harmonics and a soft attack.

    A different family from the training data, which holds only steady
    sines, linear chirps and white noise: harmonic, decaying, with an attack.
    """
    n = np.arange(TEST_SAMPLES) / SAMPLE_RATE
    x = np.zeros(TEST_SAMPLES)
    for k, level in enumerate([1.0, 0.5, 0.33, 0.2, 0.12], start=1):
        decay = np.exp(-n * 40.0 * k)  # upper harmonics die out first
        x += level * decay * np.sin(2 * math.pi * 196.0 * k * n)
    attack = 1.0 - np.exp(-n / 0.002)
    x *= 0.8 * attack / np.abs(x).max()
    return x + 0.01 * rng.standard_normal(TEST_SAMPLES)


class AmpModel(nn.Module):
    """LSTM(1, 32) + Linear(32, 1), in rnnx:
    network<lstm<1, 32>, dense<32, 1>>."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, 1)

    def forward(self, x):
        return self.fc(self.lstm(x)[0])


def batch(rng):
    """One training batch, float32 (B, T, 1) input and target."""
    xs = np.stack([training_signal(rng, SEGMENT) for _ in range(BATCH)])
    ys = np.stack([reference_system(x) for x in xs])
    return _tensor(xs), _tensor(ys)


def _tensor(array):
    return torch.from_numpy(array.astype(np.float32))[..., None]


def rms(a):
    return float(np.sqrt(np.mean(np.square(a))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400,
                        help="optimiser steps (default 400)")
    parser.add_argument("--out-dir", default=HERE,
                        help="where to write the JSON files (default: here)")
    args = parser.parse_args(argv)

    torch.manual_seed(SEED)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    rng = np.random.default_rng(SEED)

    model = AmpModel()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-2)
    # Decay to 1/20 by the end: the large early rate finds the clipper's
    # shape quickly, the small late one settles the fine error.
    schedule = torch.optim.lr_scheduler.ExponentialLR(
        optimiser, 0.05 ** (1.0 / args.steps))
    start = time.time()
    for step in range(1, args.steps + 1):
        x, y = batch(rng)
        loss = nn.functional.mse_loss(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        # The high starting rate occasionally meets a steep gradient at a
        # saturating segment; clipping keeps that step from undoing progress.
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        if step % 50 == 0 or step == args.steps:
            print("step %4d  train RMS error %.5f  (%.0f s)"
                  % (step, math.sqrt(loss.item()), time.time() - start))

    model.eval()
    x_test = test_signal(rng).astype(np.float32)
    # The system sees exactly the float32 samples the model sees.
    y_system = reference_system(x_test.astype(np.float64))
    with torch.no_grad():
        y_torch = model(torch.from_numpy(x_test)[None, :, None])
    y_torch = y_torch[0, :, 0].numpy()
    test_rms = rms(y_torch - y_system)
    print("test RMS error %.5f (system output RMS %.3f)"
          % (test_rms, rms(y_system)))

    doc = export_model(model, "float32")
    doc["meta"] = {
        "example": "streaming",
        "system": "one-pole low-pass %g Hz at %g Hz, then tanh(%g * x)"
                  % (CUTOFF_HZ, SAMPLE_RATE, DRIVE),
        "trainer": "examples/streaming/train_torch.py",
        "seed": SEED,
        "steps": args.steps,
        "test_rms_error": test_rms,
    }
    write_weights(doc, os.path.join(args.out_dir, "model.json"))
    reference = {
        "description": "plucked 196 Hz note; system = one-pole low-pass "
                       "%g Hz, tanh(%g * x); outputs from a zero state"
                       % (CUTOFF_HZ, DRIVE),
        "sample_rate": SAMPLE_RATE,
        "input": x_test.tolist(),
        "system_output": y_system.astype(np.float32).tolist(),
        "torch_output": y_torch.tolist(),
    }
    path = os.path.join(args.out_dir, "reference.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(to_json(reference, "float32"))
    print("wrote model.json and reference.json to %s"
          % os.path.relpath(args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
