"""Environment wrappers shared by every paradigm.

:class:`Discretize` turns a Box observation space (and, optionally, a Box action
space) into a ``Discrete`` one, so the tabular agents of :mod:`agents.tabular`
can run on CartPole, MountainCar, Pendulum and friends::

    env = Discretize(gym.make("MountainCar-v0"), bins=(18, 14))
    agent = QLearning(...).fit(env, episodes=5_000)

    env = Discretize(gym.make("CartPole-v1"), bins=(1, 1, 8, 8),
                     low=(-2.4, -3.0, -0.21, -3.5), high=(2.4, 3.0, 0.21, 3.5))

:class:`FlattenDiscrete` turns a ``Tuple`` or ``Dict`` observation space of
``Discrete`` parts (Blackjack's (player sum, dealer card, usable ace)) into one
``Discrete`` index; the tabular agents apply it by themselves::

    env = FlattenDiscrete(gym.make("Blackjack-v1"))   # Discrete(704)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sandbox.environments import env_name, make_env


def discrete_parts(space: gym.Space) -> list[spaces.Discrete] | None:
    """The Discrete parts of a Tuple or Dict space (nested ones too, Dict keys in the space's order),
    or None when some part is not Discrete or the space is neither a Tuple nor a Dict."""
    if isinstance(space, spaces.Discrete):
        return [space]
    if isinstance(space, spaces.Tuple | spaces.Dict):
        parts: list[spaces.Discrete] = []
        for sub in space.spaces.values() if isinstance(space, spaces.Dict) else space.spaces:
            inner = discrete_parts(sub)
            if inner is None:
                return None
            parts.extend(inner)
        return parts if parts else None
    return None


class FlattenDiscrete(gym.ObservationWrapper):
    """A ``Tuple`` or ``Dict`` observation of ``Discrete`` parts as one ``Discrete`` index.

    Parts (n_1, ..., n_k) with values (v_1, ..., v_k) become the mixed-radix index
    ``(v_1 - start_1) * n_2 * ... * n_k + ... + (v_k - start_k)`` in
    ``Discrete(n_1 * ... * n_k)``; :meth:`index` does the same for one raw
    observation, so a policy learned on the wrapped env can act on raw ones.
    Nested Tuples and Dicts are read depth first, Dict parts in the space's key order.

    Parameters
    ----------
    env : a Gymnasium env (or id) whose observation space is a Tuple or Dict of Discrete parts
    """

    def __init__(self, env: gym.Env | str):
        env = make_env(env)
        parts = (
            None
            if isinstance(env.observation_space, spaces.Discrete)
            else discrete_parts(env.observation_space)
        )
        if parts is None:
            raise ValueError(
                f"FlattenDiscrete takes a Tuple or Dict observation space whose parts are all Discrete; "
                f"{env_name(env)} has {env.observation_space}."
            )
        super().__init__(env)
        self.sizes = [int(p.n) for p in parts]
        self.starts = [int(p.start) for p in parts]
        self._radix = [math.prod(self.sizes[i + 1 :]) for i in range(len(parts))]
        self.observation_space = spaces.Discrete(math.prod(self.sizes))

    def index(self, observation: Any) -> int:
        """The Discrete index of one raw Tuple (tuple) or Dict (dict) observation."""
        values = _leaves(self.env.observation_space, observation)
        if values is None or len(values) != len(self.sizes):
            raise ValueError(
                f"observation {observation!r} does not match {self.env.observation_space}."
            )
        out = 0
        for v, n, start, radix in zip(values, self.sizes, self.starts, self._radix):
            i = int(v) - start
            if not 0 <= i < n:
                raise ValueError(
                    f"observation {observation!r} does not match {self.env.observation_space}."
                )
            out += i * radix
        return out

    def observation(self, observation: Any) -> int:
        return self.index(observation)


def _leaves(space: gym.Space, obs: Any) -> list[Any] | None:
    if isinstance(space, spaces.Discrete):
        return [obs] if isinstance(obs, int | np.integer) and not isinstance(obs, bool) else None
    if isinstance(space, spaces.Dict):
        if not isinstance(obs, dict):
            return None
        pairs = [(space[k], obs.get(k)) for k in space.spaces]
    elif isinstance(obs, tuple | list) and len(obs) == len(space.spaces):
        pairs = list(zip(space.spaces, obs))
    else:
        return None
    out: list[Any] = []
    for sub, o in pairs:
        inner = _leaves(sub, o)
        if inner is None:
            return None
        out.extend(inner)
    return out


class Discretize(gym.Wrapper):
    """Cut a Box observation space into a grid of cells; each cell is one Discrete state.

    Parameters
    ----------
    env : a Gymnasium env (or id) with a Box observation space of shape (d,)
        (any shape is flattened), or a Discrete one (left as it is)
    bins : cells per dimension: one int for all d dimensions, or d ints (>= 1;
        1 ignores that dimension)
    low, high : the grid's bounds per dimension (a number or d numbers). ``None``
        takes the space's own bound, which must then be finite: CartPole's
        velocities are unbounded, so give them explicitly. Values outside
        [low, high] fall into the first or last cell.
    action_bins : for a Box action space of shape (k,), the number of evenly
        spaced values per action dimension (an int or k ints >= 2, including both
        bounds); the action space becomes Discrete(prod(action_bins)). ``None``
        leaves the action space alone.

    The observation of cell (i_1, ..., i_d) is the mixed-radix number
    ``i_1 * bins[2]*...*bins[d] + ... + i_d``; :meth:`cell` gives the indices
    back and :meth:`cell_centre` the point in the middle of the cell.
    """

    def __init__(
        self,
        env: gym.Env | str,
        bins: int | Sequence[int] = 10,
        low: float | Sequence[float] | None = None,
        high: float | Sequence[float] | None = None,
        *,
        action_bins: int | Sequence[int] | None = None,
    ):
        env = make_env(env)
        super().__init__(env)
        self._obs_grid = None
        if isinstance(env.observation_space, spaces.Box):
            box = env.observation_space
            d = int(np.prod(box.shape))
            self.bins = _per_dim("bins", bins, d, integer=True, low=1)
            self.low = _bounds("low", low, box.low.reshape(-1), d, env)
            self.high = _bounds("high", high, box.high.reshape(-1), d, env)
            bad = np.flatnonzero(self.high <= self.low)
            if bad.size:
                i = int(bad[0])
                raise ValueError(
                    f"high must exceed low in every dimension; dimension {i} has low={self.low[i]:g}, high={self.high[i]:g}."
                )
            # Interior cut points per dimension; np.searchsorted on them gives the cell index.
            self._cuts = [
                np.linspace(lo, hi, b + 1)[1:-1]
                for lo, hi, b in zip(self.low, self.high, self.bins)
            ]
            self._radix = np.array(
                [math.prod(self.bins[i + 1 :]) for i in range(d)], dtype=np.int64
            )
            self.observation_space = spaces.Discrete(math.prod(self.bins))
            self._obs_grid = True
        elif not isinstance(env.observation_space, spaces.Discrete):
            raise ValueError(
                f"Discretize takes a Box or Discrete observation space; {env_name(env)} has {env.observation_space}."
            )
        self._actions = None
        if action_bins is not None:
            self._actions = _action_grid(env, action_bins)
            self.action_space = spaces.Discrete(len(self._actions))

    def cell(self, observation: Any) -> tuple[int, ...]:
        """The grid indices (one per dimension) of a raw observation."""
        self._need_grid("cell")
        x = np.asarray(observation, dtype=np.float64).reshape(-1)
        return tuple(int(np.searchsorted(c, v, side="right")) for c, v in zip(self._cuts, x))

    def cell_centre(self, state: int) -> np.ndarray:
        """The raw observation at the centre of Discrete state ``state``, shape (d,)."""
        self._need_grid("cell_centre")
        idx = (int(state) // self._radix) % np.asarray(self.bins)
        width = (self.high - self.low) / np.asarray(self.bins)
        return self.low + (idx + 0.5) * width

    def _need_grid(self, what: str) -> None:
        if self._obs_grid is None:
            raise ValueError(
                f"{what}() is for a gridded Box observation space; {env_name(self.env)}'s is already Discrete."
            )

    def observation(self, observation: Any) -> int:
        if self._obs_grid is None:
            return observation
        return int(np.dot(self.cell(observation), self._radix))

    def reset(self, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return self.observation(obs), info

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if self._actions is not None:
            if not (isinstance(action, int | np.integer) and 0 <= action < len(self._actions)):
                raise ValueError(
                    f"action={action!r} is not in this Discretize's action space, Discrete({len(self._actions)})."
                )
            action = self._actions[int(action)]
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self.observation(obs), reward, terminated, truncated, info


def _per_dim(name: str, value: Any, d: int, *, integer: bool, low: float) -> list:
    items = (
        [value] * d
        if isinstance(value, numbers.Real)
        else list(value)
        if isinstance(value, Sequence | np.ndarray)
        else None
    )
    if items is None or len(items) != d:
        raise ValueError(
            f"{name}={value!r} must be one {'integer' if integer else 'number'} or a sequence of {d} (one per dimension)."
        )
    for v in items:
        ok = (
            isinstance(v, numbers.Integral if integer else numbers.Real)
            and not isinstance(v, bool)
            and v >= low
        )
        if not ok:
            raise ValueError(
                f"{name}={value!r}: every entry must be {'an integer' if integer else 'a number'} >= {low}."
            )
    return [int(v) for v in items] if integer else [float(v) for v in items]


def _bounds(name: str, given: Any, own: np.ndarray, d: int, env: gym.Env) -> np.ndarray:
    if given is None:
        values = own.astype(np.float64)
    else:
        values = np.array(_per_dim(name, given, d, integer=False, low=-math.inf), dtype=np.float64)
    missing = np.flatnonzero(~np.isfinite(values))
    if missing.size:
        raise ValueError(
            f"{env_name(env)}'s observation space is unbounded in dimensions {missing.tolist()}, so Discretize cannot "
            f"place a grid there; pass finite {name}=(...) with {d} numbers (e.g. {name}={tuple(np.round(np.where(np.isfinite(values), values, 0), 3).tolist())} "
            "with the infinite ones replaced by a range the env actually visits)."
        )
    return values


def _action_grid(env: gym.Env, action_bins: Any) -> list[np.ndarray]:
    box = env.action_space
    if not isinstance(box, spaces.Box):
        raise ValueError(f"action_bins is for a Box action space; {env_name(env)} has {box}.")
    k = int(np.prod(box.shape))
    counts = _per_dim("action_bins", action_bins, k, integer=True, low=2)
    lo, hi = box.low.reshape(-1), box.high.reshape(-1)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(
            f"{env_name(env)}'s action space {box} is unbounded; Discretize needs finite action bounds."
        )
    axes = [np.linspace(a, b, n) for a, b, n in zip(lo, hi, counts)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, k)
    return [row.astype(box.dtype).reshape(box.shape) for row in grid]
