"""Replay for the off-policy agents: a ring buffer of transitions (DQN's integer actions or SAC's
continuous action vectors), proportional prioritized replay on a sum tree, and n-step returns.

The sum-tree kernels are compiled (numba): drawing and updating priorities
touch O(log N) nodes per transition.
"""

from __future__ import annotations

import numba
import numpy as np


class ReplayBuffer:
    """A ring buffer of transitions (s, a, r, s', terminated, discount) in preallocated NumPy arrays.

    ``discount`` is the factor on the bootstrap value Q(s', .): gamma for one-step transitions,
    gamma**m for an m-step one (see :class:`NStepAccumulator`). Actions are integers by default
    (one per transition, DQN's); ``action_shape=(d,)`` and ``action_dtype=np.float32`` keep a
    continuous action vector per transition instead (SAC's).
    """

    def __init__(
        self,
        capacity: int,
        n_features: int,
        gamma: float = 0.99,
        *,
        action_shape: tuple[int, ...] = (),
        action_dtype: type = np.int64,
    ):
        self.obs = np.zeros((capacity, n_features), np.float32)
        self.next_obs = np.zeros((capacity, n_features), np.float32)
        self.actions = np.zeros((capacity, *action_shape), action_dtype)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.discounts = np.full(capacity, gamma, np.float32)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        discounts: np.ndarray | None = None,
    ) -> np.ndarray:
        """Add a batch of n transitions (arrays with n rows); ``discounts`` None keeps the buffer's gamma.
        Returns the slots they were written to."""
        idx = (self.pos + np.arange(len(obs))) % self.capacity
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.terminated[idx] = next_obs, terminated
        if discounts is not None:
            self.discounts[idx] = discounts
        self.pos = int((self.pos + len(obs)) % self.capacity)
        self.size = min(self.size + len(obs), self.capacity)
        return idx

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """(obs, actions, rewards, next_obs, terminated, discounts) for n transitions drawn uniformly with replacement."""
        return self.rows(rng.integers(0, self.size, n))

    def rows(self, i: np.ndarray) -> tuple[np.ndarray, ...]:
        """(obs, actions, rewards, next_obs, terminated, discounts) of the transitions in slots ``i``."""
        return tuple(
            a[i]
            for a in (
                self.obs,
                self.actions,
                self.rewards,
                self.next_obs,
                self.terminated,
                self.discounts,
            )
        )


@numba.njit(cache=True, nogil=True)
def _tree_set(tree: np.ndarray, leaves: int, idx: np.ndarray, values: np.ndarray) -> None:
    """Set leaves ``idx`` of a sum tree (``tree[1]`` the root, leaf i at ``leaves + i``) and recompute their ancestors."""
    for k in range(len(idx)):
        i = leaves + idx[k]
        tree[i] = values[k]
        i //= 2
        while i >= 1:
            tree[i] = tree[2 * i] + tree[2 * i + 1]
            i //= 2


