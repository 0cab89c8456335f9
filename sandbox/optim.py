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
from typing import Any

import torch

from sandbox.errors import DivergenceError
from sandbox.optim_config import OPTIMIZERS, SCHEDULES, OptimConfig, schedule_factor

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "OptimConfig",
    "Optimizer",
    "make_optimizer",
    "schedule_factor",
]


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
            self.torch = torch.optim.SGD(
                groups, lr=c.lr, momentum=0.9 if c.momentum is None else c.momentum
            )
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
        value = loss.item()  # one read of the value serves the check and the caller
        self._check_loss(value)
        self.torch.zero_grad(set_to_none=True)
        total = loss + self.penalty() if self.config.l1 else loss
        total.backward()
        return self._apply(value)

    def step_with_grads(self, loss: float) -> float:
        """One update from the gradients already in the parameters' ``.grad`` (set by the caller, e.g. by
        ``torch.autograd.grad`` from a gradient of the loss computed elsewhere); ``loss`` is the value they
        came from, checked as in :meth:`step`. The L1 penalty's gradient is added here. Returns the norm."""
        self._check_loss(float(loss))
        if self.config.l1:
            with torch.no_grad():
                for p in self._l1_params:
                    if p.grad is not None:
                        p.grad.add_(torch.sign(p), alpha=self.config.l1)
        return self._apply(float(loss))

    def _check_loss(self, value: float) -> None:
        self.last_loss = value
        if not math.isfinite(value):
            raise DivergenceError(
                f"the loss became {value} at update {self.steps + 1} "
                f"(learning rate {self.lr:g}); the weights were left at their last finite values. "
                "Try a smaller learning rate, gradient clipping (clip_norm), or standardised inputs."
            )

    def _apply(self, value: float) -> float:
        """Clip, step and advance the schedule from the gradients in ``.grad``; the norm before clipping."""
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
            self.set_lr_factor(schedule_factor(self.config, self.steps))
        return norm

    def set_lr_factor(self, factor: float) -> None:
        """Set every group's learning rate to its base rate times ``factor`` (what a schedule does)."""
        for g, base in zip(self.torch.param_groups, self._base_lrs):
            g["lr"] = base * factor

    def state_dict(self) -> dict[str, Any]:
        return {"torch": self.torch.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.torch.load_state_dict(state["torch"])
        self.steps = int(state["steps"])


def _total_norm(grads: list[torch.Tensor]) -> float:
    """The 2-norm of all gradients together (cheaper than torch's get_total_norm for small nets)."""
    if not grads:
        return 0.0
    return float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    )


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
        return groups, [
            p for g in groups for p in g["params"]
        ]  # explicit groups: the caller chose what to penalise
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


def make_optimizer(
    params: Iterable[Any], name: str = "adam", lr: float = 1e-3, **settings: Any
) -> Optimizer:
    """Build an :class:`Optimizer`; ``settings`` are the other fields of :class:`OptimConfig`."""
    unknown = set(settings) - set(OptimConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(
            f"unknown optimizer setting(s) {sorted(unknown)}; known: {sorted(OptimConfig.__dataclass_fields__)}."
        )
    return Optimizer(params, OptimConfig(name=name, lr=lr, **settings))
