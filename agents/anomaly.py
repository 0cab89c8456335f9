"""Anomaly scores from a clustering: how far each row lies from its nearest centre."""

from __future__ import annotations

from typing import Any

import numpy as np

from sandbox.checks import as_float_array, check_number


def anomaly_scores(model: Any, X: Any) -> np.ndarray:
    """Distance of each row of X to the nearest centre of a fitted KMeans/MiniBatchKMeans.

    Returns
    -------
    scores : array of shape (n_samples,), Euclidean distances; larger is stranger
    """
    return np.min(model.transform(X), axis=1)


def anomaly_threshold(scores: Any, quantile: float = 0.99) -> tuple[float, np.ndarray]:
    """The score at ``quantile`` of ``scores`` and the mask of rows strictly above it.

    With ``quantile=0.99`` about 1% of the rows are flagged (fewer when scores tie).

    Returns
    -------
    threshold : float
    flagged : bool array of shape (n_samples,)
    """
    check_number("quantile", quantile, low=0.0, high=1.0, low_open=True, high_open=True)
    scores = as_float_array("scores", scores, ndim=1)
    threshold = float(np.quantile(scores, quantile))
    return threshold, scores > threshold
