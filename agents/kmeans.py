"""k-means clustering: Lloyd's algorithm (``KMeans``) and mini-batch k-means on the shared optimizer.

Both find ``k`` centres that minimise the *inertia*, the sum over rows of the
squared distance to the nearest centre. The compiled kernels, the worker threads
and the BLAS control live in :mod:`agents._kmeans_kernels`; this module holds the
learners.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin

from agents._kmeans_kernels import (
    kmeans_plusplus,
    lloyd,
    mean_variance,
    nearest,
    one_torch_thread,
    random_init,
    sq_distances,
)
from sandbox.checks import as_float_array, check_choice, check_number, check_seed
from sandbox.learner import Learner
from sandbox.optim import OPTIMIZERS, OptimConfig, Optimizer
from sandbox.progress import Callback, Reporter

INITS = ("k-means++", "random")


# ---------------------------------------------------------------------------- checks


def check_kmeans_X(X: Any, k: int, name: str = "X") -> np.ndarray:
    """A finite 2-D float32/float64 array with at least ``k`` rows, with clear errors."""
    arr = np.asarray(X) if not hasattr(X, "detach") else X
    if getattr(arr, "ndim", 2) == 1:
        raise ValueError(
            f"{name} has shape {tuple(arr.shape)} (1-D); k-means needs a 2-D array of shape (n_samples, n_features). "
            f"For a single feature pass {name}.reshape(-1, 1)."
        )
    X = as_float_array(name, X, ndim=2)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64 if X.dtype.itemsize > 4 else np.float32)
    if k > len(X):
        raise ValueError(
            f"k={k} is larger than the number of samples in {name} ({len(X)}); use k <= {len(X)}."
        )
    return np.ascontiguousarray(X)


def check_init(init: Any, k: int, n_features: int, dtype: Any) -> str | np.ndarray:
    """``init`` must be "k-means++", "random" or a finite array of shape (k, n_features)."""
    if isinstance(init, str):
        return check_choice("init", init, INITS)
    arr = as_float_array("init", init, ndim=2)
    if arr.shape != (k, n_features):
        raise ValueError(
            f"init has shape {arr.shape}; an init array must have shape (k, n_features) = ({k}, {n_features})."
        )
    return np.ascontiguousarray(arr, dtype=dtype)


def _seed_centers(
    X: np.ndarray, k: int, init: str | np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    if isinstance(init, np.ndarray):
        return init.copy()
    return kmeans_plusplus(X, k, rng) if init == "k-means++" else random_init(X, k, rng)


# ---------------------------------------------------------------------------- KMeans


class _Clusterer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, Learner):
    """What both k-means learners share: data checks, ``act``/``transform``/``evaluate``.

    ``transform`` gives the distance to every centre, so both are scikit-learn transformers
    too (``fit_transform``, ``get_feature_names_out``), as scikit-learn's KMeans is.
    """

    paradigm = "unsupervised"

    def _fit_data(self, X: Any) -> np.ndarray:
        """X for fitting: finite, 2-D, float32 or float64, C-contiguous, with at least ``k`` rows."""
        X = self._check_X(X, fitting=True)
        if self.k > len(X):
            raise ValueError(
                f"k={self.k} is larger than the number of samples in X (n_samples={len(X)}); use k <= {len(X)}."
            )
        return np.ascontiguousarray(X)

    def _data(self, X: Any) -> np.ndarray:
        self._check_fitted("act")
        X = self._check_X(X, fitting=False)
        return np.ascontiguousarray(X, dtype=self.centers_.dtype)

    @property
    def _n_features_out(self) -> int:
        return len(self.centers_)

    def act(self, X: Any) -> np.ndarray:
        """Index of the nearest centre of each row: array of shape (n_samples,)."""
        X = self._data(X)
        return nearest(X, self.centers_)[0]

    def predict(self, X: Any) -> np.ndarray:
        """The same as :meth:`act`: the nearest centre of each row, array of shape (n_samples,)."""
        return self.act(X)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance of each row to each centre: array of shape (n_samples, k), in X's float dtype."""
        self._check_fitted("transform")
        X = np.ascontiguousarray(self._check_X(X, fitting=False))
        return np.sqrt(sq_distances(X, self.centers_.astype(X.dtype, copy=False)))

    def evaluate(self, X: Any) -> dict[str, float]:
        """{"inertia": sum of squared distances to the nearest centre, "mean_sq_distance": per row}."""
        X = self._data(X)
        d = nearest(X, self.centers_)[1]
        return {"inertia": float(d.sum()), "mean_sq_distance": float(d.mean())}

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the inertia of X (higher is better, as scikit-learn's scores are)."""
        return -self.evaluate(X)["inertia"]


class KMeans(_Clusterer):
    """k-means clustering by Lloyd's algorithm, vectorised over chunks of rows.

    Parameters
    ----------
    k : number of clusters, 1 <= k <= n_samples
    init : "k-means++" (greedy k-means++), "random" (k distinct rows), or an array
        of shape (k, n_features) of starting centres
    n_init : restarts from different seeds, keeping the lowest inertia (an init array runs once)
    max_iter : Lloyd iterations per restart, >= 1
    tol : stop when the summed squared movement of the centres is at most
        ``tol * mean feature variance`` (scikit-learn's rule); 0 runs until nothing moves
    seed : the one source of randomness; the same seed gives the same labels

    Attributes
    ----------
    centers_ : array of shape (k, n_features), float32 for float32 X, else float64
    labels_ : array of shape (n_samples,), the nearest centre of each training row
    inertia_ : float, sum of squared distances of the training rows to their centres
    n_iter_ : Lloyd iterations of the kept restart
    history_ : {"inertia": [inertia before each iteration of the kept restart]}
    n_features_in_, feature_names_in_ : as scikit-learn records them

    Notes
    -----
    A cluster that ends an iteration empty is re-seeded at the row farthest from
    its centre (as scikit-learn does), so no centre is ever NaN. X with fewer than
    ``k`` distinct rows is refused with a ValueError (found while seeding, or when
    two centres end up identical). The number of worker threads follows
    ``torch.set_num_threads``; the result does not depend on it.
    """

    def __init__(
        self,
        *,
        k: int = 8,
        init: str | np.ndarray = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        seed: int | None = 0,
    ):
        self.k = k
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed

    def _validate(self) -> None:
        check_number("k", self.k, low=1, integer=True)
        check_number("n_init", self.n_init, low=1, integer=True)
        check_number("max_iter", self.max_iter, low=1, integer=True)
        check_number("tol", self.tol, low=0.0)
        check_seed(self.seed)

    def fit(
        self, X: Any, y: Any = None, *, callback: Callback | None = None, progress: bool = False
    ) -> KMeans:
        """Cluster X of shape (n_samples, n_features); ``y`` is ignored. Returns self.

        ``callback`` gets ``{"unit": "iterations", "done", "total", "inertia"}`` after every
        Lloyd iteration (counted over all restarts; the inertia is the one before that
        iteration's update); returning False stops the current restart there.
        """
        self._validate()
        for attr in ("centers_", "labels_", "inertia_", "n_iter_", "history_"):
            self.__dict__.pop(attr, None)
        X = self._fit_data(X)
        init = check_init(self.init, self.k, X.shape[1], X.dtype)
        runs = self.n_init
        if isinstance(init, np.ndarray) and runs > 1:
            warnings.warn(
                "KMeans: an init array gives one start; n_init is ignored.",
                UserWarning,
                stacklevel=2,
            )
            runs = 1
        rng = np.random.default_rng(self.seed)
        xsq = float(np.einsum("ij,ij->", X, X, dtype=np.float64))
        tol = self.tol * mean_variance(X, xsq) if self.tol > 0 else 0.0
        best = None
        with Reporter(
            callback, progress, desc="KMeans", unit="iterations", total=self.max_iter * runs
        ) as report:
            done = 0

            def on_iteration(inertia: float) -> bool:
                nonlocal done
                done += 1
                return report.active and report(done=done, inertia=inertia)

            for _ in range(runs):
                centers = _seed_centers(X, self.k, init, rng)
                result = lloyd(X, centers, self.max_iter, tol, xsq, on_iteration=on_iteration)
                if best is None or result["inertia"] < best["inertia"]:
                    best = result
        self.centers_ = best["centers"]
        self.labels_ = best["labels"]
        self.inertia_ = best["inertia"]
        self.n_iter_ = best["n_iter"]
        self.history_ = {"inertia": best["history"]}
        return self

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "inertia": self.inertia_,
            "n_iter": self.n_iter_,
            "input_shape": list(self._input_shape),
        }
        arrays = {
            "centers": self.centers_,
            "labels": self.labels_,
            "history": np.asarray(self.history_["inertia"]),
        }
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._input_shape = tuple(int(s) for s in state["input_shape"])
        self.n_features_in_ = int(np.prod(self._input_shape))
        if arrays["centers"].shape[1:] != self._input_shape:
            raise ValueError(
                f"centers has shape {arrays['centers'].shape}, expected (k, {self.n_features_in_})"
            )
        self.centers_ = arrays["centers"]
        self.labels_ = arrays["labels"]
        self.inertia_ = float(state["inertia"])
        self.n_iter_ = int(state["n_iter"])
        self.history_ = {"inertia": arrays["history"].tolist()}


