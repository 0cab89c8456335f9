"""GridWorld: a grid drawn in ASCII, with walls, holes, cliffs, slip and a step cost.

## Map

One string per row, every row the same length::

    S . . #      S  start (exactly one)
    . # . .      G  goal: the episode ends, reward ``rewards["G"]`` (default +1)
    . . . G      .  floor
                 #  wall: cannot be entered; a move into it (or off the grid) stays put
                 H  hole: the episode ends, reward ``rewards["H"]`` (default 0)
                 C  cliff: reward ``rewards["C"]`` (default -100) and back to the start,
                    the episode goes on (Sutton & Barto's cliff walking)

Spaces between cells are allowed and ignored. Named maps live in ``MAPS``.

## Actions and observations

``Discrete(4)``: 0 left, 1 down, 2 right, 3 up (FrozenLake's numbering). The
observation is the agent's cell, ``row * ncol + col``, in ``Discrete(nrow * ncol)``.

## Dynamics

With probability ``1 - slip`` the agent moves as asked; with ``slip`` it
moves to one of the two perpendicular directions instead (half each).
Every step also pays ``-step_cost``. The transition table ``P[s][a]`` is a
list of ``(probability, next_state, reward, terminated)`` in Gymnasium's
toy-text format, so planners (value and policy iteration) can solve the map
exactly; ``step`` samples from that same table. Terminal cells (goal, hole)
loop on themselves with reward 0.

## Rendering

``"ansi"``: the map as text with the agent as ``@``. ``"rgb_array"``: an
image of shape (nrow * 32, ncol * 32, 3), uint8, drawn with NumPy alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sandbox.checks import check_number

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
MOVES = {LEFT: (0, -1), DOWN: (1, 0), RIGHT: (0, 1), UP: (-1, 0)}
PERPENDICULAR = {LEFT: (DOWN, UP), RIGHT: (DOWN, UP), DOWN: (LEFT, RIGHT), UP: (LEFT, RIGHT)}
CELLS = "SG.#HC"
DEFAULT_REWARDS = {"G": 1.0, "H": 0.0, "C": -100.0}
TERMINAL = "GH"

MAPS: dict[str, list[str]] = {
    "3x3": ["S..", ".#.", "..G"],
    "4x4": ["S...", ".H.H", "...H", "H..G"],
    "5x5": ["S....", ".###.", "...#.", ".#...", ".#.HG"],
    "cliff": ["............", "............", "............", "SCCCCCCCCCCG"],
    "bridge": ["HHHHHHH", "S.....G", "HHHHHHH"],
}

_COLORS = {
    "S": (200, 220, 255),
    "G": (90, 200, 90),
    ".": (235, 235, 235),
    "#": (60, 60, 60),
    "H": (30, 30, 120),
    "C": (170, 60, 60),
}


def parse_map(rows: Sequence[str]) -> np.ndarray:
    """A map as a (nrow, ncol) array of single-character cells; raises ValueError naming what is wrong."""
    if isinstance(rows, str):
        rows = rows.strip().splitlines()
    grid = [[c for c in str(r) if not c.isspace()] for r in rows]
    grid = [r for r in grid if r]
    if not grid:
        raise ValueError("map is empty; give one string per row, e.g. ['S..', '.#.', '..G'].")
    widths = {len(r) for r in grid}
    if len(widths) != 1:
        raise ValueError(
            f"map rows have different lengths {sorted(widths)}; every row must have the same number of cells."
        )
    arr = np.array(grid)
    bad = sorted(set(arr.ravel()) - set(CELLS))
    if bad:
        raise ValueError(
            f"map has unknown cells {bad}; allowed: S start, G goal, . floor, # wall, H hole, C cliff."
        )
    n_start = int((arr == "S").sum())
    if n_start != 1:
        raise ValueError(f"map must have exactly one start 'S'; it has {n_start}.")
    return arr


class GridWorld(gym.Env):
    """A grid from an ASCII map; see the module docstring for cells, dynamics and rewards.

    Parameters
    ----------
    map : a name from ``MAPS`` or a list of row strings
    slip : probability of moving perpendicular to the chosen direction, in [0, 1]
    step_cost : paid on every step (reward ``-step_cost``), >= 0
    rewards : reward on entering a cell type, overriding ``DEFAULT_REWARDS`` (keys G, H, C, '.', S)
    render_mode : None, "ansi" or "rgb_array"
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        map: str | Sequence[str] = "4x4",
        *,
        slip: float = 0.0,
        step_cost: float = 0.0,
        rewards: Mapping[str, float] | None = None,
        render_mode: str | None = None,
    ):
        if isinstance(map, str) and map in MAPS:
            rows = MAPS[map]
        elif isinstance(map, str) and "\n" not in map:
            raise ValueError(
                f"map={map!r} is not a named map; choose one of {', '.join(map_ for map_ in MAPS)} or pass row strings."
            )
        else:
            rows = map
        self.desc = parse_map(rows)
        self.slip = float(check_number("slip", slip, low=0.0, high=1.0))
        self.step_cost = float(check_number("step_cost", step_cost, low=0.0))
        self.rewards = {**DEFAULT_REWARDS, **dict(rewards or {})}
        unknown = set(self.rewards) - set(CELLS)
        if unknown:
            raise ValueError(
                f"rewards has keys {sorted(unknown)} that are not cell types; use some of {list(CELLS)}."
            )
        for k, v in self.rewards.items():
            check_number(f"rewards[{k!r}]", v)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; choose None, 'ansi' or 'rgb_array'."
            )
        self.render_mode = render_mode
        self.nrow, self.ncol = self.desc.shape
        self.start = int(np.flatnonzero(self.desc.ravel() == "S")[0])
        self.observation_space = spaces.Discrete(self.nrow * self.ncol)
        self.action_space = spaces.Discrete(4)
        self.P = self._transition_table()
        self.s = self.start
        self.lastaction: int | None = None

    # ------------------------------------------------------------- dynamics

    def _move(self, s: int, a: int) -> int:
        r, c = divmod(s, self.ncol)
        dr, dc = MOVES[a]
        nr, nc = r + dr, c + dc
        if not (0 <= nr < self.nrow and 0 <= nc < self.ncol) or self.desc[nr, nc] == "#":
            return s
        return nr * self.ncol + nc

    def _outcome(self, s: int, a: int) -> tuple[int, float, bool]:
        s2 = self._move(s, a)
        cell = self.desc.ravel()[s2]
        reward = self.rewards.get(cell, 0.0) - self.step_cost
        if cell == "C":
            return self.start, reward, False
        return s2, reward, cell in TERMINAL

    def _transition_table(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {}
        flat = self.desc.ravel()
        for s in range(self.nrow * self.ncol):
            P[s] = {}
            for a in range(4):
                if flat[s] in TERMINAL or flat[s] == "#":
                    P[s][a] = [(1.0, s, 0.0, True)]
                    continue
                outcomes: dict[tuple[int, float, bool], float] = {}
                choices = [(a, 1.0 - self.slip)] + [(b, self.slip / 2) for b in PERPENDICULAR[a]]
                for b, p in choices:
                    if p > 0:
                        key = self._outcome(s, b)
                        outcomes[key] = outcomes.get(key, 0.0) + p
                P[s][a] = [(p, s2, r, d) for (s2, r, d), p in outcomes.items()]
        return P

    # ------------------------------------------------------------- Gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.s = self.start
        self.lastaction = None
        return int(self.s), {"prob": 1.0}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(
                f"action={action!r} is not in {self.action_space} (0 left, 1 down, 2 right, 3 up)."
            )
        transitions = self.P[self.s][int(action)]
        i = (
            int(self.np_random.choice(len(transitions), p=[t[0] for t in transitions]))
            if len(transitions) > 1
            else 0
        )
        p, s2, r, terminated = transitions[i]
        self.s = s2
        self.lastaction = int(action)
        cell = self.desc.ravel()[s2]
        return (
            int(s2),
            float(r),
            bool(terminated),
            False,
            {"prob": float(p), "is_success": bool(terminated and cell == "G")},
        )

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self._ansi()
        if self.render_mode == "rgb_array":
            return self._rgb()
        return None

    def _ansi(self) -> str:
        rows = [list(r) for r in self.desc]
        r, c = divmod(self.s, self.ncol)
        rows[r][c] = "@"
        head = (
            f"  ({['Left', 'Down', 'Right', 'Up'][self.lastaction]})\n"
            if self.lastaction is not None
            else ""
        )
        return head + "\n".join("".join(row) for row in rows) + "\n"

    def _rgb(self, cell: int = 32) -> np.ndarray:
        img = np.zeros((self.nrow * cell, self.ncol * cell, 3), dtype=np.uint8)
        for (r, c), ch in np.ndenumerate(self.desc):
            img[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell] = _COLORS[ch]
            img[r * cell, c * cell : (c + 1) * cell] = 150  # grid lines
            img[r * cell : (r + 1) * cell, c * cell] = 150
        r, c = divmod(self.s, self.ncol)
        yy, xx = np.mgrid[0:cell, 0:cell]
        disc = (yy - cell / 2 + 0.5) ** 2 + (xx - cell / 2 + 0.5) ** 2 <= (cell * 0.35) ** 2
        img[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell][disc] = (230, 140, 20)
        return img
