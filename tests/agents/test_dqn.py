"""DQN: targets, learning, determinism, checkpoints, bad input."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.dqn import DQN, ReplayBuffer, td_targets
from sandbox.errors import DivergenceError
from tests.agents.rl_helpers import PickOneEnv, SpaceEnv

SMALL = dict(hidden=(32,), n_envs=2, learning_starts=100, train_freq=32, gradient_steps=8, batch_size=32)


def test_td_targets_double_and_plain():
    r = torch.tensor([1.0, 1.0])
    online = torch.tensor([[0.0, 5.0], [3.0, 0.0]])
    target = torch.tensor([[2.0, 1.0], [4.0, 7.0]])
    term = torch.tensor([0.0, 1.0])
    # plain: max of the target net; double: the target net's value of the online argmax
    np.testing.assert_allclose(td_targets(r, online, target, term, 0.5, double=False).numpy(), [1 + 0.5 * 2.0, 1.0])
    np.testing.assert_allclose(td_targets(r, online, target, term, 0.5, double=True).numpy(), [1 + 0.5 * 1.0, 1.0])


def test_replay_buffer_wraps_around():
    buf = ReplayBuffer(3, 1)
    for k in range(5):
        buf.add(np.array([[k]], np.float32), np.array([k]), np.array([k]), np.array([[k]], np.float32), np.array([0.0]))
    assert buf.size == 3 and sorted(buf.actions.tolist()) == [2, 3, 4]


def test_epsilon_schedule():
    agent = DQN(epsilon_start=1.0, epsilon_final=0.1, exploration_fraction=0.5)
    assert agent.epsilon(0, 100) == 1.0
    assert agent.epsilon(25, 100) == pytest.approx(0.55)
    assert agent.epsilon(80, 100) == pytest.approx(0.1)


def test_learns_the_q_values_of_a_one_step_choice():
    # Episodes of one step: Q(s, 1) = 1 and Q(s, 0) = 0 whatever s, so the greedy action is 1.
    agent = DQN(seed=0, hidden=(16,), n_envs=1, learning_starts=100, train_freq=16, gradient_steps=8,
                batch_size=32, learning_rate=3e-3).fit(PickOneEnv(), steps=1500)
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    q = agent.q_values(obs)
    np.testing.assert_allclose(q[:, 1], 1.0, atol=0.1)
    np.testing.assert_allclose(q[:, 0], 0.0, atol=0.1)
    assert np.all(agent.act(obs, deterministic=True) == 1)


@pytest.mark.parametrize("tau", [1.0, 0.05])
def test_same_seed_same_returns_and_save_load(tmp_path, tau):
    a = DQN(seed=1, tau=tau, **SMALL).fit("CartPole-v1", steps=600)
    b = DQN(seed=1, tau=tau, **SMALL).fit("CartPole-v1", steps=600)
    assert a.history_["episode_returns"] == b.history_["episode_returns"] and a.history_["loss"] == b.history_["loss"]
    a.save(tmp_path / "dqn.npz")
    loaded = DQN.load(tmp_path / "dqn.npz")
    obs = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, deterministic=True), a.act(obs, deterministic=True))
    np.testing.assert_array_equal(loaded.q_values(obs), a.q_values(obs))


@pytest.mark.parametrize(
    "space, name",
    [(gym.spaces.MultiDiscrete([3, 3]), "MultiDiscrete"), (gym.spaces.Dict({"a": gym.spaces.Discrete(2)}), "Dict"),
     (gym.spaces.Box(-1, 1, (2,)), "Box")],
)
def test_unsupported_action_space_is_named(space, name):
    with pytest.raises(ValueError, match=name):
        DQN(n_envs=1).fit(SpaceEnv(action_space=space), steps=10)


def test_bad_input():
    with pytest.raises(ValueError, match="steps"):
        DQN().fit("CartPole-v1", steps=0)
    with pytest.raises(ValueError, match="CartPole-v1"):
        DQN().fit("CartPole-v2", steps=10)
    with pytest.raises(ValueError, match="loss"):
        DQN(loss="l1").fit("CartPole-v1", steps=10)


def test_non_finite_loss_stops_with_a_message():
    agent = DQN(n_envs=1, learning_starts=4, train_freq=4, gradient_steps=1, batch_size=4)
    with pytest.raises(DivergenceError, match="DQN stopped after 4 env steps.*loss became nan"):
        agent.fit(SpaceEnv(reward=float("nan")), steps=20)
