"""Tic-tac-toe against a random player, a perfect minimax player, or oneself.

## Board and observation

Cells are numbered 0..8 row by row. The observation is the board *as seen by
the player about to act*: each cell is 0 (empty), 1 (mine) or 2 (theirs), read
as a base-3 number, ``sum(cell[i] * 3**i)``, in ``Discrete(3**9)``. Seeing the
board from the mover's side lets one Q-table play both X and O, which is what
self-play needs. :func:`decode` turns an observation back into a board.

## Actions and rewards

``Discrete(9)``: the cell to mark. ``info["action_mask"]`` (int8, shape (9,))
marks the legal cells for the next move. An illegal move (an occupied cell)
ends the episode with reward ``illegal_reward`` (default -1) for the player
who made it.

- ``opponent="random"`` or ``"minimax"``: the agent plays one side and the
  built-in opponent answers inside ``step``. The agent moves first if
  ``agent_first`` is True, second if False, and by a coin flip at each reset
  if None. The final reward is +1 (agent wins), -1 (agent loses) or 0 (draw);
  ``info["outcome"]`` says which. Minimax plays perfectly and prefers the
  quickest win; it chooses uniformly among equally good moves.
- ``opponent="self"``: two-player mode; every ``step`` is a move by whoever is
  to play (X first), the reward is +1 to that player when its move wins and 0
  otherwise, and the next observation is from the other player's side.
  ``self_play`` is True, which is what self-play learners look for.

The board looks the same turned or mirrored, so a position and its 7
symmetric copies have the same values; ``symmetries()`` gives the index maps
for learners that want to learn all 8 at once.
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sandbox.checks import check_choice, check_number

OPPONENTS = ("random", "minimax", "self")
LINES = np.array(
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]]
)
POWERS = 3 ** np.arange(9)
_POW = POWERS.tolist()
_LINE_TUPLES = [tuple(line) for line in LINES.tolist()]


def winner(board: np.ndarray) -> int:
    """1 or 2 if that player has three in a row, else 0. ``board``: shape (9,), 0 empty, 1 X, 2 O."""
    b = (
        board.tolist()
    )  # plain ints: eight lines checked in Python beat NumPy's per-call overhead here
    for i, j, k in _LINE_TUPLES:
        if b[i] and b[i] == b[j] == b[k]:
            return b[i]
    return 0


def encode(board: np.ndarray, player: int) -> int:
    """The observation of ``board`` seen by ``player`` (1 or 2): own marks 1, the other's 2."""
    return sum(
        _POW[i] * (0 if c == 0 else 1 if c == player else 2) for i, c in enumerate(board.tolist())
    )


