"""Multi-armed bandit agents (Sutton & Barto, chapter 2): epsilon-greedy, UCB, gradient bandit.

Each agent keeps its estimates as arrays of shape (runs, k), so the same code
learns one bandit env (runs = 1) or a :class:`envs.bandit.Testbed` of
thousands of independent problems in lockstep, which is how the ``bandit``
experiment reproduces the book's 2000-run averages in seconds::

    agent = EpsilonGreedy(epsilon_start=0.1, epsilon_end=0.1, seed=0).fit("sandbox/Bandit-v0", steps=1000)
    agent.act()                 # the greedy arm
    agent.history_["reward"]    # reward at each step (averaged over runs)

Only the choice of arm and the update differ between the agents; the loop is shared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from sandbox.checks import check_number, check_seed
from sandbox.environments import (
    check_finite_step,
    make_env,
    require_env_support,
    space_support,
)
from sandbox.learner import Learner
from sandbox.progress import Reporter, check_callback
from sandbox.rollout import evaluate as rollout_evaluate
from sandbox.schedules import check_exploration, exploration
from sandbox.seeding import derive_rng, derive_seed

DEFAULT_STEPS = 1000
"""Pulls when ``fit`` is given neither ``steps`` nor ``episodes`` (bandits and LinUCB)."""


def _argmax_random_ties(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax of shape (runs,), ties broken uniformly at random (as the book does)."""
    best = values == values.max(axis=1, keepdims=True)
    return np.argmax(np.where(best, rng.random(values.shape), -1.0), axis=1)


def _budget(steps: Any, episodes: Any) -> tuple[int, bool]:
    """(budget, by_steps): exactly one of ``steps`` / ``episodes``, or neither for DEFAULT_STEPS steps."""
    if steps is not None and episodes is not None:
        raise ValueError(
            f"pass one budget to fit, steps=N or episodes=N, not both; got steps={steps!r}, episodes={episodes!r}."
        )
    if episodes is not None:
        return int(check_number("episodes", episodes, low=1, integer=True)), False
    return int(
        check_number("steps", DEFAULT_STEPS if steps is None else steps, low=1, integer=True)
    ), True


class _Episodes:
    """Episode bookkeeping of an online learner on a Gymnasium env: returns, lengths, resets with derived seeds."""

    def __init__(self, env: gym.Env, seed: int | None):
        self.env, self.seed = env, seed
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self._ret, self._len, self.obs = 0.0, 0, None

    def reset(self) -> Any:
        self.obs, _ = self.env.reset(seed=derive_seed(self.seed, "env", len(self.returns)))
        return self.obs

    def step(self, action: Any, step: int) -> tuple[float, dict[str, Any], bool]:
        """Step the env; (reward, info, episode over). A non-finite number stops with the step's number."""
        obs, r, terminated, truncated, info = self.env.step(action)
        check_finite_step(obs, r, step=step, env=self.env)
        self.obs = obs
        self._ret += float(r)
        self._len += 1
        if terminated or truncated:
            self.returns.append(self._ret)
            self.lengths.append(self._len)
            self._ret, self._len = 0.0, 0
            return float(r), info, True
        return float(r), info, False


