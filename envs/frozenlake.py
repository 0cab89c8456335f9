"""FrozenLake on a generated map: Gymnasium's ``FrozenLakeEnv`` on ``generate_random_map``.

::

    env = gymnasium.make("sandbox/RandomFrozenLake-v0", size=8, map_seed=3)
    env.unwrapped.desc     # the map, as FrozenLakeEnv holds it
    env.unwrapped.P        # the transition table: ValueIteration solves the map exactly

The map is ``generate_random_map(size=size, p=p, seed=map_seed)``: every tile
frozen with probability ``p``, a hole otherwise, redrawn until a path leads from
the start (top left) to the goal (bottom right). The same ``map_seed`` always
gives the same map; the episodes' randomness (the slips) comes from ``reset(seed=...)``
as in every Gymnasium env. Everything else is FrozenLake's: reward 1 at the goal,
0 elsewhere, and on ice (``is_slippery=True``) the agent moves as asked with
probability 1/3 and to either side with 1/3 each.

The time limit grows with the map as Gymnasium's own maps have it: 100 steps
for 4x4 (``FrozenLake-v1``), 200 for 8x8 (``FrozenLake8x8-v1``), ``25 * size`` in
general (:func:`time_limit_for`). Since it depends on ``size``, the entry point
(:func:`make_random_frozen_lake`) applies the ``TimeLimit`` itself rather than the
registration; ``gymnasium.make(..., max_episode_steps=N)`` can only shorten it.
"""

from __future__ import annotations

import gymnasium as gym
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv, generate_random_map
from gymnasium.wrappers import TimeLimit

from sandbox.checks import check_number

MAX_SIZE = 64
"""The largest side accepted: a 64 x 64 map is 4,096 states already."""


def time_limit_for(size: int) -> int:
    """The episode step limit of a ``size`` x ``size`` map: 100 for 4x4, 200 for 8x8, as Gymnasium's maps."""
    return 25 * int(size)


def random_map(size: int = 8, map_seed: int = 0, p: float = 0.8) -> list[str]:
    """The generated map (one string per row), after checking the arguments; see the module docstring."""
    check_number("size", size, low=2, high=MAX_SIZE, integer=True)
    check_number("map_seed", map_seed, low=0, integer=True)
    # Below 0.5 a map with a path to the goal is so rare that drawing one can take minutes.
    check_number("p", p, low=0.5, high=1.0)
    return generate_random_map(size=int(size), p=float(p), seed=int(map_seed))


def make_random_frozen_lake(
    size: int = 8,
    map_seed: int = 0,
    p: float = 0.8,
    is_slippery: bool = True,
    render_mode: str | None = None,
) -> gym.Env:
    """The entry point of ``sandbox/RandomFrozenLake-v0``: a FrozenLakeEnv on the generated map,
    limited to :func:`time_limit_for` ``(size)`` steps per episode."""
    if not isinstance(is_slippery, bool):
        raise ValueError(f"is_slippery={is_slippery!r} must be True or False.")
    env = FrozenLakeEnv(
        render_mode=render_mode, desc=random_map(size, map_seed, p), is_slippery=is_slippery
    )
    return TimeLimit(env, max_episode_steps=time_limit_for(size))
