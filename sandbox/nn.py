"""Networks from a plain spec. The only place a torch network is built.

A :class:`~sandbox.netspec.NetSpec` is plain data (it round-trips through a
dict/JSON, and lives in :mod:`sandbox.netspec`, which imports no torch), so the
same spec builds a torch network here and a NumPy network in
:mod:`sandbox.scratch`; both draw their dense weights from
:func:`~sandbox.netspec.dense_init`, so the same seed gives the same starting
weights in either engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from sandbox.checks import check_choice
from sandbox.netspec import ACTIVATIONS, ConvSpec, NetSpec, as_spec, dense_init

__all__ = [
    "ACTIVATIONS",
    "ConvSpec",
    "NetSpec",
    "Network",
    "activation_module",
    "as_spec",
    "build_network",
    "dense_init",
]


def activation_module(name: str) -> nn.Module:
    check_choice("activation", name, ACTIVATIONS)
    return {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "gelu": nn.GELU,
        "identity": nn.Identity,
    }[name]()


class Network(nn.Module):
    """Optional conv front end, then the dense stack. Accepts flat or image-shaped input."""

    def __init__(self, spec: NetSpec, front: nn.Module | None, body: nn.Sequential):
        super().__init__()
        self.spec = spec
        self.front = front
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.front is not None:
            c = self.spec.conv
            x = x.reshape(x.shape[0], c.in_channels, *c.image_shape[-2:])
            x = self.front(x).flatten(1)
        return self.body(x)

    @property
    def dense_layers(self) -> list[nn.Linear]:
        return [m for m in self.body if isinstance(m, nn.Linear)]


def build_network(
    spec: NetSpec | dict[str, Any], *, seed: int | None = 0, dtype: torch.dtype = torch.float32
) -> Network:
    """Build a torch network from ``spec``; the same seed always gives the same weights."""
    spec = as_spec(spec)
    rng = np.random.default_rng(seed)
    front = None
    if spec.conv is not None:
        front = _conv_front(spec, seed, dtype)
    layers: list[nn.Module] = []
    dense = dense_init(spec.dense_sizes, rng)
    for i, (W, b) in enumerate(dense):
        lin = nn.Linear(
            W.shape[1], W.shape[0], dtype=dtype
        )  # built in dtype: float64 weights stay exact
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(dense) - 1:
            layers.append(activation_module(spec.activation))
            if spec.dropout > 0:
                layers.append(nn.Dropout(spec.dropout))
    return Network(spec, front, nn.Sequential(*layers)).to(dtype)


def _conv_front(spec: NetSpec, seed: int | None, dtype: torch.dtype) -> nn.Sequential:
    c = spec.conv
    gen = torch.Generator().manual_seed(0 if seed is None else int(seed) + 1)
    mods: list[nn.Module] = []
    in_ch = c.in_channels
    for out_ch in c.channels:
        conv = nn.Conv2d(in_ch, out_ch, c.kernel_size, padding=c.kernel_size // 2, dtype=dtype)
        bound = 1.0 / math.sqrt(in_ch * c.kernel_size**2)
        with torch.no_grad():
            conv.weight.uniform_(-bound, bound, generator=gen)
            conv.bias.uniform_(-bound, bound, generator=gen)
        mods += [conv, activation_module(spec.activation)]
        in_ch = out_ch
    if c.pool:
        mods.append(nn.MaxPool2d(2))
    return nn.Sequential(*mods)
