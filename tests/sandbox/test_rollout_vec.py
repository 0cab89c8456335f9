"""The vector-env helpers: make_vec_env, Budget, EpisodeTracker, ObsEncoder, moving_mean (sandbox.vector) and evaluate_batched
(sandbox.rollout)."""

import gymnasium as gym
import numpy as np
import pytest

from sandbox.rollout import evaluate, evaluate_batched
from sandbox.vector import Budget, EpisodeTracker, ObsEncoder, make_vec_env, moving_mean


def test_make_vec_env_resets_in_the_same_step_and_refuses_copies_of_an_instance():
    vec = make_vec_env("CartPole-v1", 3)
    assert (
        vec.num_envs == 3 and vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    )
    vec.close()
    with pytest.raises(ValueError, match="cannot be copied"):
        make_vec_env(gym.make("CartPole-v1"), 2)
    with pytest.raises(ValueError, match="Did you mean 'CartPole-v1'"):
        make_vec_env("CartPole-v2", 2)
    with pytest.raises(ValueError, match="n_envs"):
        make_vec_env("CartPole-v1", 0)


def test_tracker_finds_the_first_episode_where_the_window_mean_reaches_the_target():
    t = EpisodeTracker(2, target=10.0, window=2)
    t.step(np.array([4.0, 6.0]), np.array([True, False]))  # env 0 ends with 4
    t.step(
        np.array([5.0, 5.0]), np.array([True, True])
    )  # env 0: 5, env 1: 11 -> window [5, 11] = 8
    assert not t.solved
    t.step(np.array([9.0, 9.0]), np.array([False, True]))  # env 1: 9 -> [11, 9] = 10
    assert t.returns == [4.0, 5.0, 11.0, 9.0] and t.end_steps == [2, 4, 4, 6]
    assert t.summary()["solved_at_steps"] == 6 and t.summary()["solved_at_episode"] == 4


def test_batched_evaluation_equals_the_sequential_one():
    def policy(obs):  # a deterministic rule: push toward the pole's lean
        return (np.asarray(obs)[..., 2] + np.asarray(obs)[..., 3] > 0).astype(int)

    one = evaluate(lambda o: int(policy(o)), "CartPole-v1", episodes=7, seed=5)
    many = evaluate_batched(policy, "CartPole-v1", episodes=7, seed=5)
    assert one == many


def test_moving_mean():
    np.testing.assert_allclose(moving_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])


def _episodes(vec, steps=60):
    """(env index, length) of every episode finished in ``steps`` vector steps of action 0."""
    vec.reset(seed=3)
    lengths, ended = np.zeros(vec.num_envs, int), []
    for _ in range(steps):
        _, _, te, tr, info = vec.step(np.zeros(vec.num_envs, int))
        lengths += 1
        for i in np.flatnonzero(te | tr):
            assert info["final_obs"][i].shape == (4,)
            ended.append((int(i), int(lengths[i])))
            lengths[i] = 0
    return ended


def test_a_users_vector_env_resets_in_the_same_step_whatever_its_autoreset_mode():
    want = None
    for mode in (
        gym.vector.AutoresetMode.SAME_STEP,
        gym.vector.AutoresetMode.NEXT_STEP,
        gym.vector.AutoresetMode.DISABLED,
    ):
        vec = make_vec_env(
            gym.make_vec(
                "CartPole-v1", 3, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
            ),
            1,
        )
        assert (
            vec.num_envs == 3
            and vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
        )
        got = _episodes(vec)
        vec.close()
        want = want or got
        assert (
            got == want and len(got) > 6
        )  # the same episodes, none of length 1 (no step lost to a reset)


def test_a_vector_env_without_an_autoreset_mode_is_refused_with_what_is_accepted():
    vec = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")])
    vec.metadata = {}
    with pytest.raises(ValueError, match="SyncVectorEnv, AsyncVectorEnv or gym.make_vec"):
        make_vec_env(vec, 1)


def test_budget_takes_exactly_one_of_steps_and_episodes():
    assert (
        Budget(None, None, default_steps=50).unit,
        Budget(None, None, default_steps=50).total,
    ) == ("steps", 50)
    b = Budget(None, 4, default_steps=50)
    t = EpisodeTracker(2)
    t.step(np.array([1.0, 1.0]), np.array([True, True]))
    assert b.unit == "episodes" and b.fraction(t) == 0.5 and not b.spent(t)
    with pytest.raises(ValueError, match="not both"):
        Budget(10, 4, default_steps=50)
    with pytest.raises(ValueError, match="episodes"):
        Budget(None, 0, default_steps=50)


def test_obs_encoder_flattens_dict_and_tuple_observations_one_by_one_or_batched():
    space = gym.spaces.Dict(
        {
            "pos": gym.spaces.Box(-1, 1, (2,), np.float32),
            "cell": gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.MultiBinary(2))),
        }
    )
    enc = ObsEncoder(space)
    one = {"pos": np.array([0.5, -0.5], np.float32), "cell": (2, np.array([1, 0], np.int8))}
    x, batched = enc(one)
    assert not batched and enc.size == 7
    np.testing.assert_array_equal(x[0], gym.spaces.flatten(space, one))
    batch = gym.vector.utils.concatenate(
        space, [one, one], gym.vector.utils.create_empty_array(space, 2)
    )
    xb, batched = enc(batch)
    assert batched and xb.shape == (2, 7) and np.array_equal(xb[1], x[0])
    again = ObsEncoder.from_dict(enc.to_dict())
    np.testing.assert_array_equal(again(one)[0], x)
    with pytest.raises(ValueError, match="NaN"):
        enc({"pos": np.array([np.nan, 0.0], np.float32), "cell": (0, np.array([0, 0], np.int8))})
    with pytest.raises(ValueError, match="Text"):
        ObsEncoder(gym.spaces.Dict({"t": gym.spaces.Text(4)}))


@pytest.mark.parametrize("batched", [False, True])
def test_a_policy_that_drops_the_pole_is_no_success(batched):
    """CartPole pays +1 per step and ends when the pole falls: that end is no goal, in either loop."""
    if batched:
        result = evaluate_batched(
            lambda obs: np.zeros(len(obs), dtype=int), "CartPole-v1", episodes=5, seed=0
        )
    else:
        result = evaluate(lambda obs: 0, "CartPole-v1", episodes=5, seed=0)
    assert result["mean_length"] < 20 and result["success_rate"] == 0.0
    assert (
        result["max_steps"] is None and result["capped_episodes"] == 0
    )  # CartPole has its own limit


def test_batched_and_sequential_evaluation_agree_on_a_policy_that_fails_sometimes():
    def policy(obs):  # leans the right way only on the pole's angle, so some episodes fall early
        return (np.asarray(obs)[..., 2] > 0).astype(int)

    one = evaluate(lambda o: int(policy(o)), "CartPole-v1", episodes=6, seed=1)
    many = evaluate_batched(policy, "CartPole-v1", episodes=6, seed=1)
    assert one == many and one["success_rate"] == 0.0
