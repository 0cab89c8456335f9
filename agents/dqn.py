"""Deep Q-learning: the neural counterpart of tabular Q-learning.

    agent = DQN(seed=0).fit("CartPole-v1", steps=100_000, target_return=475)
    agent.act(obs)                  # argmax_a Q(s, a)
    agent.act(obs, explore=True)    # epsilon-greedy with epsilon_end

Tabular Q-learning moves Q(s, a) toward r + gamma * max_a' Q(s', a'). DQN does
the same with a network Q_theta and a squared (or Huber) loss, made stable by
two devices: a replay buffer (updates on random past transitions, not on the
correlated stream), and a target network Q_target, a lagging copy of Q_theta
that supplies the bootstrap target (a hard copy every ``target_update_interval`` env
steps with ``tau=1``, or Polyak averaging Q_target <- tau Q + (1 - tau)
Q_target with ``tau < 1``). Double DQN picks a' with Q_theta and values it with
Q_target, which removes most of the max operator's overestimation. Exploration
is epsilon-greedy, epsilon going linearly from ``epsilon_start`` to
``epsilon_end`` over the first ``exploration_fraction`` of the budget.
Two of Rainbow's ingredients are on by default: n-step returns (``n_step=3``:
the target sums three rewards before bootstrapping, so a consequence reaches
the states that caused it sooner) and prioritized replay (``prioritized``:
transitions with large TD errors are replayed more often, importance-weighted);
both live in :mod:`agents._replay`.

The learning rate decays linearly to ``learning_rate_end`` (0 by default) over
the budget, and exploration ends at a small ``epsilon_end``, so that the greedy
policy settles as training goes on; the replay buffer (200,000) holds every
transition of budgets up to that size.

When is it "solved"? By default (``solve_on="training"``) as PolicyGradient
is: once the mean return of the last ``window`` training episodes, played
with the agent's own epsilon-greedy actions, reaches ``target_return``.
``solve_on="greedy_eval"`` (with ``eval_every``) is the alternative: play
``eval_episodes`` greedy episodes every ``eval_every`` env steps and stop once
their mean reaches ``target_return``, keeping that policy. With evaluations on,
an unsolved run keeps the best evaluated weights (``keep_best``); a solved one
keeps the weights it solved with.

The TD loss and its gradient with respect to Q(s, a) are computed in NumPy;
the network runs on the engine named by ``backend`` (:mod:`agents._engines`).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from agents._deep import Training, _DeepAgent
from agents._engines import EngineOptimizer, Net, Part, copy_weights
from agents._replay import NStepAccumulator, PrioritizedReplayBuffer, ReplayBuffer
from sandbox.checks import check_choice, check_int_tuple, check_number, check_seed
from sandbox.netspec import ACTIVATIONS, NetSpec
from sandbox.optim_config import OPTIMIZERS, OptimConfig
from sandbox.rollout import evaluate_batched
from sandbox.scratch import BACKENDS
from sandbox.seeding import derive_seed
from sandbox.vector import VECTORIZATION

LOSSES = ("huber", "mse")
SOLVE_ON = ("greedy_eval", "training")


def td_targets(
    rewards: np.ndarray,
    next_q_online: np.ndarray | None,
    next_q_target: np.ndarray,
    terminated: np.ndarray,
    gamma: float | np.ndarray,
    double: bool,
) -> np.ndarray:
    """r + gamma * (1 - terminated) * Q_target(s', a'), with a' = argmax Q_online (double) or argmax Q_target.

    rewards, terminated : (B,); next_q_online, next_q_target : (B, n_actions); gamma : a float, or (B,)
    per-transition discounts (gamma**m for m-step transitions)
    """
    if double:
        nxt = next_q_target[np.arange(len(next_q_target)), next_q_online.argmax(axis=1)]
    else:
        nxt = next_q_target.max(axis=1)
    return rewards + gamma * (1.0 - terminated) * nxt


def q_loss_grad(
    q: np.ndarray, y: np.ndarray, loss: str, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """The mean Huber (smooth L1, beta 1, as torch's) or squared loss of Q(s, a) against the targets y,
    and its gradient with respect to each Q(s, a): the TD error clipped to [-1, 1] (Huber) or doubled (mse), over B.
    ``weights`` (B,) weigh each transition's loss (prioritized replay's importance weights)."""
    d = q - y
    n = len(d)
    if loss == "huber":
        a = np.abs(d)
        per, grad = np.where(a < 1.0, 0.5 * d * d, a - 0.5), np.clip(d, -1.0, 1.0) / n
    else:
        per, grad = d * d, (2.0 / n) * d
    if weights is not None:
        per, grad = per * weights, grad * weights
    return float(per.mean()), grad


class DQN(_DeepAgent):
    """Deep Q-network agent for Discrete action spaces.

    Parameters
    ----------
    hidden, activation : the Q-network's hidden layers (a ``NetSpec``)
    scale_obs : rescale each Box observation feature with finite bounds (below 1e6 in magnitude) from
        [low, high] to [-1, 1] before the network sees it (:class:`agents._deep.ScaledEncoder`);
        features without such bounds pass unchanged. Helps where features live on very different
        scales (MountainCar's velocity spans 0.14, its position 1.8)
    gamma : discount factor in [0, 1]
    n_step : the TD target sums this many discounted rewards before bootstrapping,
        r_t + ... + gamma^(n-1) r_{t+n-1} + gamma^n max Q_target(s_{t+n}, .) (1: one-step Q-learning)
    learning_rate, optimizer, clip_norm : of the optimizer (``sandbox.optim_config.OptimConfig``)
    learning_rate_schedule, learning_rate_end : "linear" (the default) takes ``learning_rate``
        linearly to ``learning_rate_end`` (default 0) over the gradient steps a ``steps`` budget
        allows (or the fraction of an ``episodes`` budget finished); "constant" keeps it
    buffer_size : transitions the replay buffer holds
    prioritized, priority_alpha, priority_beta : prioritized replay (:class:`PrioritizedReplayBuffer`):
        transitions drawn in proportion to |TD error|^alpha, their losses weighted by importance
        weights whose exponent beta rises linearly from ``priority_beta`` to 1 over the budget
    batch_size : transitions per gradient step
    learning_starts : env steps of pure exploration before the first update
    train_freq : env steps (all envs counted) between rounds of updates
    gradient_steps : gradient steps per round
    target_update_interval : env steps (all envs counted) between target-network updates, as in
        Stable-Baselines3: the target stays fixed during a round of ``gradient_steps`` updates
    tau : 1.0 copies the online network into the target (hard update); < 1 blends (Polyak)
    double : Double DQN targets
    loss : "huber" (smooth L1, robust to large TD errors) or "mse"
    epsilon_start, epsilon_end, exploration_fraction : epsilon goes linearly from ``epsilon_start`` to
        ``epsilon_end`` over the first ``exploration_fraction`` of the budget, then stays at ``epsilon_end``
    n_envs, vectorization : environments stepped together (``gymnasium.vector``) when ``fit``
        builds them from an id or factory; an Env instance runs alone, a vector env brings its own number
    backend : "numpy" (the from-scratch engine of :mod:`sandbox.scratch`, the default) or "torch"
        (``sandbox.nn``, autograd through the network, ``sandbox.optim``): the same network from the
        same ``NetSpec`` and starting weights, the same loss
    solve_on : "training" (the mean of the last ``window`` training episodes reaches ``target_return``,
        as for PolicyGradient) or "greedy_eval" (a periodic greedy evaluation reaches it; needs
        ``eval_every``), see the module docstring
    eval_every, eval_episodes : env steps between greedy evaluations during ``fit`` and episodes
        per evaluation (the k-th evaluation resets its envs from ``derive_seed(seed, "eval", k)``);
        ``eval_every=None`` (the default): no evaluations
    keep_best : at the end of an unsolved ``fit``, restore the weights with the best evaluation
    seed : network, exploration, replay sampling and env seeds

    ``fit``'s default budget is ``steps=100_000``.

    Attributes
    ----------
    history_ : ``episode_returns``, ``episode_lengths``, ``episode_end_steps``, ``episode_end_seconds``
        per episode; ``loss``, ``epsilon``, ``update_steps`` per round of updates;
        ``eval_steps``, ``eval_mean_return`` per greedy evaluation
    training_ : ``solved_at_steps``, ``solved_seconds``, ``episodes``, ``steps``, ``seconds``,
        ``solve_criterion`` (in words), ``best_eval_mean_return``, ...
    """

    default_steps = 100_000

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "relu",
        scale_obs: bool = False,
        gamma: float = 0.99,
        n_step: int = 3,
        learning_rate: float = 1e-3,
        learning_rate_schedule: str = "linear",
        learning_rate_end: float = 0.0,
        optimizer: str = "adam",
        clip_norm: float | None = 10.0,
        buffer_size: int = 200_000,
        prioritized: bool = True,
        priority_alpha: float = 0.6,
        priority_beta: float = 0.4,
        batch_size: int = 64,
        learning_starts: int = 1000,
        train_freq: int = 256,
        gradient_steps: int = 128,
        target_update_interval: int = 10,
        tau: float = 1.0,
        double: bool = True,
        loss: str = "huber",
        epsilon_start: float = 1.0,
        epsilon_end: float = 0.01,
        exploration_fraction: float = 0.1,
        n_envs: int = 4,
        vectorization: str = "sync",
        backend: str = "numpy",
        solve_on: str = "training",
        eval_every: int | None = None,
        eval_episodes: int = 20,
        keep_best: bool = True,
        seed: int | None = 0,
    ):
        self.hidden = hidden
        self.activation = activation
        self.scale_obs = scale_obs
        self.gamma = gamma
        self.n_step = n_step
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.learning_rate_end = learning_rate_end
        self.optimizer = optimizer
        self.clip_norm = clip_norm
        self.buffer_size = buffer_size
        self.prioritized = prioritized
        self.priority_alpha = priority_alpha
        self.priority_beta = priority_beta
        self.batch_size = batch_size
        self.learning_starts = learning_starts
        self.train_freq = train_freq
        self.gradient_steps = gradient_steps
        self.target_update_interval = target_update_interval
        self.tau = tau
        self.double = double
        self.loss = loss
        self.epsilon_start = epsilon_start
        self.epsilon_end = epsilon_end
        self.exploration_fraction = exploration_fraction
        self.n_envs = n_envs
        self.vectorization = vectorization
        self.backend = backend
        self.solve_on = solve_on
        self.eval_every = eval_every
        self.eval_episodes = eval_episodes
        self.keep_best = keep_best
        self.seed = seed

    def _validate(self) -> None:
        check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_number("gamma", self.gamma, low=0.0, high=1.0)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        self._check_lr_schedule()
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.clip_norm is not None:
            check_number("clip_norm", self.clip_norm, low=0.0, low_open=True)
        for name in (
            "n_step",
            "buffer_size",
            "batch_size",
            "train_freq",
            "gradient_steps",
            "target_update_interval",
            "n_envs",
        ):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("learning_starts", self.learning_starts, low=0, integer=True)
        check_number("tau", self.tau, low=0.0, high=1.0, low_open=True)
        check_number("priority_alpha", self.priority_alpha, low=0.0, high=1.0)
        check_number("priority_beta", self.priority_beta, low=0.0, high=1.0)
        check_choice("loss", self.loss, LOSSES)
        check_number("epsilon_start", self.epsilon_start, low=0.0, high=1.0)
        check_number("epsilon_end", self.epsilon_end, low=0.0, high=1.0)
        check_number("exploration_fraction", self.exploration_fraction, low=0.0, high=1.0)
        check_choice("vectorization", self.vectorization, VECTORIZATION)
        check_choice("backend", self.backend, BACKENDS)
        check_choice("solve_on", self.solve_on, SOLVE_ON)
        if self.eval_every is not None:
            check_number("eval_every", self.eval_every, low=1, integer=True)
        elif self.solve_on == "greedy_eval":
            raise ValueError(
                "solve_on='greedy_eval' needs eval_every (env steps between evaluations, an integer >= 1)."
            )
        check_number("eval_episodes", self.eval_episodes, low=1, integer=True)
        for name in ("double", "keep_best", "prioritized", "scale_obs"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r} must be True or False.")
        check_seed(self.seed)

    # ----------------------------------------------------------------- setup

    @classmethod
    def _check_action_space(cls, space: gym.Space) -> None:
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(
                f"DQN cannot act in a {type(space).__name__} action space ({space}); it needs "
                "Discrete actions (one Q-value per action). Use PolicyGradient for Box, MultiDiscrete or MultiBinary actions"
            )

    def _setup(self, action_space: gym.Space) -> None:
        self.n_actions_ = int(action_space.n)
        self._action_start = int(action_space.start)

    def _net(self) -> Net:
        spec = NetSpec(self._encoder.size, self.n_actions_, tuple(self.hidden), self.activation)
        return self._engine.net(spec, derive_seed(self.seed, "q"))

    def _build(self) -> dict[str, Part]:
        self.q_net_ = self._net()
        return {"q": self.q_net_}

    def _state(self) -> dict[str, Any]:
        return {"n_actions": self.n_actions_, "action_start": self._action_start}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.n_actions_ = int(state["n_actions"])
        self._action_start = int(state["action_start"])

    def epsilon(self, fraction: float) -> float:
        """Exploration rate once ``fraction`` of the budget is used (linear, then flat)."""
        frac = (
            1.0
            if self.exploration_fraction <= 0
            else min(1.0, fraction / self.exploration_fraction)
        )
        return self.epsilon_start + frac * (self.epsilon_end - self.epsilon_start)

    # ------------------------------------------------------------------- fit

    def fit(
        self,
        env: Any,
        *,
        steps: int | None = None,
        episodes: int | None = None,
        callback: Any = None,
        progress: bool = False,
        target_return: float | None = None,
        window: int = 100,
    ) -> DQN:
        """See :meth:`agents._deep._DeepAgent.fit`; stop early once solved (``solve_on``): the greedy
        evaluation's mean, or the mean of the last ``window`` training returns, reaches ``target_return``.
        Greedy evaluations play fresh envs, so they need an env id, entry point or factory."""
        instance = isinstance(env, (gym.Env, gym.vector.VectorEnv))
        if (
            instance
            and self.solve_on == "greedy_eval"
            and self.eval_every is not None
            and target_return is not None
        ):
            raise ValueError(
                "solve_on='greedy_eval' plays evaluation episodes in fresh envs, so it needs an env id, "
                "'package.module:Class' or a factory, not an Env or vector env instance (or use solve_on='training')."
            )
        self._eval_env = None if instance or self.eval_every is None else env
        return super().fit(
            env,
            steps=steps,
            episodes=episodes,
            callback=callback,
            progress=progress,
            target_return=target_return,
            window=window,
        )

    def _train(self, run: Training) -> None:
        target_net = self._net()
        copy_weights(target_net, self.q_net_)
        opt = self._engine.optimizer(
            [([self.q_net_], self.learning_rate)],
            OptimConfig(self.optimizer, self.learning_rate, clip_norm=self.clip_norm),
        )
        if (
            run.budget.unit == "steps"
        ):  # the schedule runs over the gradient steps the budget allows
            rounds = max(
                1, math.ceil(max(0, run.budget.total - self.learning_starts) / self.train_freq)
            )
            total = rounds * self.gradient_steps
            schedule_at = lambda k: k / total  # noqa: E731
        else:
            schedule_at = lambda k: run.fraction  # noqa: E731
        size = self._encoder.size
        buffer = (
            PrioritizedReplayBuffer(self.buffer_size, size, self.gamma, alpha=self.priority_alpha)
            if self.prioritized
            else ReplayBuffer(self.buffer_size, size, self.gamma)
        )
        nstep = NStepAccumulator(self.n_step, self.gamma, run.n_envs) if self.n_step > 1 else None
        target = run.budget.target_return
        if self.solve_on == "greedy_eval":
            run.tracker.target = None  # solved by the evaluations, not by the training window
        self._evals = _Evaluations(
            self, self._eval_env, target if self.solve_on == "greedy_eval" else None
        )
        hist = self._history = {
            "loss": [],
            "epsilon": [],
            "update_steps": [],
            "eval_steps": self._evals.steps,
            "eval_mean_return": self._evals.means,
        }
        x = run.reset()
        grad_steps, since_train, since_target, since_eval = 0, 0, 0, 0
        while not run.over:
            eps = self.epsilon(run.fraction)
            a = self._explore(x, eps)
            x_next, r, term, trunc, x_after = run.step(a + self._action_start)
            if nstep is None:
                buffer.add(x, a, r, x_after, term)
            else:
                ready = nstep.push(x, a, r, x_after, term, term | trunc)
                if ready is not None:
                    buffer.add(*ready)
            x = x_next
            since_train, since_target, since_eval = (
                k + run.n_envs for k in (since_train, since_target, since_eval)
            )
            if since_target >= self.target_update_interval:
                since_target = 0
                copy_weights(target_net, self.q_net_, self.tau)
            if run.steps >= self.learning_starts and since_train >= self.train_freq:
                since_train = 0
                beta = self.priority_beta + (1.0 - self.priority_beta) * run.fraction
                total_loss = 0.0
                for _ in range(self.gradient_steps):
                    opt.set_lr_factor(self._lr_factor(schedule_at(grad_steps)))
                    total_loss += self._gradient_step(opt, target_net, buffer, beta)
                    grad_steps += 1
                hist["loss"].append(total_loss / self.gradient_steps)
                hist["epsilon"].append(eps)
                hist["update_steps"].append(run.steps)
            if (
                self._evals.active
                and since_eval >= self.eval_every
                and run.steps >= self.learning_starts
            ):
                since_eval = 0
                self._evals.run(run)
                if self._evals.solved:
                    break

    def _explore(self, x: np.ndarray, eps: float) -> np.ndarray:
        greedy = self.q_net_(x).argmax(axis=1)
        random = self._rng.integers(0, self.n_actions_, len(x))
        return np.where(self._rng.random(len(x)) < eps, random, greedy)

    def _gradient_step(
        self, opt: EngineOptimizer, target_net: Net, buffer: ReplayBuffer, beta: float
    ) -> float:
        """One update on a replayed batch against the (fixed) target network; its loss."""
        if isinstance(buffer, PrioritizedReplayBuffer):
            batch = buffer.sample(self.batch_size, self._rng, beta)
            loss, td = self.q_loss_grads(target_net, batch, buffer.last_weights)
            opt.step(loss)
            buffer.update_priorities(buffer.last_indices, td)
        else:
            loss, _ = self.q_loss_grads(target_net, buffer.sample(self.batch_size, self._rng))
            opt.step(loss)
        return loss

    def q_loss_grads(
        self, target_net: Net, batch: tuple[np.ndarray, ...], weights: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """The TD loss on a batch (s, a, r, s', terminated, discount) and the TD errors Q(s, a) - y; the
        Q-network's gradients are left in it (``backward``) for the optimizer. ``weights``: each
        transition's weight in the loss."""
        s, a, r, s2, term, disc = batch
        net = self.q_net_
        y = td_targets(r, net(s2) if self.double else None, target_net(s2), term, disc, self.double)
        out = net.forward(s)
        rows = np.arange(len(a))
        q = out[rows, a]
        value, dq = q_loss_grad(q, y, self.loss, weights)
        dout = np.zeros_like(out)
        dout[rows, a] = dq
        net.backward(dout)
        return value, q - y

    def _training_extra(self, run: Training) -> dict[str, Any]:
        evals = self._evals
        evals.restore_best(solved=run.tracker.solved or evals.solved)
        extra: dict[str, Any] = {} if self.solve_on == "training" else evals.summary()
        target = run.budget.target_return
        return {
            **extra,
            "solve_criterion": self.solve_criterion(target, run.budget.window),
            "best_eval_mean_return": evals.best,
        }

    def solve_criterion(self, target: float | None, window: int = 100) -> str:
        """In words, what made (or would make) ``fit`` stop as solved."""
        t = "the target return" if target is None else f"{target:g}"
        if self.solve_on == "training":
            return f"mean return of the last {window} training episodes (epsilon-greedy) >= {t}"
        return (
            f"mean return of {self.eval_episodes} greedy evaluation episodes, played every "
            f"{self.eval_every:,} env steps, >= {t}; that policy is kept"
        )

    # --------------------------------------------------------------- using it

    def q_values(self, obs: Any) -> np.ndarray:
        """Q(s, .) of shape (n_actions,) for one observation, or (n, n_actions) for a batch."""
        self._check_fitted("q_values")
        x, batched = self._encoder(obs)
        q = self.q_net_(x).copy()
        return q if batched else q[0]

    def _act(self, x: np.ndarray, explore: bool) -> np.ndarray:
        a = self._explore(x, self.epsilon_end) if explore else self.q_net_(x).argmax(axis=1)
        return a + self._action_start

    def _weights(self) -> list[np.ndarray]:
        """A copy of the Q-network's weights."""
        return [p.copy() for p in self.q_net_.params]

    def _load_weights(self, weights: list[np.ndarray]) -> None:
        for p, w in zip(self.q_net_.params, weights):
            p[...] = w


class _Evaluations:
    """The greedy evaluations during ``DQN.fit``: when one reaches the target, and the best weights so far."""

    def __init__(self, agent: DQN, env: Any, target: float | None):
        self.agent, self.env, self.target = agent, env, target
        self.active = env is not None
        self.steps: list[int] = []
        self.means: list[float] = []
        self.best: float | None = None
        self._best_state: list[np.ndarray] | None = None
        self._solved: dict[str, Any] | None = None

    @property
    def solved(self) -> bool:
        return self._solved is not None

    def run(self, run: Training) -> None:
        """Evaluate the greedy policy now; remember the best weights; stop-worthy when the mean reaches the target."""
        agent, k = self.agent, len(self.steps)
        mean = evaluate_batched(
            lambda o: agent._act(agent._encoder(o)[0], False),
            self.env,
            episodes=agent.eval_episodes,
            seed=derive_seed(agent.seed, "eval", k),
        )["mean_return"]
        self.steps.append(run.steps)
        self.means.append(mean)
        if self.best is None or mean > self.best:
            self.best = mean
            self._best_state = agent._weights()
        if self.target is not None and mean >= self.target:
            self._solved = {
                "solved_at_steps": run.steps,
                "solved_seconds": round(run.seconds(), 3),
                "solved_at_episode": len(run.tracker.returns),
            }

    def restore_best(self, solved: bool) -> None:
        """Keep the best evaluated weights (``keep_best``) unless the run ended ``solved`` on the current ones
        (by either criterion: a run solved on its training window keeps the weights it solved with)."""
        if self.agent.keep_best and self._best_state is not None and not solved:
            self.agent._load_weights(self._best_state)

    def summary(self) -> dict[str, Any]:
        return self._solved or {
            "solved_at_steps": None,
            "solved_seconds": None,
            "solved_at_episode": None,
        }
