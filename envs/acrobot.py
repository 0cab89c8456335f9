"""Gymnasium's Acrobot-v1, many copies stepped at once in NumPy.

Acrobot's step integrates its dynamics with a Runge-Kutta step written for
one state, about forty NumPy scalar operations four times over; in a
``SyncVectorEnv`` of sixteen copies that costs more than the learner.
:class:`AcrobotVectorEnv` runs the same equations on a column per copy, in
the same order of operations, so that it returns bit for bit what
``SyncVectorEnv([gym.make("Acrobot-v1")] * n, autoreset_mode=SAME_STEP)``
returns for the same seeds and actions (``tests/envs/test_acrobot.py`` holds
it to that): the same observations, rewards, terminations, 500-step
truncations, ``final_obs`` and next-episode starts, each copy with its own
random generator seeded as the ``SyncVectorEnv`` seeds its envs.

``sandbox.vector.make_vec_env`` uses it for ``"Acrobot-v1"`` with
``vectorization="sync"``; a user can build one directly::

    from envs.acrobot import AcrobotVectorEnv
    agent.fit(AcrobotVectorEnv(16))
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.acrobot import AcrobotEnv
from gymnasium.utils import seeding
from gymnasium.vector.utils import batch_space

from sandbox.checks import check_number

__all__ = ["AcrobotVectorEnv", "MAX_EPISODE_STEPS"]

MAX_EPISODE_STEPS = 500  # Acrobot-v1's registered time limit
_E = AcrobotEnv  # the constants, read from Gymnasium's class so that they cannot drift
_TORQUE = np.asarray(_E.AVAIL_TORQUE, dtype=np.float64)


def _dsdt(s: np.ndarray) -> np.ndarray:
    """AcrobotEnv._dsdt ("book" dynamics) for a column per copy: ``s`` is (5, n), the state's four
    rows and the torque's.

    The expressions are Gymnasium's, in its order (a cosine or sine it computes twice is computed
    once here: the same number); a square of a state variable is ``np.float_power`` because
    Gymnasium squares NumPy scalars, which calls C ``pow``, where ``x ** 2`` on an array multiplies
    (they differ in the last bit for about 1 in 1000 values, and Acrobot is chaotic enough to carry
    that into the episode).
    """
    m1, m2 = _E.LINK_MASS_1, _E.LINK_MASS_2
    l1 = _E.LINK_LENGTH_1
    lc1, lc2 = _E.LINK_COM_POS_1, _E.LINK_COM_POS_2
    I1 = I2 = _E.LINK_MOI
    g = 9.8
    pi = np.pi
    theta1, theta2, dtheta1, dtheta2, a = s
    cos2, sin2 = np.cos(theta2), np.sin(theta2)
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos2) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * cos2) + I2
    phi2 = m2 * lc2 * g * np.cos(theta1 + theta2 - pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * np.float_power(dtheta2, 2) * sin2
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2
        + (m1 * lc1 + m2 * l1) * g * np.cos(theta1 - pi / 2)
        + phi2
    )
    ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * np.float_power(dtheta1, 2) * sin2 - phi2) / (
        m2 * lc2**2 + I2 - np.float_power(d2, 2) / d1
    )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    out = np.zeros_like(s)
    out[0], out[1], out[2], out[3] = dtheta1, dtheta2, ddtheta1, ddtheta2
    return out


def _rk4(y0: np.ndarray, dt: float) -> np.ndarray:
    """Gymnasium's ``rk4`` over ``[0, dt]``, one step, for a column per copy of ``y0`` (5, n)."""
    dt2 = dt / 2.0
    k1 = _dsdt(y0)
    k2 = _dsdt(y0 + dt2 * k1)
    k3 = _dsdt(y0 + dt2 * k2)
    k4 = _dsdt(y0 + dt * k3)
    return y0 + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def _wrap(x: np.ndarray, m: float, M: float) -> np.ndarray:
    diff = M - m
    while (x > M).any():
        x = np.where(x > M, x - diff, x)
    while (x < m).any():
        x = np.where(x < m, x + diff, x)
    return x


class AcrobotVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` copies of Acrobot-v1 (its 500-step time limit included), stepped at once.

    Resets are SAME_STEP, as :func:`sandbox.vector.make_vec_env` builds its vector envs: the
    observation after an episode ends is the next episode's first, and the last one of the
    finished episode is in ``info["final_obs"]`` (with the mask ``info["_final_obs"]``).
    """

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 16, max_episode_steps: int = MAX_EPISODE_STEPS):
        check_number("num_envs", num_envs, low=1, integer=True)
        check_number("max_episode_steps", max_episode_steps, low=1, integer=True)
        self.num_envs = int(num_envs)
        self.max_episode_steps = int(max_episode_steps)
        single = AcrobotEnv()
        self.single_observation_space = single.observation_space
        self.single_action_space = single.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.spec = gym.spec("Acrobot-v1")
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._state: np.ndarray | None = None
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)

    def _start(self, i: int) -> np.ndarray:
        if self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(None)
        return self._rngs[i].uniform(low=-0.1, high=0.1, size=(4,)).astype(np.float32)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Every copy's first observation; ``seed`` k seeds copy i with k + i (a list: one each)."""
        if options:
            raise ValueError(
                f"AcrobotVectorEnv.reset takes no options (got {sorted(options)}); it resets every "
                "copy, with the default start range [-0.1, 0.1]."
            )
        if seed is None:
            seeds = [None] * self.num_envs
        elif isinstance(seed, (int, np.integer)):
            seeds = [int(seed) + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(
                    f"reset got {len(seeds)} seeds for {self.num_envs} envs; pass one int, "
                    "None, or a list with one seed (or None) per env."
                )
        for i, s in enumerate(seeds):
            if s is not None:
                self._rngs[i], _ = seeding.np_random(s)
        starts = np.stack([self._start(i) for i in range(self.num_envs)])
        self._state = starts.astype(np.float64)  # exact; the next step computes in float64
        self._elapsed[:] = 0
        return self._observe(starts), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._state is None:
            raise RuntimeError("call reset() before step() on an AcrobotVectorEnv.")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or not np.isin(a, (0, 1, 2)).all():
            raise ValueError(
                f"actions must be {self.num_envs} integers in {{0, 1, 2}} (one per copy), "
                f"got {np.array2string(a, threshold=8)}."
            )
        s = np.empty((5, self.num_envs), dtype=np.float64)
        s[:4] = self._state.T
        s[4] = _TORQUE[a.astype(np.int64)]
        y = _rk4(s, _E.dt)
        y[0] = _wrap(y[0], -np.pi, np.pi)
        y[1] = _wrap(y[1], -np.pi, np.pi)
        y[2] = np.minimum(np.maximum(y[2], -_E.MAX_VEL_1), _E.MAX_VEL_1)
        y[3] = np.minimum(np.maximum(y[3], -_E.MAX_VEL_2), _E.MAX_VEL_2)
        ns = np.ascontiguousarray(y[:4].T)
        terminated = -np.cos(ns[:, 0]) - np.cos(ns[:, 1] + ns[:, 0]) > 1.0
        rewards = np.where(terminated, 0.0, -1.0)
        self._elapsed += 1
        truncated = self._elapsed >= self.max_episode_steps
        obs = self._observe(ns)
        info: dict[str, Any] = {}
        done = terminated | truncated
        if done.any():
            final = np.empty(self.num_envs, dtype=object)
            final[:] = None
            for i in np.flatnonzero(done):
                final[i] = obs[i].copy()
                start = self._start(i)
                ns[i] = start
                obs[i] = self._observe(start[None])[0]
                self._elapsed[i] = 0
            info = {
                "final_obs": final,
                "_final_obs": done.copy(),
                "final_info": {},
                "_final_info": done.copy(),
            }
        self._state = ns
        return obs, rewards, terminated, truncated, info

    @staticmethod
    def _observe(s: np.ndarray) -> np.ndarray:
        """Observations of states ``s`` (n, 4), computed in the states' own dtype, as Gymnasium
        does: a state just drawn by a reset is float32, one after a step float64."""
        cols = [
            np.cos(s[:, 0]),
            np.sin(s[:, 0]),
            np.cos(s[:, 1]),
            np.sin(s[:, 1]),
            s[:, 2],
            s[:, 3],
        ]
        return np.stack(cols, axis=1).astype(np.float32)
