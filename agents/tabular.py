"""Tabular reinforcement learning: Q-learning, SARSA and Expected SARSA on one core.

::

    agent = QLearning(gamma=0.995, learning_rate=0.1, learning_rate_schedule="linear", learning_rate_end=0.001,
                      epsilon_start=1.0, epsilon_end=0.05, exploration_fraction=1.0, seed=0)
    agent.fit("FrozenLake-v1", episodes=20_000)
    agent.act(0)                        # greedy action in state 0
    agent.evaluate("FrozenLake-v1", episodes=1000)["success_rate"]
    agent.q_table_                      # array of shape (n_states, n_actions)

The three agents share one training loop (``_episode``, driven by
``_TabularAgent.fit``) and differ only in the value they bootstrap from in the
next state ``s'`` (Sutton & Barto, ch. 6):

- Q-learning: ``max_a Q(s', a)`` (off-policy: the greedy policy's value)
- SARSA: ``Q(s', a')`` with ``a'`` the action the epsilon-greedy policy then takes
- Expected SARSA: the epsilon-greedy policy's expectation of ``Q(s', .)``

A terminated transition bootstraps from nothing; a truncated one (a time limit)
still bootstraps, since the state itself is not terminal. The action space must
be ``Discrete``; so must the observation space, or a ``Tuple``/``Dict`` of
``Discrete`` parts, which the agents flatten to one index themselves through
:class:`sandbox.wrappers.FlattenDiscrete` (Blackjack). A Box space is refused with
a pointer to :class:`sandbox.wrappers.Discretize`, and a table of more than
:data:`MAX_TABLE_ENTRIES` entries is refused before it is allocated.

The loop is kept lean on purpose (see ``benchmarks/tabular.py``): the table is a
list of Python lists while learning, random numbers come in blocks, and one
uniform draw per step decides both explore-or-not and which action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sandbox.checks import check_number, check_seed
from sandbox.environments import (
    check_finite_step,
    describe_space,
    env_name,
    make_env,
    reason_from,
    require_env_support,
)
from sandbox.learner import Learner
from sandbox.progress import Reporter, check_callback
from sandbox.rollout import DEFAULT_MAX_STEPS, episode_success, evaluate, time_limit
from sandbox.schedules import (
    check_exploration,
    check_learning_rate_schedule,
    exploration,
    schedule_value,
)
from sandbox.seeding import derive_rng, derive_seed
from sandbox.wrappers import FlattenDiscrete, discrete_parts

RULES = ("q-learning", "sarsa", "expected-sarsa")
SAFE = 1.0 - 1e-9
MAX_TABLE_ENTRIES = 10_000_000
"""The largest Q-table (states x actions) a tabular learner allocates: 80 MB as float64,
several times that as the Python lists the training loop uses."""
DEFAULT_EPISODES = 10_000
"""The tabular agents' budget when ``fit`` is given neither ``steps`` nor ``episodes``."""


# ----------------------------------------------------------------- shared helpers