@numba.njit(cache=True, nogil=True)
def _tree_find(tree: np.ndarray, leaves: int, mass: np.ndarray, size: int) -> np.ndarray:
    """For each prefix mass in [0, total), the leaf whose interval holds it (leaves past ``size`` are never returned)."""
    out = np.empty(len(mass), np.int64)
    for k in range(len(mass)):
        v, i = mass[k], 1
        while i < leaves:
            left = tree[2 * i]
            if v < left or tree[2 * i + 1] <= 0.0:
                i = 2 * i
            else:
                v -= left
                i = 2 * i + 1
        out[k] = min(i - leaves, size - 1)
    return out


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al., 2016): transition i is drawn with probability
    p_i^alpha / sum_j p_j^alpha, where p_i is its last absolute TD error (new transitions get the largest
    priority seen so far, so each is replayed at least once soon). The bias this adds is corrected by
    importance weights (N P(i))^-beta on each transition's loss, divided by the batch's largest, with beta
    annealed toward 1 by the agent. A sum tree makes drawing and updating O(log N).
    """

    def __init__(
        self,
        capacity: int,
        n_features: int,
        gamma: float = 0.99,
        alpha: float = 0.6,
        eps: float = 1e-6,
    ):
        super().__init__(capacity, n_features, gamma)
        self.alpha, self.eps = alpha, eps
        self.leaves = 1 << max(0, (capacity - 1).bit_length())
        self.tree = np.zeros(2 * self.leaves, np.float64)
        self.max_priority = 1.0
        self.last_indices = np.zeros(0, np.int64)
        self.last_weights = np.zeros(0, np.float32)

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        discounts: np.ndarray | None = None,
    ) -> np.ndarray:
        idx = super().add(obs, actions, rewards, next_obs, terminated, discounts)
        _tree_set(
            self.tree,
            self.leaves,
            idx.astype(np.int64),
            np.full(len(idx), self.max_priority**self.alpha),
        )
        return idx

    def sample(self, n: int, rng: np.random.Generator, beta: float = 1.0) -> tuple[np.ndarray, ...]:
        """n transitions drawn by priority (stratified: one from each of n equal slices of the total mass);
        their indices and importance weights are kept in ``last_indices`` and ``last_weights``."""
        total = self.tree[1]
        mass = (np.arange(n) + rng.random(n)) * (total / n)
        i = _tree_find(self.tree, self.leaves, mass, self.size)
        w = (self.size * self.tree[self.leaves + i] / total) ** -beta
        self.last_indices = i
        self.last_weights = (w / w.max()).astype(
            np.float32
        )  # scaled by the batch's largest, as most implementations do
        return self.rows(i)

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        p = np.abs(np.asarray(td_errors, np.float64)) + self.eps
        self.max_priority = max(self.max_priority, float(p.max()))
        _tree_set(self.tree, self.leaves, indices, p**self.alpha)


class NStepAccumulator:
    """Turns each env's stream of one-step transitions into n-step ones for the replay buffer.

    The transition from s_t is (s_t, a_t, r_t + gamma r_{t+1} + ... + gamma^(m-1) r_{t+m-1}, s_{t+m},
    terminated, gamma^m) with m = n, or fewer where the episode ended first: at termination the
    remaining transitions carry ``terminated`` (no bootstrap); at truncation they bootstrap from the
    final observation. With n = 1 these are the ordinary transitions.
    """

    def __init__(self, n: int, gamma: float, n_envs: int):
        self.n, self.gamma = n, gamma
        self.pending: list[list[tuple[np.ndarray, int, float]]] = [[] for _ in range(n_envs)]

    def push(
        self,
        x: np.ndarray,
        a: np.ndarray,
        r: np.ndarray,
        x_after: np.ndarray,
        term: np.ndarray,
        done: np.ndarray,
    ) -> tuple[np.ndarray, ...] | None:
        """One step of every env; the transitions now complete as arrays (obs, a, R, s', term, discount), or None."""
        out: list[tuple[np.ndarray, int, float, np.ndarray, float, float]] = []
        for i, queue in enumerate(self.pending):
            queue.append((x[i], int(a[i]), float(r[i])))
            if done[i]:
                while queue:
                    out.append(self._emit(queue, x_after[i], float(term[i])))
                    queue.pop(0)
            elif len(queue) == self.n:
                out.append(self._emit(queue, x_after[i], 0.0))
                queue.pop(0)
        if not out:
            return None
        obs, acts, rets, nxt, terms, discs = zip(*out)
        return (
            np.stack(obs),
            np.array(acts, np.int64),
            np.array(rets, np.float32),
            np.stack(nxt),
            np.array(terms, np.float32),
            np.array(discs, np.float32),
        )

    def _emit(
        self, queue: list[tuple[np.ndarray, int, float]], x_last: np.ndarray, term: float
    ) -> tuple:
        ret, g = 0.0, 1.0
        for _, _, r in queue:
            ret += g * r
            g *= self.gamma
        x0, a0, _ = queue[0]
        return x0, a0, ret, x_last, term, g
