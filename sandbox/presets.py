"""Per-environment hyperparameter presets: plain data, one TOML file per learner.

Where a learner's defaults do not carry over to an environment (as RL Zoo keeps
a file of settings per algorithm and env), its settings for that env live in
``sandbox/presets/<LearnerClass>.toml``, one table per env id::

    ["MountainCar-v0"]
    why = "sparse reward: longer exploration and n-step returns reach the flag"
    tuned_on_seeds = [100, 101, 102]   # the seeds the settings were chosen on
    source = "RL Zoo hyperparams/dqn.yml, adapted"   # optional

    ["MountainCar-v0".params]
    learning_rate = 4e-3
    hidden = [256, 256]                # TOML lists become tuples

A preset is named ``LearnerClass/env-id``. ``learn-env`` (and so the suite)
applies the learner's preset for its env unless told ``preset=none``, names it
in its output, and lets ``agent_kwargs`` override any of its values. Reading a
preset parses TOML only: it never imports or runs code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sandbox.checks import close_matches

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
_KEYS = {"why", "tuned_on_seeds", "source", "params"}


@dataclass(frozen=True)
class Preset:
    """One learner's settings for one env."""

    agent: str
    env: str
    params: dict[str, Any] = field(hash=False)
    why: str
    tuned_on_seeds: tuple[int, ...]
    source: str | None
    file: Path

    @property
    def name(self) -> str:
        return f"{self.agent}/{self.env}"

    def describe(self) -> str:
        """One line for a run's output: the name, what it sets, and why."""
        sets = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"preset {self.name} ({self.why}): {sets}"


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _parse(agent: str, path: Path) -> dict[str, Preset]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"preset file {path} could not be read as TOML: {exc}") from None
    found = {}
    for env, table in data.items():
        where = f"preset file {path}, table [{env!r}]"
        if not isinstance(table, dict):
            raise ValueError(f"{where}: expected a table with why, tuned_on_seeds and params.")
        unknown = set(table) - _KEYS
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(_KEYS))}."
            )
        why, seeds, params = table.get("why"), table.get("tuned_on_seeds"), table.get("params")
        if not isinstance(why, str) or not why.strip():
            raise ValueError(f"{where}: 'why' must be a one-line reason for the preset.")
        if (
            not isinstance(seeds, list)
            or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
        ):
            raise ValueError(
                f"{where}: 'tuned_on_seeds' must list the integer seeds the settings were chosen on."
            )
        if not isinstance(params, dict) or not params:
            raise ValueError(f"{where}: 'params' must be a table of the learner's settings.")
        source = table.get("source")
        if source is not None and not isinstance(source, str):
            raise ValueError(f"{where}: 'source' must be a string when given.")
        found[env] = Preset(
            agent,
            env,
            {k: _tuples(v) for k, v in params.items()},
            why.strip(),
            tuple(seeds),
            source,
            path,
        )
    return found


@cache
def _agent_presets(agent: str) -> dict[str, Preset]:
    path = PRESETS_DIR / f"{agent}.toml"
    return _parse(agent, path) if path.is_file() else {}


def all_presets() -> list[Preset]:
    """Every preset that ships, by learner then env."""
    return [
        p for path in sorted(PRESETS_DIR.glob("*.toml")) for p in _agent_presets(path.stem).values()
    ]


def find(agent: str, env: str) -> Preset | None:
    """The preset of learner class ``agent`` for env id ``env``, or None when there is none."""
    return _agent_presets(agent).get(env)


def get(name: str) -> Preset:
    """The preset named ``LearnerClass/env-id``; a clear error naming the ones that exist otherwise."""
    agent, sep, env = name.partition("/")
    preset = find(agent, env) if sep else None
    if preset is None:
        names = [p.name for p in all_presets()]
        hint = close_matches(name, names)
        did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
        raise ValueError(
            f"preset {name!r} does not exist.{did} Presets are named LearnerClass/env-id; "
            f"the ones that ship: {', '.join(names) or 'none'}."
        )
    return preset


def resolve(setting: str, agent: str, env: str) -> Preset | None:
    """What a ``preset`` setting means for ``agent`` on ``env``.

    ``"auto"``: the agent's preset for the env, if there is one; ``"none"``: no preset; anything
    else names a preset, which must be for the same learner.
    """
    if setting == "auto":
        return find(agent, env)
    if setting == "none":
        return None
    preset = get(setting)
    if preset.agent != agent:
        raise ValueError(
            f"preset {setting!r} is for {preset.agent}, but the agent is {agent}; "
            f"use a {agent}/... preset, preset=auto or preset=none."
        )
    return preset
