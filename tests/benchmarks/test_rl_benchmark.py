"""benchmarks/rl.py at tiny budgets: its tables, its goal lines and its run folder (the real runs are long)."""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench():
    return load("rl_benchmark", ROOT / "benchmarks" / "rl.py")


def test_a_pair_runs_side_by_side_into_a_table_and_a_run_folder(bench, tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    out = tmp_path / "bench"
    argv = ["--env", "MountainCar-v0", "--pairs", "ppo", "--seeds", "0,1", "--budget", "256"]
    assert bench.main([*argv, "--eval-episodes", "3", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "RL Zoo's MountainCar-v0 settings: normalize=True, n_envs=16" in text
    assert "PolicyGradient: its defaults" in text or "preset PolicyGradient/MountainCar-v0" in text
    assert "DQN vs DQN" not in text  # only the pair asked for
    for words in ("median eval return", "median wall s", "wall sandbox/SB3", "CPU sandbox/SB3"):
        assert words in text
    assert "median evaluation return >= -110" in text  # the MountainCar target

    tables = load("docs_tables", ROOT / "docs" / "tables.py")
    [(config, summary)] = tables.runs_under(out)  # a run folder, as docs/tables.py reads them
    assert config["settings"]["env"] == summary["env"] == "MountainCar-v0"
    assert config["settings"]["pairs"] == ["PPO vs PolicyGradient"]
    runs = summary["runs"]
    assert [(r["seed"], r["first"]) for r in runs] == [(0, "sb3"), (1, "sandbox")]  # interleaved
    for r in runs:
        for side in ("sb3", "sandbox"):
            assert r[side]["steps"] >= 256 and r[side]["eval"]["episodes"] == 3
            assert -200 <= r[side]["eval"]["mean_return"] < 0 and r[side]["seconds"] > 0
    pair = summary["pairs"]["PPO vs PolicyGradient"]
    for side in ("sb3", "sandbox"):
        returns = [r[side]["eval"]["mean_return"] for r in runs]
        assert pair[side]["median_return"] == pytest.approx(statistics.median(returns))
    ratio = pair["sandbox"]["median_seconds"] / pair["sb3"]["median_seconds"]
    assert pair["wall_ratio"] == pytest.approx(ratio)
    assert pair["goals"]["return"] == {
        "goal": -110.0,
        "met": pair["sandbox"]["median_return"] >= -110,
    }
    assert json.loads((out / "summary.json").read_text())["seeds"] == [0, 1]


def test_cartpole_keeps_its_solve_time_goals(bench, capsys):
    pytest.importorskip("stable_baselines3")
    argv = ["--pairs", "PPO", "--seeds", "3", "--budget", "256", "--eval-episodes", "2"]
    assert bench.main([*argv, "--raw-steps", "512"]) == 0
    text = capsys.readouterr().out
    assert "never solved" in text and "median s to 475" in text  # 256 steps do not solve it
    assert "median wall <= 0.25x SB3's: NOT met" in text  # unsolved counts as infinitely slow
    assert "median env steps to 475 <= 150,000: NOT met" in text
    assert "training throughput >= 0.5 of the raw random-action rate" in text


def test_a_sandbox_learner_that_is_missing_makes_its_pair_not_available(bench, monkeypatch, capsys):
    pytest.importorskip("stable_baselines3")
    monkeypatch.setattr(bench, "sandbox_class", lambda name: None)
    assert bench.main(["--env", "Pendulum-v1", "--pairs", "SAC,TD3", "--seeds", "0"]) == 0
    text = capsys.readouterr().out
    assert "SAC vs SAC: not available (agents.SAC is not importable)" in text
    assert "TD3 vs TD3: not available" in text and "seed 0" not in text


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--env", "Acrobot-v2"], "invalid choice: 'Acrobot-v2'"),
        (["--env", "Acrobot-v1", "--pairs", "SAC"], "Acrobot-v1's pairs are PPO vs PolicyGradient"),
        (["--seeds", "0,x"], "give distinct non-negative integers"),
        (["--seeds", "1,1"], "give distinct non-negative integers"),
        (["--budget", "0"], "--budget 0: give a positive number"),
    ],
)
def test_bad_arguments_are_named(bench, capsys, argv, words):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert words in capsys.readouterr().err


def test_the_sb3_side_is_built_as_rl_zoo_builds_it(bench):
    pytest.importorskip("stable_baselines3")
    model, vecnorm = bench.build_sb3("PPO", "Acrobot-v1", 0)
    assert vecnorm is not None and vecnorm.gamma == 0.99 and model.n_envs == 16
    assert model.n_steps == 256 and model.gae_lambda == 0.94
    model, vecnorm = bench.build_sb3("TD3", "Pendulum-v1", 0)
    assert vecnorm is None and model.learning_starts == 10_000 and model.gamma == 0.98
    assert model.action_noise is not None
    model, _ = bench.build_sb3("PPO", "CartPole-v1", 0)
    assert model.learning_rate(0.5) == pytest.approx(5e-4)  # RL Zoo's lin_0.001
    assert set(bench.ZOO) == {(p.sb3, b.env) for b in bench.ENVS.values() for p in b.pairs}
