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
import time
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


def reason_from(check: Callable[[], Any]) -> str | None:
    """Run a check that raises ValueError when an env will not do; its message, or None when it passes."""
    try:
        check()
    except ValueError as exc:
        return str(exc)
    return None


def require_env_support(learner: Any, env: gym.Env) -> None:
    """Raise ValueError with the learner's own reason when it cannot run on ``env`` (see ``Learner.env_support``)."""
    cls = learner if isinstance(learner, type) else type(learner)
    reason = cls.env_support(env) if cls.declares_env_support() else None  # undeclared: its fit checks for itself
    if reason is not None:
        raise ValueError(f"{cls.__name__} cannot run on {env_name(env)}: {reason}.")

# ------------------------------------------------------------ vector envs


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
