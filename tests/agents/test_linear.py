import numpy as np
import pytest
from scipy.sparse import csr_matrix

from agents import LinearRegressor
from sandbox.data import article_line
from sandbox.errors import NotFittedError


@pytest.fixture(scope="module")
def line():
    x, y = article_line()
    return x, y[:, 0]


def test_fit_returns_self_and_constructor_stores_unchanged(line):
    m = LinearRegressor(learning_rate=0.5, max_iter=10, batch_size=[8][0])
    assert m.get_params()["learning_rate"] == 0.5
    assert m.fit(*line) is m
    assert m.n_iter_ == 10 and len(m.history_["loss"]) == 10


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_gradient_descent_converges_to_the_closed_form(line, backend):
    exact = LinearRegressor(solver="closed-form").fit(*line)
    slope, intercept = np.polyfit(line[0][:, 0], line[1], 1)
    assert exact.coef_[0] == pytest.approx(slope, abs=1e-12)
    assert exact.intercept_ == pytest.approx(intercept, abs=1e-12)
    gd = LinearRegressor(backend=backend, max_iter=3000).fit(*line)
    assert gd.coef_[0] == pytest.approx(slope, abs=1e-4)
    assert gd.intercept_ == pytest.approx(intercept, abs=1e-4)
    assert gd.history_["loss"][-1] < gd.history_["loss"][0]


def test_both_engines_trace_the_same_path(line):
    a = LinearRegressor(
        backend="numpy", optimizer="adam", learning_rate=0.05, max_iter=50, batch_size=16
    ).fit(*line)
    b = LinearRegressor(
        backend="torch", optimizer="adam", learning_rate=0.05, max_iter=50, batch_size=16
    ).fit(*line)
    np.testing.assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-4)


def test_same_seed_same_numbers_other_seed_other_numbers(line):
    kw = dict(max_iter=20, batch_size=10)
    a, b = LinearRegressor(seed=1, **kw).fit(*line), LinearRegressor(seed=1, **kw).fit(*line)
    c = LinearRegressor(seed=2, **kw).fit(*line)
    assert a.history_["loss"] == b.history_["loss"]
    assert a.history_["loss"] != c.history_["loss"]


def test_multi_output_ridge_and_evaluate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    Y = X @ W.T + np.array([0.5, -1.0])
    m = LinearRegressor(solver="closed-form").fit(X, Y)
    np.testing.assert_allclose(m.coef_, W, atol=1e-10)
    np.testing.assert_allclose(m.intercept_, [0.5, -1.0], atol=1e-10)
    assert m.act(X).shape == (200, 2)
    assert m.evaluate(X, Y)["r2"] == pytest.approx(1.0)
    ridge = LinearRegressor(solver="closed-form", l2=100.0).fit(X, Y)
    assert np.abs(ridge.coef_).sum() < np.abs(m.coef_).sum()
    for backend in ("torch", "numpy"):
        np.testing.assert_allclose(
            LinearRegressor(solver="closed-form", l2=100.0, backend=backend).fit(X, Y).coef_,
            ridge.coef_,
        )


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.ones(5), np.ones(5), r"Expected 2D array, got 1D array instead"),
        (np.ones((5, 1, 1)), np.ones(5), "Found array with dim 3"),
        (np.ones((5, 1)), np.ones(4), "X has 5 samples but y has 4"),
        (np.array([[1.0], [np.nan]]), np.ones(2), r"Input X contains NaN"),
        (np.ones((2, 1)), np.array([1.0, np.inf]), "Input y contains infinity"),
        (np.array([["a"], ["b"]]), np.ones(2), "X could not be read as an array of numbers"),
        (np.zeros((0, 1)), np.zeros(0), r"Found array with 0 sample\(s\)"),
        (csr_matrix(np.ones((3, 1))), np.ones(3), "does not take sparse input"),
        (np.ones((3, 1)), None, "requires y to be passed"),
        ([[1.0], [2.0, 3.0]], [1.0, 2.0], "could not be read as an array"),
    ],
)
def test_bad_data_is_named(X, y, match):
    with pytest.raises(ValueError, match=match):
        LinearRegressor().fit(X, y)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(learning_rate=0), r"learning_rate=0 is out of range; it must be a number > 0"),
        (dict(learning_rate=-0.1), "learning_rate=-0.1"),
        (dict(max_iter=0), "max_iter=0 is out of range; it must be an integer >= 1"),
        (dict(max_iter=2.5), "max_iter=2.5 must be an integer"),
        (dict(tol=-1.0), "tol=-1.0"),
        (
            dict(optimizer="lbfgs"),
            "optimizer='lbfgs' is not allowed; choose one of 'sgd', 'momentum', 'adam', 'rmsprop'",
        ),
        (dict(backend="jax"), "backend='jax' is not allowed; choose one of 'numpy', 'torch'"),
        (dict(solver="normal"), "solver='normal'"),
        (dict(batch_size=0), "batch_size=0"),
        (dict(seed=-1), "seed=-1"),
    ],
)
def test_bad_hyperparameters_are_named(line, kw, match):
    with pytest.raises(ValueError, match=match):
        LinearRegressor(**kw).fit(*line)


def test_act_before_fit_and_with_wrong_features(line):
    with pytest.raises(NotFittedError, match=r"not fitted yet; call fit\(...\) before act"):
        LinearRegressor().act(line[0])
    m = LinearRegressor(max_iter=5).fit(*line)
    with pytest.raises(
        ValueError, match=r"X has 2 features, but LinearRegressor is expecting 1 features"
    ):
        m.act(np.ones((3, 2)))


def test_divergence_stops_with_a_message(line):
    from sandbox.errors import DivergenceError

    for backend in ("torch", "numpy"):
        with pytest.raises(DivergenceError, match="smaller learning rate"):
            LinearRegressor(backend=backend, learning_rate=50.0, max_iter=500).fit(
                line[0] * 100, line[1]
            )


def test_callback_reports_the_loss_and_tol_stops_early(line):
    seen = []
    model = LinearRegressor(max_iter=200).fit(*line, callback=seen.append)
    assert [info["done"] for info in seen] == list(range(2, 201, 2))  # about every 1 % of max_iter
    assert seen[0]["unit"] == "iterations" and seen[-1]["loss"] == model.history_["loss"][-1]
    stopped = LinearRegressor(max_iter=200).fit(*line, callback=lambda info: info["done"] < 10)
    assert stopped.n_iter_ == 10
    early = LinearRegressor(max_iter=5000, tol=1e-9).fit(*line)
    assert early.n_iter_ < 5000 and early.history_["loss"][-2] - early.history_["loss"][-1] <= 1e-9
