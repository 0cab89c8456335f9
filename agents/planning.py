"""Planning with a known model: value iteration, policy iteration, finite-horizon DP.

The model is the transition table ``env.unwrapped.P`` in Gymnasium's toy-text
format (FrozenLake, Taxi, CliffWalking, and our own envs that expose one)::

    P[s][a] = [(probability, next_state, reward, terminated), ...]

::

    plan = ValueIteration(gamma=0.99, tol=1e-10, max_iter=100_000).fit("FrozenLake-v1")
    plan.values_          # V*(s), shape (n_states,)
    plan.act(0)           # the optimal action in state 0
    plan.evaluate("FrozenLake-v1", episodes=1000)

Where the learning agents of :mod:`agents.tabular` estimate Q from sampled
steps, these compute it exactly from the model: the model-based paradigm and
the reference the learners are measured against. :func:`finite_horizon` and
:func:`policy_value` give exact numbers under a time limit (the probability of
reaching FrozenLake's goal within 100 steps, say).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from agents.tabular import QTablePolicy, discrete_spaces
from sandbox.checks import check_number
from sandbox.environments import env_name, make_env, reason_from, require_env_support
from sandbox.learner import Learner
from sandbox.progress import Reporter


@dataclass(frozen=True)
class Model:
    """A transition table as flat arrays: transition k goes from (s, a) = divmod(sa[k], n_actions)
    to ``next_state[k]`` with ``prob[k]``, ``reward[k]``, ``done[k]`` (all of shape (n_transitions,))."""

    n_states: int
    n_actions: int
    sa: np.ndarray
    prob: np.ndarray
    next_state: np.ndarray
    reward: np.ndarray
    done: np.ndarray

    def expected_reward(self) -> np.ndarray:
        """E[r | s, a], shape (n_states, n_actions)."""
        return np.bincount(
            self.sa, self.prob * self.reward, minlength=self.n_states * self.n_actions
        ).reshape(self.n_states, self.n_actions)

    def backup(
        self, values: np.ndarray, gamma: float, reward: np.ndarray | None = None
    ) -> np.ndarray:
        """Q(s, a) = E[r + gamma * (1 - done) * V(s')], shape (n_states, n_actions)."""
        r = self.expected_reward() if reward is None else reward
        future = self.prob * (~self.done) * values[self.next_state]
        return r + gamma * np.bincount(
            self.sa, future, minlength=self.n_states * self.n_actions
        ).reshape(r.shape)


def transition_model(env: gym.Env | str, who: str = "the planner") -> Model:
    """Read and check ``env.unwrapped.P``; errors say what is missing or malformed."""
    env = make_env(env)
    P = getattr(env.unwrapped, "P", None)
    if P is None:
        raise ValueError(
            f"{who} plans on a known model, the transition table env.unwrapped.P "
            "(P[s][a] = [(prob, next_state, reward, terminated), ...], as in Gymnasium's toy-text envs), "
            f"but {env_name(env)} has none. Learn from experience instead with agents.QLearning."
        )
    n_states, obs_start, n_actions, act_start = discrete_spaces(env, who)
    rows = []
    for s in range(n_states):
        for a in range(n_actions):
            try:
                outcomes = P[s + obs_start][a + act_start]
                parsed = [
                    (float(p), int(s2) - obs_start, float(r), bool(d)) for p, s2, r, d in outcomes
                ]
            except (KeyError, IndexError, TypeError, ValueError):
                raise ValueError(
                    f"{env_name(env)}'s P[{s + obs_start}][{a + act_start}] is missing or not a list of "
                    "(prob, next_state, reward, terminated) tuples."
                ) from None
            if not all(math.isfinite(p) and math.isfinite(r) for p, _, r, _ in parsed):
                raise ValueError(
                    f"{env_name(env)}'s P[{s + obs_start}][{a + act_start}] holds a non-finite probability or reward "
                    f"({outcomes!r}); a planner cannot plan on NaN or infinite numbers."
                )
            total = sum(p for p, *_ in parsed)
            if not parsed or abs(total - 1.0) > 1e-6 or any(p < 0 for p, *_ in parsed):
                raise ValueError(
                    f"{env_name(env)}'s P[{s + obs_start}][{a + act_start}] has probabilities summing to {total:g}; they must be >= 0 and sum to 1."
                )
            for p, s2, r, d in parsed:
                if not 0 <= s2 < n_states:
                    raise ValueError(
                        f"{env_name(env)}'s P[{s + obs_start}][{a + act_start}] leads to state {s2 + obs_start}, outside the observation space."
                    )
                rows.append((s * n_actions + a, p, s2, r, d))
    sa, prob, nxt, rew, done = zip(*rows)
    return Model(
        n_states,
        n_actions,
        np.array(sa),
        np.array(prob),
        np.array(nxt),
        np.array(rew),
        np.array(done, dtype=bool),
    )


def finite_horizon(model: Model, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Undiscounted optimum with at most ``horizon`` steps left: backward induction.

    Returns (values, policy): values of shape (horizon + 1, n_states), ``values[k]``
    the best expected return with k steps left (``values[0] = 0``); policy of shape
    (horizon, n_states), ``policy[k - 1]`` the best action with k steps left. A
    policy that depends on the time left can beat every stationary one.
    """
    check_number("horizon", horizon, low=1, integer=True)
    values = np.zeros((horizon + 1, model.n_states))
    policy = np.zeros((horizon, model.n_states), dtype=np.int64)
    r = model.expected_reward()
    for k in range(1, horizon + 1):
        q = model.backup(values[k - 1], 1.0, r)
        policy[k - 1] = q.argmax(axis=1)
        values[k] = q.max(axis=1)
    return values, policy


def policy_value(
    model: Model, policy: np.ndarray, *, gamma: float = 1.0, horizon: int
) -> np.ndarray:
    """Exact expected return of a stationary ``policy`` (shape (n_states,)) within ``horizon`` steps, per start state."""
    check_number("horizon", horizon, low=1, integer=True)
    policy = np.asarray(policy, dtype=np.int64)
    r, rows = model.expected_reward(), np.arange(model.n_states)
    values = np.zeros(model.n_states)
    for _ in range(horizon):
        values = model.backup(values, gamma, r)[rows, policy]
    return values


def start_distribution(env: gym.Env) -> np.ndarray | None:
    """The env's initial-state distribution where it exposes one (toy-text: ``initial_state_distrib``)."""
    dist = getattr(env.unwrapped, "initial_state_distrib", None)
    return None if dist is None else np.asarray(dist, dtype=np.float64)


def exact_returns(env: gym.Env, learners: dict[str, Any]) -> dict[str, float] | None:
    """Each learner's greedy policy's exact expected return (undiscounted, within the env's time
    limit, from its start distribution), computed on the env's transition table ``P``: what
    evaluation episodes estimate, without their noise. None where the env has no time limit or
    no start distribution (Gymnasium's toy-text envs have both). A learner is anything with
    ``act(obs)``."""
    from sandbox.rollout import time_limit

    horizon, start = time_limit(env), start_distribution(env)
    if horizon is None or start is None:
        return None
    model = transition_model(env)
    _, obs_start, _, act_start = discrete_spaces(env, "exact_returns")
    out = {}
    for name, learner in learners.items():
        policy = [int(learner.act(s + obs_start)) - act_start for s in range(model.n_states)]
        out[name] = float(start @ policy_value(model, np.array(policy), horizon=horizon))
    return out


class _Planner(QTablePolicy, Learner):
    """Common checks and attributes of the two planners (gamma, tol, max_iter)."""

    paradigm = "planning"

    @classmethod
    def env_support(cls, env: gym.Env) -> str | None:
        """None when the env has Discrete spaces and a readable transition table ``P``; otherwise why not."""
        return reason_from(lambda: transition_model(env, cls.__name__))

    def __init__(self, *, gamma: float = 0.99, tol: float = 1e-10, max_iter: int = 100_000):
        self.gamma = gamma
        self.tol = tol
        self.max_iter = max_iter

    def _validate(self) -> None:
        check_number("gamma", self.gamma, low=0.0, high=1.0)
        check_number("tol", self.tol, low=0.0, low_open=True)
        check_number("max_iter", self.max_iter, low=1, integer=True)

    def _model(self, env: gym.Env | str) -> tuple[Model, tuple[int, int, int, int]]:
        self._validate()
        env = make_env(env)
        require_env_support(self, env)
        model = transition_model(env, type(self).__name__)
        return model, discrete_spaces(env, type(self).__name__)

    def _reporter(
        self, callback: Callable[[dict[str, Any]], Any] | None, progress: bool
    ) -> Reporter:
        return Reporter(
            callback,
            progress,
            desc=type(self).__name__,
            unit="iterations",
            total=int(self.max_iter),
            reports=int(self.max_iter),
        )

    def _finish(
        self,
        q: np.ndarray,
        spaces_: tuple[int, int, int, int],
        n_iter: int,
        converged: bool,
        history: dict[str, list],
    ) -> None:
        n_states, obs_start, n_actions, act_start = spaces_
        self._set_table(q, n_states, obs_start, n_actions, act_start)
        self.values_ = self.q_table_.max(axis=1)
        self.n_iter_, self.converged_, self.history_ = n_iter, converged, history
        if not converged:
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter} without converging "
                f"(gamma={self.gamma}); raise max_iter, or lower gamma.",
                RuntimeWarning,
                stacklevel=3,
            )

    def _extra_state(self) -> dict[str, Any]:
        return {"n_iter": self.n_iter_, "converged": self.converged_, "history": self.history_}

    def _load_extra(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.values_ = self.q_table_.max(axis=1)
        self.n_iter_, self.converged_ = int(state["n_iter"]), bool(state["converged"])
        self.history_ = {k: list(v) for k, v in state["history"].items()}


class ValueIteration(_Planner):
    """Value iteration: repeat V(s) <- max_a E[r + gamma V(s')] until V stops changing.

    Parameters
    ----------
    gamma : discount factor in [0, 1]; 1 is fine where every policy ends (or
        rewards are all <= 0), otherwise it may not converge
    tol : stop once the largest change of V in a sweep is below this (> 0)
    max_iter : the most sweeps (>= 1); stopping there warns

    ``fit(env, *, callback=None, progress=False)``: the callback gets
    ``{"unit": "iterations", "done", "total", "delta"}`` after every sweep; returning
    False stops there (unconverged, with the warning).

    Attributes
    ----------
    q_table_ : array of shape (n_states, n_actions), Q*(s, a)
    values_ : array of shape (n_states,), V*(s)
    policy_ : array of shape (n_states,), a greedy action index per state
    history_ : {"delta": largest change of V at each sweep}
    n_iter_, converged_ : sweeps done, and whether the tolerance was met
    """

    def fit(
        self,
        env: gym.Env | str,
        *,
        callback: Callable[[dict[str, Any]], Any] | None = None,
        progress: bool = False,
    ) -> ValueIteration:
        """Solve the env's transition table ``env.unwrapped.P`` (env: an env or an id)."""
        model, spaces_ = self._model(env)
        r, v, deltas = model.expected_reward(), np.zeros(model.n_states), []
        converged = False
        with self._reporter(callback, progress) as report:
            for i in range(self.max_iter):
                q = model.backup(v, self.gamma, r)
                new = q.max(axis=1)
                deltas.append(float(np.max(np.abs(new - v))))
                v = new
                if deltas[-1] < self.tol:
                    converged = True
                if converged or (report.active and report(done=i + 1, delta=deltas[-1])):
                    break
        self._finish(
            model.backup(v, self.gamma, r), spaces_, len(deltas), converged, {"delta": deltas}
        )
        return self


class PolicyIteration(_Planner):
    """Policy iteration: evaluate the policy exactly, act greedily on its values, repeat until stable.

    Parameters
    ----------
    gamma : discount factor in [0, 1): evaluation solves (I - gamma P_pi) V = R_pi,
        singular at gamma = 1 for a policy that never ends (use ValueIteration there)
    tol : a new action must beat the current one by more than this to replace it
        (guards against flipping between equally good actions forever)
    max_iter : the most improvement rounds (>= 1); stopping there warns

    ``fit(env, *, callback=None, progress=False)``: the callback gets
    ``{"unit": "iterations", "done", "total", "changed"}`` after every round.

    Attributes: as :class:`ValueIteration`, with history_ = {"changed": actions
    changed in each improvement round}.
    """

    def _validate(self) -> None:
        super()._validate()
        check_number("gamma", self.gamma, low=0.0, high=1.0, high_open=True)

    def fit(
        self,
        env: gym.Env | str,
        *,
        callback: Callable[[dict[str, Any]], Any] | None = None,
        progress: bool = False,
    ) -> PolicyIteration:
        """Solve the env's transition table ``env.unwrapped.P`` (env: an env or an id)."""
        model, spaces_ = self._model(env)
        r, rows = model.expected_reward(), np.arange(model.n_states)
        policy, changed, converged = np.zeros(model.n_states, dtype=np.int64), [], False
        with self._reporter(callback, progress) as report:
            for i in range(self.max_iter):
                q = model.backup(self._evaluate_policy(model, policy, r), self.gamma, r)
                better = q.max(axis=1) > q[rows, policy] + self.tol
                changed.append(int(better.sum()))
                if not better.any():
                    converged = True
                if converged or (report.active and report(done=i + 1, changed=changed[-1])):
                    break
                policy = np.where(better, q.argmax(axis=1), policy)
        self._finish(q, spaces_, len(changed), converged, {"changed": changed})
        return self

    def _evaluate_policy(self, model: Model, policy: np.ndarray, r: np.ndarray) -> np.ndarray:
        """V_pi exactly: solve the sparse system (I - gamma P_pi) V = R_pi."""
        pick = (model.sa % model.n_actions) == policy[model.sa // model.n_actions]
        src, dst = model.sa[pick] // model.n_actions, model.next_state[pick]
        weight = self.gamma * model.prob[pick] * (~model.done[pick])
        n = model.n_states
        # Sparse and single-threaded: a dense BLAS solve is slower here and fights other processes for cores.
        m = scipy.sparse.identity(n, format="csc") - scipy.sparse.csc_matrix(
            (weight, (src, dst)), shape=(n, n)
        )
        return np.asarray(
            scipy.sparse.linalg.spsolve(m, r[np.arange(n), policy]), dtype=np.float64
        ).reshape(n)
