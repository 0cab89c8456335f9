"""Neural regressors and classifiers on the shared network and optimizer modules.

``MLPClassifier(hidden=())`` is softmax (multinomial logistic) regression;
hidden layers make it a multi-layer perceptron; image input of shape
(n, height, width) or (n, channels, height, width) goes through the small
conv front end of :class:`sandbox.nn.ConvSpec`. ``backend="numpy"`` trains
dense networks on the from-scratch engine of :mod:`sandbox.scratch` instead
of torch. Both train through :func:`sandbox.train.fit_loop`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from sandbox.checks import (
    as_float_array,
    check_choice,
    check_int_tuple,
    check_number,
    check_same_length,
    check_seed,
)
from sandbox.data import split
from sandbox.learner import Learner, load_module_arrays, module_arrays, torch_seed
from sandbox.metrics import classification_metrics, score_regression
from sandbox.nn import ACTIVATIONS, ConvSpec, NetSpec, build_network
from sandbox.optim import OPTIMIZERS, SCHEDULES, OptimConfig, Optimizer
from sandbox.scratch import ScratchNet, ScratchOptimizer, log_softmax
from sandbox.train import EarlyStopping, FitResult, ScratchTrainee, TorchTrainee, fit_loop

BACKENDS = ("torch", "numpy")
OnEpoch = Callable[[Any, int, dict[str, float]], Any]


class _MLP(Learner):
    """What the regressor and the classifier share: hyperparameters, network, loop, checkpoints.

    Parameters
    ----------
    hidden : sizes of the hidden layers; ``()`` is a linear model
    activation : one of ``sandbox.nn.ACTIVATIONS``
    dropout : probability of zeroing a hidden unit while training, in [0, 1)
    l1, l2 : penalties on the weights (not the biases), >= 0; l2 acts as weight decay
    optimizer : one of ``sandbox.optim.OPTIMIZERS``
    learning_rate : base step size, > 0
    schedule : one of ``sandbox.optim.SCHEDULES``; "linear" and "cosine" decay to 0 over
        the whole run, "step" multiplies the rate by 0.1 after each third of it
    batch_size : rows per update, >= 1 (the whole set when larger)
    epochs : passes over the training data, >= 1
    validation_fraction : share of the training data held out to score each epoch, in
        [0, 1); None means 0.1 with early stopping and 0 without. Ignored when
        ``fit`` gets ``validation_data``. Stratified by class for the classifier.
    early_stopping : stop when the validation loss stops improving
    patience : epochs without improvement before stopping, >= 0
    min_delta : smallest decrease of the validation loss that counts, >= 0
    restore_best : with early stopping, end with the weights of the best epoch
    clip_norm : clip the gradient norm to this (None: no clipping)
    conv_channels, kernel_size : the conv front end used for image input
    backend : "torch" or "numpy" (dense networks only)
    seed : starting weights, batch order, dropout and the validation split

    Attributes
    ----------
    history_ : dict of per-epoch lists: "loss" and the metric (training, running mean over
        the epoch's batches, dropout on), "val_loss" and "val_<metric>" with validation
    best_epoch_ : 1-based epoch of the lowest validation loss, or None
    stopped_epoch_ : epoch at which early stopping ended training, or None
    n_epochs_ : epochs completed
    spec_ : the :class:`~sandbox.nn.NetSpec` of the network
    """

    _loss: ClassVar[str] = "mse"

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (64,),
        activation: str = "relu",
        dropout: float = 0.0,
        l1: float = 0.0,
        l2: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        schedule: str = "constant",
        batch_size: int = 32,
        epochs: int = 100,
        validation_fraction: float | None = None,
        early_stopping: bool = False,
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
        clip_norm: float | None = None,
        conv_channels: tuple[int, ...] = (16, 32),
        kernel_size: int = 3,
        backend: str = "torch",
        seed: int | None = 0,
    ):
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best = restore_best
        self.clip_norm = clip_norm
        self.conv_channels = conv_channels
        self.kernel_size = kernel_size
        self.backend = backend
        self.seed = seed

    # ------------------------------------------------------------ validation

    def _validate(self) -> None:
        check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_number("l1", self.l1, low=0.0)
        check_number("l2", self.l2, low=0.0)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("epochs", self.epochs, low=1, integer=True)
        if self.validation_fraction is not None:
            check_number("validation_fraction", self.validation_fraction, low=0.0, high=1.0, high_open=True)
        for name in ("early_stopping", "restore_best"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r} must be True or False.")
        check_number("patience", self.patience, low=0, integer=True)
        check_number("min_delta", self.min_delta, low=0.0)
        if self.clip_norm is not None:
            check_number("clip_norm", self.clip_norm, low=0.0, low_open=True)
        check_int_tuple("conv_channels", self.conv_channels)
        check_choice("backend", self.backend, BACKENDS)
        check_seed(self.seed)

    def _val_fraction(self) -> float:
        if self.validation_fraction is None:
            return 0.1 if self.early_stopping else 0.0
        return float(self.validation_fraction)

    # --------------------------------------------------------------- fitting

    def _targets(self, y: Any, *, fitting: bool) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _n_outputs(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def fit(self, X: Any, y: Any, validation_data: tuple[Any, Any] | None = None, *, on_epoch: OnEpoch | None = None):
        """Train on X of shape (n_samples, n_features) or image arrays (n_samples, [channels,] height, width).

        Parameters
        ----------
        validation_data : (X_val, y_val) scored after every epoch (and used by early stopping)
        on_epoch : called as ``on_epoch(model, epoch, logs)`` after each epoch; the model can
            already ``act``/``predict_proba``. Returning ``False`` stops training.

        Returns
        -------
        self

        Raises
        ------
        DivergenceError : the loss became non-finite; the model keeps the last finite weights
            and ``history_`` up to that epoch, so it can still be inspected and used.
        """
        before = dict(vars(self))
        try:  # every check before any training; a refused call leaves an earlier fit as it was
            X, y, validation = self._prepare(X, y, validation_data)
        except ValueError:
            vars(self).clear()
            vars(self).update(before)
            raise
        stop = EarlyStopping(self.patience, self.min_delta, self.restore_best) if self.early_stopping else None
        callback = (lambda epoch, logs: on_epoch(self, epoch, logs)) if on_epoch is not None else None
        with torch_seed(self.seed):
            try:
                result = fit_loop(self._trainee, X, y, epochs=self.epochs, batch_size=self.batch_size,
                                  rng=np.random.default_rng(self.seed), validation=validation,
                                  early_stopping=stop, on_epoch=callback)
            except Exception as exc:
                if hasattr(exc, "result"):
                    self._record(exc.result)
                raise
        self._record(result)
        return self

    def _prepare(self, X: Any, y: Any, validation_data: Any) -> tuple[np.ndarray, np.ndarray, tuple | None]:
        """Validated hyperparameters and data, the validation part, and a fresh network."""
        self._validate()
        X = self._check_X(X, fitting=True, ndim=(2, 3, 4))
        y = self._targets(y, fitting=True)
        check_same_length("X", X, "y", y)
        validation = None
        if validation_data is not None:
            Xv, yv = self._check_validation(validation_data)
            validation = (Xv, yv)
        elif self._val_fraction() > 0:
            try:
                X, Xv, y, yv = split(X, y, test=self._val_fraction(), stratify=self._loss == "cross_entropy", seed=self.seed)
            except ValueError as exc:
                reason = str(exc).split(";")[0].replace("test part", "validation part")
                raise ValueError(f"validation_fraction={self._val_fraction():g}: {reason}; each class needs 2+ samples. "
                                 "Use more data, or pass validation_data=(X_val, y_val).") from None
            validation = (Xv, yv)
        if self.early_stopping and validation is None:
            raise ValueError("early_stopping=True needs validation data: pass validation_data=(X_val, y_val) or set validation_fraction > 0.")
        self._build(len(X))
        return X, y, validation

    def _check_validation(self, validation_data: Any) -> tuple[np.ndarray, np.ndarray]:
        try:
            Xv, yv = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, y_val).") from None
        Xv = self._check_X(Xv, fitting=False, name="validation_data X", ndim=(2, 3, 4))
        yv = self._targets(yv, fitting=False)
        check_same_length("validation_data X", Xv, "validation_data y", yv)
        return Xv, yv

    def _spec(self) -> NetSpec:
        shape = self._input_shape
        conv = None
        if len(shape) > 1:
            if self.backend == "numpy":
                raise ValueError(f"image input of shape {shape} needs the conv front end, which backend='numpy' does not have; "
                                 "use backend='torch' or flatten the images to (n_samples, n_features).")
            conv = ConvSpec(shape, tuple(self.conv_channels), self.kernel_size)
        return NetSpec(self.n_features_in_, self._n_outputs(), tuple(self.hidden), self.activation, float(self.dropout), conv).validate()

    def _optim_config(self, n: int) -> OptimConfig:
        total = self.epochs * -(-n // self.batch_size)
        extra: dict[str, Any] = {}
        if self.schedule in ("linear", "cosine"):
            extra["total_steps"] = total
        elif self.schedule == "step":
            extra["step_size"] = max(1, total // 3)
        # no per-step gradient norm: fit_loop catches the non-finite loss that follows a bad
        # update and restores finite weights itself, so the check would only cost time
        return OptimConfig(name=self.optimizer, lr=self.learning_rate, l1=self.l1, l2=self.l2,
                           clip_norm=self.clip_norm, schedule=self.schedule, grad_norm=False, **extra)

    def _build(self, n_train: int | None) -> None:
        """Make ``net_`` (and, when training, its optimizer and trainee) from the current spec."""
        self.spec_ = self._spec()
        if self.backend == "torch":
            self.net_ = build_network(self.spec_, seed=self.seed)
        else:
            self.net_ = ScratchNet(self.spec_, seed=self.seed)
        if n_train is None:
            return
        config = self._optim_config(n_train)
        if self.backend == "torch":
            self._trainee = TorchTrainee(self.net_, Optimizer(self.net_.parameters(), config), self._loss)
        else:
            self._trainee = ScratchTrainee(self.net_, ScratchOptimizer(self.net_.params, config), self._loss)

    def _record(self, result: FitResult) -> None:
        self.history_ = {k: list(v) for k, v in result.history.items()}
        self.best_epoch_ = result.best_epoch
        self.stopped_epoch_ = result.stopped_epoch
        self.n_epochs_ = result.epochs_run

    # ------------------------------------------------------------- using it

    def _outputs(self, X: Any) -> np.ndarray:
        """Raw network outputs of shape (n_samples, n_outputs), in eval mode (no dropout)."""
        self._check_fitted("act")
        X = self._check_X(X, fitting=False, ndim=(2, 3, 4))
        if self.backend == "numpy":
            with np.errstate(over="ignore", invalid="ignore"):
                return self.net_.forward(X, train=False)
        was_training = self.net_.training
        self.net_.eval()
        with torch.no_grad():
            out = self.net_(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
        self.net_.train(was_training)
        return out

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "net_")

    # ----------------------------------------------------------- checkpoints

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "input_shape": list(self._input_shape),
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "stopped_epoch": self.stopped_epoch_,
            "n_epochs": self.n_epochs_,
            **self._extra_state(),
        }
        if self.backend == "torch":
            arrays = module_arrays("net", self.net_)
        else:
            arrays = {f"net.{i}": p for i, p in enumerate(self.net_.params)}
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._validate()
        self._input_shape = tuple(int(s) for s in state["input_shape"])
        self.n_features_in_ = int(np.prod(self._input_shape))
        self._set_extra_state(state)
        self._build(None)
        if self.backend == "torch":
            load_module_arrays("net", self.net_, arrays)
        else:
            for i, p in enumerate(self.net_.params):
                a = arrays[f"net.{i}"]
                if a.shape != p.shape:
                    raise ValueError(f"array net.{i} has shape {a.shape}, expected {p.shape}")
                p[...] = a
        self.history_ = {k: [float(v) for v in vs] for k, vs in state["history"].items()}
        self.best_epoch_ = state["best_epoch"]
        self.stopped_epoch_ = state["stopped_epoch"]
        self.n_epochs_ = int(state["n_epochs"])

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        pass


class MLPRegressor(_MLP):
    """A neural network trained on the mean squared error. See :class:`_MLP` for every hyperparameter.

    ``fit(X, y)`` takes y of shape (n_samples,) or (n_samples, n_outputs); ``act`` returns
    predictions of the same shape. Targets are used as given: standardise large ones
    (e.g. with :class:`sandbox.data.Standardizer`) for a well-behaved loss.

    Attributes
    ----------
    history_ : "loss" (MSE), "mae", and "val_loss", "val_mae" with validation
    """

    _loss = "mse"

    def _targets(self, y: Any, *, fitting: bool) -> np.ndarray:
        y = as_float_array("y", y, ndim=(1, 2))
        if fitting:
            self._y_ndim = y.ndim
            self.n_outputs_ = 1 if y.ndim == 1 else int(y.shape[1])
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(f"y has {1 if y.ndim == 1 else y.shape[1]} outputs but the model was fitted on {self.n_outputs_}.")
        return y.reshape(len(y), -1)

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def act(self, X: Any) -> np.ndarray:
        """Predictions of shape (n_samples,) or (n_samples, n_outputs), like the y given to fit."""
        out = self._outputs(X)
        return out[:, 0] if self._y_ndim == 1 else out

    predict = act

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """{"mse", "mae", "r2"} on (X, y)."""
        return score_regression(self.act(X), y)

    def _extra_state(self) -> dict[str, Any]:
        return {"y_ndim": self._y_ndim, "n_outputs": self.n_outputs_}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        self._y_ndim = int(state["y_ndim"])
        self.n_outputs_ = int(state["n_outputs"])


class MLPClassifier(_MLP):
    """A neural network trained on softmax cross-entropy. See :class:`_MLP` for every hyperparameter.

    ``hidden=()`` makes it softmax (multinomial logistic) regression. Labels are integers
    (any values; ``classes_`` keeps them sorted), at least two distinct ones.

    Attributes
    ----------
    classes_ : int array of shape (n_classes,)
    history_ : "loss" (cross-entropy), "accuracy", and "val_loss", "val_accuracy" with validation
    """

    _loss = "cross_entropy"

    def _targets(self, y: Any, *, fitting: bool) -> np.ndarray:
        labels = _integer_labels(y)
        if fitting:
            classes = np.unique(labels)
            if len(classes) < 2:
                raise ValueError(f"y has a single class ({classes[0]}); a classifier needs at least two distinct labels.")
            self.classes_ = classes
            return np.searchsorted(classes, labels)
        unknown = np.setdiff1d(labels, self.classes_)
        if len(unknown):
            raise ValueError(f"y has labels {unknown.tolist()[:5]} that were not seen in fit; known classes: {self.classes_.tolist()}.")
        return np.searchsorted(self.classes_, labels)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of shape (n_samples, n_classes), columns in ``classes_`` order."""
        return np.exp(log_softmax(self._outputs(X)))

    def act(self, X: Any) -> np.ndarray:
        """Predicted labels of shape (n_samples,)."""
        return self.classes_[np.argmax(self._outputs(X), axis=1)]

    predict = act

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """{"accuracy", "log_loss"} on (X, y)."""
        proba = self.predict_proba(X)
        idx = self._targets(y, fitting=False)
        check_same_length("X", proba, "y", idx)
        m = classification_metrics(idx, proba.argmax(1), proba=proba, n_classes=len(self.classes_))
        return {"accuracy": m["accuracy"], "log_loss": m["log_loss"]}

    def _extra_state(self) -> dict[str, Any]:
        return {"classes": self.classes_.tolist()}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        self.classes_ = np.asarray(state["classes"], dtype=np.int64)


def _integer_labels(y: Any) -> np.ndarray:
    """``y`` as a 1-D int64 array, or a ValueError that says what is wrong with it."""
    if y is None:
        raise ValueError("y is None; expected integer class labels of shape (n_samples,).")
    arr = np.asarray(y)
    if arr.ndim != 1:
        hint = " (for a column vector, pass y.ravel())" if arr.ndim == 2 and arr.shape[1] == 1 else ""
        raise ValueError(f"y has shape {arr.shape}; expected integer class labels of shape (n_samples,){hint}.")
    if arr.size == 0:
        raise ValueError("y is empty; expected at least one label.")
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    bad = next((v for v in arr.tolist() if not (isinstance(v, int | float) and float(v).is_integer())), arr[0])
    raise ValueError(
        f"y must hold integer class labels, but it has {bad!r} (dtype {arr.dtype}); "
        "encode classes as integers 0..k-1 (for regression use MLPRegressor)."
    )
