"""Vector envs and the plumbing of the deep agents: env copies, episode tracking, observation encoding."""

from __future__ import annotations

import copy
import importlib
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from sandbox.checks import check_number
from sandbox.environments import make_env

VECTORIZATION = ("sync", "async")


class Budget:
    """A deep agent's training budget: exactly one of ``steps`` (env steps, all env copies counted) or
    ``episodes`` (finished episodes); neither: ``default_steps``. ``target_return`` and ``window``: stop
    early once the mean return of the last ``window`` training episodes reaches the target."""

    def __init__(
        self,
        steps: int | None,
        episodes: int | None,
        *,
        default_steps: int,
        target_return: float | None = None,
        window: int = 100,
    ):
        if steps is not None and episodes is not None:
            raise ValueError(
                f"give one budget, steps or episodes, not both (got steps={steps!r}, episodes={episodes!r})."
            )
        if episodes is None:
            steps = default_steps if steps is None else steps
            check_number("steps", steps, low=1, integer=True)
            self.unit, self.total = "steps", int(steps)
        else:
            check_number("episodes", episodes, low=1, integer=True)
            self.unit, self.total = "episodes", int(episodes)
        if target_return is not None:
            check_number("target_return", target_return)
        check_number("window", window, low=1, integer=True)
        self.target_return, self.window = target_return, int(window)

    def done(self, tracker: EpisodeTracker) -> int:
        """Units of the budget used so far."""
        return tracker.steps if self.unit == "steps" else len(tracker.returns)

    def fraction(self, tracker: EpisodeTracker) -> float:
        """The fraction of the budget used, in [0, 1] (what schedules over the budget follow)."""
        return min(1.0, self.done(tracker) / self.total)

    def spent(self, tracker: EpisodeTracker) -> bool:
        return self.done(tracker) >= self.total


# Env ids whose "sync" vector env is one that steps every copy at once and returns bit for bit what
# a SyncVectorEnv of gym.make(id) returns (each is tested against it): the entry point, imported
# when first used.
BATCHED = {"Acrobot-v1": "envs.acrobot:AcrobotVectorEnv"}


def _batched(env_id: str) -> Callable[[int], gym.vector.VectorEnv]:
    module, _, name = BATCHED[env_id].partition(":")
    return getattr(importlib.import_module(module), name)


