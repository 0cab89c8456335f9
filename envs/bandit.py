"""The k-armed bandit testbed of Sutton & Barto, chapter 2, one problem or thousands at once.

Each problem draws its arm means q*(a) ~ N(0, 1) (k = 10 by default); pulling
arm a pays a reward ~ N(q*(a), 1). A drifting problem lets every mean take an
independent random walk, q*(a) += N(0, drift²) after each pull (the
nonstationary case of exercise 2.5).

:class:`Testbed` holds ``runs`` independent problems as arrays of shape
(runs, k) and pulls one arm in each per call, so the book's 2000-run
experiment is a few thousand NumPy operations. :class:`Bandit` is the same
problem as a Gymnasium env (one run): the observation is always 0
(``Discrete(1)``: there is nothing to see), the action is the arm, the
episode never terminates and is cut by the time limit of its registration
(1000 pulls). ``info`` gives ``optimal_action`` (the best arm before the
pull) so a run can report the % of optimal actions.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sandbox.checks import check_number


class Testbed:
    """``runs`` independent k-armed problems, pulled in lockstep.

    Parameters
    ----------
    k : number of arms, >= 2
    runs : number of independent problems, >= 1
    drift : standard deviation of the per-pull random walk of every mean (0: stationary)
    mean : centre of the arm means' distribution
    rng : the generator every draw comes from
    """

    __test__ = False  # its name starts with "Test"; tell pytest it is not a test class

    def __init__(
        self,
        k: int = 10,
        runs: int = 1,
        *,
        drift: float = 0.0,
        mean: float = 0.0,
        rng: np.random.Generator | None = None,
    ):
        self.k = int(check_number("k", k, low=2, integer=True))
        self.runs = int(check_number("runs", runs, low=1, integer=True))
        self.drift = float(check_number("drift", drift, low=0.0))
        self.rng = rng if rng is not None else np.random.default_rng()
        self.q_star = self.rng.normal(
            float(check_number("mean", mean)), 1.0, size=(self.runs, self.k)
        )

    def optimal_action(self) -> np.ndarray:
        """Best arm of each problem right now, shape (runs,)."""
        return self.q_star.argmax(axis=1)

    def pull(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pull ``actions[i]`` in problem i; returns (rewards, was_optimal), both shape (runs,)."""
        actions = np.asarray(actions)
        if actions.shape != (self.runs,) or actions.min() < 0 or actions.max() >= self.k:
            raise ValueError(
                f"actions must have shape ({self.runs},) with arms in [0, {self.k - 1}]; got shape {actions.shape}."
            )
        rows = np.arange(self.runs)
        optimal = actions == self.optimal_action()
        rewards = self.rng.normal(self.q_star[rows, actions], 1.0)
        if self.drift:
            self.q_star += self.rng.normal(0.0, self.drift, size=self.q_star.shape)
        return rewards, optimal


class Bandit(gym.Env):
    """One k-armed bandit problem as a Gymnasium env; a new problem is drawn at every reset.

    Parameters
    ----------
    k : number of arms, >= 2
    drift : random-walk standard deviation of the means per pull (0: stationary)
    mean : centre of the arm means (Sutton & Barto's figure 2.5 uses +4)
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self, k: int = 10, *, drift: float = 0.0, mean: float = 0.0, render_mode: str | None = None
    ):
        self.k = int(check_number("k", k, low=2, integer=True))
        self.drift = float(check_number("drift", drift, low=0.0))
        self.mean = float(check_number("mean", mean))
        if render_mode not in (None, "ansi"):
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; choose None or 'ansi'."
            )
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(1)
        self.action_space = spaces.Discrete(self.k)
        self.testbed: Testbed | None = None
        self._last: tuple[int, float] | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.testbed = Testbed(self.k, 1, drift=self.drift, mean=self.mean, rng=self.np_random)
        self._last = None
        return 0, {"optimal_action": int(self.testbed.optimal_action()[0])}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if self.testbed is None:
            raise RuntimeError("call reset() before step().")
        if not self.action_space.contains(action):
            raise ValueError(
                f"action={action!r} is not an arm; choose an integer in [0, {self.k - 1}]."
            )
        rewards, optimal = self.testbed.pull(np.array([int(action)]))
        self._last = (int(action), float(rewards[0]))
        info = {
            "was_optimal": bool(optimal[0]),
            "optimal_action": int(self.testbed.optimal_action()[0]),
        }
        return 0, float(rewards[0]), False, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.testbed is None:
            return None
        means = " ".join(f"{m:+.2f}" for m in self.testbed.q_star[0])
        last = f"  last: arm {self._last[0]} paid {self._last[1]:+.2f}" if self._last else ""
        return f"arm means: {means}{last}\n"
