"""Linear regression four ways: gradient descent in torch or in the NumPy engine, or the closed form."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import RegressorMixin

from sandbox.checks import check_choice, check_number, check_seed
from sandbox.learner import Learner, torch_seed
from sandbox.metrics import score_regression
from sandbox.nn import NetSpec, build_network
from sandbox.optim import OPTIMIZERS, OptimConfig, Optimizer
from sandbox.progress import Callback, Reporter
from sandbox.scratch import BACKENDS, ScratchNet, ScratchOptimizer, mse_loss

SOLVERS = ("gd", "closed-form")


class LinearRegressor(RegressorMixin, Learner):
    """Least-squares linear regression, y ≈ X @ coef_.T + intercept_.

    Parameters
    ----------
    backend : "torch" (default) or "numpy" (the from-scratch engine, :mod:`sandbox.scratch`)
    solver : "gd" (gradient descent on the MSE with the shared optimizers) or
        "closed-form" (least squares, the exact reference; ``l2`` makes it ridge)
    optimizer : one of ``sandbox.optim.OPTIMIZERS`` (gd only)
    learning_rate : step size, > 0 (gd only)
    max_iter : most gradient steps, >= 1 (gd only)
    tol : stop once a step lowers the batch MSE by at most ``tol`` (gd only); 0 takes
        all ``max_iter`` steps
    batch_size : rows per step; None uses all rows every step (full-batch gradient
        descent, as in the article). Smaller batches walk through a fresh shuffle
        of the data each epoch.
    l2 : L2 penalty on the weights (not the intercept), >= 0
    seed : starting weights and batch order; the same seed gives the same numbers

    Attributes
    ----------
    coef_ : array of shape (n_features,) or (n_outputs, n_features)
    intercept_ : float or array of shape (n_outputs,)
    history_ : {"loss": [MSE of the batch at each step]} (gd only)
    n_iter_ : steps taken (gd), 1 for the closed form
    n_features_in_, feature_names_in_ : as scikit-learn records them
    """

    paradigm = "supervised"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def __init__(
        self,
        *,
        backend: str = "torch",
        solver: str = "gd",
        optimizer: str = "sgd",
        learning_rate: float = 0.1,
        max_iter: int = 300,
        tol: float = 0.0,
        batch_size: int | None = None,
        l2: float = 0.0,
        seed: int | None = 0,
    ):
        self.backend = backend
        self.solver = solver
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.l2 = l2
        self.seed = seed

    def _validate(self) -> None:
        check_choice("backend", self.backend, BACKENDS)
        check_choice("solver", self.solver, SOLVERS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_number("max_iter", self.max_iter, low=1, integer=True)
        check_number("tol", self.tol, low=0.0)
        if self.batch_size is not None:
            check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("l2", self.l2, low=0.0)
        check_seed(self.seed)

    def fit(
        self, X: Any, y: Any, *, callback: Callback | None = None, progress: bool = False
    ) -> LinearRegressor:
        """Fit on X of shape (n_samples, n_features) and y of shape (n_samples,) or (n_samples, n_outputs).

        ``callback`` gets ``{"unit": "iterations", "done", "total", "loss"}`` about every 1 % of
        ``max_iter`` (gd); returning False stops there. ``progress=True`` draws a bar. Returns self.
        """
        self._validate()
        with Reporter(
            callback,
            progress,
            desc=type(self).__name__,
            unit="iterations",
            total=self.max_iter if self.solver == "gd" else 1,
        ) as report:
            X, y = self._check_Xy(X, y)
            X, Y = (
                X.astype(np.float64, copy=False),
                y.reshape(len(y), -1).astype(np.float64, copy=False),
            )
            if self.solver == "closed-form":
                W, b = self._closed_form(X, Y)
                losses: list[float] = []
                if report.active:
                    report(done=1, loss=float(np.mean((X @ W.T + b - Y) ** 2)))
            else:
                W, b, losses = (self._gd_torch if self.backend == "torch" else self._gd_numpy)(
                    X, Y, report
                )
        self._y_ndim = y.ndim
        self.history_ = {"loss": losses}
        self.n_iter_ = max(1, len(losses))
        self._set_weights(W, b)
        return self

    def _stop(self, i: int, losses: list[float], report: Reporter) -> bool:
        """After step ``i`` (1-based): True when the loss stopped falling by more than ``tol``, or the callback asks."""
        if report.due(i) and report(done=i, loss=losses[-1]):
            return True
        return self.tol > 0 and len(losses) > 1 and losses[-2] - losses[-1] <= self.tol

    # --------------------------------------------------------------- solvers

    def _closed_form(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Solve min ||[X 1] theta - Y||² + l2 ||w||², centring so the intercept is not penalised."""
        x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
        Xc, Yc = X - x_mean, Y - y_mean
        if self.backend == "torch":
            A, B = torch.from_numpy(Xc), torch.from_numpy(Yc)
            if self.l2:
                A = torch.cat([A, np.sqrt(self.l2) * torch.eye(A.shape[1], dtype=A.dtype)])
                B = torch.cat([B, torch.zeros(A.shape[1], B.shape[1], dtype=B.dtype)])
            W = torch.linalg.lstsq(A, B, driver="gelsd").solution.numpy().T
        else:
            A, B = Xc, Yc
            if self.l2:
                A = np.vstack([A, np.sqrt(self.l2) * np.eye(A.shape[1])])
                B = np.vstack([B, np.zeros((A.shape[1], B.shape[1]))])
            W = np.linalg.lstsq(A, B, rcond=None)[0].T
        return W, y_mean - W @ x_mean

    def _batches(self, n: int) -> Any:
        """Index arrays, one per step: all rows, or shuffled mini-batches epoch after epoch."""
        if self.batch_size is None or self.batch_size >= n:
            while True:
                yield slice(None)
        rng = np.random.default_rng(self.seed)
        while True:
            order = rng.permutation(n)
            for start in range(0, n, self.batch_size):
                yield order[start : start + self.batch_size]

    def _optim_config(self) -> OptimConfig:
        return OptimConfig(name=self.optimizer, lr=self.learning_rate, l2=self.l2)

    def _gd_torch(
        self, X: np.ndarray, Y: np.ndarray, report: Reporter
    ) -> tuple[np.ndarray, np.ndarray, list[float]]:
        spec = NetSpec(X.shape[1], Y.shape[1])
        with torch_seed(self.seed):
            net = build_network(spec, seed=self.seed)
            opt = Optimizer(net.parameters(), self._optim_config())
            Xt, Yt = (
                torch.as_tensor(X, dtype=torch.float32),
                torch.as_tensor(Y, dtype=torch.float32),
            )
            losses = []
            batches = self._batches(len(X))
            for i in range(1, self.max_iter + 1):
                idx = next(batches)
                loss = torch.mean((net(Xt[idx]) - Yt[idx]) ** 2)
                opt.step(loss)
                losses.append(float(loss.detach()))
                if self._stop(i, losses, report):
                    break
        lin = net.dense_layers[0]
        return lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy(), losses

    def _gd_numpy(
        self, X: np.ndarray, Y: np.ndarray, report: Reporter
    ) -> tuple[np.ndarray, np.ndarray, list[float]]:
        net = ScratchNet(NetSpec(X.shape[1], Y.shape[1]), seed=self.seed)
        opt = ScratchOptimizer(net.params, self._optim_config())
        losses = []
        batches = self._batches(len(X))
        for i in range(1, self.max_iter + 1):
            idx = next(batches)
            with np.errstate(
                over="ignore", invalid="ignore"
            ):  # divergence is caught below, by name
                out = net.forward(X[idx], train=True)
                loss, dout = mse_loss(out, Y[idx])
                opt.step(net.backward(dout), loss=loss)
            losses.append(loss)
            if self._stop(i, losses, report):
                break
        return net.params[0].copy(), net.params[1].copy(), losses

    def _set_weights(self, W: np.ndarray, b: np.ndarray) -> None:
        if self._y_ndim == 1:
            self.coef_, self.intercept_ = W[0].copy(), float(b[0])
        else:
            self.coef_, self.intercept_ = W.copy(), b.copy()

    # -------------------------------------------------------------- using it

    def act(self, X: Any) -> np.ndarray:
        """Predictions of shape (n_samples,) or (n_samples, n_outputs), like the y given to fit."""
        self._check_fitted("act")
        X = self._check_X(X, fitting=False)
        W = np.atleast_2d(self.coef_)
        out = X.astype(np.float64, copy=False) @ W.T + np.atleast_1d(self.intercept_)
        return out[:, 0] if self._y_ndim == 1 else out

    predict = act

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """{"mse", "mae", "r2"} on (X, y)."""
        return score_regression(self.act(X), y)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "y_ndim": self._y_ndim,
            "input_shape": list(self._input_shape),
            "n_iter": self.n_iter_,
        }
        arrays = {
            "coef": np.asarray(self.coef_, dtype=np.float64),
            "intercept": np.atleast_1d(np.asarray(self.intercept_, dtype=np.float64)),
            "loss": np.asarray(self.history_["loss"], dtype=np.float64),
        }
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._y_ndim = int(state["y_ndim"])
        self._input_shape = tuple(int(s) for s in state["input_shape"])
        self.n_features_in_ = int(np.prod(self._input_shape))
        coef, intercept = arrays["coef"], arrays["intercept"]
        expect = (
            (self.n_features_in_,) if self._y_ndim == 1 else (len(intercept), self.n_features_in_)
        )
        if coef.shape != expect:
            raise ValueError(f"coef has shape {coef.shape}, expected {expect}")
        self._set_weights(np.atleast_2d(coef), intercept)
        self.history_ = {"loss": arrays["loss"].tolist()}
        self.n_iter_ = int(state["n_iter"])
