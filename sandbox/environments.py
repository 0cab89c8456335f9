"""Environments by name and what an agent can run on: the env side of the shared core.

``make_env`` accepts a Gymnasium id (``"FrozenLake-v1"``, ``"sandbox/GridWorld-v0"``),
a ``"package.module:ClassName"`` entry point, or an ``Env`` instance, and
answers a typo with the closest registered ids. Packages that register
environments announce themselves in the ``sandbox.envs`` entry-point group and
are imported before an id is looked up, so ``sandbox`` never names them.
``space_support`` and ``require_env_support`` are how a learner says which
spaces it can run on, so ``sandbox check-env`` and ``fit`` give the same answer.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from sandbox.checks import close_matches

ENV_ENTRY_POINT_GROUP = "sandbox.envs"
_plugins_loaded = False


def load_env_plugins() -> None:
    """Import every package in the ``sandbox.envs`` entry-point group (registers their envs)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in importlib.metadata.entry_points(group=ENV_ENTRY_POINT_GROUP):
        importlib.import_module(ep.value)


def make_env(
    env: str | gym.Env | Callable[..., gym.Env], *, render_mode: str | None = None, **kwargs: Any
) -> gym.Env:
    """An environment from an id, a ``module:Class`` entry point, a class or factory, or an instance."""
    if isinstance(env, gym.Env):
        if kwargs:
            raise ValueError(f"env is already built; drop the keyword arguments {sorted(kwargs)}.")
        return env
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    if callable(env) and not isinstance(env, str):
        built = _construct(env, kwargs, getattr(env, "__name__", repr(env)))
        if not isinstance(built, gym.Env):
            raise ValueError(f"{env!r} built a {type(built).__name__}, not a gymnasium.Env.")
        return built
    if not isinstance(env, str) or not env:
        raise ValueError(
            f"env={env!r} must be a Gymnasium id, a 'package.module:ClassName' entry point, or an Env."
        )
    if ":" in env and "/" not in env.split(":", 1)[0]:
        return _from_entry_point(env, kwargs)
    load_env_plugins()
    if env not in gym.registry:
        hint = close_matches(env, gym.registry.keys())
        did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
        raise ValueError(
            f"env id {env!r} is not registered with Gymnasium.{did} "
            "Pass a registered id, or a 'package.module:ClassName' entry point."
        )
    return _construct(lambda **kw: gym.make(env, **kw), kwargs, env)


def _from_entry_point(spec: str, kwargs: dict[str, Any]) -> gym.Env:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"entry point {spec!r}: module {module_name!r} does not import ({exc})."
        ) from None
    if not hasattr(module, attr):
        names = [
            n for n, v in vars(module).items() if inspect.isclass(v) and issubclass(v, gym.Env)
        ]
        raise ValueError(
            f"entry point {spec!r}: {module_name} has no {attr!r}. Env classes there: {', '.join(names) or 'none'}."
        )
    cls = getattr(module, attr)
    if not (inspect.isclass(cls) and issubclass(cls, gym.Env)):
        raise ValueError(
            f"entry point {spec!r} is a {type(cls).__name__}, not a gymnasium.Env subclass."
        )
    return _construct(cls, kwargs, spec)


def _construct(build: Callable[..., Any], kwargs: dict[str, Any], what: str) -> Any:
    """``build(**kwargs)``, with a keyword the env does not take reported as the user's mistake."""
    try:
        return build(**kwargs)
    except TypeError as exc:
        if not kwargs or "argument" not in str(exc):
            raise
        raise ValueError(
            f"env {what!r} does not take the keyword arguments {sorted(kwargs)} ({exc}); "
            "check its constructor's parameters (or drop env_kwargs / --kwarg)."
        ) from None


def env_name(env: gym.Env | gym.vector.VectorEnv) -> str:
    """The env's registered id, else its class name; a vector env of copies is named by its copies."""
    spec = getattr(env, "spec", None)
    if spec is not None and spec.id:
        return spec.id
    # SyncVectorEnv keeps its envs; AsyncVectorEnv cannot and keeps its class name
    copies = getattr(env.unwrapped, "envs", None)
    if isinstance(env, gym.vector.VectorEnv) and copies:
        return env_name(copies[0])
    return type(env.unwrapped).__name__


# ------------------------------------------------------------ what an agent can run on


def describe_space(space: gym.Space) -> str:
    """A space in a few words, e.g. ``Box(4,)`` or ``Discrete(16)``."""
    if isinstance(space, gym.spaces.Box):
        return f"Box{tuple(space.shape)}"
    return str(space)


def space_support(
    env: gym.Env,
    *,
    observation: tuple[type, ...] | None = None,
    action: tuple[type, ...] | None = None,
) -> str | None:
    """None if ``env``'s observation and action spaces are of the allowed types; otherwise why not.

    ``observation`` / ``action``: the accepted ``gymnasium.spaces`` classes (None accepts any).
    """
    for role, space, allowed in (
        ("observation", env.observation_space, observation),
        ("action", env.action_space, action),
    ):
        if allowed is not None and not isinstance(space, allowed):
            names = " or ".join(a.__name__ for a in allowed)
            return f"its {role} space is {describe_space(space)}; this agent needs {names}"
    return None


def reason_from(check: Callable[[], Any]) -> str | None:
    """Run a check that raises ValueError when an env will not do; its message, or None when it passes."""
    try:
        check()
    except ValueError as exc:
        return str(exc)
    return None


def require_env_support(learner: Any, env: gym.Env) -> None:
    """Raise ValueError with the learner's own reason when it cannot run on ``env`` (see ``Learner.env_support``)."""
    cls = learner if isinstance(learner, type) else type(learner)
    reason = (
        cls.env_support(env) if cls.declares_env_support() else None
    )  # undeclared: its fit checks for itself
    if reason is not None:
        raise ValueError(f"{cls.__name__} cannot run on {env_name(env)}: {reason.rstrip('.')}.")


def check_finite_step(obs: Any, reward: Any, *, step: int, env: gym.Env | str) -> None:
    """Raise ValueError when an env step returned a NaN or infinite reward or observation.

    step : the env step (1-based, all envs counted) that returned them, named in the message
    env : the env or its name, named in the message
    """
    import numpy as np

    name = env if isinstance(env, str) else env_name(env)
    r = np.asarray(reward, dtype=np.float64)
    if not np.all(np.isfinite(r)):
        bad = r[~np.isfinite(r)].ravel()[0]
        raise ValueError(
            f"{name} returned a non-finite reward ({bad}) at env step {step}; a learner cannot learn from it. "
            "Check the env's reward function (or wrap it to clip or replace such rewards)."
        )
    try:
        o = np.asarray(obs, dtype=np.float64)
    except (TypeError, ValueError):
        return  # a Dict/Tuple observation: its numeric parts are checked where they are flattened
    if not np.all(np.isfinite(o)):
        raise ValueError(
            f"{name} returned a non-finite observation (NaN or inf) at env step {step}; a learner cannot "
            "learn from it. Check the env's step() (or wrap it with a gymnasium ObservationWrapper that repairs it)."
        )
