"""The batched Acrobot (envs/acrobot.py) against Gymnasium's own, copy by copy: the same bits."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control import acrobot as gym_acrobot

from envs.acrobot import AcrobotVectorEnv, _dsdt, _rk4
from sandbox.vector import make_vec_env


def _sync(n: int) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv(
        [lambda: gym.make("Acrobot-v1")] * n, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )


def _pump(obs: np.ndarray) -> np.ndarray:
    """Torque with the second joint's velocity: swings up, so episodes end by termination."""
    return np.where(obs[:, 5] > 0, 2, 0)


def test_it_returns_what_a_sync_vector_env_of_gymnasiums_acrobot_returns():
    n = 4
    sync, fast = _sync(n), AcrobotVectorEnv(n)
    expected, _ = sync.reset(seed=11)
    got, _ = fast.reset(seed=11)
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    rng = np.random.default_rng(0)
    terminations = truncations = 0
    for t in range(1300):
        # copies 0-1 pump (episodes end by reaching the line), 2-3 act at random (the time limit)
        actions = np.concatenate([_pump(expected)[:2], rng.integers(0, 3, n - 2)])
        want = sync.step(actions)
        have = fast.step(actions)
        for name, w, h in zip(("obs", "reward", "terminated", "truncated"), want[:4], have[:4]):
            assert np.array_equal(w, h), f"{name} differs at step {t}: {w} against {h}"
        done = want[2] | want[3]
        np.testing.assert_array_equal(have[4].get("_final_obs", np.zeros(n, bool)), done)
        for i in np.flatnonzero(done):
            np.testing.assert_array_equal(have[4]["final_obs"][i], want[4]["final_obs"][i])
        terminations += int(want[2].sum())
        truncations += int(want[3].sum())
        expected = want[0]
    assert terminations >= 10 and truncations >= 4  # both ways an episode ends were compared
    sync.close()


def test_its_dynamics_are_gymnasiums_to_the_bit_on_random_states():
    # one state's derivative and Runge-Kutta step, as Gymnasium computes them, against a column
    # each: a last-bit difference (x * x where Gymnasium calls pow) shows here in a few thousand
    # states, where a rollout may need tens of thousands of steps to show it
    env = gym_acrobot.AcrobotEnv()
    rng = np.random.default_rng(1)
    n = 3000
    states = np.column_stack(
        [
            rng.uniform(-np.pi, np.pi, (n, 2)),
            rng.uniform(-4 * np.pi, 4 * np.pi, n),
            rng.uniform(-9 * np.pi, 9 * np.pi, n),
            rng.choice([-1.0, 0.0, 1.0], n),
        ]
    )
    want = np.array([np.asarray(env._dsdt(s)) for s in states])
    np.testing.assert_array_equal(_dsdt(states.T.copy()).T, want)
    want = np.array([gym_acrobot.rk4(env._dsdt, s, [0, env.dt]) for s in states])
    np.testing.assert_array_equal(_rk4(states.T.copy(), env.dt).T[:, :4], want)


def test_seeds_one_per_copy_like_a_sync_vector_env():
    sync, fast = _sync(3), AcrobotVectorEnv(3)
    np.testing.assert_array_equal(
        fast.reset(seed=[5, None, 7])[0][[0, 2]], sync.reset(seed=[5, None, 7])[0][[0, 2]]
    )
    a, _ = AcrobotVectorEnv(3).reset(seed=4)
    b, _ = AcrobotVectorEnv(3).reset(seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])  # each copy its own generator


def test_bad_input_is_a_clear_error():
    env = AcrobotVectorEnv(2)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(np.zeros(2, int))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"2 integers in \{0, 1, 2\}"):
        env.step(np.array([0, 3]))
    with pytest.raises(ValueError, match=r"2 integers"):
        env.step(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="takes no options"):
        env.reset(options={"low": -0.2})
    with pytest.raises(ValueError, match="3 seeds for 2 envs"):
        env.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="num_envs"):
        AcrobotVectorEnv(0)


def test_make_vec_env_uses_it_for_sync_only():
    assert isinstance(make_vec_env("Acrobot-v1", 3), AcrobotVectorEnv)
    # a factory is the user's env, built as they wrote it: never swapped for the batched one
    factory = make_vec_env(lambda: gym.make("Acrobot-v1"), 2)
    assert isinstance(factory, gym.vector.SyncVectorEnv)
    vec = make_vec_env("Acrobot-v1", 2, vectorization="async")
    try:
        assert isinstance(vec, gym.vector.AsyncVectorEnv)
    finally:
        vec.close()
