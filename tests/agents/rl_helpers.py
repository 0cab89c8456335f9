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
        if (
            seed is not None
        ):  # sample() draws from the space's own generator: seed it too, for same seed, same numbers
            self.observation_space.seed(int(seed))
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), self.reward, True, False, {}


class NaNEnv(SpaceEnv):
    """Episodes of 10 steps; the ``bad_reward_at``-th or ``bad_obs_at``-th call of step() (1-based) returns NaN."""

    def __init__(self, bad_reward_at=None, bad_obs_at=None):
        super().__init__()
        self.bad_reward_at, self.bad_obs_at, self.calls, self.t = bad_reward_at, bad_obs_at, 0, 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        self.calls += 1
        self.t += 1
        obs = self.observation_space.sample()
        if self.calls == self.bad_obs_at:
            obs[0] = np.nan
        reward = float("nan") if self.calls == self.bad_reward_at else 1.0
        return obs, reward, self.t >= 10, False, {}


class CountCloses(gym.Wrapper):
    """An env that counts how often it was closed."""

    def __init__(self, env):
        super().__init__(env)
        self.closes = 0

    def close(self):
        self.closes += 1
        super().close()


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