def discrete_spaces(env: gym.Env, who: str) -> tuple[int, int, int, int]:
    """(n_states, first state, n_actions, first action) of an env with Discrete spaces.

    Anything else gets an error that names the space and says how to make it
    Discrete; a table of more than :data:`MAX_TABLE_ENTRIES` entries is refused
    with its size.
    """
    obs, act = env.observation_space, env.action_space
    name = env_name(env)
    if not isinstance(obs, spaces.Discrete):
        if discrete_parts(obs) is not None:
            hint = (
                "Its parts are all Discrete: wrap the env in sandbox.wrappers.FlattenDiscrete(env) "
                "to index them as one Discrete state."
            )
        else:
            hint = (
                "Wrap the env in sandbox.wrappers.Discretize(env, bins=..., low=..., high=...) to cut a Box "
                "observation space into a grid of Discrete states, or in sandbox.wrappers.FlattenDiscrete(env) "
                "for a Tuple or Dict of Discrete parts."
            )
        raise ValueError(
            f"{who} is tabular and needs a Discrete observation space, but {name} has "
            f"observation_space={describe_space(obs)}. {hint}"
        )
    if not isinstance(act, spaces.Discrete):
        raise ValueError(
            f"{who} is tabular and needs a Discrete action space, but {name} has action_space={describe_space(act)}. "
            "Wrap the env in sandbox.wrappers.Discretize(env, action_bins=...) to offer a grid of Box actions "
            "as Discrete ones."
        )
    entries = int(obs.n) * int(act.n)
    if entries > MAX_TABLE_ENTRIES:
        raise ValueError(
            f"{who} would need a Q-table of {int(obs.n):,} states x {int(act.n):,} actions = {entries:,} entries "
            f"for {name}, over the limit of {MAX_TABLE_ENTRIES:,} entries (agents.tabular.MAX_TABLE_ENTRIES). "
            "Use fewer states (coarser Discretize bins, or fewer observation dimensions), or a function "
            "approximator such as DQN."
        )
    return int(obs.n), int(obs.start), int(act.n), int(act.start)


def tabular_env(env: gym.Env) -> gym.Env:
    """``env``, wrapped in :class:`FlattenDiscrete` when its observations are a Tuple or Dict of Discrete parts."""
    obs = env.observation_space
    if not isinstance(obs, spaces.Discrete) and discrete_parts(obs) is not None:
        return FlattenDiscrete(env)
    return env


def epsilon_greedy(row: list[float], epsilon: float, u: float, n: int) -> int:
    """An epsilon-greedy action from one uniform draw ``u`` in [0, 1).

    ``u < epsilon`` explores: ``u / epsilon`` is again uniform, so it picks the
    action. Otherwise ``(u - epsilon) / (1 - epsilon)`` is uniform and breaks
    ties among the greedy actions at random (with all-equal values early on,
    always taking the first one would keep the agent walking into one wall).
    """
    if u < epsilon:
        return min(int(u / epsilon * n), n - 1)
    best = max(row)
    if row.count(best) == 1:
        return row.index(best)
    return _tie(row, best, (u - epsilon) / (1.0 - epsilon))


