"""learn-env runs every environment learner in the registry on an env it supports (tiny budgets),
and refuses, with the learner's env_support reason, the learners that cannot run on that env."""

from __future__ import annotations

import json

import pytest

import agents  # noqa: F401  (fills the registry)
from sandbox.cli import main
from sandbox.environments import make_env
from sandbox.learner import load_learner_plugins

# (env id, env_kwargs, budget): the first one a learner supports is where it runs
CANDIDATES = [
    ("sandbox/GridWorld-v0", "map='3x3'", 50),
    ("sandbox/Bandit-v0", "", 200),
    ("sandbox/ContextualBandit-v0", "", 200),
    ("sandbox/TicTacToe-v0", "", 200),
    ("CartPole-v1", "", 2048),
    ("Pendulum-v1", "", 300),
]

ENV_LEARNERS = sorted(
    n for n, c in load_learner_plugins().items() if c.paradigm in ("reinforcement", "planning")
)


def _home(cls):
    for env_id, kwargs, budget in CANDIDATES:
        env = make_env(env_id, **eval(f"dict({kwargs})"))
        train = make_env(env_id, opponent="self") if env_id == "sandbox/TicTacToe-v0" else env
        if cls.env_support(env) is None or cls.env_support(train) is None:
            return env_id, kwargs, budget
    return None


@pytest.mark.parametrize("name", ENV_LEARNERS)
def test_learn_env_runs_every_environment_learner(name, tmp_path):
    cls = load_learner_plugins()[name]
    home = _home(cls)
    assert home is not None, (
        f"{name} supports none of the candidate envs; add one it supports to CANDIDATES"
    )
    env_id, kwargs, budget = home
    out = tmp_path / name
    args = [
        "run",
        "learn-env",
        "--quiet",
        "--set",
        f"agent={name}",
        "--set",
        f"env={env_id}",
        "--set",
        f"env_kwargs={kwargs}",
        "--set",
        f"budget={budget}",
        "--set",
        "eval_episodes=5",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["agent"] == name and summary["env"].startswith(
        env_id.split(":")[0].split("-")[0]
    )


@pytest.mark.parametrize("name", ENV_LEARNERS)
def test_learn_env_refuses_with_the_env_support_reason(name, tmp_path, capsys):
    cls = load_learner_plugins()[name]
    for env_id, kwargs, _ in CANDIDATES:
        env = make_env(env_id, **eval(f"dict({kwargs})"))
        reason = cls.env_support(env)
        if reason is None or env_id == "sandbox/TicTacToe-v0":
            continue
        args = [
            "run",
            "learn-env",
            "--quiet",
            "--set",
            f"agent={name}",
            "--set",
            f"env={env_id}",
            "--set",
            f"env_kwargs={kwargs}",
            "--set",
            "budget=10",
            "--out",
            str(tmp_path / env_id.replace("/", "_")),
        ]
        assert main(args) == 2
        assert f"{name} cannot run on {env_id}: {reason}" in capsys.readouterr().err
