"""The cartpole and continuous-control experiments, run end to end on tiny budgets."""

import json

import pytest

from sandbox import experiment as ex


@pytest.mark.parametrize("agent", ["pg", "dqn"])
def test_cartpole_writes_its_summary_and_plot(tmp_path, agent):
    exp = ex.get("cartpole")
    cfg = ex.make_config(exp, seed=0, sets={"agent": agent, "steps": 1500, "eval_episodes": 2})
    summary = ex.run_experiment(exp, cfg, tmp_path, quiet=True)
    for key in ("solved_at_steps", "solved_seconds", "eval_mean_return", "steps_per_second"):
        assert key in summary
    assert (
        summary["solved"] is False and summary["solved_at_steps"] is None
    )  # 1,500 steps cannot balance 475
    # both agents are judged by the same rule: the mean of their 100 latest training episodes
    assert "last 100 training episodes" in summary["solve_criterion"]
    assert (tmp_path / "learning_curve.png").exists() and (tmp_path / "agent.npz").exists()
    assert json.loads((tmp_path / "summary.json").read_text())["agent"] == agent


def test_cartpole_refuses_an_unknown_agent():
    with pytest.raises(ValueError, match="agent='ppo'"):
        ex.make_config(ex.get("cartpole"), sets={"agent": "ppo"})


def test_cartpole_passes_dqn_settings_and_refuses_them_for_pg(tmp_path):
    from agents.dqn import DQN

    exp = ex.get("cartpole")
    cfg = ex.make_config(
        exp,
        seed=0,
        sets=["agent=dqn", "steps=600", "eval_episodes=1", "n_step=1", "prioritized=false"],
    )
    ex.run_experiment(exp, cfg, tmp_path, quiet=True)
    agent = DQN.load(tmp_path / "agent.npz")
    assert agent.n_step == 1 and agent.prioritized is False
    with pytest.raises(ValueError, match="n_step and prioritized are DQN's settings"):
        ex.make_config(exp, sets={"n_step": 2})
    with pytest.raises(ValueError, match="n_step"):
        ex.make_config(exp, sets={"agent": "dqn", "n_step": 0})


def test_continuous_control_runs_both_tasks(tmp_path):
    exp = ex.get("continuous-control")
    cfg = ex.make_config(
        exp, seed=0, sets={"reach_steps": 1024, "pendulum_steps": 1024, "eval_episodes": 2}
    )
    summary = ex.run_experiment(exp, cfg, tmp_path, quiet=True)
    assert {"reach_success_rate", "reach_random_mean_return", "pendulum_mean_return"} <= set(
        summary
    )
    assert (tmp_path / "reach_curve.png").exists() and (tmp_path / "pendulum_curve.png").exists()
