"""PyTorch references of the rnnx cells torch.nn lacks, each written from the
equations of its C++ declaration (include/rnnx/layers/<type>.hpp) and nothing
else: the gradient fixtures (make_fixtures.py) check the derived forward and
backward against PyTorch autograd through them.

Each module takes (batch, time, input) and returns (output, h_T), as nn.GRU
with batch_first=True does, and exports through rnnx_layer()
(codegen/export_torch.py). Parameters have rnnx's (PyTorch's) names and
shapes: weight_ih (gates*H x In), weight_hh (gates*H x H), bias_ih, bias_hh
(gates*H), gate rows in the order of the declaration.
"""

import math

import torch
from torch import nn


class _Cell(nn.Module):
    type_name = None
    gates = 1
    hidden_matrix = True
    vectors = ()  # element-wise parameter vectors, H values each
    two_states = False

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        rows = self.gates * hidden_size
        bound = 1 / math.sqrt(hidden_size)

        def uniform(*shape):
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        self.weight_ih = uniform(rows, input_size)
        if self.hidden_matrix:
            self.weight_hh = uniform(rows, hidden_size)
        self.bias_ih = uniform(rows)
        if self.hidden_matrix:
            self.bias_hh = uniform(rows)
        for name in self.vectors:
            setattr(self, name, uniform(hidden_size))

    def W(self, x, k):
        """W_ik x + b_ik."""
        H = self.hidden_size
        return x @ self.weight_ih[k * H:(k + 1) * H].T + self.bias_ih[k * H:(k + 1) * H]

    def U(self, v, k):
        """W_hk v + b_hk (v: h, or an intermediate vector)."""
        H = self.hidden_size
        return v @ self.weight_hh[k * H:(k + 1) * H].T + self.bias_hh[k * H:(k + 1) * H]

    def forward(self, x):
        batch, steps, _ = x.shape
        h = x.new_zeros(batch, self.hidden_size)
        c = x.new_zeros(batch, self.hidden_size)
        out = []
        for t in range(steps):
            h, c = self.step(x[:, t], h, c)
            out.append(h)
        return torch.stack(out, 1), h

    def rnnx_layer(self):
        return {"type": self.type_name, "input_size": self.input_size,
                "hidden_size": self.hidden_size,
                "parameters": dict(self.named_parameters())}


class MGU(_Cell):
    """Minimal gated unit (Zhou et al. 2016): rows f, n."""
    type_name, gates = "mgu", 2

    def step(self, x, h, c):
        f = torch.sigmoid(self.W(x, 0) + self.U(h, 0))
        n = torch.tanh(self.W(x, 1) + self.U(f * h, 1))
        return (1 - f) * h + f * n, c


class GRUResetBefore(_Cell):
    """The original GRU (Cho et al. 2014), reset before the product: rows r, z, n."""
    type_name, gates = "gru_reset_before", 3

    def step(self, x, h, c):
        r = torch.sigmoid(self.W(x, 0) + self.U(h, 0))
        z = torch.sigmoid(self.W(x, 1) + self.U(h, 1))
        n = torch.tanh(self.W(x, 2) + self.U(r * h, 2))
        return (1 - z) * n + z * h, c


class CIFGLSTM(_Cell):
    """LSTM with coupled input-forget gate (Greff et al. 2017): rows i, g, o."""
    type_name, gates, two_states = "cifg_lstm", 3, True

    def step(self, x, h, c):
        i = torch.sigmoid(self.W(x, 0) + self.U(h, 0))
        g = torch.tanh(self.W(x, 1) + self.U(h, 1))
        c = (1 - i) * c + i * g
        return torch.sigmoid(self.W(x, 2) + self.U(h, 2)) * torch.tanh(c), c


class LightGRU(_Cell):
    """Light GRU (Ravanelli et al. 2018): rows z, n."""
    type_name, gates = "light_gru", 2

    def step(self, x, h, c):
        z = torch.sigmoid(self.W(x, 0) + self.U(h, 0))
        return z * h + (1 - z) * torch.relu(self.W(x, 1) + self.U(h, 1)), c


class IndRNN(_Cell):
    """IndRNN (Li et al. 2018): one recurrent weight per unit, the vector weight_hh."""
    type_name, hidden_matrix, vectors = "indrnn", False, ("weight_hh",)

    def step(self, x, h, c):
        return torch.relu(self.W(x, 0) + self.weight_hh * h), c
