"""Environments by name, episodes, returns, and ``evaluate``: the RL side of the shared core.

``make_env`` accepts a Gymnasium id (``"FrozenLake-v1"``, ``"sandbox/GridWorld-v0"``),
a ``"package.module:ClassName"`` entry point, or an ``Env`` instance, and
answers a typo with the closest registered ids. Packages that register
environments announce themselves in the ``sandbox.envs`` entry-point group and
are imported before an id is looked up, so ``sandbox`` never names them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from sandbox.checks import check_number, check_seed, close_matches

ENV_ENTRY_POINT_GROUP = "sandbox.envs"
_plugins_loaded = False


def load_env_plugins() -> None:
    """Import every package in the ``sandbox.envs`` entry-point group (registers their envs)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in importlib.metadata.entry_points(group=ENV_ENTRY_POINT_GROUP):
        importlib.import_module(ep.value)


def make_env(env: str | gym.Env | Callable[..., gym.Env], *, render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """An environment from an id, a ``module:Class`` entry point, a class or factory, or an instance."""
    if isinstance(env, gym.Env):
        if kwargs:
            raise ValueError(f"env is already built; drop the keyword arguments {sorted(kwargs)}.")
        return env
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    if callable(env) and not isinstance(env, str):
        built = env(**kwargs)
        if not isinstance(built, gym.Env):
            raise ValueError(f"{env!r} built a {type(built).__name__}, not a gymnasium.Env.")
        return built
    if not isinstance(env, str) or not env:
        raise ValueError(f"env={env!r} must be a Gymnasium id, a 'package.module:ClassName' entry point, or an Env.")
    if ":" in env and "/" not in env.split(":", 1)[0]:
        return _from_entry_point(env, kwargs)
    load_env_plugins()
    if env not in gym.registry:
        hint = close_matches(env, gym.registry.keys())
        did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
        raise ValueError(
            f"env id {env!r} is not registered with Gymnasium.{did} "
            "Pass a registered id, or a 'package.module:ClassName' entry point."
        )
    return gym.make(env, **kwargs)


def _from_entry_point(spec: str, kwargs: dict[str, Any]) -> gym.Env:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"entry point {spec!r}: module {module_name!r} does not import ({exc}).") from None
    if not hasattr(module, attr):
        names = [n for n, v in vars(module).items() if inspect.isclass(v) and issubclass(v, gym.Env)]
        raise ValueError(f"entry point {spec!r}: {module_name} has no {attr!r}. Env classes there: {', '.join(names) or 'none'}.")
    cls = getattr(module, attr)
    if not (inspect.isclass(cls) and issubclass(cls, gym.Env)):
        raise ValueError(f"entry point {spec!r} is a {type(cls).__name__}, not a gymnasium.Env subclass.")
    return cls(**kwargs)


def env_name(env: gym.Env) -> str:
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None and spec.id else type(env.unwrapped).__name__


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


# ------------------------------------------------------------ what an agent can run on


def describe_space(space: gym.Space) -> str:
    """A space in a few words, e.g. ``Box(4,)`` or ``Discrete(16)``."""
    if isinstance(space, gym.spaces.Box):
        return f"Box{tuple(space.shape)}"
    return str(space)


def space_support(env: gym.Env, *, observation: tuple[type, ...] | None = None, action: tuple[type, ...] | None = None) -> str | None:
    """None if ``env``'s observation and action spaces are of the allowed types; otherwise why not.

    ``observation`` / ``action``: the accepted ``gymnasium.spaces`` classes (None accepts any).
    """
    for role, space, allowed in (("observation", env.observation_space, observation), ("action", env.action_space, action)):
        if allowed is not None and not isinstance(space, allowed):
            names = " or ".join(a.__name__ for a in allowed)
            return f"its {role} space is {describe_space(space)}; this agent needs {names}"
    return None


def require_env_support(learner: Any, env: gym.Env) -> None:
    """Raise ValueError with the learner's own reason when it cannot run on ``env`` (see ``Learner.env_support``)."""
    cls = learner if isinstance(learner, type) else type(learner)
    reason = cls.env_support(env) if cls.declares_env_support() else None  # undeclared: its fit checks for itself
    if reason is not None:
        raise ValueError(f"{cls.__name__} cannot run on {env_name(env)}: {reason}.")