def greedy_policy(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The greedy action index per state, shape (n_states,), ties broken at random with ``rng``.

    Taking the first of tied actions can send a greedy policy into a wall forever
    where bumping and moving on are worth the same (SARSA on CliffWalking).
    """
    best = q == q.max(axis=1, keepdims=True)
    return np.argmax(np.where(best, rng.random(q.shape), -1.0), axis=1)


def uniforms(rng: np.random.Generator, block: int = 4096) -> Iterator[float]:
    """An endless stream of uniform floats in [0, 1), drawn in blocks (cheap per step)."""
    while True:
        yield from rng.random(block).tolist()


def _episode(
    step: Callable,
    q: list[list[float]],
    s: int,
    eps: float,
    alpha: float,
    limit: int,
    gamma: float,
    rule: int,
    draw: Callable[[], float],
    n_actions: int,
    obs_start: int,
    act_start: int,
    bad: Callable[[Any, Any, int], None],
) -> tuple[float, int, bool, float, dict]:
    """One training episode from state ``s``, the benchmarked hot path: plain locals, one
    uniform draw per step, and the next action chosen in one place for all three rules.

    Q-learning and Expected SARSA update Q(s, a) before choosing a' (as in Sutton &
    Barto's pseudo-code); SARSA must choose a' first, since it bootstraps from it.
    ``limit`` stops after that many steps (-1: none). ``bad(obs, reward, length)`` is
    called (and raises) when a reward is not finite, before it reaches the table.
    Returns (return, length, terminated, last reward, last info).
    """
    # u / eps and (u - eps) / (1 - eps) are uniform in [0, 1); the factor just below 1 keeps
    # rounding from ever yielding index n_actions.
    explore_scale = n_actions / eps * SAFE if eps > 0 else 0.0
    greedy_scale = 1.0 / (1.0 - eps) * SAFE if eps < 1 else 0.0
    a = epsilon_greedy(q[s], eps, draw(), n_actions)
    ret, length = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = step(a + act_start)
        length += 1
        if reward - reward:  # NaN or +-inf (x - x is 0 for every finite x)
            bad(obs, reward, length)
        s2 = obs - obs_start
        ret += reward
        row = q[s]
        if terminated:
            row[a] += alpha * (reward - row[a])
            return ret, length, True, reward, info
        row2 = q[s2]
        best = max(row2)
        if rule == 0:  # Q-learning: the greedy value of s'
            row[a] += alpha * (reward + gamma * best - row[a])
            if s2 == s:
                best = max(row2)
        elif rule == 2:  # Expected SARSA: the epsilon-greedy expectation at s'
            row[a] += alpha * (
                reward + gamma * ((1.0 - eps) * best + eps * sum(row2) / n_actions) - row[a]
            )
            if s2 == s:
                best = max(row2)
        u = draw()  # epsilon_greedy, inlined
        if u < eps:
            a2 = int(u * explore_scale)
        else:
            ties = row2.count(best)
            if ties == 1:
                a2 = row2.index(best)
            elif ties == n_actions:  # all equal (an unvisited state): any action
                a2 = int((u - eps) * greedy_scale * n_actions)
            else:
                a2 = _tie(row2, best, (u - eps) * greedy_scale)
        if rule == 1:  # SARSA: the value of the action it will take
            row[a] += alpha * (reward + gamma * row2[a2] - row[a])
        if truncated or length == limit:
            return ret, length, False, reward, info
        s, a = s2, a2


def _tie(row: list[float], best: float, x: float) -> int:
    """A uniformly chosen index among those of ``row`` equal to ``best``; x uniform in [0, 1)."""
    ties = [i for i, v in enumerate(row) if v == best]
    return ties[min(int(x * len(ties)), len(ties) - 1)]


def budget_of(steps: Any, episodes: Any, default_episodes: int) -> tuple[int, bool]:
    """(budget, by_steps) from ``fit``'s ``steps``/``episodes``: exactly one, or neither for the default."""
    if steps is not None and episodes is not None:
        raise ValueError(
            f"pass one budget to fit, steps=N or episodes=N, not both; got steps={steps!r}, episodes={episodes!r}."
        )
    if steps is not None:
        return int(check_number("steps", steps, low=1, integer=True)), True
    if episodes is not None:
        return int(check_number("episodes", episodes, low=1, integer=True)), False
    return default_episodes, False


# ------------------------------------------------------------ the Q-table policy


class QTablePolicy:
    """What every table-based learner shares (a mixin beside :class:`Learner`, not a learner itself):
    greedy ``act``, ``evaluate``, checkpoints and the env checks.

    A learner's ``fit`` passes its env through :meth:`_tabular_env` (which refuses
    what the table cannot hold, with the learner's ``env_support`` reason) and ends
    with :meth:`_set_table`.
    """

    @classmethod
    def env_support(cls, env: gym.Env) -> str | None:
        """None when the spaces are Discrete (or a Tuple/Dict of Discrete parts, flattened by
        :class:`sandbox.wrappers.FlattenDiscrete`) and the table fits; otherwise why not."""
        return reason_from(lambda: discrete_spaces(tabular_env(env), cls.__name__))

    def _tabular_env(self, env: gym.Env) -> tuple[gym.Env, tuple[int, int, int, int]]:
        """The env as the table sees it (Tuple/Dict observations flattened) and its spaces."""
        wrapped = tabular_env(env)
        return wrapped, discrete_spaces(wrapped, type(self).__name__)

    def _set_table(
        self,
        q: np.ndarray,
        n_states: int,
        obs_start: int,
        n_actions: int,
        act_start: int,
        obs_layout: FlattenDiscrete | list[list[int]] | None = None,
    ) -> None:
        self.q_table_ = np.asarray(q, dtype=np.float64).reshape(n_states, n_actions)
        self.n_states_, self.n_actions_ = n_states, n_actions
        self._obs_start, self._act_start = obs_start, act_start
        if isinstance(obs_layout, FlattenDiscrete):
            obs_layout = [list(pair) for pair in zip(obs_layout.sizes, obs_layout.starts)]
        self._obs_layout = (
            obs_layout  # [(n, start), ...] of a flattened Tuple/Dict observation, or None
        )
        self.policy_ = greedy_policy(
            self.q_table_, derive_rng(getattr(self, "seed", 0), "greedy ties")
        )
        self._greedy = (self.policy_ + act_start).tolist()

    def _flat_index(self, obs: Any) -> int:
        values = list(obs.values()) if isinstance(obs, dict) else list(obs)
        if len(values) != len(self._obs_layout):
            raise ValueError(
                f"obs={obs!r} has {len(values)} parts; this {type(self).__name__} was fitted on "
                f"{len(self._obs_layout)} Discrete parts."
            )
        out = 0
        for v, (n, start) in zip(values, self._obs_layout):
            i = (
                int(v) - start
                if isinstance(v, int | np.integer) and not isinstance(v, bool)
                else -1
            )
            if not 0 <= i < n:
                raise ValueError(
                    f"obs={obs!r}: the value {v!r} is outside its part's range [{start}, {start + n - 1}]."
                )
            out = out * n + i
        return out

    def _state_index(self, obs: Any) -> Any:
        if self._obs_layout is not None and isinstance(obs, tuple | dict):
            return self._flat_index(obs)
        if isinstance(obs, int | np.integer) and not isinstance(obs, bool):
            i = int(obs) - self._obs_start
            if 0 <= i < self.n_states_:
                return i
        else:
            arr = np.asarray(obs)
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise ValueError(
                    f"obs={obs!r} is not finite (NaN or inf); a {type(self).__name__} acts on integer states."
                )
            if arr.dtype.kind in "iu" and arr.size:
                idx = arr.astype(np.int64) - self._obs_start
                if idx.min() >= 0 and idx.max() < self.n_states_:
                    return idx
        first = self._obs_start
        raise ValueError(
            f"obs={obs!r} is not a state of this {type(self).__name__}; expected an integer (or an array of "
            f"integers) in [{first}, {first + self.n_states_ - 1}]"
            + (" or a tuple of its Discrete parts." if self._obs_layout is not None else ".")
        )

    def act(self, obs: Any, *, explore: bool = False) -> Any:
        """The greedy action for ``obs`` (an int, or an int array of any shape -> actions of that shape;
        a tuple or dict of parts where the env's observations were flattened by FlattenDiscrete).

        explore : True takes an epsilon-greedy action instead, with the epsilon
            reached at the end of training (tabular learners only).
        """
        self._check_fitted("act")
        i = self._state_index(obs)
        if not explore:
            return self._greedy[i] if isinstance(i, int) else self.policy_[i] + self._act_start
        return self._explore(i)

    def _explore(self, i: Any) -> Any:
        raise ValueError(
            f"{type(self).__name__} is a planner; act(obs, explore=True) is for the learning agents."
        )

    def evaluate(
        self,
        env: str | gym.Env,
        *,
        episodes: int = 100,
        seed: int | None = 0,
        max_steps: int | None = None,
    ) -> dict[str, Any]:
        """Run the greedy policy for ``episodes`` episodes (episode i reset with seed ``seed + i``).

        Returns ``mean_return``, ``std_return``, ``success_rate``, ``mean_length``, ``episodes``,
        ``max_steps`` and ``capped_episodes`` (see :func:`sandbox.rollout.evaluate`).
        """
        self._check_fitted("evaluate")
        env, found = self._tabular_env(make_env(env))
        if found != (self.n_states_, self._obs_start, self.n_actions_, self._act_start):
            raise ValueError(
                f"{env_name(env)} has {found[0]} states and {found[2]} actions, but this {type(self).__name__} "
                f"was fitted on {self.n_states_} states and {self.n_actions_} actions."
            )
        greedy, first = self._greedy, found[1]
        return evaluate(
            lambda s: greedy[s - first], env, episodes=episodes, seed=seed, max_steps=max_steps
        )

    # checkpoints: the table, the spaces' offsets, and whatever the subclass adds

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "obs_start": self._obs_start,
            "act_start": self._act_start,
            "obs_layout": self._obs_layout,
            **self._extra_state(),
        }
        return state, {"q_table": self.q_table_, **self._extra_arrays()}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        q = np.asarray(arrays["q_table"], dtype=np.float64)
        if q.ndim != 2:
            raise ValueError(f"q_table has shape {q.shape}; expected (n_states, n_actions)")
        self._set_table(
            q,
            q.shape[0],
            int(state["obs_start"]),
            q.shape[1],
            int(state["act_start"]),
            state.get("obs_layout"),
        )
        self._load_extra(state, arrays)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _load_extra(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        pass


# ------------------------------------------------------------ the learning agents

HISTORY = ("episode_returns", "episode_lengths", "episode_successes", "epsilon", "learning_rate")


class _TabularAgent(QTablePolicy, Learner):
    """The shared core of the three tabular agents; ``rule`` picks the bootstrap.

    Parameters
    ----------
    learning_rate : the TD step size alpha, in (0, 1]
    learning_rate_schedule : "constant", "linear" or "cosine" (see :mod:`sandbox.schedules`):
        from ``learning_rate`` to ``learning_rate_end`` over the whole budget. A decaying
        step averages out the noise of a stochastic env (a slippery lake), where a constant
        one leaves which of two nearly equal actions is greedy to chance; but it also slows
        what a short budget learns (Q-learning's greedy path on CliffWalking in 500
        episodes), so the default stays constant and QLearning's preset for
        ``sandbox/RandomFrozenLake-v0`` (sandbox/presets/QLearning.toml) decays it
    learning_rate_end : the step size at the end of the budget, in (0, 1]
    gamma : discount factor in [0, 1]
    epsilon_start, epsilon_end, exploration_fraction : epsilon-greedy exploration;
        epsilon goes linearly from ``epsilon_start`` to ``epsilon_end`` over the first
        ``exploration_fraction`` of the budget (episodes or steps) and stays there.
        The defaults (1.0 -> 0.05 over the first fifth) leave most of the budget to
        following the table, where ``initial_q`` does the exploring that matters.
        Constant epsilon is ``epsilon_start == epsilon_end``. Schedules advance at the
        start of each episode.
    initial_q : the value every table entry starts at; a value above any
        achievable return is "optimism in the face of uncertainty": an untried action
        looks best until tried, which makes even a greedy agent try every action
        systematically. The default 1.0 is optimistic wherever the return is at most 1
        (FrozenLake and GridWorld goals, Blackjack) and changes little where steps cost
        (Taxi, CliffWalking: most values are negative, so 0 already was); on a sparse
        reward such as a generated FrozenLake map, epsilon-greedy from 0 rarely finds
        the goal at all
    seed : exploration, the env's seed and the greedy policy's tie-breaking; the same
        seed gives the same Q-table

    ``fit`` without a budget runs :data:`DEFAULT_EPISODES` episodes.

    Attributes
    ----------
    q_table_ : array of shape (n_states, n_actions)
    policy_ : array of shape (n_states,), the greedy action index per state (ties broken at random)
    history_ : {"episode_returns", "episode_lengths", "episode_successes", "epsilon", "learning_rate"}:
        one entry per training episode
    n_steps_, n_episodes_ : how much training ``fit`` did
    """

    paradigm = "reinforcement"
    budget_unit: ClassVar[str] = "episodes"
    rule: ClassVar[str] = "q-learning"

    def __init__(
        self,
        *,
        learning_rate: float = 0.1,
        learning_rate_schedule: str = "constant",
        learning_rate_end: float = 0.01,
        gamma: float = 0.99,
        epsilon_start: float = 1.0,
        epsilon_end: float = 0.05,
        exploration_fraction: float = 0.2,
        initial_q: float = 1.0,
        seed: int | None = 0,
    ):
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.learning_rate_end = learning_rate_end
        self.gamma = gamma
        self.epsilon_start = epsilon_start
        self.epsilon_end = epsilon_end
        self.exploration_fraction = exploration_fraction
        self.initial_q = initial_q
        self.seed = seed

    def _validate(self) -> None:
        check_number("learning_rate", self.learning_rate, low=0.0, high=1.0, low_open=True)
        check_learning_rate_schedule(self.learning_rate_schedule, self.learning_rate_end, high=1.0)
        check_number("gamma", self.gamma, low=0.0, high=1.0)
        check_exploration(self.epsilon_start, self.epsilon_end, self.exploration_fraction)
        check_number("initial_q", self.initial_q)
        check_seed(self.seed)

    def fit(
        self,
        env: str | gym.Env,
        *,
        steps: int | None = None,
        episodes: int | None = None,
        callback: Callable[[dict[str, Any]], Any] | None = None,
        progress: bool = False,
    ) -> _TabularAgent:
        """Learn from ``steps`` env steps or ``episodes`` episodes (one of them; neither:
        :data:`DEFAULT_EPISODES` episodes).

        env : a Gymnasium env, an id such as ``"FrozenLake-v1"``, or a
            ``"package.module:Class"`` entry point (see :func:`sandbox.environments.make_env`)
        callback : called about every 1 % of the budget with ``{"unit", "done", "total",
            "mean_return" (last 100 episodes), "epsilon", "policy"}`` (``policy``: the greedy
            action index per state then, shape (n_states,), for learning curves); returning
            False stops training (see :mod:`sandbox.progress`)
        progress : a progress bar on standard error
        """
        self._validate()
        budget, by_steps = budget_of(steps, episodes, DEFAULT_EPISODES)
        check_callback(callback, progress)
        owned = not isinstance(env, gym.Env)
        env = make_env(env)
        try:
            require_env_support(self, env)
            wrapped, spaces_ = self._tabular_env(env)
            with Reporter(
                callback,
                progress,
                desc=type(self).__name__,
                unit="steps" if by_steps else "episodes",
                total=budget,
            ) as report:
                q, history, n_steps = self._learn(wrapped, spaces_, budget, by_steps, report)
        finally:
            if owned:
                env.close()
        self._set_table(np.array(q), *spaces_, wrapped if wrapped is not env else None)
        self.history_ = history
        self.n_steps_, self.n_episodes_ = n_steps, len(history["episode_returns"])
        self._rng = derive_rng(self.seed, "act")
        return self

    def _learn(
        self,
        env: gym.Env,
        spaces_: tuple[int, int, int, int],
        budget: int,
        by_steps: bool,
        report: Reporter,
    ) -> tuple[list[list[float]], dict[str, list], int]:
        """Episodes until the budget is spent; schedules and bookkeeping once per episode."""
        n_states, obs_start, n_actions, act_start = spaces_
        draw = uniforms(derive_rng(self.seed, "explore")).__next__
        env_seed = derive_seed(self.seed, "env")
        q = [[float(self.initial_q)] * n_actions for _ in range(n_states)]
        history: dict[str, list] = {k: [] for k in HISTORY}
        returns, lengths, successes, epsilons, alphas = history.values()
        name = env_name(env)
        total_steps, episode = 0, 0

        def bad(obs: Any, reward: Any, length: int) -> None:
            check_finite_step(obs, reward, step=total_steps + length, env=name)

        settings = (
            float(self.gamma),
            RULES.index(self.rule),
            draw,
            n_actions,
            obs_start,
            act_start,
            bad,
        )
        # An env without a time limit of its own is truncated as a TimeLimit would (bootstrapping, not
        # ending): a greedy path that bumps into a wall would otherwise make one episode last forever.
        cap = None if time_limit(env) is not None else DEFAULT_MAX_STEPS
        while (total_steps if by_steps else episode) < budget:
            progress = (total_steps if by_steps else episode) / budget
            eps = exploration(
                self.epsilon_start, self.epsilon_end, self.exploration_fraction, progress
            )
            alpha = schedule_value(
                self.learning_rate_schedule, self.learning_rate, self.learning_rate_end, progress
            )
            obs, info = env.reset(seed=env_seed if episode == 0 else None)
            limit = budget - total_steps if by_steps else -1
            if cap is not None:
                limit = cap if limit < 0 else min(limit, cap)
            ret, length, terminated, reward, info = _episode(
                env.step, q, obs - obs_start, eps, alpha, limit, *settings
            )
            total_steps += length
            episode += 1
            returns.append(float(ret))
            lengths.append(length)
            successes.append(
                episode_success(
                    terminated, float(reward), info, episode_return=float(ret), length=length
                )
            )
            epsilons.append(eps)
            alphas.append(alpha)
            done = total_steps if by_steps else episode
            if (
                (report.due(done) or done >= budget)
                and report.active
                and report(
                    done=done,
                    mean_return=float(np.mean(returns[-100:])),
                    epsilon=eps,
                    policy=np.argmax(np.array(q), axis=1),
                )
            ):
                break
        return q, history, total_steps

    def _explore(self, i: Any) -> Any:
        eps = self.history_["epsilon"][-1] if self.history_["epsilon"] else float(self.epsilon_end)
        if isinstance(i, int):
            return (
                epsilon_greedy(
                    self.q_table_[i].tolist(), eps, float(self._rng.random()), self.n_actions_
                )
                + self._act_start
            )
        flat = np.asarray(i).reshape(-1)
        u = self._rng.random(flat.size)
        out = [
            epsilon_greedy(self.q_table_[s].tolist(), eps, float(x), self.n_actions_)
            for s, x in zip(flat, u)
        ]
        return np.asarray(out, dtype=np.int64).reshape(np.shape(i)) + self._act_start

    def _extra_state(self) -> dict[str, Any]:
        return {"n_steps": self.n_steps_, "n_episodes": self.n_episodes_}

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {f"history.{k}": np.asarray(v, dtype=np.float64) for k, v in self.history_.items()}

    def _load_extra(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.n_steps_, self.n_episodes_ = int(state["n_steps"]), int(state["n_episodes"])
        self.history_ = {}
        for key in HISTORY:
            values = arrays[f"history.{key}"].tolist()
            self.history_[key] = (
                [int(v) for v in values]
                if key == "episode_lengths"
                else [bool(v) for v in values]
                if key == "episode_successes"
                else values
            )
        self._rng = derive_rng(self.seed, "act")


class QLearning(_TabularAgent):
    """Q-learning (Watkins 1989): off-policy TD control, bootstrapping from ``max_a Q(s', a)``.

    It learns the greedy policy's values while behaving epsilon-greedily, which
    is why on the cliff it learns the short path along the edge (and falls in
    while exploring). Parameters and attributes: see :class:`_TabularAgent`.
    """

    rule = "q-learning"


class SARSA(_TabularAgent):
    """SARSA (Rummery & Niranjan 1994): on-policy TD control, bootstrapping from ``Q(s', a')``.

    ``a'`` is the action the epsilon-greedy policy actually takes next, so it
    learns the value of exploring too and prefers paths where a random step is
    safe. Parameters and attributes: see :class:`_TabularAgent`.
    """

    rule = "sarsa"


class ExpectedSARSA(_TabularAgent):
    """Expected SARSA (van Seijen et al. 2009): bootstraps from the epsilon-greedy expectation
    ``(1 - eps) max_a Q(s', a) + eps mean_a Q(s', a)``, SARSA without the sampling noise of ``a'``.
    Parameters and attributes: see :class:`_TabularAgent`.
    """

    rule = "expected-sarsa"