# ---------------------------------------------------------------------------- mini-batch


class MiniBatchKMeans(_Clusterer):
    """Mini-batch k-means (Sculley 2010) with the centres stepped by the shared optimizer.

    The centres are a torch parameter. For each batch, rows are assigned to their
    nearest centre and the loss ``sum_i ||x_i - c_a(i)||² / (2 N_a(i))`` is handed
    to :class:`sandbox.optim.Optimizer`, where ``N_j`` counts every row centre ``j``
    has won so far. That weight is a per-centre step size: with "sgd" and
    ``learning_rate=1`` a step moves each centre to
    ``c + (n_j / N_j)(mean_j - c)``, Sculley's running-mean update, and a centre
    settles as it gathers rows. Other optimizers of ``sandbox.optim`` may be chosen.

    Parameters
    ----------
    k : number of clusters, >= 1
    batch_size : rows per step, >= 1
    epochs : passes over an array given to ``fit``, >= 1
    init : "k-means++", "random", or an array of shape (k, n_features)
    init_size : rows used to seed the centres (default ``max(3 * batch_size, 3 * k)``)
    optimizer : one of ``sandbox.optim.OPTIMIZERS``; learning_rate : its step size, > 0
    tol : stop after an epoch whose summed squared centre movement is at most
        ``tol * mean feature variance``; 0 runs every epoch
    seed : initial centres and batch order

    Attributes
    ----------
    centers_ : array of shape (k, n_features), float32
    counts_ : array of shape (k,), rows won by each centre so far
    n_steps_ : optimizer steps taken
    n_iter_ : epochs run (``fit`` on an array)
    history_ : {"batch_inertia": mean squared distance of each batch's rows before its step}
    labels_, inertia_ : after ``fit`` on an array, for that array; None after a stream of batches
    """

    def __init__(
        self,
        *,
        k: int = 8,
        batch_size: int = 1024,
        epochs: int = 10,
        init: str | np.ndarray = "k-means++",
        init_size: int | None = None,
        optimizer: str = "sgd",
        learning_rate: float = 1.0,
        tol: float = 0.0,
        seed: int | None = 0,
    ):
        self.k = k
        self.batch_size = batch_size
        self.epochs = epochs
        self.init = init
        self.init_size = init_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.tol = tol
        self.seed = seed

    def _validate(self) -> None:
        check_number("k", self.k, low=1, integer=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("epochs", self.epochs, low=1, integer=True)
        if self.init_size is not None:
            check_number("init_size", self.init_size, low=1, integer=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_number("tol", self.tol, low=0.0)
        check_seed(self.seed)

    # ------------------------------------------------------------- fitting

    def fit(
        self, X: Any, y: Any = None, *, callback: Callback | None = None, progress: bool = False
    ) -> MiniBatchKMeans:
        """Fit on an array of shape (n_samples, n_features), or on an iterator of such batches.

        An array is visited ``epochs`` times in shuffled batches of ``batch_size``;
        ``callback`` gets ``{"unit": "epochs", "done", "total", "inertia"}`` after each epoch
        (the mean of its batches' inertia per row). An iterator (e.g. a generator reading a
        file in pieces) is consumed once, each of its batches cut into steps of at most
        ``batch_size`` rows; nothing but one batch is held in memory, and ``callback`` gets
        ``{"unit": "batches", ...}`` after each batch. Returning False stops. ``y`` is ignored.
        Returns self.
        """
        self._validate()
        for attr in (
            "centers_",
            "counts_",
            "n_steps_",
            "n_iter_",
            "history_",
            "labels_",
            "inertia_",
            "n_features_in_",
            "feature_names_in_",
        ):
            self.__dict__.pop(attr, None)
        if isinstance(X, Iterator):
            with Reporter(
                callback, progress, desc="MiniBatchKMeans", unit="batches", total=None
            ) as report:
                return self._fit_stream(X, report)
        X = self._fit_data(X)
        rng = np.random.default_rng(self.seed)
        self._start(X[rng.permutation(len(X))[: self._init_rows()]], rng)
        tol = self.tol * float(np.mean(np.var(X, axis=0, dtype=np.float64)))
        self.n_iter_ = 0
        with Reporter(
            callback, progress, desc="MiniBatchKMeans", unit="epochs", total=self.epochs
        ) as report:
            for epoch in range(1, self.epochs + 1):
                before = self.centers_.astype(np.float64)
                order = rng.permutation(len(X))
                steps_before = self.n_steps_
                for s in range(0, len(X), self.batch_size):
                    self._step(X[order[s : s + self.batch_size]])
                self.n_iter_ = epoch
                inertia = float(np.mean(self.history_["batch_inertia"][steps_before:]))
                if report.active and report(done=epoch, inertia=inertia):
                    break
                if tol > 0 and float(np.sum((self.centers_ - before) ** 2)) <= tol:
                    break
        labels, sq = nearest(X.astype(np.float32, copy=False), self.centers_)
        self.labels_, self.inertia_ = labels, float(sq.sum())
        return self

    def _init_rows(self) -> int:
        return self.init_size or max(3 * self.batch_size, 3 * self.k)

    def _fit_stream(self, batches: Iterator[Any], report: Reporter) -> MiniBatchKMeans:
        pending: list[np.ndarray] = []
        rng = np.random.default_rng(self.seed)
        for i, batch in enumerate(batches):
            B = check_kmeans_X(batch, 1, name=f"batch {i}")
            if not hasattr(self, "centers_"):
                pending.append(B)
                if sum(len(p) for p in pending) < max(self.k, self._init_rows()):
                    continue
                B = np.concatenate(pending)
                pending = []
                self._start(B, rng)
            first = self.n_steps_
            for s in range(0, len(B), self.batch_size):
                self.partial_fit(B[s : s + self.batch_size])
            if report.active and report(
                done=i + 1, inertia=float(np.mean(self.history_["batch_inertia"][first:]))
            ):
                break
        if pending:  # a short stream: seed from all of it
            B = check_kmeans_X(np.concatenate(pending), self.k, name="the batches together")
            self._start(B, rng)
            for s in range(0, len(B), self.batch_size):
                self.partial_fit(B[s : s + self.batch_size])
        if not hasattr(self, "centers_"):
            raise ValueError(
                "the iterator of batches was empty; give it at least one batch of shape (n, n_features)."
            )
        self.labels_, self.inertia_ = None, None
        return self

    def partial_fit(self, X: Any, y: Any = None) -> MiniBatchKMeans:
        """One optimizer step on the batch X of shape (n_samples, n_features); ``y`` is ignored.

        The first call validates the settings and seeds the centres from this batch
        (so it needs at least ``k`` rows); later calls continue from there. Returns self.
        """
        if not hasattr(self, "centers_"):
            self._validate()
            X = self._fit_data(X)
            self._start(X, np.random.default_rng(self.seed))
        else:
            X = self._check_X(X, fitting=False)
        self._step(X)
        return self

    def _start(self, X: np.ndarray, rng: np.random.Generator) -> None:
        """Seed the centres from X (rows of the data) and build the optimizer."""
        if len(X) < self.k:
            raise ValueError(
                f"k={self.k} needs at least {self.k} rows to seed the centres; got {len(X)}."
            )
        init = check_init(self.init, self.k, X.shape[1], np.float32)
        centers = _seed_centers(np.ascontiguousarray(X, dtype=np.float32), self.k, init, rng)
        if not hasattr(self, "n_features_in_"):  # a stream: the first batches set the feature count
            self._input_shape = (int(X.shape[1]),)
            self.n_features_in_ = int(X.shape[1])
        self._param = torch.nn.Parameter(torch.from_numpy(np.array(centers, dtype=np.float32)))
        config = OptimConfig(name=self.optimizer, lr=self.learning_rate)
        self._opt = Optimizer([self._param], config)
        self.counts_ = np.zeros(self.k, dtype=np.float64)
        self.n_steps_ = 0
        self.history_ = {"batch_inertia": []}
        self._sync()

    def _step(self, X: np.ndarray) -> None:
        xb = np.ascontiguousarray(X, dtype=np.float32)
        labels = nearest(xb, self.centers_)[0]
        self.counts_ += np.bincount(labels, minlength=self.k)
        step_size = torch.from_numpy(1.0 / np.maximum(self.counts_, 1.0)).float()
        labels_t = torch.from_numpy(labels)
        with one_torch_thread():
            sq = ((torch.from_numpy(xb) - self._param[labels_t]) ** 2).sum(dim=1)
            self._opt.step(0.5 * (step_size[labels_t] * sq).sum())
        self.history_["batch_inertia"].append(float(sq.detach().mean()))
        self.n_steps_ += 1
        self._sync()

    def _sync(self) -> None:
        self.centers_ = self._param.detach().numpy().copy()

    # ----------------------------------------------------------- checkpoints

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "n_steps": self.n_steps_,
            "inertia": self.inertia_,
            "input_shape": list(self._input_shape),
            "n_iter": getattr(self, "n_iter_", None),
        }
        arrays = {
            "centers": self.centers_,
            "counts": self.counts_,
            "history": np.asarray(self.history_["batch_inertia"]),
        }
        if self.labels_ is not None:
            arrays["labels"] = self.labels_
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._input_shape = tuple(int(s) for s in state["input_shape"])
        self.n_features_in_ = int(np.prod(self._input_shape))
        centers = np.asarray(arrays["centers"], dtype=np.float32)
        if centers.shape != (self.k, self.n_features_in_):
            raise ValueError(
                f"centers has shape {centers.shape}, expected ({self.k}, {self.n_features_in_})"
            )
        # Rebuild the parameter and optimizer so partial_fit continues after load (sgd has no state).
        self._param = torch.nn.Parameter(torch.from_numpy(centers.copy()))
        self._opt = Optimizer(
            [self._param], OptimConfig(name=self.optimizer, lr=self.learning_rate)
        )
        self.counts_ = np.asarray(arrays["counts"], dtype=np.float64)
        self.n_steps_ = int(state["n_steps"])
        if state["n_iter"] is not None:
            self.n_iter_ = int(state["n_iter"])
        self.history_ = {"batch_inertia": arrays["history"].tolist()}
        self.labels_ = arrays.get("labels")
        self.inertia_ = None if state["inertia"] is None else float(state["inertia"])
        self._sync()


def iter_batches(X: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive row slices of X (a stand-in for reading a large file piece by piece)."""
    for s in range(0, len(X), batch_size):
        yield X[s : s + batch_size]
