"""The engines the deep agents train on, as objects: the NumPy engine of :mod:`sandbox.scratch` or torch.

An agent chooses its engine once (``make_engine(backend)`` at ``fit`` or ``load``)
and then never asks which it has. Everything the algorithms compute outside
the networks (losses, their gradients with respect to the networks' outputs,
targets, advantages) is NumPy; an engine only runs the networks:

    net = engine.net(spec, seed)          # a network from a NetSpec; the same seed, the same weights
    q = net(x)                            # inference: outputs as a NumPy array
    out = net.forward(x)                  # a training forward pass, kept for backward
    net.backward(dout)                    # d loss / d params from d loss / d outputs of that pass
    dx = net.input_grad(dout)             # or d loss / d inputs of that pass (a critic's dQ/da for SAC)
    log_std = engine.vector(values)       # a free parameter vector (a Gaussian policy's log-std)
    opt = engine.optimizer([([net, log_std], lr), ([value_net], value_lr)], config)
    opt.step(loss)                        # one update from the gradients the parts hold

Every part's ``params`` are its weights as NumPy arrays in torch's layout
(``[W_0, b_0, W_1, b_1, ...]``); for torch they share memory with the
parameters, so copying, blending (a target network) and checkpointing are the
same code for both engines.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from sandbox.netspec import NetSpec
from sandbox.optim_config import OptimConfig
from sandbox.scratch import BACKENDS, ScratchNet, ScratchOptimizer, activation_grad


class Part(Protocol):
    """A trainable part of a model: a network or a parameter vector."""

    params: list[np.ndarray]
    grads: list[np.ndarray]  # of the last backward, in the order of params

    def backward(self, dout: np.ndarray) -> None: ...


class Net(Part, Protocol):
    def __call__(self, x: np.ndarray) -> np.ndarray: ...
    def forward(self, x: np.ndarray) -> np.ndarray: ...
    def input_grad(self, dout: np.ndarray) -> np.ndarray: ...


class EngineOptimizer(Protocol):
    def step(self, loss: float) -> None: ...
    def set_lr_factor(self, factor: float) -> None: ...


class Engine(Protocol):
    name: str
    dtype: Any

    def net(self, spec: NetSpec, seed: int | None) -> Net: ...
    def vector(self, values: np.ndarray) -> Part: ...
    def optimizer(
        self, groups: list[tuple[list[Part], float]], config: OptimConfig
    ) -> EngineOptimizer: ...


def make_engine(backend: str, dtype: Any = np.float32) -> Engine:
    """The engine named ``backend`` (one of ``sandbox.scratch.BACKENDS``), computing in ``dtype``."""
    if backend == "numpy":
        return NumpyEngine(dtype)
    if backend == "torch":
        return TorchEngine(dtype)
    raise ValueError(
        f"backend={backend!r} is not allowed; choose one of {', '.join(map(repr, BACKENDS))}."
    )


def copy_weights(dst: Part, src: Part, tau: float = 1.0) -> None:
    """dst <- src (``tau`` 1) or dst <- tau * src + (1 - tau) * dst (Polyak), in place."""
    for t, p in zip(dst.params, src.params):
        if tau == 1.0:
            t[...] = p
        else:
            t *= 1.0 - tau
            t += tau * p


# ------------------------------------------------------------------- NumPy


class NumpyNet:
    """A :class:`~sandbox.scratch.ScratchNet` with gradients kept for the optimizer."""

    def __init__(self, spec: NetSpec, seed: int | None, dtype: Any):
        self.net = ScratchNet(spec, seed=seed, dtype=dtype)
        self.params = self.net.params
        self.grads: list[np.ndarray] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        cache = (
            self.net._cache
        )  # an inference call between forward and backward leaves backward's inputs alone
        out = self.net.forward(x)
        self.net._cache = cache
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.net.forward(x)

    def backward(self, dout: np.ndarray) -> None:
        self.grads = self.net.backward(dout)

    def input_grad(self, dout: np.ndarray) -> np.ndarray:
        """d loss / d inputs of the last ``forward`` from d loss / d outputs; the parameters' gradients
        are neither computed nor changed (backpropagation through the layers, as ``backward`` does)."""
        net = self.net
        if len(net._cache) != net.n_layers:
            raise RuntimeError("input_grad() needs a forward() on the same batch first.")
        dz = dout
        for i in reversed(range(net.n_layers)):
            da = dz @ net.params[2 * i]
            if i == 0:
                return da
            _, z_prev, h_prev, mask = net._cache[i - 1]
            if mask is not None:
                da = da * mask
            dz = da * activation_grad(net.spec.activation, z_prev, h_prev)
        raise AssertionError("unreachable")


class NumpyVector:
    def __init__(self, values: np.ndarray, dtype: Any):
        self.params = [np.array(values, dtype=dtype)]
        self.grads: list[np.ndarray] = []

    def backward(self, dout: np.ndarray) -> None:
        self.grads = [dout]


class NumpyOptimizer:
    def __init__(self, groups: list[tuple[list[Any], float]], config: OptimConfig):
        self.parts = [p for parts, _ in groups for p in parts]
        params = [a for p in self.parts for a in p.params]
        lrs = [float(lr) for parts, lr in groups for p in parts for _ in p.params]
        self.opt = ScratchOptimizer(params, config, lrs=lrs)

    def step(self, loss: float) -> None:
        self.opt.step([g for p in self.parts for g in p.grads], loss=loss)

    def set_lr_factor(self, factor: float) -> None:
        self.opt.set_lr_factor(factor)


class NumpyEngine:
    """The from-scratch engine: networks and optimizers of :mod:`sandbox.scratch`."""

    name = "numpy"

    def __init__(self, dtype: Any = np.float32):
        self.dtype = dtype

    def net(self, spec: NetSpec, seed: int | None) -> NumpyNet:
        return NumpyNet(spec, seed, self.dtype)

    def vector(self, values: np.ndarray) -> NumpyVector:
        return NumpyVector(values, self.dtype)

    def optimizer(
        self, groups: list[tuple[list[Any], float]], config: OptimConfig
    ) -> NumpyOptimizer:
        return NumpyOptimizer(groups, config)


# ------------------------------------------------------------------- torch


class TorchNet:
    """A :func:`sandbox.nn.build_network` module; backward by autograd from d loss / d outputs."""

    def __init__(self, spec: NetSpec, seed: int | None, dtype: Any):
        import torch

        from sandbox.nn import build_network

        self._torch = torch
        self.dtype = np.dtype(dtype)
        self.module = build_network(
            spec, seed=seed, dtype=torch.float64 if self.dtype == np.float64 else torch.float32
        )
        self._tensors = list(self.module.parameters())
        self.params = [
            t.detach().numpy() for t in self._tensors
        ]  # views: they change with the parameters
        self._out: Any = None
        self._x: Any = None

    def _input(self, x: np.ndarray) -> Any:
        return self._torch.from_numpy(np.ascontiguousarray(x, dtype=self.dtype))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self.module(self._input(x)).numpy()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = self._input(x).requires_grad_()  # so that input_grad can follow the same pass
        self._out = self.module(self._x)
        return self._out.detach().numpy()

    @property
    def grads(self) -> list[np.ndarray]:
        """The gradients of the last backward, as NumPy arrays (as the NumPy engine's ``grads``)."""
        return [t.grad.numpy() for t in self._tensors]

    def backward(self, dout: np.ndarray) -> None:
        if self._out is None:
            raise RuntimeError("backward() needs a forward() on the same batch first.")
        grads = self._torch.autograd.grad(self._out, self._tensors, self._input(dout))
        for t, g in zip(self._tensors, grads):
            t.grad = g
        self._out = None

    def input_grad(self, dout: np.ndarray) -> np.ndarray:
        """d loss / d inputs of the last ``forward`` from d loss / d outputs (parameters' gradients untouched)."""
        if self._out is None:
            raise RuntimeError("input_grad() needs a forward() on the same batch first.")
        (dx,) = self._torch.autograd.grad(self._out, self._x, self._input(dout))
        self._out = None
        return dx.numpy()


class TorchVector:
    def __init__(self, values: np.ndarray, dtype: Any):
        import torch

        self._torch = torch
        self.dtype = np.dtype(dtype)
        self.tensor = torch.nn.Parameter(torch.from_numpy(np.array(values, dtype=self.dtype)))
        self._tensors = [self.tensor]
        self.params = [self.tensor.detach().numpy()]

    @property
    def grads(self) -> list[np.ndarray]:
        return [self.tensor.grad.numpy()]

    def backward(self, dout: np.ndarray) -> None:
        self.tensor.grad = self._torch.from_numpy(np.asarray(dout, dtype=self.dtype))


class TorchOptimizer:
    def __init__(self, groups: list[tuple[list[Any], float]], config: OptimConfig):
        from sandbox.optim import Optimizer

        self.opt = Optimizer(
            [
                {"params": [t for p in parts for t in p._tensors], "lr": float(lr)}
                for parts, lr in groups
                if parts
            ],
            config,
        )

    def step(self, loss: float) -> None:
        self.opt.step_with_grads(loss)

    def set_lr_factor(self, factor: float) -> None:
        self.opt.set_lr_factor(factor)


class TorchEngine:
    """torch networks (:mod:`sandbox.nn`), autograd through them, and :mod:`sandbox.optim`."""

    name = "torch"

    def __init__(self, dtype: Any = np.float32):
        self.dtype = dtype

    def net(self, spec: NetSpec, seed: int | None) -> TorchNet:
        return TorchNet(spec, seed, self.dtype)

    def vector(self, values: np.ndarray) -> TorchVector:
        return TorchVector(values, self.dtype)

    def optimizer(
        self, groups: list[tuple[list[Any], float]], config: OptimConfig
    ) -> TorchOptimizer:
        return TorchOptimizer(groups, config)
