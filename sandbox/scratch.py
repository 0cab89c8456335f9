"""The from-scratch engine: a dense network in NumPy, with backprop written out by the chain rule.

It reads the same :class:`~sandbox.netspec.NetSpec` as :mod:`sandbox.nn` and starts
from the same weights for the same seed. Nothing here imports torch: every
gradient below is derived by hand, and ``tests/sandbox/test_scratch.py`` holds
each one against torch autograd in float64.

Notation for one dense layer ``l`` (row-major batches, torch's weight layout)::

    z_l = a_{l-1} @ W_l.T + b_l          W_l: (out, in), b_l: (out,)
    a_l = f(z_l)                          (no f after the last layer)

and backwards, with ``d`` meaning d(loss)/d(.)::

    dz_l     = da_l * f'(z_l)
    dW_l     = dz_l.T @ a_{l-1}
    db_l     = dz_l.sum(axis=0)
    da_{l-1} = dz_l @ W_l
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import erf

from sandbox.checks import check_choice
from sandbox.errors import DivergenceError
from sandbox.netspec import ACTIVATIONS, NetSpec, as_spec, dense_init
from sandbox.optim_config import OptimConfig, schedule_factor

BACKENDS = (
    "numpy",
    "torch",
)  # the engines PolicyGradient and DQN train on: this module's, or torch's autograd

# ---------------------------------------------------------------- activations


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1/(1+e^-z), without overflow
    if name == "gelu":
        return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))  # the exact (erf) form, as torch's default
    if name == "identity":
        return z
    return check_choice("activation", name, ACTIVATIONS)


def activation_grad(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """f'(z), given z and a = f(z)."""
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "tanh":
        return 1.0 - a * a
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "gelu":
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return 0.5 * (1.0 + erf(z / math.sqrt(2.0))) + z * pdf
    return np.ones_like(z)


# --------------------------------------------------------------------- losses


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements, and its gradient w.r.t. ``pred``."""
    diff = pred - target.reshape(pred.shape)
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer ``labels`` (n,) under softmax(``logits``) (n, k), and d/d logits.

    The gradient is the classic ``(softmax - onehot) / n``: the softmax's
    Jacobian and the log's derivative cancel to that by the chain rule.
    """
    n = logits.shape[0]
    logp = log_softmax(logits)
    idx = np.arange(n)
    loss = -float(np.mean(logp[idx, labels]))
    grad = np.exp(logp)
    grad[idx, labels] -= 1.0
    return loss, grad / n


# -------------------------------------------------------------------- network


class ScratchNet:
    """A dense network from a :class:`NetSpec`, with ``forward`` and a hand-written ``backward``.

    Parameters are float64 by default and live in ``self.params`` as
    ``[W_0, b_0, W_1, b_1, ...]``; ``backward`` returns gradients in the same order.
    """

    def __init__(
        self, spec: NetSpec | dict[str, Any], *, seed: int | None = 0, dtype: Any = np.float64
    ):
        spec = as_spec(spec)
        if spec.conv is not None:
            raise ValueError(
                "the NumPy engine builds dense networks only; conv front ends need backend='torch'."
            )
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        self.params: list[np.ndarray] = []
        for W, b in dense_init(spec.dense_sizes, np.random.default_rng(seed)):
            self.params += [W.astype(dtype), b.astype(dtype)]
        self._cache: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]] = []

    @property
    def n_layers(self) -> int:
        return len(self.params) // 2

    def forward(self, X: np.ndarray, *, train: bool = False) -> np.ndarray:
        """Outputs of shape (n, out_features); ``train`` turns dropout on and keeps what backward needs."""
        a = X.reshape(X.shape[0], -1).astype(self.params[0].dtype, copy=False)
        self._cache = []
        last = self.n_layers - 1
        for i in range(self.n_layers):
            W, b = self.params[2 * i], self.params[2 * i + 1]
            z = a @ W.T + b
            if i == last:
                self._cache.append((a, z, z, None))
                return z
            h = activate(self.spec.activation, z)
            mask = None
            if train and self.spec.dropout > 0:
                keep = 1.0 - self.spec.dropout
                mask = (self.rng.random(h.shape) < keep).astype(h.dtype) / keep  # inverted dropout
            self._cache.append((a, z, h, mask))
            a = h if mask is None else h * mask
        raise AssertionError("unreachable")

    def backward(self, dout: np.ndarray) -> list[np.ndarray]:
        """Gradients of the loss w.r.t. every parameter, given d(loss)/d(output) from the last forward."""
        if len(self._cache) != self.n_layers:
            raise RuntimeError("backward() needs a forward() on the same batch first.")
        grads: list[np.ndarray] = [None] * len(self.params)  # type: ignore[list-item]
        dz = dout
        for i in reversed(range(self.n_layers)):
            a_prev, _, _, _ = self._cache[i]
            W = self.params[2 * i]
            grads[2 * i] = dz.T @ a_prev
            grads[2 * i + 1] = dz.sum(axis=0)
            if i == 0:
                break
            da = dz @ W
            _, z_prev, h_prev, mask = self._cache[i - 1]
            if mask is not None:
                da = da * mask
            dz = da * activation_grad(self.spec.activation, z_prev, h_prev)
        return grads

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, loss: str, *, train: bool = True
    ) -> tuple[float, list[np.ndarray]]:
        """Forward, loss ("mse" or "cross_entropy"), backward in one call."""
        out = self.forward(X, train=train)
        if loss == "mse":
            value, dout = mse_loss(out, y)
        elif loss == "cross_entropy":
            value, dout = softmax_cross_entropy(out, np.asarray(y, dtype=np.int64))
        else:
            check_choice("loss", loss, ("mse", "cross_entropy"))
        return value, self.backward(dout)


