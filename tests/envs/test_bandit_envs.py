"""The k-armed testbed and the classification-as-bandit bridge."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from envs import Bandit, ContextualBandit, Testbed


def test_testbed_draws_the_books_distribution():
    bed = Testbed(10, 4000, rng=np.random.default_rng(0))
    assert bed.q_star.shape == (4000, 10)
    assert abs(bed.q_star.mean()) < 0.02 and abs(bed.q_star.std() - 1) < 0.02
    arms = np.full(4000, 3)
    rewards, optimal = bed.pull(arms)
    assert abs((rewards - bed.q_star[:, 3]).std() - 1) < 0.05  # unit reward noise
    assert optimal.mean() == pytest.approx((bed.optimal_action() == 3).mean())


def test_drift_moves_the_means_by_a_random_walk():
    bed = Testbed(10, 2000, drift=0.1, rng=np.random.default_rng(0))
    start = bed.q_star.copy()
    for _ in range(100):
        bed.pull(np.zeros(2000, dtype=int))
    assert (bed.q_star - start).std() == pytest.approx(0.1 * np.sqrt(100), rel=0.05)


def test_bandit_env_reports_the_optimal_arm():
    env = Bandit(k=5)
    _, info = env.reset(seed=0)
    best = info["optimal_action"]
    assert best == int(np.argmax(env.testbed.q_star[0]))
    _, _, _, _, info = env.step(best)
    assert info["was_optimal"] is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"k": 1}, "k="), ({"drift": -0.1}, "drift"), ({"render_mode": "rgb_array"}, "render_mode")],
)
def test_bandit_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Bandit(**kwargs)


def test_bandit_bad_arm():
    env = Bandit(k=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"not an arm; choose an integer in \[0, 2\]"):
        env.step(3)


def test_contextual_bandit_pays_for_the_right_label_only():
    X, y = load_iris(return_X_y=True)
    env = ContextualBandit(
        (X, np.array(["setosa", "versicolor", "virginica"])[y]), standardize=False
    )
    obs, info = env.reset(seed=0)
    row = info["index"]
    np.testing.assert_allclose(obs, X[row].astype(np.float32))
    right = int(y[row])
    assert env.classes[right] == ["setosa", "versicolor", "virginica"][right]
    _, r, term, _, info = env.step(right)
    assert (r, term, info["is_success"]) == (1.0, True, True)
    env.reset(seed=0)
    _, r, term, _, _ = env.step((right + 1) % 3)
    assert (r, term) == (0.0, True)


def test_contextual_bandit_standardises_and_accepts_bundled_names():
    env = ContextualBandit("wine")
    assert env.X.mean(axis=0) == pytest.approx(np.zeros(13), abs=1e-5)
    assert env.action_space.n == 3


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ("mnist", "dataset='mnist' is not allowed"),
        ((np.zeros((5, 2)), np.zeros(4)), "same length"),
        ((np.zeros((5, 2)), np.zeros(5)), "at least 2 labels"),
        ((np.zeros((5, 2)), np.zeros((5, 2))), "one label per row"),
        ((np.array([[np.nan, 1.0]]), np.zeros(1)), "NaN"),
        (42, "must be"),
    ],
)
def test_contextual_bandit_bad_input(dataset, message):
    with pytest.raises(ValueError, match=message):
        ContextualBandit(dataset)
