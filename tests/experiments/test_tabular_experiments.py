"""The tabular experiments run end to end from their settings (tiny budgets) and write what they promise."""

from __future__ import annotations

import pytest

from sandbox import experiment as ex
from tests.experiments.helpers import run_small as run


def test_frozenlake(tmp_path):
    s = run("frozenlake", tmp_path, maps="4x4", episodes_4x4=400, eval_episodes=50, curve_points=4)
    four = s["4x4"]
    assert four["optimal_success_rate"] == pytest.approx(0.7442, abs=5e-5)
    assert four["stationary_success_rate"] == pytest.approx(0.7402, abs=5e-5)
    assert 0 <= four["q_learning_success_rate"] <= 1 and four["eval_episodes"] == 50
    for png in ("learning_curve_4x4.png", "policy_4x4.png"):
        assert (tmp_path / "frozenlake" / png).stat().st_size > 0


def test_frozenlake_refuses_an_unknown_map():
    with pytest.raises(ValueError, match="'16x16' is not a map; choose from 4x4, 8x8"):
        ex.make_config(ex.get("frozenlake"), sets={"maps": "16x16"})


def test_taxi(tmp_path):
    s = run("taxi", tmp_path, episodes=100, eval_episodes=20, curve_points=3)
    assert s["optimal_exact_mean_return"] == pytest.approx(7.93, abs=0.005)
    assert {"q_learning_mean_return", "optimal_mean_return"} <= set(s)


def test_cliff(tmp_path):
    s = run("cliff", tmp_path, runs=2, episodes=60, with_expected_sarsa=False)
    assert {
        "q_learning_online_return",
        "sarsa_online_return",
        "q_learning_greedy_return",
        "sarsa_greedy_return",
    } <= set(s)
    assert (tmp_path / "cliff" / "paths.png").exists() and (
        tmp_path / "cliff" / "online_return.png"
    ).exists()
