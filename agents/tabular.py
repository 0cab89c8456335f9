"""Tabular reinforcement learning: Q-learning, SARSA and Expected SARSA on one core.

::

    agent = QLearning(gamma=0.995, alpha=0.1, alpha_schedule="linear", alpha_end=0.001, epsilon=1.0,
                      epsilon_schedule="linear", epsilon_end=0.05, seed=0).fit("FrozenLake-v1", episodes=20_000)
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
still bootstraps, since the state itself is not terminal. Observation and action
spaces must be ``Discrete``; a Box space is refused with a pointer to
:class:`sandbox.wrappers.Discretize`.

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

from sandbox.checks import check_choice, check_number, check_seed
from sandbox.environments import describe_space, env_name, make_env, reason_from
from sandbox.learner import Learner
from sandbox.rollout import episode_success, evaluate

SCHEDULES = ("constant", "linear", "exponential")
RULES = ("q-learning", "sarsa", "expected-sarsa")
SAFE = 1.0 - 1e-9


# ----------------------------------------------------------------- shared helpers


def schedule_value(kind: str, start: float, end: float, progress: float) -> float:
    """A hyperparameter moving from ``start`` to ``end`` as ``progress`` goes 0 -> 1, then held.

    kind : "constant" (always ``start``), "linear", or "exponential"
        (geometric: ``start * (end / start) ** progress``; both must be > 0)
    """
    if kind == "constant":
        return start
    p = min(max(progress, 0.0), 1.0)
    if kind == "linear":
        return start + (end - start) * p
    return start * (end / start) ** p


def discrete_spaces(env: gym.Env, who: str) -> tuple[int, int, int, int]:
    """(n_states, first state, n_actions, first action) of an env with Discrete spaces.

    Anything else gets an error that names the space and says how to make it Discrete.
    """
    obs, act = env.observation_space, env.action_space
    name = env_name(env)
    if not isinstance(obs, spaces.Discrete):
        raise ValueError(
            f"{who} is tabular and needs a Discrete observation space, but {name} has observation_space={describe_space(obs)}. "
            "Wrap the env in sandbox.wrappers.Discretize(env, bins=..., low=..., high=...) to cut a Box "
            "observation space into a grid of Discrete states."
        )
    if not isinstance(act, spaces.Discrete):
        raise ValueError(
            f"{who} is tabular and needs a Discrete action space, but {name} has action_space={describe_space(act)}. "
            "Wrap the env in sandbox.wrappers.Discretize(env, action_bins=...) to offer a grid of Box actions "
            "as Discrete ones."
        )
    return int(obs.n), int(obs.start), int(act.n), int(act.start)


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


def uniforms(rng: np.random.Generator, block: int = 4096) -> Iterator[float]:
    """An endless stream of uniform floats in [0, 1), drawn in blocks (cheap per step)."""
    while True:
        yield from rng.random(block).tolist()


def _episode(step: Callable, q: list[list[float]], s: int, eps: float, alpha: float, limit: int,
             gamma: float, rule: int, draw: Callable[[], float], n_actions: int, obs_start: int,
             act_start: int) -> tuple[float, int, bool, float, dict]:
    """One training episode from state ``s``, the benchmarked hot path: plain locals, one
    uniform draw per step, and the next action chosen in one place for all three rules.

    Q-learning and Expected SARSA update Q(s, a) before choosing a' (as in Sutton &
    Barto's pseudo-code); SARSA must choose a' first, since it bootstraps from it.
    ``limit`` stops after that many steps (-1: none). Returns (return, length,
    terminated, last reward, last info).
    """
    # u / eps and (u - eps) / (1 - eps) are uniform in [0, 1); the factor just below 1 keeps
    # rounding from ever yielding index n_actions.
    explore_scale = n_actions / eps * SAFE if eps > 0 else 0.0
    greedy_scale = 1.0 / (1.0 - eps) * SAFE if eps < 1 else 0.0
    a = epsilon_greedy(q[s], eps, draw(), n_actions)
    ret, length = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = step(a + act_start)
        s2 = obs - obs_start
        ret += reward
        length += 1
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
            row[a] += alpha * (reward + gamma * ((1.0 - eps) * best + eps * sum(row2) / n_actions) - row[a])
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


# ------------------------------------------------------------ the Q-table policy


class _QTablePolicy(Learner):
    """What every table-based learner shares: greedy ``act``, ``evaluate``, checkpoints.

    A subclass's ``fit`` ends with :meth:`_set_table`.
    """

    def _set_table(self, q: np.ndarray, n_states: int, obs_start: int, n_actions: int, act_start: int) -> None:
        self.q_table_ = np.asarray(q, dtype=np.float64).reshape(n_states, n_actions)
        self.n_states_, self.n_actions_ = n_states, n_actions
        self._obs_start, self._act_start = obs_start, act_start
        # First index among ties: a deterministic greedy policy.
        self.policy_ = np.argmax(self.q_table_, axis=1)
        self._greedy = (self.policy_ + act_start).tolist()

    def _state_index(self, obs: Any) -> Any:
        if isinstance(obs, int | np.integer) and not isinstance(obs, bool):
            i = int(obs) - self._obs_start
            if 0 <= i < self.n_states_:
                return i
        else:
            arr = np.asarray(obs)
            if arr.dtype.kind in "iu" and arr.size:
                idx = arr.astype(np.int64) - self._obs_start
                if idx.min() >= 0 and idx.max() < self.n_states_:
                    return idx
        first = self._obs_start
        raise ValueError(
            f"obs={obs!r} is not a state of this {type(self).__name__}; expected an integer (or an array of "
            f"integers) in [{first}, {first + self.n_states_ - 1}]."
        )

    def act(self, obs: Any, *, explore: bool = False) -> Any:
        """The greedy action for ``obs`` (an int, or an int array of any shape -> actions of that shape).

        explore : True takes an epsilon-greedy action instead, with the epsilon
            reached at the end of training (tabular learners only).
        """
        self._check_fitted("act")
        i = self._state_index(obs)
        if not explore:
            return self._greedy[i] if isinstance(i, int) else self.policy_[i] + self._act_start
        return self._explore(i)

    def _explore(self, i: Any) -> Any:
        raise ValueError(f"{type(self).__name__} is a planner; act(obs, explore=True) is for the learning agents.")

    def evaluate(self, env: str | gym.Env, *, episodes: int = 100, seed: int | None = 0,
                 max_steps: int | None = None) -> dict[str, float]:
        """Run the greedy policy for ``episodes`` episodes (episode i reset with seed ``seed + i``).

        Returns ``mean_return``, ``std_return``, ``success_rate``, ``mean_length``, ``episodes``
        (see :func:`sandbox.rollout.evaluate`).
        """
        self._check_fitted("evaluate")
        env = make_env(env)
        n_states, obs_start, n_actions, act_start = discrete_spaces(env, type(self).__name__)
        if (n_states, obs_start, n_actions, act_start) != (self.n_states_, self._obs_start, self.n_actions_, self._act_start):
            raise ValueError(
                f"{env_name(env)} has {n_states} states and {n_actions} actions, but this {type(self).__name__} "
                f"was fitted on {self.n_states_} states and {self.n_actions_} actions."
            )
        greedy, first = self._greedy, obs_start
        return evaluate(lambda s: greedy[s - first], env, episodes=episodes, seed=seed, max_steps=max_steps)

    # checkpoints: the table, the spaces' offsets, and whatever the subclass adds

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {"obs_start": self._obs_start, "act_start": self._act_start, **self._extra_state()}
        return state, {"q_table": self.q_table_, **self._extra_arrays()}

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        q = np.asarray(arrays["q_table"], dtype=np.float64)
        if q.ndim != 2:
            raise ValueError(f"q_table has shape {q.shape}; expected (n_states, n_actions)")
        self._set_table(q, q.shape[0], int(state["obs_start"]), q.shape[1], int(state["act_start"]))
        self._load_extra(state, arrays)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _load_extra(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        pass


# ------------------------------------------------------------ the learning agents


class _TabularAgent(_QTablePolicy):
    """The shared core of the three tabular agents; ``rule`` picks the bootstrap.

    Parameters
    ----------
    gamma : discount factor in [0, 1]
    alpha : learning rate (step size) in (0, 1]
    alpha_schedule : "constant", "linear" or "exponential" decay from ``alpha`` to ``alpha_end``
    alpha_end : the learning rate at the end of the decay, in (0, 1]
    epsilon : exploration rate in [0, 1] (the probability of a uniformly random action)
    epsilon_schedule : "constant", "linear" or "exponential" decay from ``epsilon`` to ``epsilon_end``
    epsilon_end : the exploration rate at the end of the decay, in [0, 1]
        (> 0 for the exponential schedule)
    decay_fraction : the share of the training budget (episodes or steps) over
        which the decaying schedules run, in (0, 1]; after it they hold their end
        value. Schedules advance at the start of each episode.
    initial_q : the value every table entry starts at; a value above any
        achievable return is "optimism in the face of uncertainty", which makes
        even a greedy agent try every action
    seed : exploration and the env's seed; the same seed gives the same Q-table

    Attributes
    ----------
    q_table_ : array of shape (n_states, n_actions)
    policy_ : array of shape (n_states,), the greedy action index per state
    history_ : {"return", "length", "success", "epsilon", "alpha"}: one entry per training episode
    n_steps_, n_episodes_ : how much training ``fit`` did
    """

    paradigm = "reinforcement"
    rule: ClassVar[str] = "q-learning"

    @classmethod
    def env_support(cls, env: gym.Env) -> str | None:
        """None when both spaces are Discrete (the same check ``fit`` makes); otherwise why not."""
        return reason_from(lambda: discrete_spaces(env, cls.__name__))

    def __init__(
        self,
        *,
        gamma: float = 0.99,
        alpha: float = 0.1,
        alpha_schedule: str = "constant",
        alpha_end: float = 0.01,
        epsilon: float = 0.1,
        epsilon_schedule: str = "constant",
        epsilon_end: float = 0.01,
        decay_fraction: float = 1.0,
        initial_q: float = 0.0,
        seed: int | None = 0,
    ):
        self.gamma = gamma
        self.alpha = alpha
        self.alpha_schedule = alpha_schedule
        self.alpha_end = alpha_end
        self.epsilon = epsilon
        self.epsilon_schedule = epsilon_schedule
        self.epsilon_end = epsilon_end
        self.decay_fraction = decay_fraction
        self.initial_q = initial_q
        self.seed = seed

    def _validate(self) -> None:
        check_number("gamma", self.gamma, low=0.0, high=1.0)
        check_number("alpha", self.alpha, low=0.0, high=1.0, low_open=True)
        check_choice("alpha_schedule", self.alpha_schedule, SCHEDULES)
        check_number("alpha_end", self.alpha_end, low=0.0, high=1.0, low_open=True)
        check_number("epsilon", self.epsilon, low=0.0, high=1.0)
        check_choice("epsilon_schedule", self.epsilon_schedule, SCHEDULES)
        check_number("epsilon_end", self.epsilon_end, low=0.0, high=1.0)
        if self.epsilon_schedule == "exponential" and (self.epsilon == 0 or self.epsilon_end == 0):
            raise ValueError(
                f"epsilon_schedule='exponential' decays geometrically and needs epsilon > 0 and epsilon_end > 0; "
                f"got epsilon={self.epsilon!r}, epsilon_end={self.epsilon_end!r}. Use 'linear' to reach 0."
            )
        check_number("decay_fraction", self.decay_fraction, low=0.0, high=1.0, low_open=True)
        check_number("initial_q", self.initial_q)
        check_seed(self.seed)

    def fit(self, env: str | gym.Env, *, episodes: int | None = None, steps: int | None = None,
            callback: Callable[[int, np.ndarray], Any] | None = None, callback_every: int = 1000) -> _TabularAgent:
        """Learn from ``episodes`` episodes or ``steps`` env steps (exactly one of the two).

        env : a Gymnasium env, an id such as ``"FrozenLake-v1"``, or a
            ``"package.module:Class"`` entry point (see :func:`sandbox.environments.make_env`)
        callback : called as ``callback(episodes_done, q_table)`` after every
            ``callback_every`` episodes, with a copy of the table of shape
            (n_states, n_actions): for learning curves of the greedy policy
        """
        self._validate()
        if (episodes is None) == (steps is None):
            raise ValueError(f"pass exactly one of episodes=N or steps=N to fit; got episodes={episodes!r}, steps={steps!r}.")
        budget = episodes if steps is None else steps
        check_number("episodes" if steps is None else "steps", budget, low=1, integer=True)
        check_number("callback_every", callback_every, low=1, integer=True)
        if callback is not None and not callable(callback):
            raise ValueError(f"callback={callback!r} must be callable as callback(episodes_done, q_table), or None.")
        self._callback = (callback, int(callback_every))
        owned = not isinstance(env, gym.Env)
        env = make_env(env)
        try:
            n_states, obs_start, n_actions, act_start = discrete_spaces(env, type(self).__name__)
            q, history, n_steps = self._learn(env, n_states, obs_start, n_actions, act_start,
                                              int(budget), by_steps=steps is not None)
        finally:
            if owned:
                env.close()
        self._set_table(np.array(q), n_states, obs_start, n_actions, act_start)
        self.history_ = history
        self.n_steps_, self.n_episodes_ = n_steps, len(history["return"])
        self._rng = np.random.default_rng(self.seed)
        return self

    def _learn(self, env: gym.Env, n_states: int, obs_start: int, n_actions: int, act_start: int,
               budget: int, *, by_steps: bool) -> tuple[list[list[float]], dict[str, list], int]:
        """Episodes until the budget is spent; schedules and bookkeeping once per episode."""
        rng = np.random.default_rng(self.seed)
        env_seed = int(rng.integers(2**31))  # the env gets its own stream, not a copy of ours
        draw = uniforms(rng).__next__
        q = [[float(self.initial_q)] * n_actions for _ in range(n_states)]
        history: dict[str, list] = {"return": [], "length": [], "success": [], "epsilon": [], "alpha": []}
        returns, lengths, successes, epsilons, alphas = history.values()
        settings = (float(self.gamma), RULES.index(self.rule), draw, n_actions, obs_start, act_start)
        total_steps, episode, cut = 0, 0, self.decay_fraction * budget
        report, every = self._callback
        while (total_steps if by_steps else episode) < budget:
            progress = (total_steps if by_steps else episode) / cut
            eps = schedule_value(self.epsilon_schedule, self.epsilon, self.epsilon_end, progress)
            alpha = schedule_value(self.alpha_schedule, self.alpha, self.alpha_end, progress)
            obs, info = env.reset(seed=env_seed if episode == 0 and self.seed is not None else None)
            limit = budget - total_steps if by_steps else -1
            ret, length, terminated, reward, info = _episode(env.step, q, obs - obs_start, eps, alpha, limit, *settings)
            total_steps += length
            episode += 1
            if report is not None and episode % every == 0:
                report(episode, np.array(q))
            returns.append(float(ret))
            lengths.append(length)
            successes.append(episode_success(terminated, float(reward), info, episode_return=float(ret), length=length))
            epsilons.append(eps)
            alphas.append(alpha)
        return q, history, total_steps

    def _explore(self, i: Any) -> Any:
        eps = self.history_["epsilon"][-1] if self.history_["epsilon"] else float(self.epsilon)
        if isinstance(i, int):
            return epsilon_greedy(self.q_table_[i].tolist(), eps, float(self._rng.random()), self.n_actions_) + self._act_start
        flat = np.asarray(i).reshape(-1)
        u = self._rng.random(flat.size)
        out = [epsilon_greedy(self.q_table_[s].tolist(), eps, float(x), self.n_actions_) for s, x in zip(flat, u)]
        return np.asarray(out, dtype=np.int64).reshape(np.shape(i)) + self._act_start

    def _extra_state(self) -> dict[str, Any]:
        return {"n_steps": self.n_steps_, "n_episodes": self.n_episodes_}

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {f"history.{k}": np.asarray(v, dtype=np.float64) for k, v in self.history_.items()}

    def _load_extra(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.n_steps_, self.n_episodes_ = int(state["n_steps"]), int(state["n_episodes"])
        self.history_ = {}
        for key in ("return", "length", "success", "epsilon", "alpha"):
            values = arrays[f"history.{key}"].tolist()
            self.history_[key] = [int(v) for v in values] if key == "length" else [bool(v) for v in values] if key == "success" else values
        self._rng = np.random.default_rng(self.seed)


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