def make_vec_env(
    env: str | gym.Env | gym.vector.VectorEnv | Callable[..., gym.Env],
    n_envs: int,
    *,
    vectorization: str = "sync",
) -> gym.vector.VectorEnv:
    """``n_envs`` copies of ``env`` as one ``gymnasium.vector`` env that resets itself in the same step.

    With ``AutoresetMode.SAME_STEP`` the observation returned after an episode
    ends is already the next episode's first one, and the last observation of
    the finished episode is in ``info["final_obs"]`` (needed to bootstrap a
    value at a time limit). An ``Env`` instance cannot be copied, so it is
    accepted only for ``n_envs == 1``. A vector env the caller built
    (``SyncVectorEnv``, ``AsyncVectorEnv``, ``gym.make_vec``) is used with its
    own number of envs, through :func:`same_step_resets`. An id in :data:`BATCHED` with
    ``vectorization="sync"`` gets its batched vector env (the same numbers, faster). Errors of
    :func:`make_env` (unknown id with close matches) are raised before anything is built.
    """
    if isinstance(env, gym.vector.VectorEnv):
        return same_step_resets(env)
    check_number("n_envs", n_envs, low=1, integer=True)
    if vectorization not in VECTORIZATION:
        raise ValueError(
            f"vectorization={vectorization!r} is not allowed; choose one of {', '.join(map(repr, VECTORIZATION))}."
        )
    if isinstance(env, gym.Env):
        if n_envs != 1:
            raise ValueError(
                f"n_envs={n_envs} needs copies of the env, but an Env instance cannot be copied; "
                "pass its id, a 'package.module:ClassName' entry point, a factory or a vector env, or use n_envs=1."
            )
        fns = [lambda: env]
    elif isinstance(env, str) and env in BATCHED and vectorization == "sync":
        return _batched(env)(n_envs)
    else:
        make_env(env).close()  # a bad id fails here, once, with its close matches
        fns = [lambda: make_env(env) for _ in range(n_envs)]
    cls = gym.vector.SyncVectorEnv if vectorization == "sync" else gym.vector.AsyncVectorEnv
    return cls(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def same_step_resets(vec: gym.vector.VectorEnv) -> gym.vector.VectorEnv:
    """``vec`` with ``AutoresetMode.SAME_STEP`` behaviour, whatever autoreset mode it was built with.

    A SAME_STEP env is returned as it is. A NEXT_STEP env (``gym.make_vec``'s
    default) or a DISABLED one is wrapped so that each env whose episode ended
    is reset in that same step (``reset(options={"reset_mask": ...})``), its
    last observation going to ``info["final_obs"]``. Any other vector env is
    refused with what is accepted.
    """
    mode = vec.metadata.get("autoreset_mode")
    modes = gym.vector.AutoresetMode
    try:
        mode = None if mode is None else modes(mode)
    except ValueError:
        mode = None
    if mode == modes.SAME_STEP:
        return vec
    if mode in (modes.NEXT_STEP, modes.DISABLED):
        return _ResetInSameStep(vec)
    raise ValueError(
        f"a {type(vec).__name__} that does not declare its autoreset mode (metadata['autoreset_mode'] is "
        f"{vec.metadata.get('autoreset_mode')!r}) cannot be used; pass a gymnasium vector env "
        "(SyncVectorEnv, AsyncVectorEnv or gym.make_vec, any autoreset_mode), an env id, a factory or an Env instance."
    )


class _ResetInSameStep(gym.vector.VectorWrapper):
    """Resets each finished env in the step that ended it, as ``AutoresetMode.SAME_STEP`` does."""

    def __init__(self, env: gym.vector.VectorEnv):
        super().__init__(env)
        self.metadata = {**env.metadata, "autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}

    def step(self, actions: Any) -> tuple[Any, ...]:
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        done = np.asarray(terminated) | np.asarray(truncated)
        if done.any():
            final = np.empty(self.num_envs, dtype=object)
            for i, o in enumerate(gym.vector.utils.iterate(self.observation_space, obs)):
                if done[i]:
                    final[i] = copy.deepcopy(o)  # the buffer behind obs is refilled by the reset
            obs, _ = self.env.reset(options={"reset_mask": done})
            info = {**info, "final_obs": final, "_final_obs": done}
        return obs, rewards, terminated, truncated, info


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
        if (
            self.solved_at is None
            and self.target is not None
            and full
            and self._sum / self.window >= self.target
        ):
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


_FLAT_PARTS = (
    gym.spaces.Box,
    gym.spaces.Discrete,
    gym.spaces.MultiDiscrete,
    gym.spaces.MultiBinary,
)


def _flattenable(space: gym.Space) -> bool:
    if isinstance(space, gym.spaces.Dict):
        return all(_flattenable(s) for s in space.spaces.values())
    if isinstance(space, gym.spaces.Tuple):
        return all(_flattenable(s) for s in space.spaces)
    return isinstance(space, _FLAT_PARTS)


def space_to_dict(space: gym.Space) -> dict[str, Any]:
    """The structure of a flattenable space as plain data (Box bounds are not kept: flattening does not use them)."""
    if isinstance(space, gym.spaces.Dict):
        return {"type": "Dict", "spaces": {k: space_to_dict(s) for k, s in space.spaces.items()}}
    if isinstance(space, gym.spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_dict(s) for s in space.spaces]}
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist(), "start": space.start.tolist()}
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.atleast_1d(space.n).tolist()}
    return {"type": "Box", "shape": list(space.shape)}


def space_from_dict(d: dict[str, Any]) -> gym.Space:
    t = d["type"]
    if t == "Dict":
        return gym.spaces.Dict({k: space_from_dict(v) for k, v in d["spaces"].items()})
    if t == "Tuple":
        return gym.spaces.Tuple([space_from_dict(v) for v in d["spaces"]])
    if t == "Discrete":
        return gym.spaces.Discrete(d["n"], start=d["start"])
    if t == "MultiDiscrete":
        return gym.spaces.MultiDiscrete(d["nvec"], start=d["start"])
    if t == "MultiBinary":
        n = d["n"]
        return gym.spaces.MultiBinary(n[0] if len(n) == 1 else n)
    return gym.spaces.Box(-np.inf, np.inf, shape=tuple(d["shape"]), dtype=np.float32)