# ----------------------------------------------------------------- optimizers


class ScratchOptimizer:
    """SGD, momentum, Adam and RMSprop in NumPy, with the same :class:`OptimConfig` as torch.

    Each update follows torch's own formulas in the same order (L1 gradient,
    norm clipping, weight decay, the rule, the schedule), so from the same start
    both engines trace the same weights up to rounding. The rule runs once on
    all parameters laid end to end in one flat vector (as torch's ``foreach``
    implementations do), so a step costs the same few array operations however
    many weight matrices the network has.
    """

    def __init__(
        self, params: list[np.ndarray], config: OptimConfig, *, lrs: list[float] | None = None
    ):
        """``lrs`` gives each parameter its own base learning rate (torch's parameter groups); default ``config.lr``."""
        self.config = config.validate()
        self.params = params
        self.steps = 0
        self.lr = config.lr
        if lrs is not None and len(lrs) != len(params):
            raise ValueError(
                f"lrs has {len(lrs)} entries for {len(params)} parameters; give one learning rate per parameter."
            )
        lrs = [float(v) for v in lrs] if lrs is not None else [float(config.lr)] * len(params)
        self._dtype = np.result_type(*params) if params else np.float64
        self._ends = np.cumsum([p.size for p in params]).tolist()
        self._base_lr = np.concatenate(
            [np.full(p.size, lr, self._dtype) for p, lr in zip(params, lrs)]
        )
        self._penalised = np.concatenate(
            [np.full(p.size, p.ndim > 1) for p in params]
        )  # weights, not biases
        self._factor = 1.0
        self._buf = np.zeros(len(self._base_lr), self._dtype)  # momentum, or Adam's first moment
        self._sq = np.zeros(len(self._base_lr), self._dtype)  # Adam's / RMSprop's second moment

    def _flat(self, arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.ravel(a) for a in arrays]).astype(self._dtype, copy=False)

    def step(self, grads: list[np.ndarray], loss: float | None = None) -> float:
        """Update ``params`` in place; returns the gradient norm before clipping.

        Given the ``loss`` the gradients came from, a non-finite one raises
        :class:`DivergenceError` before any weight changes, as in :mod:`sandbox.optim`.
        """
        c = self.config
        if loss is not None and not math.isfinite(loss):
            raise DivergenceError(
                f"the loss became {loss} at update {self.steps + 1} (learning rate {self.lr:g}); "
                "the weights were left at their last finite values. Try a smaller learning rate, "
                "gradient clipping (clip_norm), or standardised inputs."
            )
        g = self._flat(grads)  # a new array: the caller's gradients stay as they were
        flat_params = self._flat(self.params) if c.l1 or c.l2 else None
        if c.l1:
            g += c.l1 * np.sign(flat_params) * self._penalised
        norm = math.sqrt(float(np.vdot(g, g)))
        if not math.isfinite(norm):
            raise DivergenceError(
                f"the gradient norm became {norm} at update {self.steps + 1}; try a smaller learning rate."
            )
        if c.clip_norm is not None and norm > c.clip_norm:
            g *= c.clip_norm / (norm + 1e-6)
        if c.l2:
            g += c.l2 * flat_params * self._penalised
        t = self.steps + 1
        lr = self._base_lr * self._factor
        buf, sq = self._buf, self._sq
        if c.name == "sgd":
            step = lr * g
        elif c.name == "momentum":
            buf[...] = g if t == 1 else (0.9 if c.momentum is None else c.momentum) * buf + g
            step = lr * buf
        elif c.name == "adam":
            b1, b2 = c.betas
            buf *= b1
            buf += (1 - b1) * g
            sq *= b2
            sq += (1 - b2) * (g * g)
            denom = np.sqrt(sq / (1 - b2**t))
            denom += c.eps
            step = (lr / (1 - b1**t)) * buf / denom
        else:  # rmsprop, torch's alpha=0.99
            sq[...] = 0.99 * sq + 0.01 * g * g
            step = g / (np.sqrt(sq) + c.eps)
            if c.momentum:
                buf[...] = c.momentum * buf + step
                step = buf
            step = lr * step
        start = 0
        for p, end in zip(self.params, self._ends):
            p -= step[start:end].reshape(p.shape)
            start = end
        self.steps = t
        if c.schedule != "constant":
            self.set_lr_factor(schedule_factor(c, t))
        return norm

    def set_lr_factor(self, factor: float) -> None:
        """Every parameter's learning rate becomes its base rate times ``factor`` (what a schedule does)."""
        self._factor = float(factor)
        self.lr = self.config.lr * self._factor
