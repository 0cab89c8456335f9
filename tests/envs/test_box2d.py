"""LunarLander-v3 (Box2D, the `box2d` extra that the dev extra brings): both deep agents fit a few
thousand steps on it, act on its observations and evaluate on it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents import DQN, PolicyGradient

ENV = "LunarLander-v3"


@pytest.mark.parametrize(
    "make",
    [
        lambda: PolicyGradient(seed=0),
        lambda: DQN(seed=0, learning_starts=500, train_freq=100, gradient_steps=10),
    ],
    ids=["PolicyGradient", "DQN"],
)
def test_deep_agents_fit_act_and_evaluate_on_lunar_lander(make):
    agent = make().fit(ENV, steps=2_000)
    assert agent.training_["steps"] >= 2_000
    returns = agent.history_["episode_returns"]
    assert len(returns) >= 1 and np.all(np.isfinite(returns))
    obs, _ = gym.make(ENV).reset(seed=0)
    assert obs.shape == (8,)
    action = agent.act(obs)
    assert gym.make(ENV).action_space.contains(int(action))
    result = agent.evaluate(ENV, episodes=2, seed=0, max_steps=300)
    assert result["episodes"] == 2 and np.isfinite(result["mean_return"])
    assert result["mean_length"] <= 300
