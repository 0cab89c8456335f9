"""Optimizer settings and learning-rate schedules, as plain data: no torch here.

:class:`OptimConfig` is read by both engines, :class:`sandbox.optim.Optimizer`
(torch) and :class:`sandbox.scratch.ScratchOptimizer` (NumPy), and
:func:`schedule_factor` gives the learning rate's multiplier after a number of
updates for both.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.checks import check_choice, check_number

OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
SCHEDULES = ("constant", "linear", "cosine", "step")


@dataclass
class OptimConfig:
    """Settings of an optimizer, as plain data.

    name : one of ``OPTIMIZERS``; "momentum" is SGD with (heavy-ball) momentum
    lr : base learning rate, > 0
    l1, l2 : penalties on weights (tensors of 2+ dims; biases are not penalised).
        ``l2`` is applied as weight decay (the gradient of (l2/2)*||w||^2);
        ``l1`` adds l1*sum|w| to the loss.
    clip_norm : clip the global gradient 2-norm to this value (None: no clipping)
    schedule : one of ``SCHEDULES``; "linear" and "cosine" need ``total_steps``
        and decay to ``final_lr_fraction * lr``; "step" multiplies by ``gamma``
        every ``step_size`` steps
    grad_norm : measure the gradient norm every step (``step`` returns it) and stop on a
        non-finite one. False skips that pass over the gradients when ``clip_norm`` is None
        (``step`` returns nan); a non-finite loss is still caught before any update.
    momentum : for "momentum" (default 0.9) and "rmsprop" (default 0, the classic form)
    betas, eps : for "adam"; ``eps`` also for "rmsprop"
    """

    name: str = "adam"
    lr: float = 1e-3
    l1: float = 0.0
    l2: float = 0.0
    clip_norm: float | None = None
    schedule: str = "constant"
    total_steps: int | None = None
    final_lr_fraction: float = 0.0
    step_size: int | None = None
    gamma: float = 0.1
    grad_norm: bool = True
    momentum: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    def validate(self) -> OptimConfig:
        check_choice("optimizer", self.name, OPTIMIZERS)
        check_number("learning_rate", self.lr, low=0.0, low_open=True)
        check_number("l1", self.l1, low=0.0)
        check_number("l2", self.l2, low=0.0)
        if self.clip_norm is not None:
            check_number("clip_norm", self.clip_norm, low=0.0, low_open=True)
        check_choice("schedule", self.schedule, SCHEDULES)
        if self.schedule in ("linear", "cosine"):
            if self.total_steps is None:
                raise ValueError(f"schedule={self.schedule!r} needs total_steps (an integer >= 1).")
            check_number("total_steps", self.total_steps, low=1, integer=True)
        if self.schedule == "step":
            if self.step_size is None:
                raise ValueError("schedule='step' needs step_size (an integer >= 1).")
            check_number("step_size", self.step_size, low=1, integer=True)
            check_number("gamma", self.gamma, low=0.0, high=1.0, low_open=True)
        check_number("final_lr_fraction", self.final_lr_fraction, low=0.0, high=1.0)
        if self.momentum is not None:
            check_number("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        b1, b2 = self.betas
        check_number("betas[0]", b1, low=0.0, high=1.0, high_open=True)
        check_number("betas[1]", b2, low=0.0, high=1.0, high_open=True)
        check_number("eps", self.eps, low=0.0, low_open=True)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def schedule_factor(config: OptimConfig, step: int) -> float:
    """Multiplier of the base learning rate after ``step`` updates (pure; shared with the NumPy engine)."""
    s = config.schedule
    if s == "constant":
        return 1.0
    if s == "step":
        return config.gamma ** (step // config.step_size)
    frac = min(step, config.total_steps) / config.total_steps
    lo = config.final_lr_fraction
    if s == "linear":
        return 1.0 - (1.0 - lo) * frac
    return lo + (1.0 - lo) * 0.5 * (1.0 + math.cos(math.pi * frac))  # cosine
