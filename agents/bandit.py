"""Multi-armed bandit agents (Sutton & Barto, chapter 2): epsilon-greedy, UCB, gradient bandit.

Each agent keeps its estimates as arrays of shape (runs, k), so the same code
learns one bandit env (runs = 1) or a :class:`envs.bandit.Testbed` of
thousands of independent problems in lockstep, which is how the ``bandit``
experiment reproduces the book's 2000-run averages in seconds::

    agent = EpsilonGreedy(epsilon=0.1, seed=0).fit("sandbox/Bandit-v0", steps=1000)
    agent.act()                 # the greedy arm
    agent.history_["reward"]    # reward at each step (averaged over runs)

Only the choice of arm and the update differ between the agents; the loop is shared.
"""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np

from sandbox.checks import check_number, check_seed
from sandbox.environments import make_env, require_env_support, space_support
from sandbox.learner import Learner
from sandbox.rollout import evaluate as rollout_evaluate


def _argmax_random_ties(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax of shape (runs,), ties broken uniformly at random (as the book does)."""
    best = values == values.max(axis=1, keepdims=True)
    return np.argmax(np.where(best, rng.random(values.shape), -1.0), axis=1)


class _BanditAgent(Learner):
    """The shared loop; subclasses give ``_choose`` and ``_update``."""

    paradigm = "reinforcement"

    @classmethod
    def env_support(cls, env: gym.Env) -> str | None:
        reason = space_support(env, observation=(gym.spaces.Discrete,), action=(gym.spaces.Discrete,))
        if reason:
            return reason
        if env.observation_space.n != 1:
            return (f"its observation space is {env.observation_space}; a bandit agent ignores observations, "
                    "so it needs a single-state env (Discrete(1)); see ContextualBandit for contexts")
        return None

    def _validate(self) -> None:
        check_seed(self.seed)

    def fit(self, env: Any, *, steps: int = 1000) -> _BanditAgent:
        """Pull ``steps`` arms, learning online.

        env : a single-state Gymnasium env (id, entry point or instance) with
            Discrete actions, or an :class:`envs.bandit.Testbed` of many runs.
            When an env episode ends (``sandbox/Bandit-v0`` stops at 1000 pulls)
            it is reset with the next seed and learning goes on; for the Bandit
            env that is a new problem, which a constant ``step_size`` tracks best.
        steps : pulls per run, >= 1

        ``history_["reward"]`` and ``history_["optimal"]``, shape (steps,), hold the
        reward and the fraction of runs that chose the optimal arm at each step
        (``optimal`` is NaN where the env does not say which arm is best).
        """
        self._validate()
        check_number("steps", steps, low=1, integer=True)
        self._rng = np.random.default_rng(self.seed)
        pull, k, runs = self._puller(env)
        self._start(runs, k)
        rewards, optimal = np.empty(steps), np.empty(steps)
        for t in range(steps):
            actions = self._choose(t)
            r, opt = pull(actions)
            self._update(actions, r)
            rewards[t], optimal[t] = r.mean(), opt.mean()
        self.history_ = {"reward": rewards, "optimal": optimal}
        self.n_runs_ = runs
        return self

    def _puller(self, env: Any) -> tuple[Any, int, int]:
        """(pull(actions) -> (rewards, optimal), k, runs) for a Testbed or a Gymnasium env."""
        if hasattr(env, "pull") and hasattr(env, "runs"):
            return env.pull, env.k, env.runs
        env = make_env(env)
        require_env_support(self, env)
        state = {"started": False}
        episode = itertools.count()

        def pull(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if not state["started"]:
                env.reset(seed=None if self.seed is None else self.seed + next(episode))
                state["started"] = True
            _, r, terminated, truncated, info = env.step(int(actions[0]))
            state["started"] = not (terminated or truncated)
            return np.array([float(r)]), np.array([info.get("was_optimal", np.nan)], dtype=float)

        return pull, int(env.action_space.n), 1

    # ------------------------------------------------------------ using it

    def act(self, obs: Any = None) -> int | np.ndarray:
        """The greedy arm (an int), or one per run, shape (runs,), after fitting a Testbed."""
        self._check_fitted("act")
        best = np.argmax(self._preferences(), axis=1)
        return int(best[0]) if self.n_runs_ == 1 else best

    def evaluate(self, env: Any, *, episodes: int = 10, seed: int | None = 0) -> dict[str, float]:
        """Play the greedy arm for ``episodes`` episodes (see :func:`sandbox.rollout.evaluate`)."""
        arm = self.act()
        if not isinstance(arm, int):
            raise ValueError("this agent was fitted on a Testbed of many runs; fit it on one env to evaluate it.")
        return rollout_evaluate(lambda obs: arm, env, episodes=episodes, seed=seed)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {k: getattr(self, k) for k in self._state_names}
        return {"n_runs": self.n_runs_}, {**arrays, **{f"history.{k}": v for k, v in self.history_.items()}}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.n_runs_ = int(state["n_runs"])
        for k in self._state_names:
            setattr(self, k, np.array(arrays[k]))
        self.history_ = {k: np.array(arrays[f"history.{k}"]) for k in ("reward", "optimal")}


class EpsilonGreedy(_BanditAgent):
    """Action-value estimates, the greedy arm with probability 1 - epsilon, a random arm otherwise.

    Parameters
    ----------
    epsilon : exploration probability in [0, 1]
    step_size : None for sample averages (1/n), or a constant in (0, 1] (tracks drifting arms)
    initial : starting estimate of every arm (large values: optimistic initial values)
    seed : the one source of randomness

    Attributes
    ----------
    q_ : estimates, shape (runs, k)
    n_ : pulls of each arm, shape (runs, k)
    """

    _state_names = ("q_", "n_")

    def __init__(self, *, epsilon: float = 0.1, step_size: float | None = None, initial: float = 0.0, seed: int | None = 0):
        self.epsilon = epsilon
        self.step_size = step_size
        self.initial = initial
        self.seed = seed

    def _validate(self) -> None:
        super()._validate()
        check_number("epsilon", self.epsilon, low=0.0, high=1.0)
        if self.step_size is not None:
            check_number("step_size", self.step_size, low=0.0, high=1.0, low_open=True)
        check_number("initial", self.initial)

    def _start(self, runs: int, k: int) -> None:
        self.q_ = np.full((runs, k), float(self.initial))
        self.n_ = np.zeros((runs, k))

    def _preferences(self) -> np.ndarray:
        return self.q_

    def _choose(self, t: int) -> np.ndarray:
        runs, k = self.q_.shape
        greedy = _argmax_random_ties(self.q_, self._rng)
        explore = self._rng.random(runs) < self.epsilon
        return np.where(explore, self._rng.integers(k, size=runs), greedy)

    def _update(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        rows = np.arange(len(actions))
        self.n_[rows, actions] += 1
        alpha = 1.0 / self.n_[rows, actions] if self.step_size is None else self.step_size
        self.q_[rows, actions] += alpha * (rewards - self.q_[rows, actions])


class UCB(EpsilonGreedy):
    """Upper-confidence-bound selection: argmax Q(a) + c sqrt(ln t / N(a)); untried arms first.

    Parameters
    ----------
    c : exploration weight, >= 0
    step_size, initial, seed : as in :class:`EpsilonGreedy`
    """

    epsilon = 0.0  # read by EpsilonGreedy's validation; UCB never explores at random

    def __init__(self, *, c: float = 2.0, step_size: float | None = None, initial: float = 0.0, seed: int | None = 0):
        self.c = c
        self.step_size = step_size
        self.initial = initial
        self.seed = seed

    def _validate(self) -> None:
        super()._validate()
        check_number("c", self.c, low=0.0)

    def _choose(self, t: int) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # untried arms: replaced by inf below
            bonus = self.c * np.sqrt(np.log(t + 1) / self.n_)
        return _argmax_random_ties(np.where(self.n_ == 0, np.inf, self.q_ + bonus), self._rng)


class GradientBandit(_BanditAgent):
    """Soft-max over learned preferences H, moved by reward minus a baseline (Sutton & Barto 2.8).

    Parameters
    ----------
    step_size : preference step size alpha, > 0
    baseline : subtract the running average reward (True) or not
    seed : the one source of randomness

    Attributes
    ----------
    h_ : preferences, shape (runs, k)
    mean_reward_ : the baseline, shape (runs,)
    """

    _state_names = ("h_", "mean_reward_", "t_")

    def __init__(self, *, step_size: float = 0.1, baseline: bool = True, seed: int | None = 0):
        self.step_size = step_size
        self.baseline = baseline
        self.seed = seed

    def _validate(self) -> None:
        super()._validate()
        check_number("step_size", self.step_size, low=0.0, low_open=True)
        if not isinstance(self.baseline, bool):
            raise ValueError(f"baseline={self.baseline!r} must be True or False.")

    def _start(self, runs: int, k: int) -> None:
        self.h_ = np.zeros((runs, k))
        self.mean_reward_ = np.zeros(runs)
        self.t_ = np.zeros(1)

    def _preferences(self) -> np.ndarray:
        return self.h_

    def _policy(self) -> np.ndarray:
        z = np.exp(self.h_ - self.h_.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def _choose(self, t: int) -> np.ndarray:
        cdf = np.cumsum(self._policy(), axis=1)
        u = self._rng.random((len(cdf), 1))
        return np.minimum((u > cdf).sum(axis=1), cdf.shape[1] - 1)

    def _update(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        self.t_ += 1
        if self.baseline:
            self.mean_reward_ += (rewards - self.mean_reward_) / self.t_[0]
        pi = self._policy()
        onehot = np.zeros_like(pi)
        onehot[np.arange(len(actions)), actions] = 1.0
        self.h_ += self.step_size * (rewards - self.mean_reward_)[:, None] * (onehot - pi)


class LinUCB(Learner):
    """Contextual bandit with one ridge regression per arm and an upper-confidence bonus (Li et al. 2010).

    In context x (a feature vector), arm a scores ``theta_a . x + alpha * sqrt(x' A_a^-1 x)``,
    where ``A_a = ridge * I + sum of x x'`` over the contexts in which a was
    pulled and ``theta_a = A_a^-1 b_a`` with ``b_a`` the sum of reward-weighted
    contexts. A constant feature 1 is appended, so each arm also learns a bias.
    On :class:`envs.ContextualBandit` this learns a classifier from reward alone.

    Parameters
    ----------
    alpha : exploration weight of the confidence bonus, >= 0
    ridge : L2 regularisation of every arm's regression, > 0
    seed : the env's seeds and random tie-breaking

    Attributes
    ----------
    theta_ : array of shape (n_actions, n_features + 1), each arm's reward model
    a_inv_ : array of shape (n_actions, n_features + 1, n_features + 1)
    history_ : {"reward": reward of each training step}
    """

    paradigm = "reinforcement"

    def __init__(self, *, alpha: float = 1.0, ridge: float = 1.0, seed: int | None = 0):
        self.alpha = alpha
        self.ridge = ridge
        self.seed = seed

    @classmethod
    def env_support(cls, env: gym.Env) -> str | None:
        reason = space_support(env, observation=(gym.spaces.Box,), action=(gym.spaces.Discrete,))
        if reason is None and len(env.observation_space.shape) != 1:
            reason = f"its observation space is Box{env.observation_space.shape}; LinUCB needs a flat feature vector, Box(n,)"
        return reason

    def fit(self, env: Any, *, steps: int = 1000) -> LinUCB:
        """Learn online for ``steps`` one-step episodes (a context, an arm, a reward)."""
        check_number("alpha", self.alpha, low=0.0)
        check_number("ridge", self.ridge, low=0.0, low_open=True)
        check_seed(self.seed)
        check_number("steps", steps, low=1, integer=True)
        env = make_env(env)
        require_env_support(self, env)
        rng = np.random.default_rng(self.seed)
        k, d = int(env.action_space.n), int(env.observation_space.shape[0]) + 1
        self.a_inv_ = np.repeat(np.eye(d)[None] / self.ridge, k, axis=0)
        self._b = np.zeros((k, d))
        self.theta_ = np.zeros((k, d))
        rewards = np.empty(steps)
        obs, _ = env.reset(seed=self.seed)
        for t in range(steps):
            x = np.append(np.asarray(obs, dtype=float), 1.0)
            scores = self._scores(x[None], explore=True)
            best = np.flatnonzero(scores[0] == scores[0].max())
            a = int(best[rng.integers(len(best))])
            obs, r, terminated, truncated, _ = env.step(a)
            self._learn(a, x, float(r))
            rewards[t] = r
            if terminated or truncated:
                obs, _ = env.reset()
        self.history_ = {"reward": rewards}
        return self

    def _learn(self, a: int, x: np.ndarray, r: float) -> None:
        ainv = self.a_inv_[a]
        ax = ainv @ x  # Sherman-Morrison: A^-1 after adding x x', without a new inverse
        self.a_inv_[a] = ainv - np.outer(ax, ax) / (1.0 + x @ ax)
        self._b[a] += r * x
        self.theta_[a] = self.a_inv_[a] @ self._b[a]

    def _scores(self, X: np.ndarray, *, explore: bool) -> np.ndarray:
        """Scores of shape (n_samples, n_actions) for contexts X of shape (n_samples, n_features + 1)."""
        mean = X @ self.theta_.T
        if not explore or self.alpha == 0:
            return mean
        width = np.sqrt(np.einsum("nd,kde,ne->nk", X, self.a_inv_, X))
        return mean + self.alpha * width

    def act(self, obs: Any) -> int | np.ndarray:
        """The arm with the best predicted reward for one context (an int) or a batch (shape (n,))."""
        self._check_fitted("act")
        X = np.asarray(obs, dtype=float)
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.shape[1] != self.theta_.shape[1] - 1:
            raise ValueError(f"obs has {X.shape[1]} features; this LinUCB was fitted on {self.theta_.shape[1] - 1}.")
        best = self._scores(np.hstack([X, np.ones((len(X), 1))]), explore=False).argmax(axis=1)
        return int(best[0]) if single else best

    def evaluate(self, env: Any, *, episodes: int = 100, seed: int | None = 0) -> dict[str, float]:
        """Greedy play for ``episodes`` episodes (see :func:`sandbox.rollout.evaluate`)."""
        self._check_fitted("evaluate")
        return rollout_evaluate(self.act, env, episodes=episodes, seed=seed)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"theta": self.theta_, "a_inv": self.a_inv_, "b": self._b, "reward": self.history_["reward"]}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.theta_, self.a_inv_, self._b = (np.array(arrays[k]) for k in ("theta", "a_inv", "b"))
        self.history_ = {"reward": np.array(arrays["reward"])}
