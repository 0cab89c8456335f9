"""Episodes, returns-to-go and ``evaluate``: playing a policy on an environment.

``evaluate`` plays one episode after another on one env; ``evaluate_batched``
plays them side by side, one policy call per step for all of them. Both are the
same loop (``_play``), so they count returns, successes and the step cap alike.
On an env without a time limit of its own, episodes stop after
:data:`DEFAULT_MAX_STEPS` steps unless ``max_steps`` says otherwise; the result
states the cap (``max_steps``) and how many episodes it stopped (``capped_episodes``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from sandbox.checks import check_number, check_seed
from sandbox.environments import make_env


def discounted_returns(
    rewards: np.ndarray, gamma: float, dones: np.ndarray | None = None
) -> np.ndarray:
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
    terminated: bool,
    reward: float,
    info: dict[str, Any],
    *,
    episode_return: float | None = None,
    length: int | None = None,
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


DEFAULT_MAX_STEPS = 1000
"""Steps per episode at which ``evaluate`` stops an episode on an env without a time limit of its own
(a greedy policy that walks into a wall would otherwise never end); as long as the longest
time limits Gymnasium registers (LunarLander's 1000, MountainCarContinuous's 999)."""


def time_limit(env: gym.Env) -> int | None:
    """The env's own time limit in steps (a ``TimeLimit`` wrapper or its spec), or None."""
    inner: Any = env
    while isinstance(inner, gym.Wrapper):
        if isinstance(inner, gym.wrappers.TimeLimit):
            return int(inner._max_episode_steps)
        inner = inner.env
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    return int(limit) if limit is not None else None


def _cap(env: gym.Env, max_steps: int | None) -> int | None:
    """The step cap ``evaluate`` applies: ``max_steps`` if given, else DEFAULT_MAX_STEPS where the env has no limit."""
    if max_steps is not None:
        return int(check_number("max_steps", max_steps, low=1, integer=True))
    return None if time_limit(env) is not None else DEFAULT_MAX_STEPS


def _play(
    policy: Callable[[Any], Any],
    envs: list[gym.Env],
    *,
    episodes: int,
    seed: int | None,
    cap: int | None,
    batched: bool,
    close: bool,
) -> dict[str, Any]:
    """The one evaluation loop: ``episodes`` episodes over ``envs``, each env playing one episode after another.

    With one env the episodes run in turn; with one env per episode they run side by side,
    the unfinished ones stepped together. ``batched``: ``policy`` takes the stacked observations
    of the envs still playing and returns their actions; otherwise one observation at a time.
    Episode i is reset with seed ``seed + i`` whichever env plays it, so both give the same numbers.
    """
    returns, lengths = np.zeros(episodes), np.zeros(episodes, dtype=np.int64)
    successes, capped = np.zeros(episodes, dtype=bool), np.zeros(episodes, dtype=bool)
    slots: dict[int, list[Any]] = {}  # env index -> [episode, obs]
    next_episode = 0
    for j, e in enumerate(envs[:episodes]):
        slots[j] = [next_episode, e.reset(seed=None if seed is None else seed + next_episode)[0]]
        next_episode += 1
    while slots:
        playing = list(slots)
        if batched:
            actions = list(policy(np.stack([slots[j][1] for j in playing])))
        else:
            actions = [policy(slots[j][1]) for j in playing]
        for j, action in zip(playing, actions):
            i = slots[j][0]
            obs, reward, terminated, truncated, info = envs[j].step(action)
            returns[i] += float(reward)
            lengths[i] += 1
            slots[j][1] = obs
            hit_cap = cap is not None and lengths[i] >= cap and not (terminated or truncated)
            if not (terminated or truncated or hit_cap):
                continue
            capped[i] = hit_cap
            successes[i] = episode_success(
                terminated,
                float(reward),
                info,
                episode_return=float(returns[i]),
                length=int(lengths[i]),
            )
            if next_episode < episodes:
                slots[j] = [
                    next_episode,
                    envs[j].reset(seed=None if seed is None else seed + next_episode)[0],
                ]
                next_episode += 1
            else:
                del slots[j]
                if close:
                    envs[j].close()
    return {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "success_rate": float(successes.mean()),
        "mean_length": float(lengths.mean()),
        "episodes": int(episodes),
        "max_steps": cap,
        "capped_episodes": int(capped.sum()),
    }


def evaluate(
    policy: Callable[[Any], Any],
    env: str | gym.Env,
    *,
    episodes: int = 100,
    seed: int | None = 0,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Run ``policy(obs) -> action`` for ``episodes`` episodes, one after another on one env.

    Episode i is reset with seed ``seed + i``, so the same seed replays the same
    episodes. An episode ends when the env ends it or after ``max_steps`` steps;
    on an env without a time limit of its own, ``max_steps=None`` caps episodes
    at :data:`DEFAULT_MAX_STEPS` so that a policy that never finishes still returns.
    A capped episode is not a success.

    Returns ``mean_return``, ``std_return``, ``success_rate`` (see
    :func:`episode_success`), ``mean_length``, ``episodes``, ``max_steps`` (the
    cap applied, None where only the env's own limit ended episodes) and
    ``capped_episodes`` (how many the cap stopped).
    """
    check_number("episodes", episodes, low=1, integer=True)
    seed = check_seed(seed)
    env = make_env(env)
    return _play(
        policy,
        [env],
        episodes=episodes,
        seed=seed,
        cap=_cap(env, max_steps),
        batched=False,
        close=False,
    )


def evaluate_batched(
    policy: Callable[[np.ndarray], np.ndarray],
    env: str | Callable[..., gym.Env],
    *,
    episodes: int = 100,
    seed: int | None = 0,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """:func:`evaluate` with all episodes played side by side, one policy call per step for all of them.

    ``policy(obs_batch) -> actions`` takes the observations of the unfinished
    episodes stacked, shape (n, *obs_shape), and returns n actions. The same loop
    as :func:`evaluate` (episode i reset with seed ``seed + i``, the same step cap
    and success rule), so a deterministic policy gets the same numbers from both,
    many times faster for a network.
    """
    check_number("episodes", episodes, low=1, integer=True)
    seed = check_seed(seed)
    envs = [make_env(env) for _ in range(episodes)]
    return _play(
        policy,
        envs,
        episodes=episodes,
        seed=seed,
        cap=_cap(envs[0], max_steps),
        batched=True,
        close=True,
    )


def evaluate_policy(
    policy: Callable[[Any], Any],
    env: str | gym.Env | Callable[..., gym.Env],
    *,
    episodes: int = 100,
    seed: int | None = 0,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """:func:`evaluate_batched` where fresh envs can be made (an id, entry point or factory);
    :func:`evaluate` on a given Env instance, whose episodes can only run one after another.
    ``policy`` must take one observation or a batch of them."""
    if isinstance(env, gym.Env):
        return evaluate(policy, env, episodes=episodes, seed=seed, max_steps=max_steps)
    return evaluate_batched(policy, env, episodes=episodes, seed=seed, max_steps=max_steps)
