"""Gymnasium environments of our own, registered under ``sandbox/`` on import.

    import envs, gymnasium
    env = gymnasium.make("sandbox/GridWorld-v0", map="cliff", slip=0.1)

The ``sandbox.envs`` entry point in pyproject.toml names this package, so
``sandbox.environments.make_env`` (and every experiment that takes an env) finds
these ids without importing anything by hand. Time limits are set here, in
the registration, as Gymnasium does, never inside an env (RandomFrozenLake's
entry point wraps its own, since the limit grows with the map's size).
"""

from __future__ import annotations

import gymnasium as gym

from envs.bandit import Bandit, Testbed
from envs.contextual_bandit import ContextualBandit
from envs.continuous import PointReach
from envs.frozenlake import make_random_frozen_lake
from envs.gridworld import MAPS, GridWorld
from envs.tictactoe import TicTacToe

__all__ = [
    "Bandit",
    "ContextualBandit",
    "GridWorld",
    "MAPS",
    "make_random_frozen_lake",
    "PointReach",
    "Testbed",
    "TicTacToe",
    "REGISTERED",
]

REGISTERED: dict[str, dict] = {
    "sandbox/GridWorld-v0": dict(entry_point="envs.gridworld:GridWorld", max_episode_steps=100),
    "sandbox/CliffGridWorld-v0": dict(
        entry_point="envs.gridworld:GridWorld",
        max_episode_steps=200,
        kwargs={"map": "cliff", "rewards": {"G": 0.0, "C": -100.0}, "step_cost": 1.0},
    ),
    "sandbox/Bandit-v0": dict(entry_point="envs.bandit:Bandit", max_episode_steps=1000),
    "sandbox/DriftingBandit-v0": dict(
        entry_point="envs.bandit:Bandit", max_episode_steps=10_000, kwargs={"drift": 0.01}
    ),
    "sandbox/ContextualBandit-v0": dict(entry_point="envs.contextual_bandit:ContextualBandit"),
    "sandbox/TicTacToe-v0": dict(entry_point="envs.tictactoe:TicTacToe"),
    "sandbox/PointReach-v0": dict(entry_point="envs.continuous:PointReach", max_episode_steps=50),
    # Its time limit depends on the map's size, so the entry point applies it (see envs/frozenlake.py).
    "sandbox/RandomFrozenLake-v0": dict(entry_point="envs.frozenlake:make_random_frozen_lake"),
}
"""Every id this package registers, with its registration arguments."""

for _id, _kwargs in REGISTERED.items():
    if _id not in gym.registry:  # importing twice (e.g. reloads in tests) must not warn
        gym.register(id=_id, **_kwargs)
