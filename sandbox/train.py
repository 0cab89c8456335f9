"""The supervised loop: shuffled mini-batches, validation, early stopping, history, divergence.

One loop for both engines. :func:`fit_loop` walks epochs and batches and keeps
the books; a *trainee* (:class:`TorchTrainee` or :class:`ScratchTrainee`) runs
one epoch of batches on its engine, in the order the loop gives it. Everything that makes training
trustworthy lives here once:

- the batch order of every epoch comes from one ``numpy.random.Generator``;
- ``history`` holds, per epoch, the training loss (mean over the epoch's
  batches, with dropout on, as Keras reports it), the training metric
  (the same running mean), and the validation loss and metric in eval mode;
- early stopping watches the validation loss, stops after ``patience``
  epochs without an improvement of more than ``min_delta``, and can put back
  the best weights;
- a non-finite loss stops training: the last finite weights are restored and
  :class:`~sandbox.errors.DivergenceError` names the epoch and what to try.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from sandbox.checks import check_choice, check_number
from sandbox.errors import DivergenceError
from sandbox.nn import Network
from sandbox.optim import Optimizer
from sandbox.progress import Callback, Reporter
from sandbox.scratch import (
    ScratchNet,
    ScratchOptimizer,
    log_softmax,
    mse_loss,
    softmax_cross_entropy,
)

LOSSES = ("mse", "cross_entropy")


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when the validation loss has not improved by more than ``min_delta`` for ``patience`` epochs.

    patience : epochs without improvement tolerated, >= 0 (0 stops at the first one)
    min_delta : smallest decrease of the validation loss that counts as an improvement, >= 0
    restore_best : put back the weights of the best epoch when training ends
    """

    patience: int = 10
    min_delta: float = 0.0
    restore_best: bool = True

    def validate(self) -> EarlyStopping:
        check_number("patience", self.patience, low=0, integer=True)
        check_number("min_delta", self.min_delta, low=0.0)
        return self


