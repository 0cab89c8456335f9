"""The Learner contract, shared by every paradigm, and its checkpoint format.

::

    model = SomeLearner(hyper=..., seed=0)   # stores hyperparameters, nothing else
    model.fit(...)                           # validates them, learns, returns self
    model.act(...)                           # predictions / cluster ids / actions
    model.evaluate(...)                      # dict of named metrics
    model.save(path); SomeLearner.load(path)

A subclass writes ``__init__`` with keyword-only hyperparameters that it
stores unchanged, ``fit``, ``act``, ``evaluate``, and the two checkpoint hooks
``_get_state`` / ``_set_state``. Learned attributes end in ``_``.

Checkpoints are ``.npz`` files read with ``allow_pickle=False``: JSON metadata
(class, hyperparameters, small state) plus named arrays, and a SHA-256 over
both, so a truncated or accidentally edited file is refused with a clear message.
The checksum is not a signature: anyone can recompute it, so it says nothing about
who wrote a file. What keeps loading safe is that it never runs code: arrays are
read without pickle, and the class a checkpoint names is looked up among the
learners already registered, never imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import inspect
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, validate_data

from sandbox.checks import as_float_array, check_same_length
from sandbox.errors import CheckpointError, NotFittedError
from sandbox.files import atomic_write_bytes, to_jsonable

FORMAT = "learning-sandbox/checkpoint"
FORMAT_VERSION = 1
META_KEY = "__meta__"

LEARNERS: dict[str, type[Learner]] = {}
"""Every Learner subclass by class name, filled when the class is defined."""

AGENT_ENTRY_POINT_GROUP = "sandbox.agents"


def load_learner_plugins() -> dict[str, type[Learner]]:
    """Import every package in the ``sandbox.agents`` entry-point group; returns :data:`LEARNERS`."""
    for ep in importlib.metadata.entry_points(group=AGENT_ENTRY_POINT_GROUP):
        importlib.import_module(ep.value)
    return LEARNERS


L = TypeVar("L", bound="Learner")


class Learner(BaseEstimator):
    """Base class of every learner. See the module docstring for the contract.

    Built on scikit-learn's ``BaseEstimator``: ``get_params(deep)``, ``set_params``,
    ``clone`` and ``__repr__`` come from there, for every paradigm. Supervised and
    unsupervised learners add scikit-learn's mixins (``RegressorMixin``,
    ``ClassifierMixin``, ``ClusterMixin``, ``TransformerMixin``) in front of it.
    """

    paradigm: ClassVar[str] = "supervised"  # supervised | unsupervised | reinforcement | planning

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            LEARNERS[cls.__name__] = cls

    # ----------------------------------------------------------- parameters

    @classmethod
    def _param_names(cls) -> list[str]:
        """The hyperparameters: the constructor's keyword-only arguments."""
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY]

    # ------------------------------------------------------------- fitting

    @property
    def is_fitted(self) -> bool:
        # the input checks record these two before fitting proper starts: they alone do not make a fitted learner
        return any(
            k.endswith("_") and not k.startswith("_") and k not in _INPUT_RECORDS
            for k in vars(self)
        )

    def __sklearn_is_fitted__(self) -> bool:
        return self.is_fitted

    def _check_fitted(self, what: str = "act") -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; call fit(...) before {what}(...)."
            )

    def fit(self: L, *args: Any, **kwargs: Any) -> L:  # pragma: no cover - every learner overrides
        raise NotImplementedError

    def act(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------- environments

    @classmethod
    def env_support(cls, env: Any) -> str | None:
        """None if this learner can ``fit`` the Gymnasium env ``env``; otherwise why not, in one sentence.

        Agents override this with what they need (space types, a transition
        table, ...), usually through :func:`sandbox.environments.space_support`, and
        call :func:`sandbox.environments.require_env_support` at the start of ``fit``
        so that ``sandbox check-env`` and ``fit`` give the same answer.
        """
        if cls.paradigm in ("supervised", "unsupervised"):
            article = "an" if cls.paradigm[0] in "aeiou" else "a"
            return f"{article} {cls.paradigm} learner: it fits data arrays, not an environment"
        return None

    @classmethod
    def declares_env_support(cls) -> bool:
        """True when the class (or a parent below Learner) overrides :meth:`env_support`,
        or is not an env learner at all; False for an RL or planning learner that says nothing."""
        if cls.paradigm in ("supervised", "unsupervised"):
            return True
        return any("env_support" in vars(k) for k in cls.__mro__ if k is not Learner)

    # ------------------------------------------------------ shared data checks

    def _check_X(
        self, X: Any, *, fitting: bool, name: str = "X", ndim: tuple[int, ...] = (2,)
    ) -> np.ndarray:
        """X as scikit-learn takes it, as a finite float64 or float32 array.

        Lists, DataFrames (their column names become ``feature_names_in_``) and object
        arrays of numbers are read; sparse matrices are refused. 2-D input goes through
        scikit-learn's ``validate_data``, which records ``n_features_in_`` when ``fitting``
        and checks it (and the column names) otherwise. Images (3-D and 4-D, where ``ndim``
        allows them) count every pixel as a feature.
        """
        if sp.issparse(X):
            raise ValueError(
                f"{name} is a scipy.sparse matrix; {type(self).__name__} does not take sparse input. "
                f"Pass a dense array ({name}.toarray()) of shape (n_samples, n_features)."
            )
        rank = 2 if ndim == (2,) or hasattr(X, "columns") else _rank(X)
        images = (
            not fitting and len(getattr(self, "_input_shape", ())) > 1
        )  # fitted on images: rows must be images
        if (rank == 2 or rank not in ndim) and not images:
            if 2 not in ndim:
                raise ValueError(
                    f"{name} has {rank} dimensions; expected a {' or '.join(f'{d}-D' for d in ndim)} array."
                )
            try:
                if name == "X":
                    arr = validate_data(self, X, reset=fitting, dtype=[np.float64, np.float32])
                else:
                    arr = check_array(
                        X, estimator=self, dtype=[np.float64, np.float32], input_name=name
                    )
            except (
                TypeError,
                ValueError,
            ) as exc:  # NumPy's own conversion errors get the context they lack
                if any(w in str(exc) for w in _NUMPY_CONVERSION_ERRORS):
                    raise type(exc)(
                        f"{name} could not be read as an array of numbers ({exc}); expected int or "
                        "float values of shape (n_samples, n_features)."
                    ) from None
                if re.search(rf"\b{re.escape(name)}\b", str(exc)):
                    raise
                # scikit-learn's wording ("Expected 2D array, got 1D array instead") names no argument
                raise type(exc)(f"{name}: {exc}") from None
            if name != "X" and arr.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"{name} has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            if fitting:
                self._input_shape = (int(arr.shape[1]),)
            return arr
        arr = as_float_array(name, X, ndim=ndim)
        shape = tuple(int(s) for s in arr.shape[1:])
        if fitting:
            self.n_features_in_ = int(np.prod(shape))
            self._input_shape = shape
            self.__dict__.pop("feature_names_in_", None)
        elif shape != tuple(getattr(self, "_input_shape", shape)):
            raise ValueError(
                f"{name} has {self._describe(shape)} per sample but {type(self).__name__} was fitted on "
                f"{self._describe(tuple(self._input_shape))}; pass an array of shape (n_samples, {', '.join(map(str, self._input_shape))})."
            )
        return arr

    @staticmethod
    def _describe(shape: tuple[int, ...]) -> str:
        return f"{shape[0]} features" if len(shape) == 1 else f"shape {shape}"

    def _check_Xy(
        self, X: Any, y: Any, *, ndim: tuple[int, ...] = (2,)
    ) -> tuple[np.ndarray, np.ndarray]:
        """X as :meth:`_check_X` reads it and numeric targets y of shape (n_samples,) or (n_samples, n_outputs)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._check_X(X, fitting=True, ndim=ndim)
        y = check_array(
            y, ensure_2d=False, dtype=[np.float64, np.float32], input_name="y", estimator=self
        )
        if y.ndim not in (1, 2):
            raise ValueError(
                f"y has shape {y.shape}; expected (n_samples,) or (n_samples, n_outputs)."
            )
        check_same_length("X", X, "y", y)
        return X, y

    # ---------------------------------------------------------- checkpoints

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able small state, named arrays) that ``_set_state`` turns back into a fitted learner."""
        raise NotImplementedError(f"{type(self).__name__} does not support save().")

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support load().")

    def save(self, path: str | os.PathLike) -> Path:
        """Write hyperparameters and learned state to ``path`` (an ``.npz`` file), atomically."""
        self._check_fitted("save")
        state, arrays = self._get_state()
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "params": to_jsonable(self.get_params()),
            "state": to_jsonable(state),
        }
        arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        if META_KEY in arrays:
            raise ValueError(f"array name {META_KEY!r} is reserved.")
        meta["sha256"] = _digest(meta, arrays)
        buf = io.BytesIO()
        np.savez(
            buf, **{META_KEY: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}, **arrays
        )
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls: type[L], path: str | os.PathLike) -> L:
        """Read a learner saved by :meth:`save`. Never unpickles: a checkpoint is data."""
        meta, arrays = read_checkpoint(path)
        module, _, qualname = meta["class"].partition(":")
        if qualname != cls.__qualname__ and cls is not Learner:
            raise CheckpointError(
                f"{path} holds a {qualname}, not a {cls.__name__}; load it with {qualname}.load(...)."
            )
        target = cls if cls is not Learner else _resolve_class(meta["class"], path)
        params = _restore_tuples(target, meta["params"])
        try:
            obj = target(**params)
            obj._set_state(meta["state"], arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path} does not hold a valid {qualname}: {exc}") from None
        return obj