def _first_leaf(space: gym.Space, obs: Any) -> tuple[gym.Space, Any]:
    while isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)):
        key = next(iter(space.spaces)) if isinstance(space, gym.spaces.Dict) else 0
        space, obs = space.spaces[key], obs[key]
    return space, obs


class ObsEncoder:
    """Observations as float32 feature rows, for a network.

    Box observations are flattened; Discrete ones become one-hot vectors; Dict,
    Tuple, MultiDiscrete and MultiBinary ones (of Box, Discrete, MultiDiscrete and
    MultiBinary parts) are flattened by ``gymnasium.spaces.flatten`` (Discrete parts
    one-hot). ``size`` is the number of features. Other spaces are refused with
    their name. A NaN or infinite observation is refused with a ValueError.
    """

    def __init__(self, space: gym.Space, *, who: str = "this agent"):
        if isinstance(space, gym.spaces.Box):
            self.kind, self.shape = "box", tuple(int(s) for s in space.shape)
            self.size = int(np.prod(self.shape)) if self.shape else 1
        elif isinstance(space, gym.spaces.Discrete):
            self.kind, self.shape, self.size = "discrete", (), int(space.n)
            self.start = int(space.start)
        elif _flattenable(space):
            self.kind, self.shape, self.space = "flat", (), space
            self.size = int(gym.spaces.flatdim(space))
            self._batched: dict[int, gym.Space] = {}
        else:
            raise ValueError(
                f"{who} cannot read observations from a {type(space).__name__} space ({space}); "
                "it supports Box, Discrete, MultiDiscrete and MultiBinary observations, and Dict or Tuple "
                "observations made of those (flattened)"
            )

    def __call__(self, obs: Any, *, finite: bool = True) -> tuple[np.ndarray, bool]:
        """(features of shape (n, size), whether ``obs`` was a batch); ``finite``: refuse NaN or inf."""
        if self.kind == "flat":
            x, batched = self._flatten(obs)
        elif self.kind == "discrete":
            a = np.asarray(obs)
            batched = a.ndim == 1
            idx = np.atleast_1d(a).astype(np.int64) - self.start
            if a.ndim > 1 or np.any((idx < 0) | (idx >= self.size)):
                raise ValueError(
                    f"observation {obs!r} is not a state in 0..{self.size - 1} (or an array of them)."
                )
            x = np.zeros((len(idx), self.size), dtype=np.float32)
            x[np.arange(len(idx)), idx] = 1.0
            return x, batched
        else:
            a = np.asarray(obs)
            if a.shape == self.shape:
                x, batched = a.reshape(1, -1).astype(np.float32, copy=False), False
            elif a.shape[1:] == self.shape and a.ndim == len(self.shape) + 1:
                x, batched = a.reshape(len(a), -1).astype(np.float32, copy=False), True
            else:
                raise ValueError(
                    f"observation of shape {a.shape} does not match the env's {self.shape} (or (n, *{self.shape}) for a batch)."
                )
        if finite and not np.isfinite(x).all():
            raise ValueError(
                "the observation holds NaN or infinite values; a network cannot act on it."
            )
        return x, batched

    def _flatten(self, obs: Any) -> tuple[np.ndarray, bool]:
        leaf_space, leaf = _first_leaf(self.space, obs)
        single = np.ndim(leaf) == (
            0 if isinstance(leaf_space, gym.spaces.Discrete) else len(leaf_space.shape)
        )
        if single:
            return gym.spaces.flatten(self.space, obs).astype(np.float32)[None], False
        n = len(leaf)
        if n not in self._batched:
            self._batched[n] = gym.vector.utils.batch_space(self.space, n)
        rows = [
            gym.spaces.flatten(self.space, o)
            for o in gym.vector.utils.iterate(self._batched[n], obs)
        ]
        return np.stack(rows).astype(np.float32), True

    def to_dict(self) -> dict[str, Any]:
        d = {
            "kind": self.kind,
            "shape": list(self.shape),
            "size": self.size,
            "start": getattr(self, "start", 0),
        }
        if self.kind == "flat":
            d["space"] = space_to_dict(self.space)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ObsEncoder:
        if d["kind"] == "box":
            return cls(gym.spaces.Box(-np.inf, np.inf, shape=tuple(d["shape"])))
        if d["kind"] == "flat":
            return cls(space_from_dict(d["space"]))
        return cls(gym.spaces.Discrete(int(d["size"]), start=int(d.get("start", 0))))