@dataclass
class FitResult:
    """What :func:`fit_loop` reports.

    history : per-epoch lists, e.g. {"loss", "accuracy", "val_loss", "val_accuracy"}
    best_epoch : 1-based epoch with the lowest validation loss (None without validation)
    stopped_epoch : 1-based epoch at which early stopping ended training (None if it ran out of epochs)
    epochs_run : epochs completed
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    epochs_run: int = 0


class Trainee(Protocol):
    """The engine side of the loop (see :class:`TorchTrainee`, :class:`ScratchTrainee`)."""

    metric: str

    def prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]: ...
    def train_epoch(
        self, X: Any, y: Any, order: np.ndarray, batch_size: int
    ) -> tuple[float, float]: ...
    def score(self, X: Any, y: Any) -> tuple[float, float]: ...
    def snapshot(self) -> Any: ...
    def restore(self, snap: Any) -> None: ...
    def weights_finite(self) -> bool: ...


# ------------------------------------------------------------------ the loop


def fit_loop(
    trainee: Trainee,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    early_stopping: EarlyStopping | None = None,
    callback: Callback | None = None,
    progress: bool = False,
    desc: str = "fit",
) -> FitResult:
    """Train ``trainee`` on (X, y) for up to ``epochs`` passes of shuffled batches of ``batch_size``.

    Parameters
    ----------
    X : array of shape (n_samples, ...) ; y : array of shape (n_samples,) or (n_samples, n_outputs)
    validation : (X_val, y_val) scored after every epoch, in eval mode
    early_stopping : needs ``validation``
    callback : called after each epoch with ``{"unit": "epochs", "done": epoch, "total": epochs}``
        and the epoch's logs (``loss``, the metric, ``val_loss``, ...); returning ``False``
        stops training (see :mod:`sandbox.progress`)
    progress : draw a progress bar labelled ``desc``

    Raises
    ------
    DivergenceError : the loss became non-finite; the last finite weights are in place and
        ``err.result`` holds the history up to the failing epoch.
    """
    check_number("epochs", epochs, low=1, integer=True)
    check_number("batch_size", batch_size, low=1, integer=True)
    if early_stopping is not None:
        early_stopping.validate()
        if validation is None:
            raise ValueError(
                "early stopping needs validation data: pass validation_data or set validation_fraction > 0."
            )
    data = trainee.prepare(X, y)
    val = trainee.prepare(*validation) if validation is not None else None
    keys = ["loss", trainee.metric] + (
        ["val_loss", f"val_{trainee.metric}"] if val is not None else []
    )
    result = FitResult(history={k: [] for k in keys})
    best_loss, best_snap, wait = math.inf, None, 0
    n = len(X)
    with Reporter(callback, progress, desc=desc, unit="epochs", total=epochs) as report:
        for epoch in range(1, epochs + 1):
            safe = trainee.snapshot()
            try:
                logs = _one_epoch(trainee, data, n, batch_size, rng)
                if (
                    not trainee.weights_finite()
                ):  # a last update can break weights without a loss to show it
                    raise DivergenceError(
                        "the weights became non-finite (learning rate too large?)"
                    )
                if val is not None:
                    val_loss, val_metric = trainee.score(*val)
                    if not math.isfinite(val_loss):
                        raise DivergenceError(
                            f"the validation loss became {val_loss} (learning rate too large?)"
                        )
                    logs.update({"val_loss": val_loss, f"val_{trainee.metric}": val_metric})
            except DivergenceError as exc:
                raise _diverged(trainee, safe, result, epoch, exc) from None
            for key, value in logs.items():
                result.history[key].append(value)
            result.epochs_run = epoch
            if val is not None:
                if logs["val_loss"] < best_loss - (
                    early_stopping.min_delta if early_stopping else 0.0
                ):
                    best_loss, result.best_epoch, wait = logs["val_loss"], epoch, 0
                    if early_stopping is not None and early_stopping.restore_best:
                        best_snap = trainee.snapshot()
                else:
                    wait += 1
            if report.active and report(done=epoch, **logs):
                break
            if early_stopping is not None and wait > early_stopping.patience:
                result.stopped_epoch = epoch
                break
    if best_snap is not None:
        trainee.restore(best_snap)
    return result


def _one_epoch(
    trainee: Trainee, data: tuple[Any, Any], n: int, batch_size: int, rng: np.random.Generator
) -> dict[str, float]:
    loss, metric = trainee.train_epoch(data[0], data[1], rng.permutation(n), batch_size)
    return {"loss": loss, trainee.metric: metric}


def _diverged(
    trainee: Trainee, safe: Any, result: FitResult, epoch: int, exc: Exception
) -> DivergenceError:
    """Put back finite weights and build the error that names the epoch."""
    where = "the current weights (the last finite ones) were kept"
    if not trainee.weights_finite() or "validation" in str(exc):
        trainee.restore(safe)
        where = f"the weights from the end of epoch {epoch - 1} were restored"
    err = DivergenceError(
        f"training diverged in epoch {epoch}: {str(exc).split(';')[0].rstrip('.')}. Training stopped; {where}. "
        "Try a smaller learning_rate, clip_norm, or standardised inputs and targets."
    )
    err.epoch = epoch  # type: ignore[attr-defined]
    err.result = result  # type: ignore[attr-defined]
    return err


# --------------------------------------------------------------- the engines


class TorchTrainee:
    """A :class:`~sandbox.nn.Network` and its :class:`~sandbox.optim.Optimizer` as a trainee.

    loss : "mse" (metric: running mean absolute error) or "cross_entropy" on
        integer labels (metric: running accuracy)
    """

    def __init__(
        self, net: Network, optimizer: Optimizer, loss: str, dtype: torch.dtype = torch.float32
    ):
        self.net, self.opt, self.loss, self.dtype = (
            net,
            optimizer,
            check_choice("loss", loss, LOSSES),
            dtype,
        )
        self.metric = "accuracy" if loss == "cross_entropy" else "mae"

    def prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        Xt = torch.as_tensor(
            np.require(X, requirements="W"), dtype=self.dtype
        )  # torch refuses to share a read-only X
        if self.loss == "cross_entropy":
            return Xt, torch.as_tensor(y, dtype=torch.long)
        return Xt, torch.as_tensor(y, dtype=self.dtype).reshape(len(y), -1)

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y) if self.loss == "cross_entropy" else F.mse_loss(out, y)

    def _metric_sum(self, out: torch.Tensor, y: torch.Tensor) -> float:
        if self.loss == "cross_entropy":
            return float((out.argmax(1) == y).sum())
        return float((out - y).abs().mean(1).sum())

    def train_epoch(
        self, X: torch.Tensor, y: torch.Tensor, order: np.ndarray, batch_size: int
    ) -> tuple[float, float]:
        """One pass in the given order; returns (mean batch loss, running metric)."""
        self.net.train()
        order_t = torch.from_numpy(order)
        loss_sum, outs = 0.0, []
        for start in range(0, len(order_t), batch_size):
            idx = order_t[start : start + batch_size]
            out = self.net(X[idx])
            self.opt.step(self._loss(out, y[idx]))
            loss_sum += self.opt.last_loss * len(idx)
            outs.append(out.detach())
        # the metric of the whole epoch in one go: a few ops per epoch, not per batch
        with torch.no_grad():
            metric = self._metric_sum(torch.cat(outs), y[order_t]) / len(order_t)
        return loss_sum / len(order_t), metric

    @torch.no_grad()
    def outputs(self, X: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        return self.net(X)

    def score(self, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        out = self.outputs(X)
        return float(self._loss(out, y)), self._metric_sum(out, y) / len(y)

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def restore(self, snap: dict[str, torch.Tensor]) -> None:
        self.net.load_state_dict(snap)

    def weights_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.net.parameters())


class ScratchTrainee:
    """A :class:`~sandbox.scratch.ScratchNet` and :class:`~sandbox.scratch.ScratchOptimizer` as a trainee."""

    def __init__(self, net: ScratchNet, optimizer: ScratchOptimizer, loss: str):
        self.net, self.opt, self.loss = net, optimizer, check_choice("loss", loss, LOSSES)
        self.metric = "accuracy" if loss == "cross_entropy" else "mae"

    def prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=self.net.params[0].dtype).reshape(len(X), -1)
        if self.loss == "cross_entropy":
            return X, np.asarray(y, dtype=np.int64)
        return X, np.asarray(y, dtype=X.dtype).reshape(len(y), -1)

    def _loss_grad(self, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        return softmax_cross_entropy(out, y) if self.loss == "cross_entropy" else mse_loss(out, y)

    def _metric_sum(self, out: np.ndarray, y: np.ndarray) -> float:
        if self.loss == "cross_entropy":
            return float(np.sum(out.argmax(1) == y))
        return float(np.abs(out - y).mean(1).sum())

    def train_epoch(
        self, X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int
    ) -> tuple[float, float]:
        """One pass in the given order (dropout on); returns (mean batch loss, running metric)."""
        loss_sum = metric_sum = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            yb = y[idx]
            with np.errstate(
                over="ignore", invalid="ignore"
            ):  # overflow is reported as divergence below
                out = self.net.forward(X[idx], train=True)
                loss, dout = self._loss_grad(out, yb)
                grads = self.net.backward(dout)
            self.opt.step(grads, loss=loss)
            loss_sum += loss * len(idx)
            metric_sum += self._metric_sum(out, yb)
        return loss_sum / len(order), metric_sum / len(order)

    def outputs(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return self.net.forward(X, train=False)

    def score(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        out = self.outputs(X)
        if self.loss == "cross_entropy":
            with np.errstate(over="ignore", invalid="ignore"):
                loss = -float(np.mean(log_softmax(out)[np.arange(len(y)), y]))
        else:
            loss = float(np.mean((out - y) ** 2))
        return loss, self._metric_sum(out, y) / len(y)

    def snapshot(self) -> list[np.ndarray]:
        return [p.copy() for p in self.net.params]

    def restore(self, snap: list[np.ndarray]) -> None:
        for p, s in zip(self.net.params, snap):
            p[...] = s

    def weights_finite(self) -> bool:
        return all(bool(np.isfinite(p).all()) for p in self.net.params)