_INPUT_RECORDS = ("n_features_in_", "feature_names_in_")
_NUMPY_CONVERSION_ERRORS = (
    "could not convert",
    "setting an array element",
    "argument must be",
    "inhomogeneous",
)


def _rank(X: Any) -> int:
    """The number of dimensions of array-like X (2 when it cannot be read: the 2-D checks then say why)."""
    try:
        return int(np.asarray(X).ndim)
    except (TypeError, ValueError):
        return 2


def load(path: str | os.PathLike) -> Learner:
    """Load any learner from a checkpoint, whatever its class."""
    return Learner.load(path)


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and arrays of a checkpoint, verified against its SHA-256."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(
            f"{path} is a directory, not a checkpoint file; give the path of the .npz inside it."
        )
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path} (the file does not exist).")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise CheckpointError(
            f"{path} is not a readable sandbox checkpoint (truncated or corrupt?): {exc}"
        ) from None
    if META_KEY not in data:
        raise CheckpointError(
            f"{path} has no {META_KEY} entry; it was not written by Learner.save()."
        )
    try:
        meta = json.loads(data.pop(META_KEY).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} has unreadable metadata: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} file.")
    if meta.get("version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {meta.get('version')}; this sandbox reads version {FORMAT_VERSION}."
        )
    expected = meta.pop("sha256", None)
    if expected != _digest(meta, data):
        raise CheckpointError(
            f"{path} failed its checksum: the file was modified after it was saved."
        )
    for key, kind in (("class", str), ("params", dict), ("state", dict)):
        if not isinstance(meta.get(key), kind):
            found = "nothing" if key not in meta else type(meta[key]).__name__
            raise CheckpointError(
                f"{path} has no {key!r} in its metadata (a {kind.__name__} is expected, found {found})."
            )
    return meta, data


