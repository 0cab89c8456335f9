"""Vector envs and the plumbing of the deep agents: env copies, episode tracking, observation encoding."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from sandbox.checks import check_number
from sandbox.environments import make_env

VECTORIZATION = ("sync", "async")


def check_budget(steps: int, target_return: float | None, window: int) -> None:
    """The training budget of a deep agent's ``fit``: steps >= 1, a finite target (or None), window >= 1."""
    check_number("steps", steps, low=1, integer=True)
    if target_return is not None:
        check_number("target_return", target_return)
    check_number("window", window, low=1, integer=True)


def make_vec_env(
    env: str | gym.Env | Callable[..., gym.Env], n_envs: int, *, vectorization: str = "sync"
) -> gym.vector.VectorEnv:
    """``n_envs`` copies of ``env`` as one ``gymnasium.vector`` env that resets itself in the same step.

    With ``AutoresetMode.SAME_STEP`` the observation returned after an episode
    ends is already the next episode's first one, and the last observation of
    the finished episode is in ``info["final_obs"]`` (needed to bootstrap a
    value at a time limit). An ``Env`` instance cannot be copied, so it is
    accepted only for ``n_envs == 1``. Errors of :func:`make_env` (unknown id
    with close matches) are raised before anything is built.
    """
    check_number("n_envs", n_envs, low=1, integer=True)
    if vectorization not in VECTORIZATION:
        raise ValueError(f"vectorization={vectorization!r} is not allowed; choose one of {', '.join(map(repr, VECTORIZATION))}.")
    if isinstance(env, gym.Env):
        if n_envs != 1:
            raise ValueError(
                f"n_envs={n_envs} needs copies of the env, but an Env instance cannot be copied; "
                "pass its id, a 'package.module:ClassName' entry point or a factory, or use n_envs=1."
            )
        fns = [lambda: env]
    else:
        make_env(env).close()  # a bad id fails here, once, with its close matches
        fns = [lambda: make_env(env) for _ in range(n_envs)]
    cls = gym.vector.SyncVectorEnv if vectorization == "sync" else gym.vector.AsyncVectorEnv
    return cls(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


class EpisodeTracker:
    """Returns and lengths of the episodes finished in a vector env, with when they ended.

    Call :meth:`step` after every vector step with the rewards and done flags
    of shape (n_envs,). ``returns``, ``lengths``, ``end_steps`` (env steps so
    far, all envs counted, when the episode ended) and ``end_seconds`` (wall
    seconds since the tracker was made) grow by one per finished episode.
    ``target`` and ``window``: :attr:`solved_at` is the index of the first
    episode at which the mean of the last ``window`` returns reached ``target``.
    """

    def __init__(self, n_envs: int, *, target: float | None = None, window: int = 100):
        self.running = np.zeros(n_envs)
        self.running_len = np.zeros(n_envs, dtype=np.int64)
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.end_steps: list[int] = []
        self.end_seconds: list[float] = []
        self.steps = 0
        self.target, self.window = target, int(window)
        self.solved_at: int | None = None
        self._start = time.perf_counter()
        self._sum = 0.0  # sum of the last ``window`` returns

    def step(self, rewards: np.ndarray, dones: np.ndarray) -> None:
        self.steps += len(rewards)
        self.running += rewards
        self.running_len += 1
        for i in np.flatnonzero(dones):
            self._finish(float(self.running[i]), int(self.running_len[i]))
            self.running[i], self.running_len[i] = 0.0, 0

    def _finish(self, ret: float, length: int) -> None:
        self.returns.append(ret)
        self.lengths.append(length)
        self.end_steps.append(self.steps)
        self.end_seconds.append(time.perf_counter() - self._start)
        self._sum += ret
        if len(self.returns) > self.window:
            self._sum -= self.returns[-self.window - 1]
        full = len(self.returns) >= self.window
        if self.solved_at is None and self.target is not None and full and self._sum / self.window >= self.target:
            self.solved_at = len(self.returns) - 1

    @property
    def solved(self) -> bool:
        return self.solved_at is not None

    def summary(self) -> dict[str, Any]:
        """``solved_at_steps``/``solved_seconds``/``solved_at_episode`` (None when not solved) and ``episodes``."""
        i = self.solved_at
        return {
            "solved_at_steps": None if i is None else self.end_steps[i],
            "solved_seconds": None if i is None else round(self.end_seconds[i], 3),
            "solved_at_episode": None if i is None else i + 1,
            "episodes": len(self.returns),
        }


def moving_mean(values: np.ndarray, window: int = 100) -> np.ndarray:
    """Mean of the last ``window`` values at each index (fewer at the start); shape of ``values``."""
    v = np.asarray(values, dtype=np.float64)
    c = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


# ----------------------------------------------------------------- spaces


class ObsEncoder:
    """Observations of a Box or Discrete space as float32 feature rows, for a network.

    Box observations are flattened; Discrete ones become one-hot vectors.
    ``size`` is the number of features. Other spaces (Dict, Tuple, MultiDiscrete,
    ...) are refused with their name, since a flat network cannot read them.
    """

    def __init__(self, space: gym.Space, *, who: str = "this agent"):
        if isinstance(space, gym.spaces.Box):
            self.kind, self.shape = "box", tuple(int(s) for s in space.shape)
            self.size = int(np.prod(self.shape)) if self.shape else 1
        elif isinstance(space, gym.spaces.Discrete):
            self.kind, self.shape, self.size = "discrete", (), int(space.n)
            self.start = int(space.start)
        else:
            raise ValueError(
                f"{who} cannot read observations from a {type(space).__name__} space ({space}); "
                "it supports Box and Discrete observation spaces. Flatten the env with "
                "gymnasium.wrappers.FlattenObservation first."
            )

    def __call__(self, obs: Any) -> tuple[np.ndarray, bool]:
        """(features of shape (n, size), whether ``obs`` was a batch)."""
        a = np.asarray(obs)
        if self.kind == "discrete":
            batched = a.ndim == 1
            idx = np.atleast_1d(a).astype(np.int64) - self.start
            if a.ndim > 1 or np.any((idx < 0) | (idx >= self.size)):
                raise ValueError(f"observation {obs!r} is not a state in 0..{self.size - 1} (or an array of them).")
            out = np.zeros((len(idx), self.size), dtype=np.float32)
            out[np.arange(len(idx)), idx] = 1.0
            return out, batched
        if a.shape == self.shape:
            return a.reshape(1, -1).astype(np.float32, copy=False), False
        if a.shape[1:] == self.shape and a.ndim == len(self.shape) + 1:
            return a.reshape(len(a), -1).astype(np.float32, copy=False), True
        raise ValueError(f"observation of shape {a.shape} does not match the env's {self.shape} (or (n, *{self.shape}) for a batch).")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "size": self.size, "start": getattr(self, "start", 0)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ObsEncoder:
        if d["kind"] == "box":
            return cls(gym.spaces.Box(-np.inf, np.inf, shape=tuple(d["shape"])))
        return cls(gym.spaces.Discrete(int(d["size"]), start=int(d.get("start", 0))))

