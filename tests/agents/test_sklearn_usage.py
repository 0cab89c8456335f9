"""The learners used the way a scikit-learn user would: pipelines, cross-validation, grid search, clone."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris, make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from agents import DQN, PCA, KMeans, LinearRegressor, MLPClassifier, MLPRegressor, QLearning


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_cross_val_score_and_grid_search_over_a_pipeline(iris):
    X, y = iris
    pipe = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden=(), epochs=20, learning_rate=0.05, early_stopping=False),
    )
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    grid = GridSearchCV(pipe, {"mlpclassifier__learning_rate": [1e-4, 5e-2]}, cv=3).fit(X, y)
    assert grid.best_params_ == {
        "mlpclassifier__learning_rate": 5e-2
    }  # 20 epochs at 1e-4 barely move
    assert grid.predict(X[:5]).shape == (5,) and grid.score(X, y) > 0.9


def test_string_labels_through_a_pipeline(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden=(), epochs=30)).fit(X, names)
    assert set(pipe.predict(X)) == set(names) and pipe.score(X, names) > 0.85


def test_clone_gives_an_unfitted_copy_with_the_same_parameters(iris):
    X, y = iris
    model = MLPClassifier(hidden=(4,), epochs=2, learning_rate_schedule="cosine").fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "net_")
    assert repr(copy) == "MLPClassifier(epochs=2, hidden=(4,), learning_rate_schedule='cosine')"
    copy.set_params(hidden=(6,))
    assert copy.hidden == (6,) and model.hidden == (4,)


def test_pca_and_kmeans_in_one_pipeline():
    X, y = make_blobs(300, n_features=6, centers=3, cluster_std=0.6, random_state=0)
    pipe = make_pipeline(StandardScaler(), PCA(n_components=2), KMeans(k=3, seed=0))
    labels = pipe.fit_predict(X)
    assert adjusted_rand_score(y, labels) > 0.95
    assert pipe.transform(X).shape == (300, 3)  # distances to the 3 centres
    assert make_pipeline(StandardScaler(), PCA(n_components=2)).fit_transform(X).shape == (300, 2)


def test_dataframe_columns_become_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    model = LinearRegressor(solver="closed-form").fit(frame, y)
    assert (
        model.feature_names_in_.tolist() == ["sl", "sw", "pl", "pw"] and model.n_features_in_ == 4
    )
    assert PCA().fit(frame).get_feature_names_out().tolist() == ["pca0", "pca1"]


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_mixed_float_dtypes_on_every_solver(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    for X_, y_ in ((X.astype(np.float32), y), (X, y.astype(np.float32))):
        for solver in ("closed-form", "gd"):
            model = LinearRegressor(solver=solver, backend=backend, max_iter=300).fit(X_, y_)
            np.testing.assert_allclose(model.coef_, [1.0, -2.0, 0.5], atol=1e-2)
        MLPRegressor(hidden=(4,), epochs=2, backend=backend).fit(X_, y_)


def test_every_learner_gets_get_params_deep_and_set_params():
    for learner in (QLearning(gamma=0.9), DQN(), MLPRegressor()):
        twin = clone(learner)
        assert twin.get_params(deep=True) == learner.get_params(deep=False)
        assert twin.set_params(seed=5).seed == 5


def test_softmax_regression_defaults_learn_iris(iris):
    X, y = iris
    scores = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(hidden=())), X, y, cv=5)
    assert scores.mean() >= 0.95


def test_mlp_regressor_defaults_learn_diabetes():
    X, y = load_diabetes(return_X_y=True)
    scores = cross_val_score(make_pipeline(StandardScaler(), MLPRegressor()), X, y, cv=5)
    assert scores.mean() >= 0.45