def _digest(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _resolve_class(name: str, path: Any) -> type[Learner]:
    """The registered learner whose ``module:qualname`` is ``name``.

    Only classes already in :data:`LEARNERS` (built in, or from a package in the
    ``sandbox.agents`` entry-point group) can match: the name in a checkpoint is
    never imported, so a checkpoint cannot make code run.
    """
    known = {f"{c.__module__}:{c.__qualname__}": c for c in load_learner_plugins().values()}
    if name not in known:
        raise CheckpointError(
            f"{path} names {name}, which is not a learner this sandbox knows; nothing was imported. "
            "A learner of your own loads once its package is registered in the 'sandbox.agents' entry-point "
            "group or imported, or through its class: YourLearner.load(path)."
        )
    return known[name]


def _restore_tuples(cls: type[Learner], params: dict[str, Any]) -> dict[str, Any]:
    """JSON turns tuples into lists; give tuple-valued defaults their tuples back."""
    sig = inspect.signature(cls.__init__).parameters
    unknown = set(params) - set(cls._param_names())
    if unknown:
        raise CheckpointError(
            f"the checkpoint has parameters {sorted(unknown)} that {cls.__name__} does not take."
        )
    out = {}
    for k, v in params.items():
        default = sig[k].default
        out[k] = tuple(v) if isinstance(v, list) and isinstance(default, tuple) else v
    return out


# ---------------------------------------------------------------- torch glue


def module_arrays(prefix: str, module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A torch module's state_dict as named NumPy arrays, for :meth:`Learner.save`."""
    return {
        f"{prefix}.{k}": v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()
    }


def load_module_arrays(prefix: str, module: torch.nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Inverse of :func:`module_arrays`; every key must be present with its shape."""
    own = module.state_dict()
    state = {}
    for k, ref in own.items():
        key = f"{prefix}.{k}"
        if key not in arrays:
            raise KeyError(f"missing array {key!r}")
        a = arrays[key]
        if tuple(a.shape) != tuple(ref.shape):
            raise ValueError(f"array {key!r} has shape {a.shape}, expected {tuple(ref.shape)}")
        state[k] = torch.from_numpy(np.array(a)).to(ref.dtype)
    module.load_state_dict(state)


def saved_array(key: str, arrays: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """``arrays[key]``, checked to be present with ``shape`` (a checkpoint's array)."""
    if key not in arrays:
        raise KeyError(f"missing array {key!r}")
    if tuple(arrays[key].shape) != tuple(shape):
        raise ValueError(f"array {key!r} has shape {arrays[key].shape}, expected {tuple(shape)}")
    return arrays[key]


def scratch_arrays(prefix: str, net: Any) -> dict[str, np.ndarray]:
    """A ``sandbox.scratch.ScratchNet``'s parameters as named arrays ``prefix.i``, for :meth:`Learner.save`."""
    return {f"{prefix}.{i}": p for i, p in enumerate(net.params)}


def load_scratch_arrays(prefix: str, net: Any, arrays: dict[str, np.ndarray]) -> None:
    """Copy saved ``prefix.i`` arrays into a ``sandbox.scratch.ScratchNet``'s parameters, checking every shape."""
    for i, p in enumerate(net.params):
        p[...] = saved_array(f"{prefix}.{i}", arrays, p.shape)


@contextlib.contextmanager
def torch_seed(seed: int | None) -> Iterator[None]:
    """Seed torch's global CPU generator inside the block, then restore it.

    Needed because ``nn.Dropout`` and friends draw from the global generator;
    forking keeps one learner's seed from disturbing the caller's randomness.
    """
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(int(seed))
        yield
