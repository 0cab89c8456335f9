"""Backpropagation by the chain rule, checked three ways.

    sandbox run backprop [--set hidden=16,8 --set activation=tanh --set loss=cross_entropy]

A small network from the NumPy engine (:mod:`sandbox.scratch`): its
hand-written gradients are compared, parameter by parameter, with torch
autograd on the same weights and with central finite differences
(dL/dθ ≈ (L(θ+h) - L(θ-h)) / 2h). The table shows the largest relative
difference for each weight matrix and bias vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sandbox import plots
from sandbox.checks import check_choice, check_int_tuple, check_number
from sandbox.experiment import Experiment, Run
from sandbox.nn import ACTIVATIONS, NetSpec, build_network
from sandbox.progress import Reporter
from sandbox.scratch import ScratchNet


@dataclass
class Config:
    seed: int = 0
    n_samples: int = 32  # rows in the random batch the gradients are taken on
    n_features: int = 4  # inputs of the network
    n_outputs: int = 3  # outputs (classes for cross_entropy)
    hidden: tuple[int, ...] = (8, 6)
    activation: str = "tanh"
    loss: str = "cross_entropy"  # the loss the gradients are of
    step: float = 1e-6  # finite-difference step h

    def validate(self) -> None:
        check_number("n_samples", self.n_samples, low=1, integer=True)
        check_number("n_features", self.n_features, low=1, integer=True)
        check_number(
            "n_outputs", self.n_outputs, low=2 if self.loss == "cross_entropy" else 1, integer=True
        )
        check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("loss", self.loss, ("mse", "cross_entropy"))
        check_number("step", self.step, low=0.0, low_open=True)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def run(cfg: Config, run: Run) -> dict:
    rng = np.random.default_rng(cfg.seed)
    X = rng.normal(size=(cfg.n_samples, cfg.n_features))
    y = (
        rng.integers(0, cfg.n_outputs, cfg.n_samples)
        if cfg.loss == "cross_entropy"
        else rng.normal(size=(cfg.n_samples, cfg.n_outputs))
    )
    spec = NetSpec(cfg.n_features, cfg.n_outputs, cfg.hidden, cfg.activation)
    net = ScratchNet(spec, seed=cfg.seed)
    loss, grads = net.loss_and_grads(X, y, cfg.loss, train=False)

    tnet = build_network(spec, seed=cfg.seed, dtype=torch.float64)
    out = tnet(torch.from_numpy(X))
    target = torch.from_numpy(y)
    tloss = (
        torch.nn.functional.cross_entropy(out, target)
        if cfg.loss == "cross_entropy"
        else torch.mean((out - target) ** 2)
    )
    tloss.backward()
    autograd = [p.grad.numpy() for lin in tnet.dense_layers for p in (lin.weight, lin.bias)]

    numeric, done = [], 0  # central differences: two losses per parameter, the long part
    with Reporter(
        None,
        run.progress("numeric"),
        desc="numeric gradient",
        unit="parameters",
        total=sum(p.size for p in net.params),
    ) as report:
        for p in net.params:
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + cfg.step
                up = net.loss_and_grads(X, y, cfg.loss, train=False)[0]
                p[idx] = old - cfg.step
                down = net.loss_and_grads(X, y, cfg.loss, train=False)[0]
                p[idx] = old
                g[idx] = (up - down) / (2 * cfg.step)
                done += 1
                if report.due(done):
                    report(done=done)
            numeric.append(g)
        report(done=done)  # the last point, whatever the cadence

    rows, vs_autograd, vs_numeric = [], [], []
    for i, (g, a, n) in enumerate(zip(grads, autograd, numeric)):
        name = f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1} {tuple(g.shape)}"
        vs_autograd.append(_rel(g, a))
        vs_numeric.append(_rel(g, n))
        rows.append([name, float(np.abs(g).max()), vs_autograd[-1], vs_numeric[-1]])
    run.say(f"loss ({cfg.loss}) = {loss:.6f}; torch: {float(tloss.detach()):.6f}")
    run.table(
        "gradients",
        ["parameter", "max |grad|", "rel. diff vs autograd", "rel. diff vs finite diff."],
        rows,
    )
    norms = {
        "hand-written backprop": [float(np.linalg.norm(g)) for g in grads],
        "torch autograd": [float(np.linalg.norm(a)) for a in autograd],
    }
    fig = plots.bars(
        norms,
        [r[0] for r in rows],
        ylabel="gradient norm",
        title="Gradient norm per parameter, two ways",
    )
    run.save_plot(fig, "gradient_norms")
    return {
        "loss": loss,
        "max_rel_diff_autograd": max(vs_autograd),
        "max_rel_diff_finite_differences": max(vs_numeric),
    }


EXPERIMENT = Experiment(
    "backprop",
    "hand-written backprop vs torch autograd vs finite differences, parameter by parameter",
    Config,
    run,
    tour={},
    tour_order=15,
    paradigm="supervised",
    headline=("max_rel_diff_autograd", "max_rel_diff_finite_differences"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
