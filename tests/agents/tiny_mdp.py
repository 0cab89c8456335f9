"""A two-state MDP small enough to solve by hand, with a toy-text transition table ``P``.

State 0: action 0 stays (reward 0.5); action 1 moves to state 1 with probability
0.8 (else stays), reward 0. State 1: action 0 ends the episode with reward 10;
action 1 returns to state 0, reward 0. With gamma = 0.9:

    V(1) = 10,   V(0) = max(0.5 + 0.9 V(0), 0.72 V(1) + 0.18 V(0)) = 7.2 / 0.82
"""

from __future__ import annotations

import gymnasium as gym
from gymnasium import spaces

GAMMA = 0.9
V0 = 7.2 / 0.82
V1 = 10.0
Q_STAR = [[0.5 + GAMMA * V0, 0.72 * V1 + 0.18 * V0], [10.0, GAMMA * V0]]


class TinyMDP(gym.Env):
    def __init__(self, with_table: bool = True, bad_probs: bool = False):
        self.observation_space = spaces.Discrete(2)
        self.action_space = spaces.Discrete(2)
        P = {
            0: {0: [(1.0, 0, 0.5, False)], 1: [(0.8, 1, 0.0, False), (0.2, 0, 0.0, False)]},
            1: {0: [(1.0, 1, 10.0, True)], 1: [(1.0, 0, 0.0, False)]},
        }
        if bad_probs:
            P[0][1] = [(0.8, 1, 0.0, False), (0.1, 0, 0.0, False)]
        if with_table:
            self.P = P
        self._P = P
        self.s = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return 0, {}

    def step(self, action):
        outcomes = self._P[self.s][int(action)]
        i = (
            self.np_random.choice(len(outcomes), p=[o[0] for o in outcomes])
            if len(outcomes) > 1
            else 0
        )
        _, self.s, reward, done = outcomes[i]
        return self.s, reward, done, False, {}
