"""Anomaly scores and the choosing-k helpers, held against scikit-learn where it has the same thing."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

from agents.kmeans import KMeans
from experiments._unsupervised_tools import (
    anomaly_scores,
    anomaly_threshold,
    best_silhouette_k,
    elbow_k,
    scan_k,
    silhouette,
)


@pytest.fixture(scope="module")
def four_blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(600, n_features=5, centers=4, cluster_std=1.0, random_state=1)


def test_anomaly_scores_put_a_planted_point_first(four_blobs):
    X = np.vstack([four_blobs[0], [[40.0, 40.0, 40.0, 40.0, 40.0]]])
    model = KMeans(k=4, seed=0).fit(four_blobs[0])
    scores = anomaly_scores(model, X)
    assert scores.shape == (len(X),) and np.argmax(scores) == len(X) - 1
    threshold, flagged = anomaly_threshold(scores, 0.99)
    assert flagged[-1] and 1 <= flagged.sum() <= 0.011 * len(X) + 1
    assert np.all(scores[flagged] > threshold)


@pytest.mark.parametrize("q", [0.0, 1.0, 1.5, float("nan")])
def test_anomaly_threshold_refuses_a_bad_quantile(q):
    with pytest.raises(ValueError, match="quantile"):
        anomaly_threshold(np.arange(10.0), q)


def test_silhouette_equals_scikit_learns(four_blobs):
    X, y = four_blobs
    assert silhouette(X, y, sample_size=None) == pytest.approx(silhouette_score(X, y), abs=1e-9)
    labels = KMeans(k=6, seed=0).fit(X).labels_
    assert silhouette(X, labels, sample_size=None) == pytest.approx(
        silhouette_score(X, labels), abs=1e-9
    )


def test_silhouette_bad_input(four_blobs):
    X = four_blobs[0]
    with pytest.raises(ValueError, match="2 <= number of clusters"):
        silhouette(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match=r"labels has shape \(3,\)"):
        silhouette(X, np.arange(3))


def test_scan_k_finds_the_four_blobs(four_blobs):
    scan = scan_k(four_blobs[0], range(2, 8), n_init=2, seed=0)
    assert scan["k"] == list(range(2, 8))
    assert np.all(np.diff(scan["inertia"]) < 0)
    assert best_silhouette_k(scan["k"], scan["silhouette"]) == 4
    assert elbow_k(scan["k"], scan["inertia"]) == 4


def test_elbow_on_a_known_curve():
    ks = [1, 2, 3, 4, 5, 6]
    assert elbow_k(ks, [100, 40, 12, 10, 9, 8]) == 3
    with pytest.raises(ValueError, match="at least 3 values"):
        elbow_k([1, 2], [2.0, 1.0])
