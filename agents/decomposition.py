"""Principal component analysis: 2-D views of many-featured data, and what each view keeps."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from sandbox.checks import check_number
from sandbox.learner import Learner
from sandbox.progress import Callback, Reporter, check_callback


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, Learner):
    """Principal component analysis by the singular value decomposition of the centred data.

    Parameters
    ----------
    n_components : directions kept, 1 <= n_components <= min(n_samples, n_features)
    whiten : scale each projected coordinate to unit variance
    seed : unused (PCA is deterministic); kept so every learner takes one

    Attributes
    ----------
    components_ : array of shape (n_components, n_features), orthonormal rows; each row's
        largest-magnitude entry is positive, so the signs do not flip between runs
    explained_variance_ : array of shape (n_components,), variance along each direction
    explained_variance_ratio_ : array of shape (n_components,), that variance as a share of the total
    mean_ : array of shape (n_features,)
    n_features_in_, feature_names_in_ : as scikit-learn records them
    """

    paradigm = "unsupervised"

    def __init__(self, *, n_components: int = 2, whiten: bool = False, seed: int | None = 0):
        self.n_components = n_components
        self.whiten = whiten
        self.seed = seed

    def fit(
        self, X: Any, y: Any = None, *, callback: Callback | None = None, progress: bool = False
    ) -> PCA:
        """Learn the directions from X of shape (n_samples, n_features); ``y`` is ignored. Returns self.

        One SVD, no iterations: ``callback`` (see :mod:`sandbox.progress`) is called once, when it is
        done, with ``explained_variance`` (the fraction the components keep).
        """
        check_callback(callback, progress)
        check_number("n_components", self.n_components, low=1, integer=True)
        if not isinstance(self.whiten, bool):
            raise ValueError(f"whiten={self.whiten!r} must be True or False.")
        X = self._check_X(X, fitting=True).astype(np.float64)
        n, d = X.shape
        if n < 2:
            raise ValueError("PCA needs at least 2 samples to measure variance; X has n_samples=1.")
        if self.n_components > min(n, d):
            raise ValueError(
                f"n_components={self.n_components} is too large for X of shape {X.shape}; "
                f"it must be <= min(n_samples, n_features) = {min(n, d)}."
            )
        self.mean_ = X.mean(axis=0)
        _, s, Vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        top = Vt[: self.n_components]
        signs = np.sign(top[np.arange(len(top)), np.argmax(np.abs(top), axis=1)])
        self.components_ = top * signs[:, None]
        var = s**2 / (n - 1)
        total = var.sum()
        self.explained_variance_ = var[: self.n_components]
        self.explained_variance_ratio_ = (
            self.explained_variance_ / total if total > 0 else np.zeros(self.n_components)
        )
        with Reporter(callback, progress, desc="PCA", unit="iterations", total=1) as report:
            report(done=1, explained_variance=float(self.explained_variance_ratio_.sum()))
        return self

    def act(self, X: Any) -> np.ndarray:
        """Coordinates along the components: array of shape (n_samples, n_components)."""
        self._check_fitted("act")
        Z = (self._check_X(X, fitting=False).astype(np.float64) - self.mean_) @ self.components_.T
        if self.whiten:
            Z /= np.sqrt(np.maximum(self.explained_variance_, np.finfo(float).tiny))
        return Z

    def transform(self, X: Any) -> np.ndarray:
        """The same as :meth:`act`: coordinates of shape (n_samples, n_components)."""
        return self.act(X)

    @property
    def _n_features_out(self) -> int:
        return len(self.components_)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Back to feature space: Z of shape (n_samples, n_components) -> (n_samples, n_features)."""
        self._check_fitted("inverse_transform")
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.n_components:
            raise ValueError(f"Z has shape {Z.shape}; expected (n_samples, {self.n_components}).")
        if self.whiten:
            Z = Z * np.sqrt(self.explained_variance_)
        return Z @ self.components_ + self.mean_

    def evaluate(self, X: Any) -> dict[str, float]:
        """{"reconstruction_mse": mean squared error after projecting and back, "explained_variance": share kept}."""
        self._check_fitted("evaluate")
        X = self._check_X(X, fitting=False).astype(np.float64)
        back = self.inverse_transform(self.act(X))
        return {
            "reconstruction_mse": float(np.mean((X - back) ** 2)),
            "explained_variance": float(np.sum(self.explained_variance_ratio_)),
        }

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {
            k: getattr(self, k + "_")
            for k in ("components", "explained_variance", "explained_variance_ratio", "mean")
        }
        return {"input_shape": list(self._input_shape)}, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._input_shape = tuple(int(s) for s in state["input_shape"])
        self.n_features_in_ = int(np.prod(self._input_shape))
        if arrays["components"].shape != (self.n_components, self.n_features_in_):
            raise ValueError(
                f"components has shape {arrays['components'].shape}, expected ({self.n_components}, {self.n_features_in_})"
            )
        for k, v in arrays.items():
            setattr(self, k + "_", v)
