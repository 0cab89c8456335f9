"""Every env of ours is registered, passes Gymnasium's check_env, and replays exactly under a seed."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from sandbox.environments import make_env

VARIANTS = [
    ("sandbox/GridWorld-v0", {}),
    ("sandbox/GridWorld-v0", {"map": "5x5", "slip": 0.2, "step_cost": 0.01}),
    ("sandbox/CliffGridWorld-v0", {}),
    ("sandbox/Bandit-v0", {}),
    ("sandbox/DriftingBandit-v0", {}),
    ("sandbox/ContextualBandit-v0", {}),
    ("sandbox/ContextualBandit-v0", {"dataset": "wine"}),
    ("sandbox/TicTacToe-v0", {}),
    ("sandbox/TicTacToe-v0", {"opponent": "minimax"}),
    ("sandbox/TicTacToe-v0", {"opponent": "self"}),
]


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS)
def test_check_env_passes_without_warnings(env_id, kwargs, recwarn):
    env = gym.make(env_id, **kwargs)
    check_env(env.unwrapped)
    messages = [
        str(w.message)
        for w in recwarn
        if "gymnasium" in (w.filename or "") or "WARN" in str(w.message)
    ]
    assert messages == []


@pytest.mark.parametrize("env_id", list(envs.REGISTERED))
def test_make_env_finds_every_id_through_the_entry_point(env_id):
    # make_env imports the sandbox.envs entry point itself; the id needs no import by hand.
    env = make_env(env_id)
    assert env.spec.id == env_id


def _trajectory(env, seed, steps=60):
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = [np.asarray(obs).tolist()]
    for _ in range(steps):
        mask = info.get("action_mask")
        a = (
            int(rng.choice(np.flatnonzero(mask)))
            if mask is not None
            else int(rng.integers(env.action_space.n))
        )
        obs, r, term, trunc, info = env.step(a)
        out.append((np.asarray(obs).tolist(), float(r), term, trunc))
        if term or trunc:
            obs, info = env.reset()
            out.append(np.asarray(obs).tolist())
    return out


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS)
def test_same_seed_same_trajectory(env_id, kwargs):
    a = _trajectory(gym.make(env_id, **kwargs), seed=3)
    b = _trajectory(gym.make(env_id, **kwargs), seed=3)
    assert a == b


def test_different_seeds_differ_where_the_env_is_random():
    a = _trajectory(gym.make("sandbox/Bandit-v0"), seed=1)
    b = _trajectory(gym.make("sandbox/Bandit-v0"), seed=2)
    assert a != b


def test_time_limits_come_from_the_registration():
    env = gym.make("sandbox/Bandit-v0")
    env.reset(seed=0)
    steps = 0
    while True:
        *_, term, trunc, _ = env.step(0)
        steps += 1
        if term or trunc:
            break
    assert steps == 1000 and trunc and not term


def test_importing_envs_twice_does_not_reregister():
    import importlib

    importlib.reload(envs)
    assert "sandbox/GridWorld-v0" in gym.registry


def test_a_keyword_the_env_does_not_take_is_a_clear_error_not_a_type_error():
    for env in ("CartPole-v1", "sandbox/GridWorld-v0"):
        with pytest.raises(ValueError, match=r"does not take the keyword arguments \['bogus'\]"):
            make_env(env, bogus=1)


def test_a_vector_env_of_copies_is_named_by_its_copies():
    from sandbox.environments import env_name
    from sandbox.vector import make_vec_env

    vec = make_vec_env("CartPole-v1", 2)
    try:
        # not "SyncVectorEnv", as DQN's NaN-reward error once said
        assert env_name(vec) == "CartPole-v1"
    finally:
        vec.close()
