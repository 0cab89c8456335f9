"""PCA, held against scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA as SKPCA

from agents.decomposition import PCA


@pytest.fixture(scope="module")
def four_blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(600, n_features=5, centers=4, cluster_std=1.0, random_state=1)


def test_pca_matches_scikit_learn(four_blobs):
    X = four_blobs[0]
    ours, ref = PCA(n_components=3).fit(X), SKPCA(3).fit(X)
    assert np.allclose(ours.explained_variance_, ref.explained_variance_)
    assert np.allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_)
    assert np.allclose(np.abs(ours.act(X)), np.abs(ref.transform(X)))
    top = np.argmax(np.abs(ours.components_), axis=1)
    assert np.all(ours.components_[np.arange(3), top] > 0)  # signs fixed


def test_pca_round_trip_and_whitening(four_blobs):
    X = four_blobs[0]
    full = PCA(n_components=5).fit(X)
    assert np.allclose(full.inverse_transform(full.act(X)), X)
    assert full.evaluate(X)["reconstruction_mse"] < 1e-20
    white = PCA(n_components=2, whiten=True).fit(X)
    assert np.allclose(white.act(X).var(axis=0, ddof=1), 1.0)


def test_pca_bad_input(four_blobs):
    with pytest.raises(
        ValueError, match=r"n_components=6 is too large .* min\(n_samples, n_features\) = 5"
    ):
        PCA(n_components=6).fit(four_blobs[0])
    with pytest.raises(ValueError, match=r"n_components=0 is out of range"):
        PCA(n_components=0).fit(four_blobs[0])
    with pytest.raises(ValueError, match="contains NaN"):
        PCA().fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
