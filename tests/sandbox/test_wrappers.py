"""Discretize: Box observations and actions as Discrete ones, so tabular agents can run on them."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from agents import QLearning
from sandbox.wrappers import Discretize


def test_grid_cells_and_their_centres():
    env = Discretize("MountainCar-v0", bins=(6, 4))  # position in [-1.2, 0.6], velocity in [-0.07, 0.07]
    assert env.observation_space == spaces.Discrete(24)
    assert env.cell([-1.2, -0.07]) == (0, 0)
    assert env.cell([0.6, 0.07]) == (5, 3)
    assert env.cell([5.0, -9.0]) == (5, 0)  # outside the bounds: the end cells
    assert env.observation(np.array([-0.85, 0.01])) == 1 * 4 + 2
    for state in range(24):
        assert env.observation(env.cell_centre(state)) == state
    obs, _ = env.reset(seed=0)
    assert isinstance(obs, int) and 0 <= obs < 24


def test_unbounded_dimensions_need_explicit_bounds():
    with pytest.raises(ValueError, match=r"unbounded in dimensions \[1, 3\].*low=\("):
        Discretize("CartPole-v1", bins=6)
    env = Discretize("CartPole-v1", bins=(1, 1, 6, 6), low=(-2.4, -3, -0.21, -3.5), high=(2.4, 3, 0.21, 3.5))
    assert env.observation_space.n == 36


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bins": 0}, "bins=0: every entry must be an integer >= 1"),
        ({"bins": (3, 3, 3)}, "sequence of 2"),
        ({"bins": 2.5}, "integer"),
        ({"low": (0, 0), "high": (0, 1)}, "high must exceed low"),
    ],
)
def test_bad_grids(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Discretize("MountainCar-v0", **kwargs)


def test_action_bins_on_a_box_action_space():
    env = Discretize("Pendulum-v1", bins=(5, 5, 5), action_bins=5)
    assert env.action_space == spaces.Discrete(5)
    np.testing.assert_allclose([a[0] for a in env._actions], [-2, -1, 0, 1, 2])
    env.reset(seed=0)
    obs, reward, *_ = env.step(4)
    assert 0 <= obs < 125 and reward <= 0
    with pytest.raises(ValueError, match="action_bins is for a Box action space"):
        Discretize("MountainCar-v0", action_bins=3)


def test_q_learning_runs_on_a_discretized_box_env():
    env = Discretize("MountainCar-v0", bins=(12, 10))
    agent = QLearning(alpha=0.2, epsilon=0.2, seed=0).fit(env, steps=3000)
    assert agent.q_table_.shape == (120, 3) and agent.n_steps_ == 3000
    assert np.any(agent.q_table_ != 0)
