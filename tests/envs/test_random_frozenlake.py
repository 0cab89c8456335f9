"""sandbox/RandomFrozenLake-v0: FrozenLake on generate_random_map, its time limit, its model, bad kwargs."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import generate_random_map
from gymnasium.utils.env_checker import check_env

from agents import ValueIteration
from sandbox.environments import make_env
from sandbox.rollout import time_limit

ID = "sandbox/RandomFrozenLake-v0"


def rows(env):
    return ["".join(c.decode() for c in row) for row in env.unwrapped.desc]


def test_the_map_is_generate_random_map_of_the_seed_and_the_seed_alone():
    env = make_env(ID, size=8, map_seed=3)
    assert rows(env) == generate_random_map(size=8, p=0.8, seed=3)
    assert rows(make_env(ID, size=8, map_seed=3)) == rows(env)
    assert rows(make_env(ID, size=8, map_seed=4)) != rows(env)
    assert rows(make_env(ID)) == generate_random_map(size=8, p=0.8, seed=0)  # the defaults
    assert rows(make_env(ID, size=5, map_seed=1, p=0.6)) == generate_random_map(5, 0.6, 1)


def test_time_limit_follows_gymnasiums_maps_and_truncates():
    assert time_limit(make_env(ID, size=8)) == 200  # as FrozenLake8x8-v1
    assert time_limit(make_env(ID, size=4)) == 100  # as FrozenLake-v1
    env = make_env(ID, size=4, map_seed=0, p=1.0)  # no holes: only the limit or the goal ends it
    env.reset(seed=0)
    ends = []
    for _ in range(100):
        _, _, terminated, truncated, _ = env.step(3)  # up: bumps the top edge, never reaches G
        ends.append((terminated, truncated))
    assert ends[:99] == [(False, False)] * 99 and ends[99] == (False, True)


def test_value_iteration_solves_the_map_from_its_transition_table():
    env = make_env(ID, size=8, map_seed=1)
    assert len(env.unwrapped.P) == 64 and len(env.unwrapped.P[0]) == 4
    plan = ValueIteration(gamma=0.99).fit(env)
    assert plan.converged_
    result = plan.evaluate(env, episodes=200, seed=0)
    assert (
        result["success_rate"] > 0.6
    )  # map 1's value-iteration policy reaches G about 3 times in 4
    assert plan.evaluate(make_env(ID, size=8, map_seed=1, is_slippery=False), episodes=5)[
        "success_rate"
    ] in (0.0, 1.0)  # deterministic moves: all or nothing


def test_is_slippery_false_moves_as_asked():
    env = make_env(ID, size=4, map_seed=0, p=1.0, is_slippery=False)
    env.reset(seed=0)
    assert env.step(2)[0] == 1 and env.step(1)[0] == 5  # right, then down


def test_passes_gymnasiums_check_env_and_replays_under_a_seed():
    check_env(gym.make(ID, size=6, map_seed=2).unwrapped)

    def trajectory():
        env = make_env(ID, size=8, map_seed=2)
        obs, _ = env.reset(seed=5)
        out = [obs]
        for a in np.random.default_rng(0).integers(4, size=100).tolist():
            obs, r, term, trunc, _ = env.step(a)
            out.append((obs, r, term, trunc))
            if term or trunc:
                out.append(env.reset()[0])
        return out

    assert trajectory() == trajectory()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 1}, r"size=1 is out of range; it must be an integer in \[2, 64\]"),
        ({"size": 8.0}, "size=8.0 must be an integer"),
        ({"map_seed": -1}, "map_seed=-1 is out of range"),
        ({"map_seed": "a"}, "map_seed='a' must be an integer"),
        ({"p": 0.3}, r"p=0.3 is out of range; it must be a number in \[0.5, 1.0\]"),
        ({"p": float("nan")}, "p=nan must be a finite number"),
        ({"is_slippery": "yes"}, "is_slippery='yes' must be True or False"),
        ({"map_name": "8x8"}, "does not take the keyword arguments \\['map_name'\\]"),
    ],
)
def test_bad_kwargs_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_env(ID, **kwargs)
