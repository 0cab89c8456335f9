"""Episodes, returns-to-go and ``evaluate``: playing a policy on an environment.

``evaluate`` plays one episode after another on one env; ``evaluate_batched``
plays them side by side, one policy call per step for all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from sandbox.checks import check_number, check_seed
from sandbox.environments import make_env


def discounted_returns(rewards: np.ndarray, gamma: float, dones: np.ndarray | None = None) -> np.ndarray:
    """Returns-to-go G_t = r_t + gamma * G_{t+1}, restarting after each ``done``.

    rewards : array of shape (T,) or (T, n_envs)
    dones : same shape; True where an episode ended at that step
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    out = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[1:], dtype=np.float64)
    for t in range(len(rewards) - 1, -1, -1):
        if dones is not None:
            running = np.where(dones[t], 0.0, running)
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def episode_success(
    terminated: bool, reward: float, info: dict[str, Any], *, episode_return: float | None = None, length: int | None = None
) -> bool:
    """Did the episode reach its goal?

    ``info["is_success"]`` where the env gives it. Otherwise: it ended by
    termination (not a time limit) with a positive last reward that stands out,
    as FrozenLake's goal (+1 after zeros) or Taxi's drop-off (+20 after -1s)
    do. Given the ``episode_return`` and ``length``, an episode whose rewards
    were all the same (CartPole's +1 per step, ending when the pole falls) does
    not count: a constant reward says nothing about a goal.
    """
    if "is_success" in info:
        return bool(info["is_success"])
    if not (terminated and reward > 0):
        return False
    if episode_return is not None and length is not None and length > 1:
        return not math.isclose(episode_return, reward * length, rel_tol=1e-9, abs_tol=1e-12)
    return True


def evaluate(
    policy: Callable[[Any], Any],
    env: str | gym.Env,
    *,
    episodes: int = 100,
    seed: int | None = 0,
    max_steps: int | None = None,
) -> dict[str, float]:
    """Run ``policy(obs) -> action`` for ``episodes`` episodes.

    Episode i is reset with seed ``seed + i``, so the same seed replays the same
    episodes. Returns ``mean_return``, ``std_return``, ``success_rate``
    (see :func:`episode_success`), ``mean_length`` and ``episodes``.
    """
    check_number("episodes", episodes, low=1, integer=True)
    seed = check_seed(seed)
    env = make_env(env)
    returns, lengths, successes = [], [], []
    for i in range(episodes):
        obs, info = env.reset(seed=None if seed is None else seed + i)
        total, length, done = 0.0, 0, False
        terminated, reward = False, 0.0
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            total += float(reward)
            length += 1
            done = terminated or truncated or (max_steps is not None and length >= max_steps)
        returns.append(total)
        lengths.append(length)
        successes.append(episode_success(terminated, float(reward), info, episode_return=total, length=length))
    r = np.asarray(returns)
    return {
        "mean_return": float(r.mean()),
        "std_return": float(r.std()),
        "success_rate": float(np.mean(successes)),
        "mean_length": float(np.mean(lengths)),
        "episodes": int(episodes),
    }



def evaluate_batched(
    policy: Callable[[np.ndarray], np.ndarray],
    env: str | Callable[..., gym.Env],
    *,
    episodes: int = 100,
    seed: int | None = 0,
    max_steps: int | None = None,
) -> dict[str, float]:
    """:func:`evaluate` with all episodes played side by side, one policy call per step for all of them.

    ``policy(obs_batch) -> actions`` takes the observations of the unfinished
    episodes stacked, shape (n, *obs_shape), and returns n actions. Episode i
    is reset with seed ``seed + i`` as in :func:`evaluate`, so a deterministic
    policy gets the same numbers from both, many times faster for a network.
    """
    check_number("episodes", episodes, low=1, integer=True)
    seed = check_seed(seed)
    envs = [make_env(env) for _ in range(episodes)]
    obs = [e.reset(seed=None if seed is None else seed + i)[0] for i, e in enumerate(envs)]
    returns, lengths = np.zeros(episodes), np.zeros(episodes, dtype=np.int64)
    successes = np.zeros(episodes, dtype=bool)
    active = list(range(episodes))
    while active:
        actions = policy(np.stack([obs[i] for i in active]))
        still = []
        for i, a in zip(active, actions):
            obs[i], reward, terminated, truncated, info = envs[i].step(a)
            returns[i] += float(reward)
            lengths[i] += 1
            if terminated or truncated or (max_steps is not None and lengths[i] >= max_steps):
                successes[i] = episode_success(terminated, float(reward), info)
                envs[i].close()
            else:
                still.append(i)
        active = still
    return {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "success_rate": float(successes.mean()),
        "mean_length": float(lengths.mean()),
        "episodes": int(episodes),
    }


def evaluate_policy(
    policy: Callable[[Any], Any], env: str | gym.Env | Callable[..., gym.Env], *, episodes: int = 100, seed: int | None = 0
) -> dict[str, float]:
    """:func:`evaluate_batched` where fresh envs can be made (an id, entry point or factory);
    :func:`evaluate` on a given Env instance, whose episodes can only run one after another.
    ``policy`` must take one observation or a batch of them."""
    if isinstance(env, gym.Env):
        return evaluate(policy, env, episodes=episodes, seed=seed)
    return evaluate_batched(policy, env, episodes=episodes, seed=seed)