def decode(obs: int) -> np.ndarray:
    """Board of shape (9,) from an observation: 0 empty, 1 the mover's marks, 2 the other's."""
    return (int(obs) // POWERS) % 3


@functools.cache
def _negamax(cells: bytes) -> int:
    """Value for the player to move (marked 1 in ``cells``, the other 2): +(10 - marks) for a win."""
    scores = _move_scores(cells)
    return max(scores.values()) if scores else 0


@functools.cache
def _move_scores(cells: bytes) -> dict[int, int]:
    board = np.frombuffer(cells, dtype=np.int8)
    scores = {}
    for a in np.flatnonzero(board == 0):
        nxt = board.copy()
        nxt[a] = 1
        if winner(nxt) == 1:
            scores[int(a)] = 10 - int((nxt != 0).sum())
        elif (nxt != 0).all():
            scores[int(a)] = 0
        else:
            swapped = np.where(nxt == 0, 0, 3 - nxt).astype(np.int8)
            scores[int(a)] = -_negamax(swapped.tobytes())
    return scores


def minimax_moves(board: np.ndarray, player: int) -> list[int]:
    """Every best move for ``player`` on ``board`` (absolute marks 1/2), under perfect play."""
    rel = np.where(board == 0, 0, np.where(board == player, 1, 2)).astype(np.int8)
    scores = _move_scores(rel.tobytes())
    best = max(scores.values())
    return [a for a, s in scores.items() if s == best]


@functools.cache
def symmetry_maps() -> tuple[np.ndarray, np.ndarray]:
    """The board's 8 symmetries (rotations and reflections) as index maps.

    Returns (states, actions): ``states[k, obs]`` is the observation ``obs``
    turned by symmetry k, shape (8, 3**9); ``actions[k, a]`` is where cell ``a``
    lands, shape (8, 9). Symmetry 0 is the identity.
    """
    grid = np.arange(9).reshape(3, 3)
    perms = [
        np.rot90(g, k).ravel() for g in (grid, grid.T) for k in range(4)
    ]  # new[i] = old[perm[i]]
    boards = (np.arange(3**9)[:, None] // POWERS) % 3
    states = np.stack([boards[:, p] @ POWERS for p in perms])
    actions = np.stack([np.argsort(p) for p in perms])
    return states, actions


class TicTacToe(gym.Env):
    """Tic-tac-toe; see the module docstring for observations, rewards and opponents.

    Parameters
    ----------
    opponent : "random", "minimax" or "self"
    agent_first : True (agent plays X), False (O), or None (a coin flip per episode);
        ignored when ``opponent="self"``
    illegal_reward : reward for marking an occupied cell (the episode ends), <= 0
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        opponent: str = "random",
        *,
        agent_first: bool | None = None,
        illegal_reward: float = -1.0,
        render_mode: str | None = None,
    ):
        self.opponent = check_choice("opponent", opponent, OPPONENTS)
        if agent_first not in (True, False, None):
            raise ValueError(
                f"agent_first={agent_first!r} must be True, False or None (a coin flip each episode)."
            )
        self.agent_first = agent_first
        self.illegal_reward = float(check_number("illegal_reward", illegal_reward, high=0.0))
        if render_mode not in (None, "ansi"):
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; choose None or 'ansi'."
            )
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(3**9)
        self.action_space = spaces.Discrete(9)
        self.board = np.zeros(9, dtype=np.int8)
        self.to_move = 1
        self.agent = 1
        self.over = True  # until reset

    @property
    def self_play(self) -> bool:
        return self.opponent == "self"

    def symmetries(self) -> tuple[np.ndarray, np.ndarray]:
        """Index maps of the 8 board symmetries, for learners that share values across them (see :func:`symmetry_maps`)."""
        return symmetry_maps()

    def action_mask(self) -> np.ndarray:
        """1 where the next move may go, shape (9,), int8."""
        return (self.board == 0).astype(np.int8)

    def _obs_info(self, **info: Any) -> tuple[int, dict[str, Any]]:
        info.update(action_mask=self.action_mask(), to_move=self.to_move)
        return encode(self.board, self.to_move), info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.board[:] = 0
        self.to_move = 1
        self.over = False
        if self.self_play:
            self.agent = 1
            return self._obs_info()
        first = (
            self.agent_first if self.agent_first is not None else bool(self.np_random.integers(2))
        )
        self.agent = 1 if first else 2
        if not first:
            self._place(self._opponent_move())
        return self._obs_info()

    def _place(self, cell: int) -> None:
        self.board[cell] = self.to_move
        self.to_move = 3 - self.to_move

    def _opponent_move(self) -> int:
        if self.opponent == "minimax":
            moves = minimax_moves(self.board, self.to_move)
        else:
            moves = np.flatnonzero(self.board == 0).tolist()
        return int(moves[int(self.np_random.integers(len(moves)))])

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if not (isinstance(action, int | np.integer) and 0 <= action < 9):
            raise ValueError(f"action={action!r} is not a cell; choose an integer in [0, 8].")
        if self.over:
            raise RuntimeError("the game is over; call reset() before step().")
        a = int(action)
        if self.board[a] != 0:
            self.over = True
            obs, info = self._obs_info(illegal_move=True, outcome="loss")
            return obs, self.illegal_reward, True, False, info
        mover = self.to_move
        self._place(a)
        done, reward, info = self._result(mover)
        if done or self.self_play:
            obs, info = self._obs_info(**info)
            return obs, reward, done, False, info
        self._place(self._opponent_move())
        done, reward, info = self._result(self.agent)
        obs, info = self._obs_info(**info)
        return obs, reward, done, False, info

    def _result(self, player: int) -> tuple[bool, float, dict[str, Any]]:
        """(game over, reward for ``player``, info) after the last move."""
        w = winner(self.board)
        self.over = bool(w) or bool((self.board != 0).all())
        if w:
            return (
                True,
                1.0 if w == player else -1.0,
                {"outcome": "win" if w == player else "loss", "winner": w},
            )
        if (self.board != 0).all():
            return True, 0.0, {"outcome": "draw", "winner": 0}
        return False, 0.0, {}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        sym = np.array([".", "X", "O"])[self.board].reshape(3, 3)
        return "\n".join(" ".join(r) for r in sym) + "\n"