class _BanditAgent(Learner):
    """The shared loop; subclasses give ``_start``, ``_choose``, ``_update`` and ``_preferences``."""

    paradigm = "reinforcement"
    budget_unit: ClassVar[str] = "steps"

    @classmethod
    def env_support(cls, env: gym.Env) -> str | None:
        reason = space_support(
            env, observation=(gym.spaces.Discrete,), action=(gym.spaces.Discrete,)
        )
        if reason:
            return reason
        if env.observation_space.n != 1:
            return (
                f"its observation space is {env.observation_space}; a bandit agent ignores observations, "
                "so it needs a single-state env (Discrete(1)); see LinUCB for contexts"
            )
        return None

    def _validate(self) -> None:
        check_seed(self.seed)

    def fit(
        self,
        env: Any,
        *,
        steps: int | None = None,
        episodes: int | None = None,
        callback: Callable[[dict[str, Any]], Any] | None = None,
        progress: bool = False,
    ) -> _BanditAgent:
        """Pull arms for ``steps`` pulls per run or ``episodes`` env episodes (one of them;
        neither: :data:`DEFAULT_STEPS` pulls), learning online.

        env : a single-state Gymnasium env (id, entry point or instance) with
            Discrete actions, or an :class:`envs.bandit.Testbed` of many runs (steps only).
            When an env episode ends (``sandbox/Bandit-v0`` stops at 1000 pulls)
            it is reset with the next derived seed and learning goes on; for the Bandit
            env that is a new problem, which a constant ``learning_rate`` tracks best.
        callback : called about every 1 % of the budget with ``{"unit", "done", "total",
            "mean_reward"}`` (over the last 100 pulls); returning False stops

        ``history_["reward"]`` and ``history_["optimal"]``, shape (pulls,), hold the
        reward and the fraction of runs that chose the optimal arm at each pull
        (``optimal`` is NaN where the env does not say which arm is best);
        ``history_["episode_returns"]`` / ``["episode_lengths"]`` one entry per finished
        env episode (on a Testbed: per run, its total reward over the pulls).
        """
        self._validate()
        budget, by_steps = _budget(steps, episodes)
        check_callback(callback, progress)
        self._rng = derive_rng(self.seed, "explore")
        testbed = hasattr(env, "pull") and hasattr(env, "runs")
        if testbed and not by_steps:
            raise ValueError(
                f"episodes={episodes!r}: a Testbed has no episodes; pass steps=N (pulls per run)."
            )
        if testbed:
            k, runs, episodes_ = env.k, env.runs, None
        else:
            env = make_env(env)
            require_env_support(self, env)
            k, runs, episodes_ = int(env.action_space.n), 1, _Episodes(env, self.seed)
            episodes_.reset()
        self._start(runs, k)
        self._budget = budget
        rewards: list[float] = []
        optimal: list[float] = []
        totals = np.zeros(runs)
        try:
            with Reporter(
                callback,
                progress,
                desc=type(self).__name__,
                unit="steps" if by_steps else "episodes",
                total=budget,
            ) as report:
                t = 0
                while (t if by_steps else len(episodes_.returns)) < budget:
                    self._progress = (t if by_steps else len(episodes_.returns)) / budget
                    actions = self._choose(t)
                    if testbed:
                        r, opt = env.pull(actions)
                        check_finite_step(0, r, step=t + 1, env=type(env).__name__)
                    else:
                        reward, info, over = episodes_.step(int(actions[0]), t + 1)
                        r, opt = (
                            np.array([reward]),
                            np.array([info.get("was_optimal", np.nan)], dtype=float),
                        )
                        if over:
                            episodes_.reset()
                    self._update(actions, r)
                    totals += r
                    rewards.append(float(r.mean()))
                    optimal.append(float(opt.mean()))
                    t += 1
                    done = t if by_steps else len(episodes_.returns)
                    if (
                        (report.due(done) or done >= budget)
                        and report.active
                        and report(done=done, mean_reward=float(np.mean(rewards[-100:])))
                    ):
                        break
        except Exception:
            for name in (
                *self._state_names,
                "history_",
                "n_runs_",
            ):  # no half-learned state left behind
                self.__dict__.pop(name, None)
            raise
        ep_returns = totals.tolist() if testbed else episodes_.returns
        ep_lengths = [t] * runs if testbed else episodes_.lengths
        self.history_ = {
            "reward": np.asarray(rewards),
            "optimal": np.asarray(optimal),
            "episode_returns": np.asarray(ep_returns, dtype=float),
            "episode_lengths": np.asarray(ep_lengths, dtype=np.int64),
        }
        self.n_runs_ = runs
        return self

    # ------------------------------------------------------------ using it

    def act(self, obs: Any = None, *, explore: bool = False) -> int | np.ndarray:
        """The greedy arm (an int), or one per run, shape (runs,), after fitting a Testbed.

        explore : True chooses as in training (epsilon-greedy, the UCB bonus, a soft-max draw).
        """
        self._check_fitted("act")
        if not hasattr(self, "_rng"):
            self._rng = derive_rng(self.seed, "act")
        if explore:
            self._progress = 1.0
            best = self._choose(int(self.n_.sum(axis=1).max()) if hasattr(self, "n_") else 0)
        else:
            best = _argmax_random_ties(self._preferences(), derive_rng(self.seed, "greedy ties"))
        return int(best[0]) if self.n_runs_ == 1 else best

    def evaluate(
        self, env: Any, *, episodes: int = 10, seed: int | None = 0, max_steps: int | None = None
    ) -> dict[str, Any]:
        """Play the greedy arm for ``episodes`` episodes (see :func:`sandbox.rollout.evaluate`)."""
        arm = self.act()
        if not isinstance(arm, int):
            raise ValueError(
                "this agent was fitted on a Testbed of many runs; fit it on one env to evaluate it."
            )
        return rollout_evaluate(
            lambda obs: arm, env, episodes=episodes, seed=seed, max_steps=max_steps
        )

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {k: getattr(self, k) for k in self._state_names}
        return {"n_runs": self.n_runs_}, {
            **arrays,
            **{f"history.{k}": v for k, v in self.history_.items()},
        }

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.n_runs_ = int(state["n_runs"])
        for k in self._state_names:
            setattr(self, k, np.array(arrays[k]))
        self.history_ = {
            k: np.array(arrays[f"history.{k}"])
            for k in ("reward", "optimal", "episode_returns", "episode_lengths")
        }


