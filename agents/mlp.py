"""Neural regressors and classifiers on the shared network and optimizer modules.

``MLPClassifier(hidden=())`` is softmax (multinomial logistic) regression;
hidden layers make it a multi-layer perceptron; image input of shape
(n, height, width) or (n, channels, height, width) goes through the small
conv front end of :class:`sandbox.nn.ConvSpec`. ``backend="numpy"`` trains
dense networks on the from-scratch engine of :mod:`sandbox.scratch` instead
of torch. Both train through :func:`sandbox.train.fit_loop`.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

from sandbox.checks import (
    check_choice,
    check_int_tuple,
    check_number,
    check_same_length,
    check_seed,
)
from sandbox.data import split
from sandbox.learner import (
    Learner,
    load_module_arrays,
    load_scratch_arrays,
    module_arrays,
    saved_array,
    scratch_arrays,
    torch_seed,
)
from sandbox.metrics import classification_metrics, score_regression
from sandbox.nn import ACTIVATIONS, ConvSpec, NetSpec, build_network
from sandbox.optim import OPTIMIZERS, SCHEDULES, OptimConfig, Optimizer
from sandbox.progress import Callback
from sandbox.scratch import BACKENDS, ScratchNet, ScratchOptimizer, log_softmax
from sandbox.train import EarlyStopping, FitResult, ScratchTrainee, TorchTrainee, fit_loop


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
    learning_rate_schedule : one of ``sandbox.optim.SCHEDULES``; "linear" and "cosine" decay to 0 over
        the whole run, "step" multiplies the rate by 0.1 after each third of it
    batch_size : rows per update, >= 1 (the whole set when larger)
    epochs : passes over the training data, >= 1
    validation_fraction : share of the training data held out to score each epoch, in
        [0, 1); None means 0.1 (and at least one row per class) with early stopping and 0
        without; data too small for that split then trains every epoch, with a warning.
        Ignored when ``fit`` gets ``validation_data``. Stratified by class for the classifier.
    early_stopping : stop when the validation loss stops improving (on by default, so that
        the defaults neither under-train a linear model nor overfit a small network)
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
        learning_rate: float = 1e-2,
        learning_rate_schedule: str = "constant",
        batch_size: int = 32,
        epochs: int = 200,
        validation_fraction: float | None = None,
        early_stopping: bool = True,
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
        self.learning_rate_schedule = learning_rate_schedule
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
        check_choice("learning_rate_schedule", self.learning_rate_schedule, SCHEDULES)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("epochs", self.epochs, low=1, integer=True)
        if self.validation_fraction is not None:
            check_number(
                "validation_fraction", self.validation_fraction, low=0.0, high=1.0, high_open=True
            )
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

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        validation_data: tuple[Any, Any] | None = None,
        callback: Callback | None = None,
        progress: bool = False,
    ):
        """Train on X of shape (n_samples, n_features) or image arrays (n_samples, [channels,] height, width).

        Parameters
        ----------
        validation_data : (X_val, y_val) scored after every epoch (and used by early stopping)
        callback : called after each epoch with ``{"unit": "epochs", "done", "total", "loss",
            <metric>}`` and ``"val_loss"``, ``"val_<metric>"`` with validation (the model can
            already ``act``/``predict_proba`` then). Returning ``False`` stops training.
        progress : draw a progress bar (see :mod:`sandbox.progress`)

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
        early = self.early_stopping and validation is not None
        stop = EarlyStopping(self.patience, self.min_delta, self.restore_best) if early else None
        with torch_seed(self.seed):
            try:
                result = fit_loop(
                    self._trainee,
                    X,
                    y,
                    epochs=self.epochs,
                    batch_size=self.batch_size,
                    rng=np.random.default_rng(self.seed),
                    validation=validation,
                    early_stopping=stop,
                    callback=callback,
                    progress=progress,
                    desc=type(self).__name__,
                )
            except Exception as exc:
                if hasattr(exc, "result"):
                    self._record(exc.result)
                raise
        self._record(result)
        return self

    def _prepare(
        self, X: Any, y: Any, validation_data: Any
    ) -> tuple[np.ndarray, np.ndarray, tuple | None]:
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
            X, y, validation = self._hold_out(X, y)
        if self.early_stopping and validation is None and self.validation_fraction is not None:
            raise ValueError(
                "early_stopping=True needs validation data: pass validation_data=(X_val, y_val) or set validation_fraction > 0."
            )
        self._build(len(X))
        return X, y, validation

    def _hold_out(
        self, X: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, tuple | None]:
        """Split off the validation part (stratified for the classifier): (X_train, y_train, (X_val, y_val)).

        With the default ``validation_fraction=None`` the part holds at least one row per class,
        and data too small to split (a class of one row) trains every epoch without early
        stopping, with a warning; a ``validation_fraction`` that was asked for is refused instead.
        """
        fraction = self._val_fraction()
        classifier = self._loss == "cross_entropy"
        if self.validation_fraction is None and classifier:
            fraction = max(fraction, len(np.unique(y)) / len(y))
        try:
            X, Xv, y, yv = split(X, y, test=fraction, stratify=classifier, seed=self.seed)
        except ValueError as exc:
            reason = str(exc).split(";")[0].replace("test part", "validation part")
            if self.validation_fraction is not None:
                raise ValueError(
                    f"validation_fraction={fraction:g}: {reason}; each class needs 2+ samples. "
                    "Use more data, or pass validation_data=(X_val, y_val)."
                ) from None
            warnings.warn(
                f"{type(self).__name__}: {reason}, so early stopping is off for this fit: it trains all "
                f"{self.epochs} epochs. Pass validation_data=(X_val, y_val), or early_stopping=False to "
                "silence this.",
                UserWarning,
                stacklevel=4,
            )
            return X, y, None
        return X, y, (Xv, yv)

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
                raise ValueError(
                    f"image input of shape {shape} needs the conv front end, which backend='numpy' does not have; "
                    "use backend='torch' or flatten the images to (n_samples, n_features)."
                )
            conv = ConvSpec(shape, tuple(self.conv_channels), self.kernel_size)
        return NetSpec(
            self.n_features_in_,
            self._n_outputs(),
            tuple(self.hidden),
            self.activation,
            float(self.dropout),
            conv,
        ).validate()

    def _optim_config(self, n: int) -> OptimConfig:
        total = self.epochs * -(-n // self.batch_size)
        extra: dict[str, Any] = {}
        if self.learning_rate_schedule in ("linear", "cosine"):
            extra["total_steps"] = total
        elif self.learning_rate_schedule == "step":
            extra["step_size"] = max(1, total // 3)
        # no per-step gradient norm: fit_loop catches the non-finite loss that follows a bad
        # update and restores finite weights itself, so the check would only cost time
        return OptimConfig(
            name=self.optimizer,
            lr=self.learning_rate,
            l1=self.l1,
            l2=self.l2,
            clip_norm=self.clip_norm,
            schedule=self.learning_rate_schedule,
            grad_norm=False,
            **extra,
        )

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
            self._trainee = TorchTrainee(
                self.net_, Optimizer(self.net_.parameters(), config), self._loss
            )
        else:
            self._trainee = ScratchTrainee(
                self.net_, ScratchOptimizer(self.net_.params, config), self._loss
            )

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
            out = (
                self.net_(torch.from_numpy(np.require(X, np.float32, "W"))).double().numpy()
            )  # "W": a read-only X is copied
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
        arrays = (
            module_arrays("net", self.net_)
            if self.backend == "torch"
            else scratch_arrays("net", self.net_)
        )
        return state, {**arrays, **self._extra_arrays()}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._validate()
        self._input_shape = tuple(int(s) for s in state["input_shape"])
        self.n_features_in_ = int(np.prod(self._input_shape))
        self._set_extra_state(state, arrays)
        self._build(None)
        if self.backend == "torch":
            load_module_arrays("net", self.net_, arrays)
        else:
            load_scratch_arrays("net", self.net_, arrays)
        self.history_ = {k: [float(v) for v in vs] for k, vs in state["history"].items()}
        self.best_epoch_ = state["best_epoch"]
        self.stopped_epoch_ = state["stopped_epoch"]
        self.n_epochs_ = int(state["n_epochs"])

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _set_extra_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        pass


class MLPRegressor(RegressorMixin, _MLP):
    """A neural network trained on the mean squared error. See :class:`_MLP` for every hyperparameter.

    ``fit(X, y)`` takes y of shape (n_samples,) or (n_samples, n_outputs); ``act`` returns
    predictions of the same shape. The network learns the standardised target (each
    output centred and divided by its standard deviation over the training rows), and
    ``act`` undoes that, so targets in any units give a well-behaved loss.

    Attributes
    ----------
    history_ : "loss" (MSE), "mae", and "val_loss", "val_mae" with validation, all in
        standardised target units
    """

    _loss = "mse"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _targets(self, y: Any, *, fitting: bool) -> np.ndarray:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = check_array(
            y, ensure_2d=False, dtype=[np.float64, np.float32], input_name="y", estimator=self
        )
        if y.ndim not in (1, 2):
            raise ValueError(
                f"y has shape {y.shape}; expected (n_samples,) or (n_samples, n_outputs)."
            )
        Y = y.reshape(len(y), -1).astype(np.float64)
        if fitting:
            self._y_ndim = y.ndim
            self.n_outputs_ = Y.shape[1]
            self._y_mean = Y.mean(axis=0)
            std = Y.std(axis=0)
            self._y_scale = np.where(std > 0, std, 1.0)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the model was fitted on {self.n_outputs_}."
            )
        return (Y - self._y_mean) / self._y_scale

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def act(self, X: Any) -> np.ndarray:
        """Predictions of shape (n_samples,) or (n_samples, n_outputs), like the y given to fit."""
        out = self._outputs(X) * self._y_scale + self._y_mean
        return out[:, 0] if self._y_ndim == 1 else out

    def predict(self, X: Any) -> np.ndarray:
        """The same as :meth:`act`."""
        return self.act(X)

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """{"mse", "mae", "r2"} on (X, y)."""
        return score_regression(self.act(X), y)

    def _extra_state(self) -> dict[str, Any]:
        return {"y_ndim": self._y_ndim, "n_outputs": self.n_outputs_}

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {"y_mean": self._y_mean, "y_scale": self._y_scale}

    def _set_extra_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._y_ndim = int(state["y_ndim"])
        self.n_outputs_ = int(state["n_outputs"])
        self._y_mean = saved_array("y_mean", arrays, (self.n_outputs_,))
        self._y_scale = saved_array("y_scale", arrays, (self.n_outputs_,))


class MLPClassifier(ClassifierMixin, _MLP):
    """A neural network trained on softmax cross-entropy. See :class:`_MLP` for every hyperparameter.

    ``hidden=()`` makes it softmax (multinomial logistic) regression. Labels may be any
    hashable values of one type (ints, strings, ...), at least two distinct ones;
    ``predict``/``act`` gives them back as given. A column vector y is warned about
    (``DataConversionWarning``) and used as 1-D.

    Attributes
    ----------
    classes_ : array of shape (n_classes,), the sorted distinct labels
    history_ : "loss" (cross-entropy), "accuracy", and "val_loss", "val_accuracy" with validation
    """

    _loss = "cross_entropy"

    def _targets(self, y: Any, *, fitting: bool) -> np.ndarray:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = column_or_1d(y, warn=True)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y", estimator=self)
        if fitting:
            check_classification_targets(y)
            classes, index = np.unique(y, return_inverse=True)
            if len(classes) < 2:
                raise ValueError(
                    f"y has one class ({classes.tolist()[0]!r}); a classifier needs at least two distinct labels."
                )
            self.classes_ = classes
            return index.astype(np.int64)
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(
                f"y has labels {unknown.tolist()[:5]} that were not seen in fit; known classes: {self.classes_.tolist()}."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of shape (n_samples, n_classes), columns in ``classes_`` order."""
        return np.exp(log_softmax(self._outputs(X)))

    def act(self, X: Any) -> np.ndarray:
        """Predicted labels of shape (n_samples,), values from ``classes_``."""
        out = self._outputs(X)  # first: it raises NotFittedError before classes_ exists
        return self.classes_[np.argmax(out, axis=1)]

    def predict(self, X: Any) -> np.ndarray:
        """The same as :meth:`act`: predicted labels of shape (n_samples,)."""
        return self.act(X)

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """{"accuracy", "log_loss"} on (X, y)."""
        proba = self.predict_proba(X)
        idx = self._targets(y, fitting=False)
        check_same_length("X", proba, "y", idx)
        m = classification_metrics(idx, proba.argmax(1), proba=proba, n_classes=len(self.classes_))
        return {"accuracy": m["accuracy"], "log_loss": m["log_loss"]}

    def _extra_state(self) -> dict[str, Any]:
        return {"classes": self.classes_.tolist()}

    def _set_extra_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.classes_ = np.asarray(state["classes"])
