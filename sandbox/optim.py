"""Optimizers by name. The only place an optimizer is built.

``make_optimizer(params, name="adam", lr=1e-3, l2=1e-4, clip_norm=1.0,
schedule="cosine", total_steps=1000)`` returns an :class:`Optimizer` whose
``step(loss)`` does the whole update: zero the gradients, add the L1 penalty,
backpropagate, clip the gradient norm, step, and advance the learning-rate
schedule. A non-finite loss raises :class:`~sandbox.errors.DivergenceError`
*before* the weights are touched, so they stay the last finite ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from sandbox.checks import check_choice, check_number
from sandbox.errors import DivergenceError

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


class Optimizer:
    """A torch optimizer with the sandbox's penalties, clipping and schedule attached."""

    def __init__(self, params: Iterable[Any], config: OptimConfig):
        self.config = config.validate()
        groups, self._l1_params = _param_groups(params, config.l2)
        self.params = [p for g in groups for p in g["params"]]
        c = config
        if c.name == "sgd":
            self.torch = torch.optim.SGD(groups, lr=c.lr)
        elif c.name == "momentum":
            self.torch = torch.optim.SGD(groups, lr=c.lr, momentum=0.9 if c.momentum is None else c.momentum)
        elif c.name == "adam":
            self.torch = torch.optim.Adam(groups, lr=c.lr, betas=tuple(c.betas), eps=c.eps)
        else:
            self.torch = torch.optim.RMSprop(groups, lr=c.lr, eps=c.eps, momentum=c.momentum or 0.0)
        self._base_lrs = [g["lr"] for g in self.torch.param_groups]
        self.steps = 0
        self.last_loss = math.nan  # the value of the loss given to the last step()

    @property
    def lr(self) -> float:
        """The current learning rate of the first parameter group."""
        return self.torch.param_groups[0]["lr"]

    def penalty(self) -> torch.Tensor | float:
        """The L1 term added to the loss (L2 acts through weight decay)."""
        if self.config.l1 == 0 or not self._l1_params:
            return 0.0
        return self.config.l1 * sum(p.abs().sum() for p in self._l1_params)

    def step(self, loss: torch.Tensor) -> float:
        """One update from ``loss``; returns the gradient norm before clipping (nan if not measured)."""
        self.last_loss = value = loss.item()  # one read of the value serves the check and the caller
        if not math.isfinite(value):
            raise DivergenceError(
                f"the loss became {value} at update {self.steps + 1} "
                f"(learning rate {self.lr:g}); the weights were left at their last finite values. "
                "Try a smaller learning rate, gradient clipping (clip_norm), or standardised inputs."
            )
        self.torch.zero_grad(set_to_none=True)
        total = loss + self.penalty() if self.config.l1 else loss
        total.backward()
        measured = self.config.clip_norm is not None or self.config.grad_norm
        if self.config.clip_norm is not None:
            norm = float(torch.nn.utils.clip_grad_norm_(self.params, self.config.clip_norm))
        elif measured:
            norm = _total_norm([p.grad for p in self.params if p.grad is not None])
        else:
            norm = math.nan
        if measured and not math.isfinite(norm):
            raise DivergenceError(
                f"the gradient norm became {norm} at update {self.steps + 1} (learning rate {self.lr:g}); "
                "the weights were left at their last finite values. Try a smaller learning rate or clip_norm."
            )
        self.torch.step()
        self.steps += 1
        if self.config.schedule != "constant":
            factor = schedule_factor(self.config, self.steps)
            for g, base in zip(self.torch.param_groups, self._base_lrs):
                g["lr"] = base * factor
        return norm

    def state_dict(self) -> dict[str, Any]:
        return {"torch": self.torch.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.torch.load_state_dict(state["torch"])
        self.steps = int(state["steps"])


def _total_norm(grads: list[torch.Tensor]) -> float:
    """The 2-norm of all gradients together (cheaper than torch's get_total_norm for small nets)."""
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))


def _param_groups(params: Iterable[Any], l2: float) -> tuple[list[dict[str, Any]], list[Any]]:
    """(torch param groups, the tensors L1 penalises).

    Weights (2+ dims) are penalised, biases not. Without L2 both share one group,
    which saves the optimizer a second pass per step; user groups keep their options.
    """
    params = list(params)
    if not params:
        raise ValueError("the optimizer got no parameters to train.")
    if isinstance(params[0], dict):
        groups = []
        for g in params:
            g = dict(g)
            g.setdefault("weight_decay", l2)
            g["params"] = list(g["params"])
            groups.append(g)
        return groups, [p for g in groups for p in g["params"]]  # explicit groups: the caller chose what to penalise
    weights = [p for p in params if p.ndim > 1]
    biases = [p for p in params if p.ndim <= 1]
    if l2 == 0:
        return [{"params": weights + biases, "weight_decay": 0.0}], weights
    groups = []
    if weights:
        groups.append({"params": weights, "weight_decay": l2})
    if biases:
        groups.append({"params": biases, "weight_decay": 0.0})
    return groups, weights


def make_optimizer(params: Iterable[Any], name: str = "adam", lr: float = 1e-3, **settings: Any) -> Optimizer:
    """Build an :class:`Optimizer`; ``settings`` are the other fields of :class:`OptimConfig`."""
    unknown = set(settings) - set(OptimConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown optimizer setting(s) {sorted(unknown)}; known: {sorted(OptimConfig.__dataclass_fields__)}.")
    return Optimizer(params, OptimConfig(name=name, lr=lr, **settings))
