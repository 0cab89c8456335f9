"""Soft actor-critic (SAC): off-policy actor-critic for continuous (Box) actions.

    agent = SAC(seed=0).fit("Pendulum-v1", steps=20_000)
    agent.act(obs)                  # tanh(mean), scaled to the action bounds
    agent.act(obs, explore=True)    # a sample of the squashed Gaussian policy

SAC (Haarnoja et al., 2018) learns from a replay buffer, as DQN does, but for
continuous actions: a Gaussian policy squashed by tanh into the Box's bounds,
and two Q-networks Q1, Q2 trained toward

    y = r + gamma * (1 - terminated) * (min_i Q_target_i(s', a') - entropy_coef * log pi(a' | s')),
    a' ~ pi(. | s'),

where the targets Q_target_i are Polyak averages of Q_i (``tau``). The taking
of the minimum of two critics counters the overestimation a max over actions
brings (as Double DQN does); the entropy term keeps the policy exploring. The
actor follows the critic: it minimises entropy_coef * log pi(a | s) - min_i Q_i(s, a)
with a = tanh(mean + std * noise) (the reparameterisation trick), so its
gradient flows through the critics' input, the action. With
``entropy_coef="auto"`` the coefficient is learned so that the policy's
entropy stays near ``target_entropy`` (default: minus the number of action
dimensions). Before ``learning_starts`` env steps the actions are uniform in
the bounds, to fill the buffer.

The losses and their gradients with respect to the networks' outputs are
NumPy, written out below; the networks run on the engine named by ``backend``
(:mod:`agents._engines`): the actor's gradient reaches it through the critics'
gradient with respect to their input, the action (``input_grad``).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from agents._deep import Training, _DeepAgent
from agents._engines import EngineOptimizer, Net, Part, copy_weights
from agents._replay import ReplayBuffer
from sandbox.checks import check_choice, check_int_tuple, check_number, check_seed
from sandbox.netspec import ACTIVATIONS, NetSpec
from sandbox.optim_config import OptimConfig
from sandbox.scratch import BACKENDS
from sandbox.seeding import derive_seed
from sandbox.vector import VECTORIZATION

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # the policy's log-std is clipped to this range (as SB3)
LOG_EVERY = 1000  # gradient steps per entry of the loss history
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def squashed_gaussian(
    out: np.ndarray, noise: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Actions a = tanh(mean + std * noise) from the actor's outputs ``out`` = [mean, log_std] (n, 2d),
    their log-density log pi(a | s) (n,), and what :func:`squashed_gaussian_grad` needs."""
    mean, raw = np.split(out, 2, axis=1)
    log_std = np.clip(raw, LOG_STD_MIN, LOG_STD_MAX)
    std = np.exp(log_std)
    u = mean + std * noise
    a = np.tanh(u)
    # log N(u; mean, std) - sum log(1 - tanh(u)^2), with log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))
    log_prob = (
        -0.5 * noise * noise
        - log_std
        - HALF_LOG_2PI
        - 2.0 * (math.log(2.0) - u - np.logaddexp(0.0, -2.0 * u))
    ).sum(axis=1)
    inside = (raw >= LOG_STD_MIN) & (raw <= LOG_STD_MAX)
    return a, log_prob, {"a": a, "std_noise": std * noise, "inside": inside}


def squashed_gaussian_grad(
    cache: dict[str, np.ndarray], d_action: np.ndarray, d_log_prob: np.ndarray
) -> np.ndarray:
    """d loss / d actor outputs [mean, log_std] from d loss / d a (n, d) and d loss / d log pi (n,),
    through a = tanh(u), u = mean + std * noise (noise fixed) and log pi's formula above:
    d log pi / du = 2 tanh(u), d log pi / d log_std = -1 (besides through u)."""
    a = cache["a"]
    du = d_action * (1.0 - a * a) + d_log_prob[:, None] * (2.0 * a)
    d_log_std = (du * cache["std_noise"] - d_log_prob[:, None]) * cache["inside"]
    return np.concatenate([du, d_log_std], axis=1)


