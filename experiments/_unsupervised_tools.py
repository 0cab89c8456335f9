"""Tools for unsupervised experiments (not learners): choosing k, and anomaly scores from a clustering.

- choosing the number of clusters: :func:`scan_k` (inertia and silhouette over a range of k),
  :func:`elbow_k`, :func:`best_silhouette_k`, :func:`silhouette`
- anomaly scores: :func:`anomaly_scores` (distance to the nearest centre), :func:`anomaly_threshold`
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents._kmeans_kernels import sq_distances
from agents.kmeans import KMeans, check_kmeans_X
from sandbox.checks import as_float_array, check_number, check_seed
from sandbox.progress import Reporter

# ---------------------------------------------------------------- choosing k


def silhouette(
    X: Any, labels: Any, *, sample_size: int | None = 2000, seed: int | None = 0
) -> float:
    """Mean silhouette coefficient, (b - a) / max(a, b) per row, in [-1, 1]; higher is better.

    ``a`` is a row's mean distance to the other rows of its cluster, ``b`` the mean
    distance to the rows of the nearest other cluster; rows alone in their cluster
    score 0. With ``sample_size`` the score is computed on that many rows drawn
    with ``seed`` (all pairwise distances are needed, so the cost grows with its square).
    """
    X = check_kmeans_X(X, 1)
    labels = np.asarray(labels)
    if labels.shape != (len(X),):
        raise ValueError(
            f"labels has shape {labels.shape}; expected ({len(X)},), one per row of X."
        )
    if sample_size is not None and sample_size < len(X):
        check_number("sample_size", sample_size, low=2, integer=True)
        keep = np.random.default_rng(check_seed(seed)).choice(
            len(X), size=sample_size, replace=False
        )
        X, labels = X[keep], labels[keep]
    ids, labels = np.unique(labels, return_inverse=True)
    if not 2 <= len(ids) <= len(X) - 1:
        raise ValueError(
            f"the silhouette needs 2 <= number of clusters <= n_samples - 1; got {len(ids)} clusters for {len(X)} rows."
        )
    X = X.astype(np.float64)
    dist = np.sqrt(sq_distances(X, X))
    np.fill_diagonal(dist, 0.0)  # the expansion leaves ~1e-13 where it should be exactly 0
    onehot = np.eye(len(ids))[labels]  # (n, clusters)
    sizes = onehot.sum(axis=0)
    per_cluster = dist @ onehot  # summed distance of each row to each cluster
    own = sizes[labels]
    a = per_cluster[np.arange(len(X)), labels] / np.maximum(own - 1, 1)
    mean_to = per_cluster / sizes
    mean_to[np.arange(len(X)), labels] = np.inf
    b = mean_to.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), np.finfo(float).tiny), 0.0)
    return float(s.mean())


def scan_k(
    X: Any,
    ks: Sequence[int],
    *,
    n_init: int = 3,
    seed: int | None = 0,
    sample_size: int | None = 2000,
    progress: bool = False,
) -> dict[str, list[float]]:
    """Fit KMeans for each k and return {"k", "inertia", "silhouette"} as lists (silhouette NaN for k=1).

    ``progress``: one bar over the values of k (the inner fits stay quiet)."""
    X = check_kmeans_X(X, 1)
    out: dict[str, list[float]] = {"k": [], "inertia": [], "silhouette": []}
    with Reporter(None, progress, desc="KMeans for each k", unit="fits", total=len(ks)) as report:
        for k in ks:
            model = KMeans(k=int(k), n_init=n_init, seed=seed).fit(X)
            out["k"].append(int(k))
            out["inertia"].append(model.inertia_)
            out["silhouette"].append(
                silhouette(X, model.labels_, sample_size=sample_size, seed=seed)
                if k > 1
                else float("nan")
            )
            report(done=len(out["k"]), k=int(k), inertia=model.inertia_)
    return out


def elbow_k(ks: Sequence[int], inertia: Sequence[float]) -> int:
    """The k farthest below the straight line from the first to the last point of the
    inertia curve, both axes scaled to [0, 1] (the "kneedle" rule)."""
    k = np.asarray(ks, dtype=float)
    y = np.asarray(inertia, dtype=float)
    if len(k) < 3:
        raise ValueError(f"the elbow needs at least 3 values of k; got {len(k)}.")
    kx = (k - k[0]) / (k[-1] - k[0])
    yy = (y - y.min()) / max(y.max() - y.min(), np.finfo(float).tiny)
    line = yy[0] + (yy[-1] - yy[0]) * kx
    return int(k[int(np.argmax(line - yy))])


def best_silhouette_k(ks: Sequence[int], scores: Sequence[float]) -> int:
    """The k with the highest silhouette (NaNs ignored)."""
    return int(np.asarray(ks)[int(np.nanargmax(np.asarray(scores, dtype=float)))])


# ---------------------------------------------------------------- anomalies


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
