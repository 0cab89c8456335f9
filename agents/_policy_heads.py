"""PolicyGradient's action distributions, in NumPy: sampling, log-probabilities, and the loss's gradient.

A head reads the policy network's outputs ``out`` of shape (n, size) and, for
a Gaussian, a learned state-independent ``log_std`` of shape (size,):

- :class:`Categorical` (``Discrete`` actions): softmax of the logits;
- :class:`MultiCategorical` (``MultiDiscrete``): one Categorical per component,
  the logits of all components side by side; log pi(a) = sum_k log pi_k(a_k);
- :class:`Bernoulli` (``MultiBinary``): one Bernoulli per component, p = sigmoid(logit);
- :class:`Gaussian` (1-D ``Box``): the outputs are the mean, ``exp(log_std)`` the spread;
  actions are clipped to the bounds only when sent to the env.

:meth:`loss_grads` gives the policy half of PolicyGradient's loss,
``policy_gradient_loss(log pi(a|s)) - entropy_coef * mean entropy``, and its
gradient with respect to ``out`` (and ``log_std``) by the chain rule; the
tests hold each against torch autograd.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from agents._pg_kernels import categorical_loss_grads, sample_softmax
from sandbox.scratch import log_softmax

_LOG_2PI = math.log(2 * math.pi)
_LOG_2PI_E = math.log(2 * math.pi * math.e)


def policy_gradient_loss_grad(
    log_probs: np.ndarray,
    advantages: np.ndarray,
    old_log_probs: np.ndarray | None = None,
    clip_range: float | None = None,
) -> tuple[float, np.ndarray]:
    """The policy-gradient loss of log-probabilities (B,) and its gradient with respect to them.

    Without ``old_log_probs``: -mean_t log pi(a_t|s_t) A_t (REINFORCE / A2C).
    With them, for reusing a batch over several epochs: the importance-weighted
    surrogate -mean_t rho_t A_t, rho_t = pi(a_t|s_t) / pi_old(a_t|s_t), which has
    the same gradient while pi = pi_old; ``clip_range`` eps takes PPO's pessimistic
    min(rho A, clip(rho, 1-eps, 1+eps) A) so the policy cannot run far from pi_old.
    Where the clipped term is the smaller one its gradient is 0; where both are
    equal the gradient is the unclipped one's (as torch's ``min`` splits it, in halves that add up).
    """
    B = len(log_probs)
    if old_log_probs is None:
        return float(-(log_probs * advantages).mean()), -advantages / B
    ratio = np.exp(log_probs - old_log_probs)
    surrogate = ratio * advantages
    through: Any = 1.0
    if clip_range is not None:
        clipped = np.clip(ratio, 1 - clip_range, 1 + clip_range) * advantages
        through = surrogate <= clipped
        surrogate = np.minimum(surrogate, clipped)
    return float(-surrogate.mean()), -advantages * ratio * through / B


class Head:
    """What every head has; subclasses give ``size``, sampling, and log-probabilities with their gradients."""

    size: int
    gaussian = False
    action_dtype: Any = np.int64

    def empty(self, *lead: int) -> np.ndarray:
        """Storage for actions of shape (*lead, *action_shape)."""
        return np.zeros((*lead, *self.action_shape), self.action_dtype)

    action_shape: tuple[int, ...] = ()

    def loss_grads(
        self,
        out: np.ndarray,
        log_std: np.ndarray | None,
        actions: np.ndarray,
        advantages: np.ndarray,
        old_log_probs: np.ndarray | None,
        clip_range: float | None,
        entropy_coef: float,
    ) -> tuple[float, float, np.ndarray, np.ndarray | None]:
        """(policy loss, mean entropy, d total / d out, d total / d log_std or None), where
        total = policy loss - entropy_coef * mean entropy."""
        logp, dlogp, entropy, dentropy = self.log_prob_entropy_grads(out, actions)
        loss, g = policy_gradient_loss_grad(logp, advantages, old_log_probs, clip_range)
        dout = g[:, None] * dlogp - (entropy_coef / len(out)) * dentropy
        return loss, float(entropy.mean()), dout.astype(out.dtype, copy=False), None

    def log_prob_entropy_grads(
        self, out: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """log pi(a|s) (B,), its gradient w.r.t. out (B, size), the entropy (B,) and its gradient (B, size)."""
        raise NotImplementedError


class Categorical(Head):
    def __init__(self, n: int, start: int = 0):
        self.size, self.start = int(n), int(start)

    def sample(
        self, out: np.ndarray, log_std: Any, rng: np.random.Generator, explore: bool
    ) -> np.ndarray:
        return sample_softmax(out, rng.random(len(out))) if explore else out.argmax(axis=1)

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        return actions + self.start

    def log_prob(self, out: np.ndarray, log_std: Any, actions: np.ndarray) -> np.ndarray:
        return log_softmax(out)[np.arange(len(out)), actions]

    def loss_grads(
        self, out, log_std, actions, advantages, old_log_probs, clip_range, entropy_coef
    ):  # type: ignore[override]
        use_old = old_log_probs is not None  # one compiled pass over the rows
        loss, entropy, dout = categorical_loss_grads(
            out,
            actions,
            advantages,
            old_log_probs if use_old else advantages,
            use_old,
            0.0 if clip_range is None else float(clip_range),
            float(entropy_coef),
        )
        return loss, entropy, dout, None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "categorical", "n": self.size, "start": self.start}


class MultiCategorical(Head):
    def __init__(self, nvec: Any, start: Any = None):
        self.nvec = np.asarray(nvec, np.int64).ravel()
        self.start = (
            np.zeros_like(self.nvec) if start is None else np.asarray(start, np.int64).ravel()
        )
        self.size = int(self.nvec.sum())
        self.action_shape = (len(self.nvec),)
        self._shape = tuple(np.shape(nvec))
        self._edges = np.concatenate([[0], np.cumsum(self.nvec)])

    def _segments(self) -> list[slice]:
        return [slice(int(a), int(b)) for a, b in zip(self._edges[:-1], self._edges[1:])]

    def sample(
        self, out: np.ndarray, log_std: Any, rng: np.random.Generator, explore: bool
    ) -> np.ndarray:
        u = rng.random((len(out), len(self.nvec))) if explore else None
        cols = [
            sample_softmax(np.ascontiguousarray(out[:, s]), u[:, k])
            if explore
            else out[:, s].argmax(axis=1)
            for k, s in enumerate(self._segments())
        ]
        return np.stack(cols, axis=1)

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        return (actions + self.start).reshape(len(actions), *self._shape)

    def log_prob(self, out: np.ndarray, log_std: Any, actions: np.ndarray) -> np.ndarray:
        rows = np.arange(len(out))
        return sum(
            log_softmax(out[:, s])[rows, actions[:, k]] for k, s in enumerate(self._segments())
        )

    def log_prob_entropy_grads(
        self, out: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        rows = np.arange(len(out))
        logp, entropy = np.zeros(len(out)), np.zeros(len(out))
        dlogp, dentropy = np.zeros_like(out, np.float64), np.zeros_like(out, np.float64)
        for k, s in enumerate(self._segments()):
            lp = log_softmax(out[:, s].astype(np.float64))
            p = np.exp(lp)
            h = -(p * lp).sum(axis=1)
            logp += lp[rows, actions[:, k]]
            entropy += h
            onehot = np.zeros_like(p)
            onehot[rows, actions[:, k]] = 1.0
            dlogp[:, s] = onehot - p
            dentropy[:, s] = -p * (lp + h[:, None])
        return logp, dlogp, entropy, dentropy

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "multi_categorical",
            "nvec": np.reshape(self.nvec, self._shape).tolist(),
            "start": self.start.tolist(),
        }


class Bernoulli(Head):
    action_dtype = np.int8

    def __init__(self, shape: Any):
        self._shape = tuple(int(s) for s in np.atleast_1d(shape))
        self.size = int(np.prod(self._shape))
        self.action_shape = (self.size,)

    def sample(
        self, out: np.ndarray, log_std: Any, rng: np.random.Generator, explore: bool
    ) -> np.ndarray:
        if not explore:
            return (out > 0).astype(np.int8)
        return (rng.random(out.shape) < 1.0 / (1.0 + np.exp(-out))).astype(np.int8)

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        return actions.reshape(len(actions), *self._shape).astype(np.int8)

    def log_prob(self, out: np.ndarray, log_std: Any, actions: np.ndarray) -> np.ndarray:
        return (actions * out - np.logaddexp(0.0, out)).sum(axis=1)

    def log_prob_entropy_grads(
        self, out: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        # log pi(a) = a z - softplus(z); H = softplus(z) - p z; dH/dz = -z p (1 - p)
        z = out.astype(np.float64)
        p = 1.0 / (1.0 + np.exp(-z))
        soft = np.logaddexp(0.0, z)
        logp = (actions * z - soft).sum(axis=1)
        entropy = (soft - p * z).sum(axis=1)
        return logp, actions - p, entropy, -z * p * (1.0 - p)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "bernoulli", "shape": list(self._shape)}


class Gaussian(Head):
    gaussian = True
    action_dtype = np.float32

    def __init__(self, low: np.ndarray, high: np.ndarray):
        self.low, self.high = np.asarray(low, np.float32), np.asarray(high, np.float32)
        self.size = int(self.low.shape[0])
        self.action_shape = (self.size,)

    def sample(
        self, out: np.ndarray, log_std: np.ndarray, rng: np.random.Generator, explore: bool
    ) -> np.ndarray:
        if not explore:
            return out
        return out + np.exp(log_std) * rng.standard_normal(out.shape).astype(np.float32)

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        return np.clip(actions, self.low, self.high)

    def log_prob(self, out: np.ndarray, log_std: np.ndarray, actions: np.ndarray) -> np.ndarray:
        z = (actions - out) / np.exp(log_std)
        return (-0.5 * z * z - log_std - 0.5 * _LOG_2PI).sum(axis=1)

    def loss_grads(
        self, out, log_std, actions, advantages, old_log_probs, clip_range, entropy_coef
    ):  # type: ignore[override]
        std = np.exp(log_std)
        z = (actions - out) / std
        logp = (-0.5 * z * z - log_std - 0.5 * _LOG_2PI).sum(axis=1)
        loss, g = policy_gradient_loss_grad(logp, advantages, old_log_probs, clip_range)
        # d log pi/d mean = z / std;  d log pi/d log_std = z^2 - 1;  H = sum(log_std) + const
        dout = g[:, None] * z / std
        dlog_std = (g[:, None] * (z * z - 1.0)).sum(axis=0) - entropy_coef
        return loss, float((log_std + 0.5 * _LOG_2PI_E).sum()), dout, dlog_std

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "gaussian", "low": self.low.tolist(), "high": self.high.tolist()}


def head_for(space: gym.Space) -> Head:
    """The head for an action space; a ValueError naming the space and what is accepted otherwise."""
    if isinstance(space, gym.spaces.Discrete):
        return Categorical(int(space.n), int(space.start))
    if isinstance(space, gym.spaces.MultiDiscrete):
        return MultiCategorical(space.nvec, getattr(space, "start", None))
    if isinstance(space, gym.spaces.MultiBinary):
        return Bernoulli(space.n)
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        return Gaussian(space.low, space.high)
    raise ValueError(
        f"PolicyGradient cannot act in a {type(space).__name__} action space ({space}); it supports "
        "Discrete (Categorical policy), MultiDiscrete (a Categorical per component), MultiBinary (a Bernoulli "
        "per component) and 1-D Box actions (Gaussian policy)"
    )


def head_from_dict(d: dict[str, Any]) -> Head:
    kind = d["kind"]
    if kind == "categorical":
        return Categorical(d["n"], d["start"])
    if kind == "multi_categorical":
        return MultiCategorical(d["nvec"], d["start"])
    if kind == "bernoulli":
        return Bernoulli(d["shape"])
    return Gaussian(np.asarray(d["low"], np.float32), np.asarray(d["high"], np.float32))
