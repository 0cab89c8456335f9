"""Policy gradient: REINFORCE and its actor-critic extension (A2C, PPO's clipped surrogate).

    agent = PolicyGradient(seed=0).fit("CartPole-v1", steps=150_000, target_return=475)
    agent.act(obs)                       # the most likely action (the mean, for a Gaussian policy)
    agent.act(obs, explore=True)         # an action sampled from the policy
    agent.evaluate("CartPole-v1", episodes=100)

The gradient of J(theta) = E[sum_t gamma^t r_t] is estimated from batches of
``n_envs`` environments stepped together (``gymnasium.vector``) as

    grad J ~ mean_t  grad log pi(a_t | s_t) * A_t

where the weight ``A_t`` depends on ``baseline``:

- ``"none"``: A_t = G_t, the discounted return-to-go of the complete episode (REINFORCE);
- ``"mean"``: A_t = G_t - b, with b a running mean of the returns-to-go;
- ``"value"`` with ``gae_lambda=None``: A_t = G_t - V(s_t), V a learned value network;
- ``"value"`` with ``gae_lambda`` in [0, 1] (the default, actor-critic): the
  generalised advantage estimate, sum_k (gamma*lambda)^k delta_{t+k} with
  delta_t = r_t + gamma V(s_{t+1}) - V(s_t), bootstrapped at time limits and at
  the end of each rollout, so updates need not wait for episodes to end.

The REINFORCE forms use complete episodes only: the unfinished end of each
env's rollout is carried into the next batch. The policy's distribution
(:mod:`agents._policy_heads`) follows the action space: Categorical
(``Discrete``), one Categorical per component (``MultiDiscrete``), one
Bernoulli per component (``MultiBinary``), or Gaussian (1-D ``Box``: the
network gives the mean, a learned state-independent log-std the spread).

The losses and their gradients with respect to the networks' outputs are
computed in NumPy (by the chain rule, held against torch autograd in the
tests); the networks run on the engine named by ``backend``
(:mod:`agents._engines`).

The story of one ``fit``, as :meth:`PolicyGradient._train` tells it: collect
``n_steps`` steps of every env with actions sampled from the policy; turn them
into a batch of (observation, action, advantage, return); take
``update_epochs`` passes of ``minibatches`` gradient steps over it; repeat
until the budget is spent or the target reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents._deep import Training, _DeepAgent
from agents._engines import EngineOptimizer, Part
from agents._policy_heads import Head, head_for, head_from_dict
from sandbox.checks import check_choice, check_int_tuple, check_number, check_seed
from sandbox.netspec import ACTIVATIONS, NetSpec
from sandbox.optim_config import OPTIMIZERS, OptimConfig
from sandbox.rollout import discounted_returns
from sandbox.scratch import BACKENDS
from sandbox.seeding import derive_seed
from sandbox.vector import VECTORIZATION

BASELINES = ("none", "mean", "value")


@dataclass
class Batch:
    """One update's data, flattened over envs and time (B transitions), as NumPy arrays.

    obs : (B, n_features); actions : (B,) ints, (B, k) ints or (B, action_dim) floats;
    advantages : (B,) the weights of grad log pi; returns : (B,) value targets;
    old_log_probs : (B,) log pi(a|s) under the policy that acted, or None when
    the batch is used for one plain gradient step
    """

    obs: np.ndarray
    actions: np.ndarray
    advantages: np.ndarray
    returns: np.ndarray
    old_log_probs: np.ndarray | None = None

    def __getitem__(self, idx: Any) -> Batch:
        old = None if self.old_log_probs is None else self.old_log_probs[idx]
        return Batch(self.obs[idx], self.actions[idx], self.advantages[idx], self.returns[idx], old)


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    ended: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """Generalised advantage estimates, all arrays of shape (T, n_envs).

    ``next_values`` is V of the state after each step (V of the final
    observation where an episode ended); ``terminated`` zeroes it (no future
    after a true end); ``ended`` (terminated or truncated) stops the sum from
    reaching into the next episode.
    """
    delta = rewards + gamma * next_values * (1.0 - terminated) - values
    decay = gamma * lam * (1.0 - ended)
    adv = np.empty_like(delta)
    running = np.zeros(rewards.shape[1:])
    for t in range(len(rewards) - 1, -1, -1):
        running = delta[t] + decay[t] * running
        adv[t] = running
    return adv


class PolicyGradient(_DeepAgent):
    """REINFORCE / actor-critic agent with a Categorical, factorised or Gaussian policy.

    Parameters
    ----------
    hidden, activation : the policy (and value) networks' hidden layers (a ``NetSpec``)
    scale_obs : rescale each Box observation feature with finite bounds (below 1e6 in magnitude) from
        [low, high] to [-1, 1] before the network sees it (:class:`agents._deep.ScaledEncoder`);
        features without such bounds pass unchanged. Helps where features live on very different
        scales (MountainCar's velocity spans 0.14, its position 1.8)
    baseline : "none", "mean" or "value" (see the module docstring)
    gae_lambda : lambda of GAE in [0, 1] (actor-critic), or None for Monte-Carlo
        returns-to-go of complete episodes; used only with ``baseline="value"``
    gamma : discount factor in [0, 1]
    n_envs : environments stepped together (``gymnasium.vector``) when ``fit`` builds them
        from an id or factory; an Env instance runs alone, a vector env brings its own number
    n_steps : steps of each env per update; a batch holds ``n_envs * n_steps`` transitions
    update_epochs, minibatches : passes over each batch, and the minibatches each pass is split
        into; with 1 and 1 (plain REINFORCE / A2C) each batch gives one gradient step
    clip_range : with several steps per batch, clip the probability ratio to
        [1 - clip_range, 1 + clip_range] (PPO's surrogate); None: no clipping
    learning_rate : of the policy network (and log-std)
    value_learning_rate : of the value network; None uses ``learning_rate``
    learning_rate_schedule, learning_rate_end : "linear" (the default) takes ``learning_rate``
        linearly to ``learning_rate_end`` (default 0) over the budget given to ``fit`` (the
        gradient steps a ``steps`` budget allows, or the fraction of ``episodes`` finished); the
        value network's rate moves by the same factor. "constant" keeps it
    optimizer : one of ``sandbox.optim.OPTIMIZERS``
    normalize : standardise the advantages (or returns) of each batch to mean 0, std 1
    entropy_coef : weight of the entropy bonus, >= 0
    value_coef : weight of the value loss 0.5*(V - target)^2, > 0
    clip_norm : clip the global gradient norm to this value; None: no clipping
    log_std_init : starting log standard deviation of a Gaussian policy
    vectorization : "sync" (one process) or "async" (a process per env), for the envs ``fit`` builds
    backend : "numpy" (the from-scratch engine of :mod:`sandbox.scratch`, the default) or "torch"
        (``sandbox.nn`` networks, autograd through them, ``sandbox.optim``): the same networks
        from the same ``NetSpec`` and starting weights, the same losses
    seed : networks, action sampling and env seeds; the same seed gives the same returns

    ``fit``'s default budget is ``steps=100_000``.

    Attributes
    ----------
    history_ : dict of lists: ``episode_returns``, ``episode_lengths``, ``episode_end_steps``,
        ``episode_end_seconds`` (one per training episode); ``loss``, ``policy_loss``,
        ``value_loss``, ``entropy``, ``update_steps`` (one per update)
    training_ : ``solved_at_steps``, ``solved_seconds``, ``solved_at_episode``, ``episodes``,
        ``steps``, ``seconds``, ``steps_per_second``
    """

    default_steps = 100_000

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (64,),
        activation: str = "relu",
        scale_obs: bool = False,
        baseline: str = "value",
        gae_lambda: float | None = 0.95,
        gamma: float = 0.99,
        n_envs: int = 16,
        n_steps: int = 32,
        update_epochs: int = 4,
        minibatches: int = 2,
        clip_range: float | None = 0.2,
        learning_rate: float = 2e-3,
        value_learning_rate: float | None = 1e-2,
        learning_rate_schedule: str = "linear",
        learning_rate_end: float = 0.0,
        optimizer: str = "adam",
        normalize: bool = True,
        entropy_coef: float = 0.0,
        value_coef: float = 0.5,
        clip_norm: float | None = None,
        log_std_init: float = 0.0,
        vectorization: str = "sync",
        backend: str = "numpy",
        seed: int | None = 0,
    ):
        self.hidden = hidden
        self.activation = activation
        self.scale_obs = scale_obs
        self.baseline = baseline
        self.gae_lambda = gae_lambda
        self.gamma = gamma
        self.n_envs = n_envs
        self.n_steps = n_steps
        self.update_epochs = update_epochs
        self.minibatches = minibatches
        self.clip_range = clip_range
        self.learning_rate = learning_rate
        self.value_learning_rate = value_learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.learning_rate_end = learning_rate_end
        self.optimizer = optimizer
        self.normalize = normalize
        self.entropy_coef = entropy_coef
        self.value_coef = value_coef
        self.clip_norm = clip_norm
        self.log_std_init = log_std_init
        self.vectorization = vectorization
        self.backend = backend
        self.seed = seed

    def _validate(self) -> None:
        check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("baseline", self.baseline, BASELINES)
        if self.gae_lambda is not None:
            check_number("gae_lambda", self.gae_lambda, low=0.0, high=1.0)
        check_number("gamma", self.gamma, low=0.0, high=1.0)
        check_number("n_envs", self.n_envs, low=1, integer=True)
        check_number("n_steps", self.n_steps, low=1, integer=True)
        check_number("update_epochs", self.update_epochs, low=1, integer=True)
        check_number(
            "minibatches", self.minibatches, low=1, high=self.n_envs * self.n_steps, integer=True
        )
        if self.clip_range is not None:
            check_number("clip_range", self.clip_range, low=0.0, low_open=True)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        if self.value_learning_rate is not None:
            check_number("value_learning_rate", self.value_learning_rate, low=0.0, low_open=True)
        self._check_lr_schedule()
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        for name in ("normalize", "scale_obs"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r} must be True or False.")
        check_number("entropy_coef", self.entropy_coef, low=0.0)
        check_number("value_coef", self.value_coef, low=0.0, low_open=True)
        if self.clip_norm is not None:
            check_number("clip_norm", self.clip_norm, low=0.0, low_open=True)
        check_number("log_std_init", self.log_std_init)
        check_choice("vectorization", self.vectorization, VECTORIZATION)
        check_choice("backend", self.backend, BACKENDS)
        check_seed(self.seed)

    @property
    def _actor_critic(self) -> bool:
        return self.baseline == "value" and self.gae_lambda is not None

    # ----------------------------------------------------------------- setup

    @classmethod
    def _check_action_space(cls, space: gym.Space) -> None:
        head_for(space)

    def _setup(self, action_space: gym.Space) -> None:
        self._head: Head = head_for(action_space)

    def _build(self) -> dict[str, Part]:
        """Policy (and value) networks and a Gaussian policy's log-std; the same seed, the same starting weights."""
        engine, hidden = self._engine, tuple(self.hidden)
        self.policy_ = engine.net(
            NetSpec(self._encoder.size, self._head.size, hidden, self.activation),
            derive_seed(self.seed, "policy"),
        )
        parts: dict[str, Part] = {"policy": self.policy_}
        self.value_net_ = None
        if self.baseline == "value":
            self.value_net_ = parts["value"] = engine.net(
                NetSpec(self._encoder.size, 1, hidden, self.activation),
                derive_seed(self.seed, "value"),
            )
        self.log_std_ = None
        if self._head.gaussian:
            self.log_std_ = parts["log_std"] = engine.vector(
                np.full(self._head.size, float(self.log_std_init))
            )
        return parts

    @property
    def log_std(self) -> np.ndarray | None:
        """The Gaussian policy's learned log standard deviations (None for other policies)."""
        return None if self.log_std_ is None else self.log_std_.params[0]

    def _state(self) -> dict[str, Any]:
        return {"head": self._head.to_dict()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._head = head_from_dict(state["head"])

    # ------------------------------------------------------------------ train

    def _train(self, run: Training) -> None:
        actor = [self.policy_] + ([self.log_std_] if self.log_std_ is not None else [])
        vlr = self.learning_rate if self.value_learning_rate is None else self.value_learning_rate
        groups = [(actor, self.learning_rate)] + (
            [([self.value_net_], vlr)] if self.value_net_ is not None else []
        )
        opt = self._engine.optimizer(
            groups, OptimConfig(self.optimizer, self.learning_rate, clip_norm=self.clip_norm)
        )
        steps_per_update = self.update_epochs * self.minibatches
        if (
            run.budget.unit == "steps"
        ):  # the schedule runs over the gradient steps the budget allows
            total = math.ceil(run.budget.total / (run.n_envs * self.n_steps)) * steps_per_update
            self._schedule_at = lambda k: k / total
        else:
            self._schedule_at = lambda k: run.fraction
        self._grad_steps = 0
        self._carry: list[dict[str, np.ndarray] | None] = [None] * run.n_envs
        self._mean_return: float | None = None
        hist = self._history = {
            k: [] for k in ("loss", "policy_loss", "value_loss", "entropy", "update_steps")
        }
        if self.minibatches > run.n_envs * self.n_steps:
            raise ValueError(
                f"minibatches={self.minibatches} is more than the {run.n_envs * self.n_steps} transitions "
                f"of a batch ({run.n_envs} envs x n_steps={self.n_steps}); use at most that many."
            )
        x = run.reset()
        while not run.over:
            roll, x = self._collect(run, x)
            batch = self._make_batch(roll)
            if batch is None:  # REINFORCE: no episode has ended yet
                continue
            for k, v in self._update(opt, batch).items():
                hist[k].append(v)
            hist["update_steps"].append(run.steps)

    def _collect(self, run: Training, x: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
        """``n_steps`` steps of every env, actions sampled from the policy: arrays of shape (T, n_envs, ...)."""
        T, N, head = self.n_steps, run.n_envs, self._head
        X = np.zeros((T, N, self._encoder.size), np.float32)
        A = head.empty(T, N)
        R = np.zeros((T, N))
        term = np.zeros((T, N), bool)
        trunc = np.zeros((T, N), bool)
        final = {}  # (t, i) -> features of the last observation of an episode cut by a time limit
        for t in range(T):
            a = head.sample(self.policy_(x), self.log_std, self._rng, explore=True)
            X[t], A[t] = x, a
            x, R[t], term[t], trunc[t], x_after = run.step(head.to_env(a))
            for i in np.flatnonzero(trunc[t] & ~term[t]):
                final[(t, i)] = x_after[i]
        return {
            "obs": X,
            "actions": A,
            "rewards": R,
            "terminated": term,
            "truncated": trunc,
            "final": final,
            "last": x,
        }, x

    def _make_batch(self, roll: dict[str, Any]) -> Batch | None:
        """Advantages and value targets for the rollout (the episodes that ended, for REINFORCE); None: none yet."""
        if self._actor_critic:
            obs, actions, adv, ret = self._gae_batch(roll)
        else:
            episodes = self._complete_episodes(roll)
            if episodes is None:
                return None
            obs, actions, ret = episodes
            adv = ret.copy()
            if self.baseline == "mean":
                b = ret.mean() if self._mean_return is None else self._mean_return
                adv = ret - b
                self._mean_return = (
                    float(ret.mean())
                    if self._mean_return is None
                    else 0.9 * self._mean_return + 0.1 * float(ret.mean())
                )
            elif self.baseline == "value":
                adv = ret - self._values(obs)
        if self.normalize and len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        dt = self._dtype
        batch = Batch(obs.astype(dt), actions, adv.astype(dt), ret.astype(dt))
        if (
            self.update_epochs * self.minibatches > 1
        ):  # the batch is reused: keep log pi_old for the ratio
            batch.old_log_probs = self._head.log_prob(
                self.policy_(batch.obs), self.log_std, actions
            ).astype(dt)
        return batch

    def _values(self, x: np.ndarray) -> np.ndarray:
        """V(x) in float64, for x of shape (..., n_features)."""
        return (
            self.value_net_(x.reshape(-1, x.shape[-1]))[:, 0]
            .astype(np.float64)
            .reshape(x.shape[:-1])
        )

    def _gae_batch(
        self, roll: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        X = roll["obs"]
        T, N = X.shape[:2]
        both = self._values(
            np.concatenate([X, roll["last"][None]])
        )  # one forward for the rollout and what follows it
        values, next_values = both[:-1], both[1:].copy()
        if roll["final"]:
            keys = list(roll["final"])
            v_final = self._values(np.stack([roll["final"][k] for k in keys]))
            for (t, i), v in zip(keys, v_final):
                next_values[t, i] = v
        ended = roll["terminated"] | roll["truncated"]
        adv = gae(
            roll["rewards"],
            values,
            next_values,
            roll["terminated"].astype(float),
            ended.astype(float),
            self.gamma,
            self.gae_lambda,
        )
        ret = adv + values
        flat = T * N
        return (
            X.reshape(flat, -1),
            roll["actions"].reshape(flat, *roll["actions"].shape[2:]),
            adv.reshape(flat),
            ret.reshape(flat),
        )

    def _complete_episodes(
        self, roll: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Transitions of the episodes that ended, with their returns-to-go; the rest waits for the next batch."""
        ended = roll["terminated"] | roll["truncated"]
        parts = []
        for i, carried in enumerate(self._carry):
            seg = {
                "obs": roll["obs"][:, i],
                "actions": roll["actions"][:, i],
                "rewards": roll["rewards"][:, i],
                "ended": ended[:, i],
            }
            if carried is not None:
                seg = {k: np.concatenate([carried[k], v]) for k, v in seg.items()}
            done_at = np.flatnonzero(seg["ended"])
            cut = done_at[-1] + 1 if len(done_at) else 0
            self._carry[i] = {k: v[cut:] for k, v in seg.items()}
            if cut:
                g = discounted_returns(seg["rewards"][:cut], self.gamma, seg["ended"][:cut])
                parts.append((seg["obs"][:cut], seg["actions"][:cut], g))
        if not parts:
            return None
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))  # type: ignore[return-value]

    def _update(self, opt: EngineOptimizer, batch: Batch) -> dict[str, float]:
        """``update_epochs`` passes of ``minibatches`` gradient steps; the losses of the last step."""
        n = len(batch.obs)
        for _ in range(self.update_epochs):
            parts = (
                np.array_split(self._rng.permutation(n), self.minibatches)
                if self.minibatches > 1
                else [None]
            )
            for part in parts:
                opt.set_lr_factor(self._lr_factor(self._schedule_at(self._grad_steps)))
                losses = self._loss_grads(batch if part is None else batch[part])
                opt.step(losses["loss"])
                self._grad_steps += 1
        return losses

    def _loss_grads(self, batch: Batch) -> dict[str, float]:
        """The loss on ``batch`` (policy loss - entropy_coef * entropy + value_coef * value loss), with the
        gradients of every part computed (``backward``) for the optimizer's step."""
        out = self.policy_.forward(batch.obs)
        policy_loss, entropy, dout, dlog_std = self._head.loss_grads(
            out,
            self.log_std,
            batch.actions,
            batch.advantages,
            batch.old_log_probs,
            self.clip_range,
            self.entropy_coef,
        )
        self.policy_.backward(dout)
        if self.log_std_ is not None:
            self.log_std_.backward(dlog_std)
        total, value_loss = policy_loss - self.entropy_coef * entropy, 0.0
        if self.value_net_ is not None:
            diff = self.value_net_.forward(batch.obs)[:, 0] - batch.returns
            value_loss = 0.5 * float(diff @ diff) / len(diff)
            total += self.value_coef * value_loss
            self.value_net_.backward((self.value_coef / len(diff)) * diff[:, None])
        return {
            "loss": total,
            "policy_loss": policy_loss,
            "value_loss": value_loss,
            "entropy": entropy,
        }

    # ------------------------------------------------------------------- act

    def _act(self, x: np.ndarray, explore: bool) -> np.ndarray:
        return self._head.to_env(
            self._head.sample(self.policy_(x), self.log_std, self._rng, explore)
        )
