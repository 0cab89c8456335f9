"""Policy gradient: REINFORCE and its actor-critic extension, on the shared network and optimizer modules.

    agent = PolicyGradient(seed=0).fit("CartPole-v1", steps=150_000, target_return=475)
    agent.act(obs)                       # an action (sampled; deterministic=True for the mode/mean)
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
env's rollout is carried into the next batch. Discrete action spaces get a
Categorical policy (softmax of the network's logits); Box action spaces a
Gaussian one (the network gives the mean, a learned state-independent
log-std the spread; actions are clipped to the bounds only when sent to the
env).

Two backends train the same networks (same ``NetSpec``, same starting
weights, same optimizer settings): ``backend="numpy"``, the default, on the
NumPy engine of :mod:`sandbox.scratch` with the loss's gradient written out
by hand (:meth:`ActionHead.loss_grads_np`, :func:`policy_gradient_loss_grad`),
and ``backend="torch"`` with autograd and :mod:`sandbox.optim`. For networks
this small the cost is per call, not per number, and NumPy's per-call cost is
far below torch's: a gradient step on 256 rows measured 0.27 ms against
1.66 ms, and ``fit`` on CartPole ran about twice as many env steps a second; the
tests check its gradients against autograd.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numba
import numpy as np
import torch

from sandbox.checks import check_choice, check_int_tuple, check_number, check_seed
from sandbox.errors import DivergenceError
from sandbox.learner import (
    Learner,
    load_module_arrays,
    load_scratch_arrays,
    module_arrays,
    saved_array,
    saved_by_torch,
    scratch_arrays,
    torch_seed,
)
from sandbox.nn import ACTIVATIONS, NetSpec, build_network
from sandbox.optim import OPTIMIZERS, OptimConfig, Optimizer
from sandbox.rollout import discounted_returns, evaluate_policy
from sandbox.scratch import BACKENDS, ScratchNet, ScratchOptimizer, log_softmax
from sandbox.vector import VECTORIZATION, EpisodeTracker, ObsEncoder, check_budget, make_vec_env

BASELINES = ("none", "mean", "value")
_LOG_2PI_E = math.log(2 * math.pi * math.e)


@dataclass
class Batch:
    """One update's data, flattened over envs and time (B transitions): torch tensors, or NumPy arrays for the numpy backend.

    obs : (B, n_features); actions : (B,) int64 or (B, action_dim) float32;
    advantages : (B,) the weights of grad log pi; returns : (B,) value targets;
    old_log_probs : (B,) log pi(a|s) under the policy that acted, or None when
    the batch is used for one plain gradient step
    """

    obs: Any
    actions: Any
    advantages: Any
    returns: Any
    old_log_probs: Any = None

    def __getitem__(self, idx: Any) -> Batch:
        old = None if self.old_log_probs is None else self.old_log_probs[idx]
        return Batch(self.obs[idx], self.actions[idx], self.advantages[idx], self.returns[idx], old)


@numba.njit(cache=True, nogil=True)
def _row_exp(logits, i, e):  # pragma: no cover - compiled
    """``e[j] = exp(logits[i, j] - max_j logits[i, j])``; returns (that max, sum of e): softmax without overflow."""
    k = logits.shape[1]
    top = logits[i, 0]
    for j in range(1, k):
        top = max(top, logits[i, j])
    total = 0.0
    for j in range(k):
        e[j] = math.exp(logits[i, j] - top)
        total += e[j]
    return top, total


@numba.njit(cache=True, nogil=True)
def _sample_softmax(logits, u):  # pragma: no cover - compiled; covered through PolicyGradient.act and fit
    """One draw per row from softmax(logits) by inverting its CDF at ``u`` (uniform in [0, 1)).

    Compiled because acting calls it on every vector step: in NumPy it is ten
    array calls on a (n_envs, n_actions) array, each costing more than the work.
    """
    n, k = logits.shape
    out = np.empty(n, dtype=np.int64)
    cdf = np.empty(k)
    for i in range(n):
        total = _row_exp(logits, i, cdf)[1]
        for j in range(1, k):
            cdf[j] += cdf[j - 1]
        target = u[i] * total
        pick = 0
        while pick < k - 1 and cdf[pick] < target:
            pick += 1
        out[i] = pick
    return out


@numba.njit(cache=True, nogil=True)
def _categorical_loss_grads(logits, actions, adv, old, use_old, clip, entropy_coef):  # pragma: no cover - compiled
    """Policy loss, mean entropy and d loss / d logits of a Categorical policy, row by row.

    The loss is ``-mean_t w_t - entropy_coef * mean_t H_t`` with ``w_t = log pi(a_t) A_t``
    (``use_old`` False) or PPO's ``min(rho_t A_t, clip(rho_t, 1 -+ clip) A_t)``,
    ``rho_t = exp(log pi(a_t) - old_t)`` (``clip`` 0: no clipping). By the chain rule,
    with p = softmax(z): d log pi(a)/dz = onehot(a) - p, d H/dz = -p (log p + H),
    and d w/d log pi(a) = A (plain) or rho A where the unclipped term is the
    smaller one, 0 where the clipped one is (torch's ``min`` splits a tie between
    the two, and the halves add up to rho A). Compiled because in NumPy this is
    some thirty array calls per minibatch, each costing more than its work.
    """
    B, k = logits.shape
    dout = np.empty_like(logits)
    logp = np.empty(k)
    p = np.empty(k)
    loss = 0.0
    entropy = 0.0
    for i in range(B):
        top, total = _row_exp(logits, i, p)
        log_total = math.log(total)
        H = 0.0
        for j in range(k):
            logp[j] = logits[i, j] - top - log_total
            p[j] = math.exp(logp[j])
            H -= p[j] * logp[j]
        a = actions[i]
        A = adv[i]
        if use_old:
            ratio = math.exp(logp[a] - old[i])
            w = ratio * A
            g = ratio * A
            if clip > 0.0:
                clipped = min(max(ratio, 1.0 - clip), 1.0 + clip) * A
                if clipped < w:
                    w = clipped
                    g = 0.0
        else:
            w = logp[a] * A
            g = A
        g = -g / B  # d loss / d log pi(a_i)
        loss -= w
        entropy += H
        for j in range(k):
            dout[i, j] = -g * p[j] + (entropy_coef / B) * p[j] * (logp[j] + H)
        dout[i, a] += g
    return loss / B, entropy / B, dout


class ActionHead:
    """The policy's distribution over a Discrete (Categorical) or Box (Gaussian) action space."""

    def __init__(self, space: gym.Space):
        if isinstance(space, gym.spaces.Discrete):
            self.kind, self.size, self.start = "categorical", int(space.n), int(space.start)
        elif isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            self.kind, self.size = "gaussian", int(space.shape[0])
            self.low, self.high = space.low.astype(np.float32), space.high.astype(np.float32)
        else:
            raise ValueError(
                f"PolicyGradient cannot act in a {type(space).__name__} action space ({space}); it supports "
                "Discrete actions (Categorical policy) and 1-D Box actions (Gaussian policy)."
            )

    def sample(self, out: np.ndarray, log_std: np.ndarray | None, rng: np.random.Generator, deterministic: bool) -> np.ndarray:
        """Actions for network outputs ``out`` of shape (n, size): (n,) ints or (n, size) floats (unclipped)."""
        if self.kind == "categorical":
            if deterministic:
                return out.argmax(axis=1)
            return _sample_softmax(out, rng.random(len(out)))
        if deterministic:
            return out
        return out + np.exp(log_std) * rng.standard_normal(out.shape).astype(np.float32)

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        if self.kind == "categorical":
            return actions + self.start
        return np.clip(actions, self.low, self.high)

    def log_prob_entropy(self, out: torch.Tensor, log_std: torch.Tensor | None, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s) and the entropy of pi(.|s), each of shape (B,)."""
        if self.kind == "categorical":
            logp = torch.log_softmax(out, dim=1)
            entropy = -(logp.exp() * logp).sum(dim=1)
            return logp.gather(1, actions.long()[:, None])[:, 0], entropy
        z = (actions - out) / log_std.exp()
        logp = (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(dim=1)
        entropy = (log_std + 0.5 * _LOG_2PI_E).sum().expand(len(out))
        return logp, entropy

    def loss_grads_np(
        self, out: np.ndarray, log_std: np.ndarray | None, actions: np.ndarray, advantages: np.ndarray,
        old_log_probs: np.ndarray | None, clip_range: float | None, entropy_coef: float,
    ) -> tuple[float, float, np.ndarray, np.ndarray | None]:
        """The NumPy backend's policy half of the loss, by hand (the chain rule, as torch's autograd would).

        The loss is :func:`policy_gradient_loss` of the batch's log-probabilities
        minus ``entropy_coef`` times the mean entropy. Returns the policy loss, the
        mean entropy, the gradient of the loss w.r.t. the network outputs, and
        w.r.t. the log-std (Gaussian) or None.
        """
        if self.kind == "categorical":  # one compiled pass over the rows; see _categorical_loss_grads
            use_old = old_log_probs is not None
            loss, entropy, dout = _categorical_loss_grads(
                out, actions, advantages, old_log_probs if use_old else advantages, use_old,
                0.0 if clip_range is None else float(clip_range), float(entropy_coef))
            return loss, entropy, dout, None
        std = np.exp(log_std)
        z = (actions - out) / std
        logp = (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(axis=1)
        loss, g = policy_gradient_loss_grad(logp, advantages, old_log_probs, clip_range)
        # d log pi/d mean = z / std;  d log pi/d log_std = z^2 - 1;  H = sum(log_std) + const
        dout = g[:, None] * z / std
        dlog_std = (g[:, None] * (z * z - 1.0)).sum(axis=0) - entropy_coef
        return loss, float((log_std + 0.5 * _LOG_2PI_E).sum()), dout, dlog_std

    def log_prob_np(self, out: np.ndarray, log_std: np.ndarray | None, actions: np.ndarray) -> np.ndarray:
        """log pi(a|s) of shape (B,) in NumPy."""
        if self.kind == "categorical":
            return log_softmax(out)[np.arange(len(out)), actions]
        z = (actions - out) / np.exp(log_std)
        return (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "size": self.size}
        if self.kind == "categorical":
            d["start"] = self.start
        else:
            d["low"], d["high"] = self.low.tolist(), self.high.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ActionHead:
        if d["kind"] == "categorical":
            return cls(gym.spaces.Discrete(int(d["size"]), start=int(d.get("start", 0))))
        return cls(gym.spaces.Box(np.asarray(d["low"], np.float32), np.asarray(d["high"], np.float32)))


def policy_gradient_loss(
    log_probs: torch.Tensor,
    advantages: torch.Tensor,
    old_log_probs: torch.Tensor | None = None,
    clip_range: float | None = None,
) -> torch.Tensor:
    """The loss whose gradient is minus the policy-gradient estimate; all inputs of shape (B,).

    Without ``old_log_probs``: -mean_t log pi(a_t|s_t) A_t (REINFORCE / A2C).
    With them, for reusing a batch over several epochs: the importance-weighted
    surrogate -mean_t rho_t A_t, rho_t = pi(a_t|s_t) / pi_old(a_t|s_t), which has
    the same gradient while pi = pi_old; ``clip_range`` eps takes PPO's pessimistic
    min(rho A, clip(rho, 1-eps, 1+eps) A) so the policy cannot run far from pi_old.
    """
    advantages = advantages.detach()
    if old_log_probs is None:
        return -(log_probs * advantages).mean()
    ratio = torch.exp(log_probs - old_log_probs.detach())
    surrogate = ratio * advantages
    if clip_range is not None:
        surrogate = torch.min(surrogate, torch.clamp(ratio, 1 - clip_range, 1 + clip_range) * advantages)
    return -surrogate.mean()


def policy_gradient_loss_grad(
    log_probs: np.ndarray, advantages: np.ndarray, old_log_probs: np.ndarray | None = None, clip_range: float | None = None,
) -> tuple[float, np.ndarray]:
    """:func:`policy_gradient_loss` in NumPy, with its gradient w.r.t. ``log_probs`` (same cases).

    Where the clipped and unclipped surrogates are equal, torch's ``min`` splits the
    gradient between them and both halves add up to the unclipped one; where the
    clipped one is smaller its gradient is 0 (the ratio is outside the clip range).
    """
    B = len(log_probs)
    if old_log_probs is None:
        return float(-(log_probs * advantages).mean()), -advantages / B
    ratio = np.exp(log_probs - old_log_probs)
    surrogate = ratio * advantages
    through = 1.0
    if clip_range is not None:
        clipped = np.clip(ratio, 1 - clip_range, 1 + clip_range) * advantages
        through = surrogate <= clipped
        surrogate = np.minimum(surrogate, clipped)
    return float(-surrogate.mean()), -advantages * ratio * through / B


def gae(
    rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray, terminated: np.ndarray, ended: np.ndarray,
    gamma: float, lam: float,
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


class PolicyGradient(Learner):
    """REINFORCE / actor-critic agent with a Categorical or Gaussian policy.

    Parameters
    ----------
    hidden, activation : the policy (and value) networks' hidden layers, built by ``sandbox.nn``
    baseline : "none", "mean" or "value" (see the module docstring)
    gae_lambda : lambda of GAE in [0, 1] (actor-critic), or None for Monte-Carlo
        returns-to-go of complete episodes; used only with ``baseline="value"``
    gamma : discount factor in [0, 1]
    n_envs : environments stepped together (``gymnasium.vector``)
    n_steps : steps of each env per update; a batch holds ``n_envs * n_steps`` transitions
    epochs, minibatches : passes over each batch, and the minibatches each pass is split
        into; with 1 and 1 (plain REINFORCE / A2C) each batch gives one gradient step
    clip_range : with several steps per batch, clip the probability ratio to
        [1 - clip_range, 1 + clip_range] (PPO's surrogate); None: no clipping
    learning_rate : of the policy network (and log-std)
    value_learning_rate : of the value network; None uses ``learning_rate``
    optimizer : one of ``sandbox.optim.OPTIMIZERS``
    lr_schedule : "constant" or "linear" (decays to 0 over the ``steps`` given to ``fit``)
    normalize : standardise the advantages (or returns) of each batch to mean 0, std 1
    entropy_coef : weight of the entropy bonus, >= 0
    value_coef : weight of the value loss 0.5*(V - target)^2, > 0
    clip_norm : clip the global gradient norm to this value; None: no clipping
    log_std_init : starting log standard deviation of a Gaussian policy
    vectorization : "sync" (one process) or "async" (a process per env)
    backend : "numpy" (the from-scratch engine of :mod:`sandbox.scratch`: the same
        networks built from the same ``NetSpec`` and starting weights, gradients by
        hand, the same optimizer settings; the default, as these small networks
        train about twice as fast there, counted in env steps a second) or "torch" (``sandbox.nn`` networks,
        autograd, ``sandbox.optim``). From the same seed both compute the same
        losses and gradients up to rounding (float64 against torch's float32).
    seed : networks, action sampling and env seeds; the same seed gives the same returns

    Attributes
    ----------
    history_ : dict of lists: ``episode_returns``, ``episode_lengths``, ``episode_end_steps``,
        ``episode_end_seconds`` (one per training episode); ``loss``, ``policy_loss``,
        ``value_loss``, ``entropy``, ``update_steps`` (one per update)
    training_ : ``solved_at_steps``, ``solved_seconds``, ``solved_at_episode``, ``episodes``,
        ``steps``, ``seconds``, ``steps_per_second``
    """

    paradigm = "reinforcement"
    _np_dtype: Any = np.float32  # the numpy backend's float type: float32 as torch's (NumPy's float64 tanh is ~5x slower)

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (64,),
        activation: str = "relu",
        baseline: str = "value",
        gae_lambda: float | None = 0.95,
        gamma: float = 0.99,
        n_envs: int = 16,
        n_steps: int = 32,
        epochs: int = 4,
        minibatches: int = 2,
        clip_range: float | None = 0.2,
        learning_rate: float = 2e-3,
        value_learning_rate: float | None = 1e-2,
        optimizer: str = "adam",
        lr_schedule: str = "linear",
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
        self.baseline = baseline
        self.gae_lambda = gae_lambda
        self.gamma = gamma
        self.n_envs = n_envs
        self.n_steps = n_steps
        self.epochs = epochs
        self.minibatches = minibatches
        self.clip_range = clip_range
        self.learning_rate = learning_rate
        self.value_learning_rate = value_learning_rate
        self.optimizer = optimizer
        self.lr_schedule = lr_schedule
        self.normalize = normalize
        self.entropy_coef = entropy_coef
        self.value_coef = value_coef
        self.clip_norm = clip_norm
        self.log_std_init = log_std_init
        self.vectorization = vectorization
        self.backend = backend
        self.seed = seed

    # ------------------------------------------------------------ validation

    def _validate(self) -> None:
        check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("baseline", self.baseline, BASELINES)
        if self.gae_lambda is not None:
            check_number("gae_lambda", self.gae_lambda, low=0.0, high=1.0)
        check_number("gamma", self.gamma, low=0.0, high=1.0)
        check_number("n_envs", self.n_envs, low=1, integer=True)
        check_number("n_steps", self.n_steps, low=1, integer=True)
        check_number("epochs", self.epochs, low=1, integer=True)
        check_number("minibatches", self.minibatches, low=1, high=self.n_envs * self.n_steps, integer=True)
        if self.clip_range is not None:
            check_number("clip_range", self.clip_range, low=0.0, low_open=True)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        if self.value_learning_rate is not None:
            check_number("value_learning_rate", self.value_learning_rate, low=0.0, low_open=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("lr_schedule", self.lr_schedule, ("constant", "linear"))
        if not isinstance(self.normalize, bool):
            raise ValueError(f"normalize={self.normalize!r} must be True or False.")
        check_number("entropy_coef", self.entropy_coef, low=0.0)
        check_number("value_coef", self.value_coef, low=0.0, low_open=True)
        if self.clip_norm is not None:
            check_number("clip_norm", self.clip_norm, low=0.0, low_open=True)
        check_number("log_std_init", self.log_std_init)
        check_choice("vectorization", self.vectorization, VECTORIZATION)
        check_choice("backend", self.backend, BACKENDS)
        check_seed(self.seed)

    @property
    def _numpy(self) -> bool:
        return self.backend == "numpy"

    @property
    def _actor_critic(self) -> bool:
        return self.baseline == "value" and self.gae_lambda is not None

    # ----------------------------------------------------------------- setup

    def _setup(self, obs_space: gym.Space, action_space: gym.Space) -> None:
        """Encoder, action head, networks; the same seed gives the same starting weights."""
        self._encoder = ObsEncoder(obs_space, who="PolicyGradient")
        self._head = ActionHead(action_space)
        self._build_networks()

    def _build_networks(self) -> None:
        """Policy (and value) networks from ``NetSpec``s; both backends start from the same weights."""
        seed = self.seed
        hidden = tuple(self.hidden)
        if self._numpy:
            def build(spec: NetSpec, seed: int | None) -> ScratchNet:
                return ScratchNet(spec, seed=seed, dtype=self._np_dtype)
        else:
            def build(spec: NetSpec, seed: int | None) -> Any:
                return build_network(spec, seed=seed)
        self.policy_ = build(NetSpec(self._encoder.size, self._head.size, hidden, self.activation), seed)
        self.value_net_ = None
        if self.baseline == "value":
            vseed = None if seed is None else seed + 1
            self.value_net_ = build(NetSpec(self._encoder.size, 1, hidden, self.activation), vseed)
        self.log_std_ = None
        if self._head.kind == "gaussian":
            if self._numpy:
                self.log_std_ = np.full(self._head.size, float(self.log_std_init), dtype=self._np_dtype)
            else:
                self.log_std_ = torch.nn.Parameter(torch.full((self._head.size,), float(self.log_std_init)))

    def _make_optimizer(self, n_updates: int) -> Optimizer | ScratchOptimizer:
        """One optimizer over the actor (policy and log-std) and the value network, each at its learning rate."""
        config = OptimConfig(
            name=self.optimizer, lr=self.learning_rate, clip_norm=self.clip_norm, schedule=self.lr_schedule,
            total_steps=n_updates if self.lr_schedule == "linear" else None,
        )
        vlr = self.learning_rate if self.value_learning_rate is None else self.value_learning_rate
        if self._numpy:
            actor = self.policy_.params + ([self.log_std_] if self.log_std_ is not None else [])
            critic = self.value_net_.params if self.value_net_ is not None else []
            lrs = [self.learning_rate] * len(actor) + [vlr] * len(critic)
            return ScratchOptimizer(actor + critic, config, lrs=lrs)
        actor = list(self.policy_.parameters()) + ([self.log_std_] if self.log_std_ is not None else [])
        groups = [{"params": actor, "lr": self.learning_rate}]
        if self.value_net_ is not None:
            groups.append({"params": list(self.value_net_.parameters()), "lr": vlr})
        return Optimizer(groups, config)

    @property
    def log_std(self) -> np.ndarray | None:
        """The Gaussian policy's learned log standard deviations as a NumPy array (None for a Categorical policy)."""
        if self.log_std_ is None:
            return None
        return self.log_std_ if self._numpy else self.log_std_.detach().numpy()

    # ------------------------------------------------------------------- fit

    def fit(
        self, env: Any, steps: int = 100_000, *, target_return: float | None = None, window: int = 100
    ) -> PolicyGradient:
        """Learn from ``steps`` environment steps (all envs counted; rounded up to whole rollouts).

        env : a Gymnasium id, a ``"package.module:ClassName"`` entry point, a factory, or
            (with ``n_envs=1``) an Env instance
        target_return : stop early once the mean return of the last ``window``
            training episodes reaches it (e.g. 475 on CartPole-v1)
        """
        self._validate()
        check_budget(steps, target_return, window)
        vec = make_vec_env(env, self.n_envs, vectorization=self.vectorization)
        try:
            self._setup(vec.single_observation_space, vec.single_action_space)
            with torch_seed(self.seed):
                self._train(vec, int(steps), target_return, int(window))
        finally:
            vec.close()
        return self

    def _train(self, vec: gym.vector.VectorEnv, steps: int, target: float | None, window: int) -> None:
        batch_size = self.n_envs * self.n_steps
        n_updates = math.ceil(steps / batch_size)
        opt = self._make_optimizer(n_updates * self.epochs * self.minibatches)
        self._rng = np.random.default_rng(self.seed)
        tracker = EpisodeTracker(self.n_envs, target=target, window=window)
        obs, _ = vec.reset(seed=self.seed)
        self._carry: list[dict[str, np.ndarray]] | None = None
        self._mean_return: float | None = None
        hist: dict[str, list[float]] = {k: [] for k in ("loss", "policy_loss", "value_loss", "entropy", "update_steps")}
        start = time.perf_counter()
        for _ in range(n_updates):
            roll, obs = self._collect(vec, obs, tracker)
            batch = self._make_batch(roll)
            if batch is not None:
                try:
                    losses = self._update(opt, batch)
                except DivergenceError as exc:
                    self._finish(tracker, hist, start)
                    raise DivergenceError(f"PolicyGradient stopped after {tracker.steps} env steps: {exc}") from None
                for k, v in losses.items():
                    hist[k].append(v)
                hist["update_steps"].append(tracker.steps)
            if tracker.solved:
                break
        self._finish(tracker, hist, start)

    def _finish(self, tracker: EpisodeTracker, hist: dict[str, list[float]], start: float) -> None:
        seconds = time.perf_counter() - start
        self.history_ = {
            "episode_returns": list(tracker.returns), "episode_lengths": list(tracker.lengths),
            "episode_end_steps": list(tracker.end_steps), "episode_end_seconds": list(tracker.end_seconds), **hist,
        }
        self.training_ = {**tracker.summary(), "steps": tracker.steps, "seconds": round(seconds, 3),
                          "steps_per_second": round(tracker.steps / max(seconds, 1e-9), 1)}

    # -------------------------------------------------------------- rollouts

    def _forward_np(self, x: np.ndarray) -> np.ndarray:
        if self._numpy:
            return self.policy_.forward(x)
        with torch.inference_mode():
            return self.policy_(torch.from_numpy(x)).numpy()

    def _collect(self, vec: gym.vector.VectorEnv, obs: np.ndarray, tracker: EpisodeTracker) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``n_steps`` steps of every env: arrays of shape (T, n_envs, ...), and the next observations."""
        T, N = self.n_steps, self.n_envs
        head = self._head
        log_std = self.log_std
        X = np.zeros((T, N, self._encoder.size), np.float32)
        A = np.zeros((T, N) if head.kind == "categorical" else (T, N, head.size), np.int64 if head.kind == "categorical" else np.float32)
        R = np.zeros((T, N))
        term = np.zeros((T, N), bool)
        trunc = np.zeros((T, N), bool)
        final = {}  # (t, i) -> features of the last observation of an episode cut by a time limit
        for t in range(T):
            x, _ = self._encoder(obs)
            a = head.sample(self._forward_np(x), log_std, self._rng, deterministic=False)
            obs, r, te, tr, info = vec.step(head.to_env(a))
            X[t], A[t], R[t], term[t], trunc[t] = x, a, r, te, tr
            tracker.step(np.asarray(r, dtype=np.float64), te | tr)
            for i in np.flatnonzero(tr & ~te):
                final[(t, i)] = self._encoder(info["final_obs"][i])[0][0]
        last, _ = self._encoder(obs)
        return {"obs": X, "actions": A, "rewards": R, "terminated": term, "truncated": trunc, "final": final, "last": last}, obs

    # --------------------------------------------------------------- batches

    def _make_batch(self, roll: dict[str, Any]) -> Batch | None:
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
                self._mean_return = float(ret.mean()) if self._mean_return is None else 0.9 * self._mean_return + 0.1 * float(ret.mean())
            elif self.baseline == "value":
                adv = ret - self._values(obs)
        if self.normalize and len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        if self._numpy:
            dt = self._np_dtype
            batch = Batch(obs.astype(dt), actions, adv.astype(dt), ret.astype(dt))
            if self.epochs * self.minibatches > 1:
                batch.old_log_probs = self._head.log_prob_np(self.policy_.forward(batch.obs), self.log_std_, actions).astype(dt)
            return batch
        f32 = torch.float32
        batch = Batch(torch.from_numpy(obs), torch.from_numpy(actions), torch.as_tensor(adv, dtype=f32), torch.as_tensor(ret, dtype=f32))
        if self.epochs * self.minibatches > 1:
            with torch.inference_mode():
                batch.old_log_probs = self._head.log_prob_entropy(self.policy_(batch.obs), self.log_std_, batch.actions)[0]
        return batch

    def _values(self, x: np.ndarray) -> np.ndarray:
        """V(x) in float64, for x of shape (..., n_features)."""
        if self._numpy:
            return self.value_net_.forward(x.reshape(-1, x.shape[-1]))[:, 0].astype(np.float64).reshape(x.shape[:-1])
        with torch.inference_mode():
            return self.value_net_(torch.from_numpy(x.reshape(-1, x.shape[-1])))[:, 0].double().numpy().reshape(x.shape[:-1])

    def _gae_batch(self, roll: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        X, T = roll["obs"], self.n_steps
        both = self._values(np.concatenate([X, roll["last"][None]]))  # one forward for the rollout and what follows it
        values, next_values = both[:-1], both[1:].copy()
        if roll["final"]:
            keys = list(roll["final"])
            v_final = self._values(np.stack([roll["final"][k] for k in keys]))
            for (t, i), v in zip(keys, v_final):
                next_values[t, i] = v
        ended = roll["terminated"] | roll["truncated"]
        adv = gae(roll["rewards"], values, next_values, roll["terminated"].astype(float), ended.astype(float), self.gamma, self.gae_lambda)
        ret = adv + values
        flat = T * self.n_envs
        return X.reshape(flat, -1), roll["actions"].reshape(flat, *roll["actions"].shape[2:]), adv.reshape(flat), ret.reshape(flat)

    def _complete_episodes(self, roll: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Transitions of the episodes that ended, with their returns-to-go; the rest waits for the next batch."""
        ended = roll["terminated"] | roll["truncated"]
        carry = self._carry or [None] * self.n_envs
        parts, self._carry = [], []
        for i in range(self.n_envs):
            seg = {"obs": roll["obs"][:, i], "actions": roll["actions"][:, i], "rewards": roll["rewards"][:, i], "ended": ended[:, i]}
            if carry[i] is not None:
                seg = {k: np.concatenate([carry[i][k], v]) for k, v in seg.items()}
            done_at = np.flatnonzero(seg["ended"])
            cut = done_at[-1] + 1 if len(done_at) else 0
            self._carry.append({k: v[cut:] for k, v in seg.items()})
            if cut:
                g = discounted_returns(seg["rewards"][:cut], self.gamma, seg["ended"][:cut])
                parts.append((seg["obs"][:cut], seg["actions"][:cut], g))
        if not parts:
            return None
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))  # type: ignore[return-value]

    # ---------------------------------------------------------------- update

    def _losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Policy loss, value loss, mean entropy and their weighted total, for one batch."""
        out = self.policy_(batch.obs)
        logp, entropy = self._head.log_prob_entropy(out, self.log_std_, batch.actions)
        policy_loss = policy_gradient_loss(logp, batch.advantages, batch.old_log_probs, self.clip_range)
        entropy = entropy.mean()
        total = policy_loss - self.entropy_coef * entropy
        value_loss = torch.zeros(())
        if self.value_net_ is not None:
            value_loss = 0.5 * ((self.value_net_(batch.obs)[:, 0] - batch.returns) ** 2).mean()
            total = total + self.value_coef * value_loss
        return {"loss": total, "policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}

    def _numpy_loss_grads(self, batch: Batch) -> tuple[dict[str, float], list[np.ndarray]]:
        """The numpy backend's losses (those of :meth:`_losses`) and their gradients by hand, in the optimizer's order."""
        out = self.policy_.forward(batch.obs)
        policy_loss, entropy, dout, dlog_std = self._head.loss_grads_np(
            out, self.log_std_, batch.actions, batch.advantages, batch.old_log_probs, self.clip_range, self.entropy_coef)
        grads = self.policy_.backward(dout) + ([dlog_std] if dlog_std is not None else [])
        total, value_loss = policy_loss - self.entropy_coef * entropy, 0.0
        if self.value_net_ is not None:
            diff = self.value_net_.forward(batch.obs)[:, 0] - batch.returns
            value_loss = 0.5 * float(diff @ diff) / len(diff)
            total += self.value_coef * value_loss
            grads += self.value_net_.backward((self.value_coef / len(diff)) * diff[:, None])
        return {"loss": total, "policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}, grads

    def _update(self, opt: Optimizer | ScratchOptimizer, batch: Batch) -> dict[str, float]:
        """``epochs`` passes of ``minibatches`` gradient steps; the losses of the last step."""
        n = len(batch.obs)
        for _ in range(self.epochs):
            parts = np.array_split(self._rng.permutation(n), self.minibatches) if self.minibatches > 1 else [None]
            for part in parts:
                losses = self._step(opt, batch if part is None else batch[part if self._numpy else torch.from_numpy(part)])
        return losses

    def _step(self, opt: Optimizer | ScratchOptimizer, batch: Batch) -> dict[str, float]:
        """One gradient step on ``batch``; its losses as floats."""
        if self._numpy:
            losses, grads = self._numpy_loss_grads(batch)
            opt.step(grads, loss=losses["loss"])
            return losses
        losses = self._losses(batch)
        opt.step(losses["loss"])
        return {k: float(v.detach()) for k, v in losses.items()}

    # --------------------------------------------------------------- using it

    def act(self, obs: Any, deterministic: bool = False) -> Any:
        """An action for one observation, or an array of actions for a batch of shape (n, *obs_shape).

        ``deterministic=True`` takes the most likely action (Categorical) or the mean (Gaussian).
        """
        self._check_fitted("act")
        x, batched = self._encoder(obs)
        log_std = self.log_std
        if not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(self.seed)
        a = self._head.to_env(self._head.sample(self._forward_np(x), log_std, self._rng, deterministic))
        if batched:
            return a
        return int(a[0]) if self._head.kind == "categorical" else a[0]

    def evaluate(self, env: Any, episodes: int = 100, *, seed: int | None = 0, deterministic: bool = True) -> dict[str, float]:
        """``mean_return``, ``std_return``, ``success_rate``, ``mean_length`` over ``episodes`` episodes."""
        self._check_fitted("evaluate")
        return evaluate_policy(lambda o: self.act(o, deterministic=deterministic), env, episodes=episodes, seed=seed)

    # ------------------------------------------------------------ checkpoints

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {"encoder": self._encoder.to_dict(), "head": self._head.to_dict(), "training": self.training_}
        if self._numpy:
            arrays = scratch_arrays("policy", self.policy_)
            if self.value_net_ is not None:
                arrays.update(scratch_arrays("value", self.value_net_))
        else:
            arrays = module_arrays("policy", self.policy_)
            if self.value_net_ is not None:
                arrays.update(module_arrays("value", self.value_net_))
        if self.log_std_ is not None:
            arrays["log_std"] = self.log_std.copy()
        for k, v in self.history_.items():
            arrays[f"history.{k}"] = np.asarray(v, dtype=np.float64)
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._encoder = ObsEncoder.from_dict(state["encoder"])
        self._head = ActionHead.from_dict(state["head"])
        if self._numpy and saved_by_torch("policy", arrays):
            self.backend = "torch"  # saved before the numpy backend existed: torch's layout, no "backend" recorded
        self._validate()
        self._build_networks()
        if self._numpy:
            load_scratch_arrays("policy", self.policy_, arrays)
            if self.value_net_ is not None:
                load_scratch_arrays("value", self.value_net_, arrays)
            if self.log_std_ is not None:
                self.log_std_[...] = saved_array("log_std", arrays, self.log_std_.shape)
        else:
            load_module_arrays("policy", self.policy_, arrays)
            if self.value_net_ is not None:
                load_module_arrays("value", self.value_net_, arrays)
            if self.log_std_ is not None:
                with torch.no_grad():
                    self.log_std_.copy_(torch.from_numpy(np.array(arrays["log_std"])))
        self.history_ = {k.split(".", 1)[1]: v.tolist() for k, v in arrays.items() if k.startswith("history.")}
        self.training_ = dict(state["training"])
