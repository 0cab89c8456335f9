import gymnasium as gym
import numpy as np
import pytest

from sandbox.environments import make_env
from sandbox.rollout import discounted_returns, evaluate


def test_unknown_id_gets_close_matches():
    with pytest.raises(
        ValueError, match=r"'FrozenLak-v1' is not registered.*Did you mean 'FrozenLake-v1'"
    ):
        make_env("FrozenLak-v1")


def test_entry_points():
    env = make_env("gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv", is_slippery=False)
    assert isinstance(env.unwrapped, gym.Env)
    with pytest.raises(ValueError, match="module 'no_such_pkg.mod' does not import"):
        make_env("no_such_pkg.mod:Env")
    with pytest.raises(ValueError, match="has no 'Nope'. Env classes there: .*FrozenLakeEnv"):
        make_env("gymnasium.envs.toy_text.frozen_lake:Nope")
    with pytest.raises(ValueError, match="not a gymnasium.Env subclass"):
        make_env("numpy:ndarray")
    with pytest.raises(ValueError, match="must be a Gymnasium id"):
        make_env(42)


def test_discounted_returns_restart_after_done():
    r = np.array([1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(discounted_returns(r, 0.5), [1.875, 1.75, 1.5, 1.0])
    done = np.array([False, True, False, False])
    np.testing.assert_allclose(discounted_returns(r, 0.5, done), [1.5, 1.0, 1.5, 1.0])


def test_evaluate_a_fixed_policy_on_frozenlake():
    # the shortest path on the non-slippery 4x4 map: down, down, right, right, down, right
    path = {0: 1, 4: 1, 8: 2, 9: 2, 10: 1, 14: 2}
    env = gym.make("FrozenLake-v1", is_slippery=False)
    result = evaluate(lambda s: path[int(s)], env, episodes=5)
    assert result == {
        "mean_return": 1.0,
        "std_return": 0.0,
        "success_rate": 1.0,
        "mean_length": 6.0,
        "episodes": 5,
        "max_steps": None,
        "capped_episodes": 0,
    }
    left = evaluate(
        lambda s: 0, env, episodes=3, seed=1
    )  # walks into the wall until the time limit
    assert left["success_rate"] == 0.0 and left["mean_length"] == 100.0
    with pytest.raises(ValueError, match="episodes=0"):
        evaluate(lambda s: 0, env, episodes=0)


def test_success_means_a_goal_not_a_constant_reward():
    from sandbox.rollout import episode_success

    assert episode_success(True, 1.0, {}, episode_return=1.0, length=6)  # FrozenLake's goal
    assert episode_success(True, 20.0, {}, episode_return=8.0, length=13)  # Taxi's drop-off
    assert not episode_success(
        True, 1.0, {}, episode_return=40.0, length=40
    )  # CartPole's pole fell
    assert not episode_success(False, 1.0, {}, episode_return=500.0, length=500)  # time limit
    assert not episode_success(True, 0.0, {}, episode_return=0.0, length=3)  # FrozenLake's hole
    assert episode_success(True, -1.0, {"is_success": True})
    assert evaluate(lambda obs: 0, "CartPole-v1", episodes=3)["success_rate"] == 0.0


def test_evaluate_ends_on_an_env_without_a_time_limit():
    """CliffWalking has no time limit: a policy walking into the wall is stopped at the default cap."""
    from sandbox.rollout import DEFAULT_MAX_STEPS

    env = gym.make("CliffWalking-v1")
    assert env.spec.max_episode_steps is None
    result = evaluate(lambda s: 3, env, episodes=2)  # left from the start: the wall, forever
    assert result["max_steps"] == DEFAULT_MAX_STEPS and result["capped_episodes"] == 2
    assert result["mean_length"] == DEFAULT_MAX_STEPS and result["success_rate"] == 0.0
    short = evaluate(lambda s: 3, env, episodes=2, max_steps=7)
    assert short["mean_length"] == 7 and short["max_steps"] == 7 and short["capped_episodes"] == 2
    with pytest.raises(ValueError, match="max_steps=0"):
        evaluate(lambda s: 3, env, episodes=1, max_steps=0)