class SAC(_DeepAgent):
    """Soft actor-critic for Box action spaces (see the module docstring).

    Parameters
    ----------
    hidden, activation : the hidden layers of the actor and of each critic (a ``NetSpec``)
    gamma : discount factor in [0, 1]
    learning_rate : of the actor, the critics and the entropy coefficient (Adam)
    learning_rate_schedule, learning_rate_end : "constant" (the default) or "linear": from
        ``learning_rate`` down to ``learning_rate_end`` over the budget
    buffer_size : transitions the replay buffer holds
    batch_size : transitions per gradient step
    learning_starts : env steps of uniformly random actions before the first update
    train_freq : env steps (all envs counted) between rounds of updates
    gradient_steps : gradient steps per round (each updates the critics, the actor, the
        entropy coefficient and the target critics)
    tau : Polyak step of the target critics, Q_target <- tau Q + (1 - tau) Q_target, in (0, 1]
    entropy_coef : the weight of the entropy term, a number >= 0, or "auto": learned toward
        ``target_entropy``, starting from ``entropy_coef_init``
    entropy_coef_init : where "auto" starts, > 0 (SB3: 1.0; 0.1 here: where the rewards are small
        and an episode's end is its goal, as on the contract's chain, a large entropy bonus makes
        reaching the goal, which ends the bonus, look worse than wandering)
    target_entropy : the policy entropy "auto" aims at; None: minus the number of action dimensions
    clip_norm : gradient-norm clipping of every update (None: none)
    n_envs, vectorization : environments stepped together (``gymnasium.vector``) when ``fit``
        builds them from an id or factory; an Env instance runs alone
    backend : "numpy" (the from-scratch engine of :mod:`sandbox.scratch`, the default) or "torch"
        (``sandbox.nn``, autograd through the networks, ``sandbox.optim``): the same networks from
        the same ``NetSpec`` and starting weights, the same losses
    seed : network weights, exploration, replay sampling and env seeds

    ``fit``'s default budget is ``steps=50_000``.

    Attributes
    ----------
    history_ : ``episode_returns``, ``episode_lengths``, ``episode_end_steps``, ``episode_end_seconds``
        per episode; ``critic_loss``, ``actor_loss``, ``entropy_coef``, ``update_steps``: means over
        each 1,000 gradient steps and the env step they ended at
    training_ : ``episodes``, ``steps``, ``seconds``, ``steps_per_second``, ``gradient_steps``, ...
    """

    default_steps = 50_000

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "relu",
        gamma: float = 0.99,
        learning_rate: float = 1e-3,
        learning_rate_schedule: str = "constant",
        learning_rate_end: float = 0.0,
        buffer_size: int = 1_000_000,
        batch_size: int = 256,
        learning_starts: int = 100,
        train_freq: int = 1,
        gradient_steps: int = 1,
        tau: float = 0.005,
        entropy_coef: float | str = "auto",
        entropy_coef_init: float = 0.1,
        target_entropy: float | None = None,
        clip_norm: float | None = None,
        n_envs: int = 1,
        vectorization: str = "sync",
        backend: str = "numpy",
        seed: int | None = 0,
    ):
        self.hidden = hidden
        self.activation = activation
        self.gamma = gamma
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.learning_rate_end = learning_rate_end
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.learning_starts = learning_starts
        self.train_freq = train_freq
        self.gradient_steps = gradient_steps
        self.tau = tau
        self.entropy_coef = entropy_coef
        self.entropy_coef_init = entropy_coef_init
        self.target_entropy = target_entropy
        self.clip_norm = clip_norm
        self.n_envs = n_envs
        self.vectorization = vectorization
        self.backend = backend
        self.seed = seed

    def _validate(self) -> None:
        check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_number("gamma", self.gamma, low=0.0, high=1.0)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        self._check_lr_schedule()
        for name in ("buffer_size", "batch_size", "train_freq", "gradient_steps", "n_envs"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("learning_starts", self.learning_starts, low=0, integer=True)
        check_number("tau", self.tau, low=0.0, high=1.0, low_open=True)
        if self.entropy_coef != "auto":
            if isinstance(self.entropy_coef, str):
                raise ValueError(
                    f"entropy_coef={self.entropy_coef!r} is not allowed; give 'auto' (learned) or a number >= 0."
                )
            check_number("entropy_coef", self.entropy_coef, low=0.0)
        check_number("entropy_coef_init", self.entropy_coef_init, low=0.0, low_open=True)
        if self.target_entropy is not None:
            check_number("target_entropy", self.target_entropy)
        if self.clip_norm is not None:
            check_number("clip_norm", self.clip_norm, low=0.0, low_open=True)
        check_choice("vectorization", self.vectorization, VECTORIZATION)
        check_choice("backend", self.backend, BACKENDS)
        check_seed(self.seed)

    # ----------------------------------------------------------------- setup

    @classmethod
    def _check_action_space(cls, space: gym.Space) -> None:
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(
                f"SAC cannot act in a {type(space).__name__} action space ({space}); it needs a Box "
                "(continuous actions). Use DQN or PolicyGradient for Discrete actions, PolicyGradient "
                "for MultiDiscrete or MultiBinary ones"
            )
        if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
            raise ValueError(
                f"SAC cannot act in {space}: it squashes actions with tanh into the Box's bounds, so "
                "they must be finite (wrap the env in gymnasium.wrappers.RescaleAction or ClipAction)"
            )

    def _setup(self, action_space: gym.Space) -> None:
        self._action_shape = tuple(int(s) for s in action_space.shape)
        self._low = np.asarray(action_space.low, np.float64).reshape(-1)
        self._high = np.asarray(action_space.high, np.float64).reshape(-1)
        self._action_dtype = np.dtype(action_space.dtype)

    @property
    def _n_actions(self) -> int:
        return len(self._low)

    def _build(self) -> dict[str, Part]:
        """The actor (mean and log-std of each action dimension), the two critics and their
        targets, and the entropy coefficient's log; the same seed, the same starting weights."""
        n_in, n_act = self._encoder.size, self._n_actions
        hidden = check_int_tuple("hidden", self.hidden)  # an int counts as one layer
        engine = self._engine
        self.actor_ = engine.net(
            NetSpec(n_in, 2 * n_act, hidden, self.activation), derive_seed(self.seed, "actor")
        )
        parts: dict[str, Part] = {"actor": self.actor_}
        spec = NetSpec(n_in + n_act, 1, hidden, self.activation)
        self.critics_: list[Net] = []
        self._targets: list[Net] = []
        for k in (1, 2):
            q, target = (engine.net(spec, derive_seed(self.seed, f"q{k}")) for _ in range(2))
            self.critics_.append(q)
            self._targets.append(target)
            parts[f"q{k}"], parts[f"q{k}_target"] = q, target
        self.log_entropy_coef_ = parts["log_entropy_coef"] = engine.vector(
            np.full(1, math.log(self.entropy_coef_init))
        )
        return parts

    def _state(self) -> dict[str, Any]:
        return {
            "action_shape": list(self._action_shape),
            "action_low": self._low.tolist(),
            "action_high": self._high.tolist(),
            "action_dtype": self._action_dtype.name,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self._action_shape = tuple(int(s) for s in state["action_shape"])
        self._low = np.asarray(state["action_low"], np.float64)
        self._high = np.asarray(state["action_high"], np.float64)
        self._action_dtype = np.dtype(state["action_dtype"])

    # ------------------------------------------------------------------- fit

    def _train(self, run: Training) -> None:
        n_act = self._n_actions
        self._target_entropy = (
            -float(n_act) if self.target_entropy is None else float(self.target_entropy)
        )
        config = OptimConfig("adam", self.learning_rate, clip_norm=self.clip_norm)
        engine = self._engine
        actor_opt = engine.optimizer([([self.actor_], self.learning_rate)], config)
        critic_opt = engine.optimizer([(self.critics_, self.learning_rate)], config)
        coef_opt = None
        if self.entropy_coef == "auto":
            coef_opt = engine.optimizer(
                [([self.log_entropy_coef_], self.learning_rate)],
                OptimConfig("adam", self.learning_rate),
            )
        opts = [o for o in (actor_opt, critic_opt, coef_opt) if o is not None]
        buffer = ReplayBuffer(
            self.buffer_size,
            self._encoder.size,
            self.gamma,
            action_shape=(n_act,),
            action_dtype=np.float32,
        )
        if (
            run.budget.unit == "steps"
        ):  # the schedule runs over the gradient steps the budget allows
            rounds = math.ceil(max(0, run.budget.total - self.learning_starts) / self.train_freq)
            total = max(1, rounds * self.gradient_steps)
            schedule_at = lambda k: k / total  # noqa: E731
        else:
            schedule_at = lambda k: run.fraction  # noqa: E731
        hist = self._history = {
            "critic_loss": [],
            "actor_loss": [],
            "entropy_coef": [],
            "update_steps": [],
        }
        sums = np.zeros(3)
        x = run.reset()
        self._grad_steps, since_train = 0, 0
        while not run.over:
            if run.steps < self.learning_starts:
                a = self._rng.uniform(-1.0, 1.0, (run.n_envs, n_act)).astype(np.float32)
            else:
                a = self._policy(x, explore=True)
            x_next, r, term, _, x_after = run.step(self._to_env(a))
            buffer.add(x, a, r, x_after, term)
            x = x_next
            since_train += run.n_envs
            if run.steps < self.learning_starts or since_train < self.train_freq:
                continue
            since_train = 0
            for _ in range(self.gradient_steps):
                if self.learning_rate_schedule != "constant":
                    factor = self._lr_factor(schedule_at(self._grad_steps))
                    for o in opts:
                        o.set_lr_factor(factor)
                batch = buffer.sample(self.batch_size, self._rng)
                sums += self._update(batch, actor_opt, critic_opt, coef_opt)
                self._grad_steps += 1
                if self._grad_steps % LOG_EVERY == 0:
                    for key, v in zip(("critic_loss", "actor_loss", "entropy_coef"), sums):
                        hist[key].append(float(v / LOG_EVERY))
                    hist["update_steps"].append(run.steps)
                    sums[:] = 0.0

    def _coef(self) -> float:
        if self.entropy_coef == "auto":
            return float(np.exp(self.log_entropy_coef_.params[0][0]))
        return float(self.entropy_coef)

    def _update(
        self,
        batch: tuple[np.ndarray, ...],
        actor_opt: EngineOptimizer,
        critic_opt: EngineOptimizer,
        coef_opt: EngineOptimizer | None,
    ) -> tuple[float, float, float]:
        """One gradient step of the entropy coefficient, the critics, the actor and the target
        critics, in SB3's order; (critic loss, actor loss, entropy coefficient)."""
        s, a, r, s2, term, disc = batch
        n, n_act = len(s), self._n_actions
        draw = lambda: self._rng.standard_normal((n, n_act), np.float32)  # noqa: E731
        # the actor at s: a training pass, kept for its backward below
        pi, log_pi, cache = squashed_gaussian(self.actor_.forward(s), draw())
        if coef_opt is not None:  # loss -log(coef) (log pi + target entropy), averaged
            gap = float(log_pi.mean()) + self._target_entropy
            self.log_entropy_coef_.backward(np.array([-gap], np.float32))
            coef_opt.step(-float(self.log_entropy_coef_.params[0][0]) * gap)
        coef = self._coef()
        # the critics' targets, from the target critics at s' and a' ~ pi(. | s')
        a2, log_pi2, _ = squashed_gaussian(self.actor_(s2), draw())
        x2 = np.concatenate([s2, a2], axis=1)
        q_next = np.minimum(self._targets[0](x2), self._targets[1](x2))[:, 0]
        y = r + disc * (1.0 - term) * (q_next - coef * log_pi2)
        # the critics: 0.5 * sum over the two of the mean squared error
        x = np.concatenate([s, a], axis=1)
        critic_loss = 0.0
        for q_net in self.critics_:
            err = q_net.forward(x)[:, 0] - y
            critic_loss += 0.5 * float(np.mean(err * err))
            q_net.backward((err / n)[:, None].astype(np.float32))
        critic_opt.step(critic_loss)
        # the actor: mean of coef * log pi(a | s) - min(Q1, Q2)(s, a) at a = pi(s), through the critics' input
        x_pi = np.concatenate([s, pi], axis=1)
        qs = [q_net.forward(x_pi)[:, 0] for q_net in self.critics_]
        first = qs[0] <= qs[1]
        d_action = np.zeros_like(pi)
        for q_net, chosen in zip(self.critics_, (first, ~first)):
            dq = np.where(chosen, np.float32(-1.0 / n), np.float32(0.0))[:, None]
            d_action += q_net.input_grad(dq)[:, -n_act:]
        actor_loss = float(np.mean(coef * log_pi - np.minimum(qs[0], qs[1])))
        d_log_pi = np.full(n, coef / n, np.float32)
        self.actor_.backward(squashed_gaussian_grad(cache, d_action, d_log_pi).astype(np.float32))
        actor_opt.step(actor_loss)
        for target, q_net in zip(self._targets, self.critics_):
            copy_weights(target, q_net, self.tau)
        return critic_loss, actor_loss, coef

    def _training_extra(self, run: Training) -> dict[str, Any]:
        return {
            "gradient_steps": self._grad_steps,
            "entropy_coef": self._coef(),
        }

    # --------------------------------------------------------------- using it

    def _policy(self, x: np.ndarray, explore: bool) -> np.ndarray:
        """Squashed actions in [-1, 1]^d for encoded observations x (n, n_features)."""
        mean, log_std = np.split(self.actor_(x), 2, axis=1)
        if explore:
            std = np.exp(np.clip(log_std, LOG_STD_MIN, LOG_STD_MAX))
            mean = mean + std * self._rng.standard_normal(mean.shape).astype(np.float32)
        return np.tanh(mean)

    def _to_env(self, a: np.ndarray) -> np.ndarray:
        """Actions in [-1, 1]^d as the env's: scaled into its bounds, in its shape and dtype."""
        scaled = self._low + (a.astype(np.float64) + 1.0) * 0.5 * (self._high - self._low)
        scaled = np.clip(scaled, self._low, self._high)
        return scaled.astype(self._action_dtype).reshape(len(a), *self._action_shape)

    def _act(self, x: np.ndarray, explore: bool) -> np.ndarray:
        return self._to_env(self._policy(x, explore))

    def q_values(self, obs: Any, action: Any) -> np.ndarray:
        """Q1 and Q2 of (observation, env-form action): shape (2,), or (2, n) for batches."""
        self._check_fitted("q_values")
        x, batched = self._encoder(obs)
        a = np.asarray(action, np.float64).reshape(len(x), -1)
        squashed = 2.0 * (a - self._low) / (self._high - self._low) - 1.0
        xa = np.hstack([x, squashed]).astype(np.float32)
        q = np.stack([q_net(xa)[:, 0] for q_net in self.critics_])
        return q if batched else q[:, 0]
