"""Discretize: Box observations and actions as Discrete ones, so tabular agents can run on them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from agents import QLearning
from sandbox.wrappers import Discretize


def test_grid_cells_and_their_centres():
    env = Discretize(
        "MountainCar-v0", bins=(6, 4)
    )  # position in [-1.2, 0.6], velocity in [-0.07, 0.07]
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
    env = Discretize(
        "CartPole-v1", bins=(1, 1, 6, 6), low=(-2.4, -3, -0.21, -3.5), high=(2.4, 3, 0.21, 3.5)
    )
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
    with pytest.raises(
        ValueError, match=r"action=5 is not in this Discretize's action space, Discrete\(5\)"
    ):
        env.step(5)
    with pytest.raises(ValueError, match="action_bins is for a Box action space"):
        Discretize("MountainCar-v0", action_bins=3)


def test_discrete_observations_pass_through():
    env = Discretize("FrozenLake-v1")
    assert env.observation_space.n == 16 and env.reset(seed=0)[0] == 0
    with pytest.raises(ValueError, match="already Discrete"):
        env.cell(3)


def test_q_learning_runs_on_a_discretized_box_env():
    env = Discretize("MountainCar-v0", bins=(12, 10))
    agent = QLearning(learning_rate=0.2, epsilon_start=0.2, epsilon_end=0.2, seed=0).fit(
        env, steps=3000
    )
    assert agent.q_table_.shape == (120, 3) and agent.n_steps_ == 3000
    assert np.any(agent.q_table_ != 0)


def test_flatten_discrete_indexes_tuple_and_dict_observations():
    from sandbox.wrappers import FlattenDiscrete

    env = FlattenDiscrete(gym.make("Blackjack-v1"))
    assert env.observation_space == gym.spaces.Discrete(32 * 11 * 2)
    obs, _ = env.reset(seed=0)
    raw, _ = env.env.reset(seed=0)
    assert obs == env.index(raw) == raw[0] * 22 + raw[1] * 2 + raw[2]
    seen = {env.index((p, d, a)) for p in range(32) for d in range(11) for a in range(2)}
    assert seen == set(range(704))  # one index per combination, none shared

    class DictEnv(gym.Env):
        observation_space = gym.spaces.Dict(
            {"row": gym.spaces.Discrete(3, start=1), "col": gym.spaces.Discrete(4)}
        )
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            return {"row": 3, "col": 2}, {}

    wrapped = FlattenDiscrete(DictEnv())
    order = list(DictEnv.observation_space.spaces)  # the space's own key order
    expected = (3 - 1) * 4 + 2 if order == ["row", "col"] else 2 * 3 + (3 - 1)
    assert wrapped.reset()[0] == expected and wrapped.observation_space.n == 12


def test_flatten_discrete_refuses_what_it_cannot_index():
    from sandbox.wrappers import FlattenDiscrete

    with pytest.raises(
        ValueError,
        match=r"Tuple or Dict observation space whose parts are all Discrete; CartPole-v1",
    ):
        FlattenDiscrete("CartPole-v1")
    env = FlattenDiscrete(gym.make("Blackjack-v1"))
    with pytest.raises(ValueError, match="does not match"):
        env.index((40, 1, 0))
