"""Small envs and baselines shared by the RL agents' tests."""

import gymnasium as gym
import numpy as np


class SpaceEnv(gym.Env):
    """A one-step env with the given action space, to check what the agents accept."""

    def __init__(self, action_space=None, observation_space=None, reward=1.0):
        self.observation_space = observation_space or gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = action_space or gym.spaces.Discrete(2)
        self.reward = reward

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:  # sample() draws from the space's own generator: seed it too, for same seed, same numbers
            self.observation_space.seed(int(seed))
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), self.reward, True, False, {}


def reload_as_saved_before_backends(agent, path, monkeypatch):
    """Save ``agent`` (trained on torch) as checkpoints from before the numpy backend were: torch's array
    layout and no ``backend`` parameter; load it back with the agent's class."""
    params = {k: v for k, v in type(agent).get_params(agent).items() if k != "backend"}
    monkeypatch.setattr(agent, "get_params", lambda: params)
    agent.save(path)
    return type(agent).load(path)


def random_cartpole_return(episodes=30):
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(0)
    total = 0.0
    for i in range(episodes):
        env.reset(seed=i)
        done = False
        while not done:
            _, r, te, tr, _ = env.step(int(rng.integers(2)))
            total += r
            done = te or tr
    return total / episodes


class PickOneEnv(SpaceEnv):
    """One step per episode; action 1 pays 1, action 0 pays 0."""

    def step(self, action):
        return self.observation_space.sample(), float(int(action) == 1), True, False, {}
