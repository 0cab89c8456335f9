"""The base of the deep agents (PolicyGradient, DQN): what every one of them does the same way.

A deep agent writes only what differs: its hyperparameter checks
(``_validate``), its networks (``_build``: named parts from the engine), the
action-space check (``_check_action_space``), training (``_train``, given the
vector env and a :class:`Training`), and acting (``_act``). The base owns the
rest:

- ``fit(env, *, steps=None, episodes=None, callback=None, progress=False, target_return=None, window=100)``:
  the budget, the vector env (built from an id or factory, or the caller's env or
  vector env, never closed when it is the caller's), the engine, the callback and
  progress bar (:class:`sandbox.progress.Reporter`), the checks of every env step
  (a NaN or infinite reward or observation stops ``fit`` naming the step), a
  :class:`~sandbox.errors.DivergenceError` that names the env step, and
  ``history_`` / ``training_`` at the end, stopped or not;
- ``act(obs, *, explore=False)``, ``evaluate``, ``env_support``, and the checkpoint
  hooks (networks through :func:`sandbox.learner.scratch_arrays`, the same
  layout on both engines).
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents._engines import Engine, Part, make_engine
from sandbox.checks import check_choice, check_number
from sandbox.environments import check_finite_step, env_name, reason_from
from sandbox.errors import DivergenceError
from sandbox.learner import Learner, load_scratch_arrays, scratch_arrays
from sandbox.progress import Reporter, check_callback
from sandbox.rollout import evaluate_policy
from sandbox.seeding import derive_rng, derive_seed
from sandbox.vector import Budget, EpisodeTracker, ObsEncoder, make_vec_env, same_step_resets

LR_SCHEDULES = ("constant", "linear")
SCALE_LIMIT = 1e6  # scale_obs leaves features with bounds this large (float32's max) as they are


class ScaledEncoder:
    """An :class:`ObsEncoder` whose Box features are rescaled from their bounds to [-1, 1].

    ``scale_obs=True`` on a deep agent: a feature whose low and high bounds are finite and below
    ``SCALE_LIMIT`` in magnitude becomes (x - (low + high) / 2) / ((high - low) / 2); the others
    (unbounded, or bounds like float32's max) pass unchanged. The offsets are fixed by the
    observation space, so the same observation always gives the same features.
    """

    def __init__(self, encoder: ObsEncoder, center: np.ndarray, half: np.ndarray):
        self.encoder, self.size = encoder, encoder.size
        self.center = np.asarray(center, np.float32).reshape(-1)
        self.half = np.asarray(half, np.float32).reshape(-1)

    @classmethod
    def from_space(cls, encoder: ObsEncoder, space: gym.Space) -> ObsEncoder | ScaledEncoder:
        """Scale ``encoder``'s features where ``space`` is a Box with usable bounds; else the encoder as is."""
        if encoder.kind != "box":
            return encoder
        low = np.asarray(space.low, np.float64).reshape(-1)
        high = np.asarray(space.high, np.float64).reshape(-1)
        ok = (
            np.isfinite(low)
            & np.isfinite(high)
            & (np.abs(low) < SCALE_LIMIT)
            & (np.abs(high) < SCALE_LIMIT)
            & (high > low)
        )
        if not ok.any():
            return encoder
        low, high = np.where(ok, low, -1.0), np.where(ok, high, 1.0)  # the others: as they are
        center, half = (low + high) / 2.0, (high - low) / 2.0
        return cls(encoder, center, half)

    def __call__(self, obs: Any, *, finite: bool = True) -> tuple[np.ndarray, bool]:
        x, batched = self.encoder(obs, finite=finite)
        return (x - self.center) / self.half, batched

    def to_dict(self) -> dict[str, Any]:
        return self.encoder.to_dict()

    def scale_dict(self) -> dict[str, list[float]]:
        return {"center": self.center.tolist(), "half": self.half.tolist()}


class Training:
    """One ``fit`` in progress: the budget, the episodes so far, the callback, and the checks of each env step."""

    def __init__(
        self, agent: _DeepAgent, vec: gym.vector.VectorEnv, budget: Budget, reporter: Reporter
    ):
        self.agent, self.vec, self.budget, self.reporter = agent, vec, budget, reporter
        self.n_envs = int(vec.num_envs)
        self.tracker = EpisodeTracker(
            self.n_envs, target=budget.target_return, window=budget.window
        )
        self.name = env_name(vec)
        self.stopped = False  # the callback asked to stop
        self.start = time.perf_counter()

    @property
    def steps(self) -> int:
        return self.tracker.steps

    @property
    def fraction(self) -> float:
        """How much of the budget is used, in [0, 1]."""
        return self.budget.fraction(self.tracker)

    @property
    def over(self) -> bool:
        """The budget is spent, the target reached, or the callback said stop."""
        return self.stopped or self.tracker.solved or self.budget.spent(self.tracker)

    def reset(self) -> np.ndarray:
        """Reset every env (seeded from the agent's seed); the encoded first observations (n_envs, n_features)."""
        obs, _ = self.vec.reset(seed=derive_seed(self.agent.seed, "env"))
        return self.agent._encoder(obs)[0]

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One step of every env with env-form ``actions``.

        Returns the encoded next observations ``x`` (n_envs, n_features), rewards,
        terminated and truncated flags (n_envs,), and ``x_after``: ``x`` except where
        an episode ended, there the encoded last observation of that episode.
        """
        obs, r, term, trunc, info = self.vec.step(actions)
        r = np.asarray(r, np.float64)
        term, trunc = np.asarray(term, bool), np.asarray(trunc, bool)
        x, _ = self.agent._encoder(obs, finite=False)
        x_after = x
        done = term | trunc
        if done.any():
            x_after = x.copy()
            for i in np.flatnonzero(done):
                x_after[i] = self.agent._encoder(info["final_obs"][i], finite=False)[0][0]
        ok = np.isfinite(r) & np.isfinite(x).all(axis=1) & np.isfinite(x_after).all(axis=1)
        if not ok.all():  # name the first env step that returned it
            i = int(np.flatnonzero(~ok)[0])
            bad = x_after[i] if np.isfinite(x[i]).all() else x[i]
            check_finite_step(bad, r[i], step=self.tracker.steps + i + 1, env=self.name)
        self.tracker.step(r, done)
        self.report()
        return x, r, term, trunc, x_after

    def report(self, final: bool = False) -> None:
        """Tell the callback and progress bar (when due, or ``final``ly); a callback's False stops training."""
        done = self.budget.done(self.tracker)
        if (final and self.reporter.active) or self.reporter.due(done):
            recent = self.tracker.returns[-100:]
            mean = float(np.mean(recent)) if recent else math.nan
            if self.reporter(done=done, steps=self.tracker.steps, mean_return=mean) and not final:
                self.stopped = True

    def seconds(self) -> float:
        return time.perf_counter() - self.start


class _DeepAgent(Learner):  # the leading underscore keeps the base out of the registry of learners
    """The shared part of PolicyGradient and DQN; see the module docstring."""

    paradigm = "reinforcement"
    default_steps: ClassVar[int] = 100_000
    budget_unit: ClassVar[str] = (
        "steps"  # what a bare budget counts (learn-env, docs/vocabulary.md)
    )
    _dtype: Any = (
        np.float32
    )  # what the networks compute in, on either engine (float32, as torch's default)

    # ------------------------------------------------------------ subclasses

    def _validate(self) -> None:
        raise NotImplementedError

    @classmethod
    def _check_action_space(cls, space: gym.Space) -> None:
        """Raise ValueError naming the space and what is accepted when the agent cannot act in it."""
        raise NotImplementedError

    def _setup(self, action_space: gym.Space) -> None:
        """Read what the agent needs from the action space (before ``_build``)."""
        raise NotImplementedError

    def _build(self) -> dict[str, Part]:
        """The trainable parts, by checkpoint name, built on ``self._engine``; sets the agent's attributes."""
        raise NotImplementedError

    def _train(self, run: Training) -> None:
        """Train until ``run.over``, keeping the per-update history (losses, ...) in ``self._history``."""
        raise NotImplementedError

    def _act(self, x: np.ndarray, explore: bool) -> np.ndarray:
        """Env-form actions for encoded observations x (n, n_features)."""
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        """What the subclass keeps in a checkpoint besides the networks (JSON)."""
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        """Read back :meth:`_state` (before ``_build``)."""

    # ------------------------------------------------------------- shared checks

    def _check_lr_schedule(self) -> None:
        check_choice("learning_rate_schedule", self.learning_rate_schedule, LR_SCHEDULES)
        check_number("learning_rate_end", self.learning_rate_end, low=0.0, high=self.learning_rate)

    def _lr_factor(self, fraction: float) -> float:
        """The learning rate's multiplier once ``fraction`` of the schedule is done (linear: 1 down to
        learning_rate_end / learning_rate)."""
        if self.learning_rate_schedule == "constant":
            return 1.0
        end = self.learning_rate_end / self.learning_rate
        return 1.0 - (1.0 - end) * min(fraction, 1.0)

    @classmethod
    def env_support(cls, env: Any) -> str | None:
        """None if this agent can ``fit`` ``env`` (an Env or a vector env); otherwise why not."""
        if isinstance(env, gym.vector.VectorEnv):
            reason = reason_from(lambda: same_step_resets(env))
            if reason is not None:
                return reason
            obs_space, action_space = env.single_observation_space, env.single_action_space
        else:
            obs_space, action_space = env.observation_space, env.action_space
        return reason_from(lambda: ObsEncoder(obs_space, who=cls.__name__)) or reason_from(
            lambda: cls._check_action_space(action_space)
        )

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
    ) -> _DeepAgent:
        """Learn from ``steps`` env steps (all env copies counted) or ``episodes`` finished episodes.

        env : a Gymnasium id, a ``"package.module:ClassName"`` entry point or a factory (``n_envs``
            copies are made), an Env instance (it cannot be copied: it runs alone), or a vector env
            (``SyncVectorEnv``, ``AsyncVectorEnv``, ``gym.make_vec``, any autoreset mode; its own number
            of envs is used). The caller's env or vector env is never closed.
        steps, episodes : the budget, exactly one of them; neither: ``steps=default_steps``
            (the class's, in its docstring)
        callback, progress : see :mod:`sandbox.progress` (``done`` counts the budget's unit; ``steps``
            and ``mean_return``, of the last 100 training episodes, come with it)
        target_return : stop early once the mean return of the last ``window`` training episodes reaches it
        """
        self._validate()
        budget = Budget(
            steps,
            episodes,
            default_steps=self.default_steps,
            target_return=target_return,
            window=window,
        )
        check_callback(callback, progress)
        owned = not isinstance(env, (gym.Env, gym.vector.VectorEnv))
        n_envs = 1 if isinstance(env, gym.Env) else self.n_envs
        vec = make_vec_env(env, n_envs, vectorization=self.vectorization)
        try:
            reason = type(self).env_support(vec)
            if reason is not None:
                raise ValueError(f"{type(self).__name__} cannot run on {env_name(vec)}: {reason}.")
            self._prepare(vec.single_observation_space, vec.single_action_space)
            self._rng = derive_rng(self.seed, "train")
            with Reporter(
                callback, progress, desc=type(self).__name__, unit=budget.unit, total=budget.total
            ) as reporter:
                run = Training(self, vec, budget, reporter)
                self._history: dict[str, list[float]] = {}  # _train fills it as it goes
                try:
                    self._train(run)
                except DivergenceError as exc:
                    self._finish(run)
                    raise DivergenceError(
                        f"{type(self).__name__} stopped after {run.steps} env steps: {exc}"
                    ) from None
                run.report(final=True)
                self._finish(run)
        finally:
            if owned:
                vec.close()
        return self

    def _prepare(self, obs_space: gym.Space, action_space: gym.Space) -> None:
        """The encoder, what the action space says, the engine and the networks (their starting weights)."""
        self._encoder = ObsEncoder(obs_space, who=type(self).__name__)
        if getattr(self, "scale_obs", False):
            self._encoder = ScaledEncoder.from_space(self._encoder, obs_space)
        self._setup(action_space)
        self._engine: Engine = make_engine(self.backend, self._dtype)
        self._parts = self._build()

    def _finish(self, run: Training) -> None:
        t, seconds = run.tracker, run.seconds()
        self.history_ = {
            "episode_returns": list(t.returns),
            "episode_lengths": list(t.lengths),
            "episode_end_steps": list(t.end_steps),
            "episode_end_seconds": list(t.end_seconds),
            **self._history,
        }
        self.training_ = {
            **t.summary(),
            "steps": t.steps,
            "seconds": round(seconds, 3),
            "steps_per_second": round(t.steps / max(seconds, 1e-9), 1),
            **self._training_extra(run),
        }

    def _training_extra(self, run: Training) -> dict[str, Any]:
        return {}

    # --------------------------------------------------------------- using it

    def act(self, obs: Any, *, explore: bool = False) -> Any:
        """The action for one observation, or an array of actions for a batch of shape (n, *obs_shape).

        explore : False (the default): the greedy / most likely action (the mean, for a Gaussian
            policy); True: explore as in training (sample from the policy, or act epsilon-greedily)
        """
        self._check_fitted("act")
        x, batched = self._encoder(obs)
        if not hasattr(self, "_rng"):
            self._rng = derive_rng(self.seed, "act")
        a = self._act(x, bool(explore))
        if batched:
            return a
        return a[0].item() if a[0].ndim == 0 else a[0]

    def evaluate(
        self, env: Any, *, episodes: int = 100, seed: int | None = 0, max_steps: int | None = None
    ) -> dict[str, Any]:
        """Greedy play: ``mean_return``, ``std_return``, ``success_rate``, ``mean_length`` over ``episodes``
        episodes (see :func:`sandbox.rollout.evaluate` for ``max_steps`` and the cap on an env without a
        time limit)."""
        self._check_fitted("evaluate")
        return evaluate_policy(
            lambda o: self.act(o), env, episodes=episodes, seed=seed, max_steps=max_steps
        )

    # ------------------------------------------------------------ checkpoints

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {"encoder": self._encoder.to_dict(), "training": self.training_, **self._state()}
        if isinstance(self._encoder, ScaledEncoder):
            state["obs_scale"] = self._encoder.scale_dict()
        arrays: dict[str, np.ndarray] = {}
        for name, part in self._parts.items():
            arrays.update(scratch_arrays(name, part))
        for k, v in self.history_.items():
            arrays[f"history.{k}"] = np.asarray(v, dtype=np.float64)
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._validate()
        self._encoder = ObsEncoder.from_dict(state["encoder"])
        if "obs_scale" in state:
            scale = state["obs_scale"]
            self._encoder = ScaledEncoder(self._encoder, scale["center"], scale["half"])
        self._load_state(state)
        self._engine = make_engine(self.backend, self._dtype)
        self._parts = self._build()
        for name, part in self._parts.items():
            load_scratch_arrays(name, part, arrays)
        self.history_ = {
            k.split(".", 1)[1]: v.tolist() for k, v in arrays.items() if k.startswith("history.")
        }
        self.training_ = dict(state["training"])