class _ValueBandit(_BanditAgent):
    """Action-value estimates Q(a) and pull counts N(a), updated by sample averages or a constant step."""

    _state_names = ("q_", "n_")

    def _validate(self) -> None:
        super()._validate()
        if self.learning_rate is not None:
            check_number("learning_rate", self.learning_rate, low=0.0, high=1.0, low_open=True)
        check_number("initial", self.initial)

    def _start(self, runs: int, k: int) -> None:
        self.q_ = np.full((runs, k), float(self.initial))
        self.n_ = np.zeros((runs, k))

    def _preferences(self) -> np.ndarray:
        return self.q_

    def _update(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        rows = np.arange(len(actions))
        self.n_[rows, actions] += 1
        alpha = 1.0 / self.n_[rows, actions] if self.learning_rate is None else self.learning_rate
        self.q_[rows, actions] += alpha * (rewards - self.q_[rows, actions])


class EpsilonGreedy(_ValueBandit):
    """Action-value estimates, the greedy arm with probability 1 - epsilon, a random arm otherwise.

    Parameters
    ----------
    epsilon_start, epsilon_end, exploration_fraction : the exploration probability, linear
        from ``epsilon_start`` to ``epsilon_end`` over the first ``exploration_fraction`` of
        the budget, then held. The defaults are DQN's (1.0 -> 0.01 over the first tenth):
        on the 10-armed testbed (1000 runs x 1000 pulls) they earn an average reward of
        1.41 against 1.30 for the book's constant 0.1 (``epsilon_start=epsilon_end=0.1``)
        and 1.09 for 1.0 -> 0.05 over the first half, which pulls at
        random for too long for a bandit.
    learning_rate : None for sample averages (1/n), or a constant step size in (0, 1]
        (tracks drifting arms)
    initial : starting estimate of every arm (large values: optimistic initial values)
    seed : the one source of randomness

    Attributes
    ----------
    q_ : estimates, shape (runs, k)
    n_ : pulls of each arm, shape (runs, k)
    """

    def __init__(
        self,
        *,
        epsilon_start: float = 1.0,
        epsilon_end: float = 0.01,
        exploration_fraction: float = 0.1,
        learning_rate: float | None = None,
        initial: float = 0.0,
        seed: int | None = 0,
    ):
        self.epsilon_start = epsilon_start
        self.epsilon_end = epsilon_end
        self.exploration_fraction = exploration_fraction
        self.learning_rate = learning_rate
        self.initial = initial
        self.seed = seed

    def _validate(self) -> None:
        super()._validate()
        check_exploration(self.epsilon_start, self.epsilon_end, self.exploration_fraction)

    def _choose(self, t: int) -> np.ndarray:
        runs, k = self.q_.shape
        eps = exploration(
            self.epsilon_start, self.epsilon_end, self.exploration_fraction, self._progress
        )
        greedy = _argmax_random_ties(self.q_, self._rng)
        explore = self._rng.random(runs) < eps
        return np.where(explore, self._rng.integers(k, size=runs), greedy)


class UCB(_ValueBandit):
    """Upper-confidence-bound selection: argmax Q(a) + c sqrt(ln t / N(a)); untried arms first.

    Parameters
    ----------
    c : exploration width (the confidence bonus's weight), >= 0
    learning_rate, initial, seed : as in :class:`EpsilonGreedy`
    """

    def __init__(
        self,
        *,
        c: float = 2.0,
        learning_rate: float | None = None,
        initial: float = 0.0,
        seed: int | None = 0,
    ):
        self.c = c
        self.learning_rate = learning_rate
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
    learning_rate : preference step size alpha, > 0
    baseline : subtract the running average reward (True) or not
    seed : the one source of randomness

    Attributes
    ----------
    h_ : preferences, shape (runs, k)
    mean_reward_ : the baseline, shape (runs,)
    """

    _state_names = ("h_", "mean_reward_", "t_")

    def __init__(self, *, learning_rate: float = 0.1, baseline: bool = True, seed: int | None = 0):
        self.learning_rate = learning_rate
        self.baseline = baseline
        self.seed = seed

    def _validate(self) -> None:
        super()._validate()
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
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
        self.h_ += self.learning_rate * (rewards - self.mean_reward_)[:, None] * (onehot - pi)


class LinUCB(Learner):
    """Contextual bandit with one ridge regression per arm and an upper-confidence bonus (Li et al. 2010).

    In context x (a feature vector), arm a scores ``theta_a . x + c * sqrt(x' A_a^-1 x)``,
    where ``A_a = ridge * I + sum of x x'`` over the contexts in which a was
    pulled and ``theta_a = A_a^-1 b_a`` with ``b_a`` the sum of reward-weighted
    contexts. A constant feature 1 is appended, so each arm also learns a bias.
    On :class:`envs.ContextualBandit` this learns a classifier from reward alone.

    Parameters
    ----------
    c : exploration width (the confidence bonus's weight, as UCB's ``c``), >= 0
    ridge : L2 regularisation of every arm's regression, > 0
    seed : the env's seeds and random tie-breaking

    ``fit(env, *, steps=None, episodes=None, ...)``: steps are contexts seen (one pull
    each), episodes the env's episodes; neither: :data:`DEFAULT_STEPS` steps.

    Attributes
    ----------
    theta_ : array of shape (n_actions, n_features + 1), each arm's reward model
    a_inv_ : array of shape (n_actions, n_features + 1, n_features + 1)
    history_ : {"reward": reward of each training step, "episode_returns", "episode_lengths"}
    """

    paradigm = "reinforcement"
    budget_unit: ClassVar[str] = "steps"

    def __init__(self, *, c: float = 1.0, ridge: float = 1.0, seed: int | None = 0):
        self.c = c
        self.ridge = ridge
        self.seed = seed

    @classmethod
    def env_support(cls, env: gym.Env) -> str | None:
        reason = space_support(env, observation=(gym.spaces.Box,), action=(gym.spaces.Discrete,))
        if reason is None and len(env.observation_space.shape) != 1:
            reason = f"its observation space is Box{env.observation_space.shape}; LinUCB needs a flat feature vector, Box(n,)"
        return reason

    def fit(
        self,
        env: Any,
        *,
        steps: int | None = None,
        episodes: int | None = None,
        callback: Callable[[dict[str, Any]], Any] | None = None,
        progress: bool = False,
    ) -> LinUCB:
        """Learn online: a context, an arm, a reward, for the budget (see the class docstring)."""
        check_number("c", self.c, low=0.0)
        check_number("ridge", self.ridge, low=0.0, low_open=True)
        check_seed(self.seed)
        budget, by_steps = _budget(steps, episodes)
        check_callback(callback, progress)
        env = make_env(env)
        require_env_support(self, env)
        rng = derive_rng(self.seed, "ties")
        k, d = int(env.action_space.n), int(env.observation_space.shape[0]) + 1
        self.a_inv_ = np.repeat(np.eye(d)[None] / self.ridge, k, axis=0)
        self._b = np.zeros((k, d))
        self.theta_ = np.zeros((k, d))
        rewards: list[float] = []
        play = _Episodes(env, self.seed)
        obs = play.reset()
        check_finite_step(obs, 0.0, step=0, env=env)
        with Reporter(
            callback,
            progress,
            desc="LinUCB",
            unit="steps" if by_steps else "episodes",
            total=budget,
        ) as report:
            while (len(rewards) if by_steps else len(play.returns)) < budget:
                x = np.append(np.asarray(obs, dtype=float), 1.0)
                scores = self._scores(x[None], explore=True)
                best = np.flatnonzero(scores[0] == scores[0].max())
                a = int(best[rng.integers(len(best))])
                r, _, over = play.step(a, len(rewards) + 1)
                self._learn(a, x, r)
                rewards.append(r)
                obs = play.reset() if over else play.obs
                done = len(rewards) if by_steps else len(play.returns)
                if (
                    (report.due(done) or done >= budget)
                    and report.active
                    and report(done=done, mean_reward=float(np.mean(rewards[-100:])))
                ):
                    break
        self.history_ = {
            "reward": np.asarray(rewards),
            "episode_returns": np.asarray(play.returns),
            "episode_lengths": np.asarray(play.lengths, dtype=np.int64),
        }
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
        if not explore or self.c == 0:
            return mean
        width = np.sqrt(np.einsum("nd,kde,ne->nk", X, self.a_inv_, X))
        return mean + self.c * width

    def act(self, obs: Any, *, explore: bool = False) -> int | np.ndarray:
        """The arm with the best predicted reward for one context (an int) or a batch (shape (n,)).

        explore : True adds the confidence bonus, as in training
        """
        self._check_fitted("act")
        try:
            X = np.asarray(obs, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"obs={obs!r} is not a feature vector (or a batch of them).") from None
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.ndim != 2 or X.shape[1] != self.theta_.shape[1] - 1:
            raise ValueError(
                f"obs has shape {np.shape(obs)}; this LinUCB was fitted on {self.theta_.shape[1] - 1} "
                "features (one vector, or a batch of shape (n, n_features))."
            )
        if not np.all(np.isfinite(X)):
            raise ValueError(
                "obs holds NaN or infinite values; LinUCB acts on finite feature vectors."
            )
        best = self._scores(np.hstack([X, np.ones((len(X), 1))]), explore=explore).argmax(axis=1)
        return int(best[0]) if single else best

    def evaluate(
        self, env: Any, *, episodes: int = 100, seed: int | None = 0, max_steps: int | None = None
    ) -> dict[str, Any]:
        """Greedy play for ``episodes`` episodes (see :func:`sandbox.rollout.evaluate`)."""
        self._check_fitted("evaluate")
        return rollout_evaluate(self.act, env, episodes=episodes, seed=seed, max_steps=max_steps)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {
            "theta": self.theta_,
            "a_inv": self.a_inv_,
            "b": self._b,
            **{f"history.{k}": v for k, v in self.history_.items()},
        }

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.theta_, self.a_inv_, self._b = (np.array(arrays[k]) for k in ("theta", "a_inv", "b"))
        self.history_ = {
            k: np.array(arrays[f"history.{k}"])
            for k in ("reward", "episode_returns", "episode_lengths")
        }
