"""The bandit, tictactoe, contextual-bandit and learn-env experiments, at toy sizes, through the CLI."""

import json

import pytest

from sandbox.cli import main


def _summary(path):
    return json.loads((path / "summary.json").read_text())


def test_bandit_runs_and_repeats_under_a_seed(tmp_path):
    args = [
        "run",
        "bandit",
        "--quiet",
        "--set",
        "runs=50",
        "--set",
        "steps=100",
        "--set",
        "tail=20",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    a, b = _summary(tmp_path / "a"), _summary(tmp_path / "b")
    assert a["results"] == b["results"]
    assert set(a["results"]) == {"epsilon=0", "epsilon=0.01", "epsilon=0.1", "UCB c=2"}
    assert (tmp_path / "a" / "optimal_action.png").is_file() and (
        tmp_path / "a" / "bandit.csv"
    ).is_file()


def test_bandit_bad_settings(tmp_path, capsys):
    assert main(["run", "bandit", "--set", "epsilons=0.1,2", "--out", str(tmp_path / "x")]) == 2
    assert "epsilons[i]=2.0" in capsys.readouterr().err


def test_tictactoe_runs_small(tmp_path):
    out = tmp_path / "t"
    assert (
        main(
            [
                "run",
                "tictactoe",
                "--quiet",
                "--set",
                "episodes=400",
                "--set",
                "eval_games=20",
                "--set",
                "window=100",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = _summary(out)
    assert {"minimax_losses", "random_first_win_rate", "targets_met"} <= set(s)
    assert (out / "agent.npz").is_file() and (out / "self_play.png").is_file()


def test_tictactoe_resumes_from_another_working_directory(tmp_path, monkeypatch):
    """A run made with a relative --out is resumed from elsewhere (#17 item 6): the learn stage's
    checkpoint must be found through the run directory, not the directory the run started in."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    assert (
        main(
            [
                "run",
                "tictactoe",
                "--quiet",
                "--set",
                "episodes=200",
                "--set",
                "eval_games=5",
                "--set",
                "window=100",
                "--out",
                "rel",
            ]
        )
        == 0
    )
    run_dir = tmp_path / "a" / "rel"
    (run_dir / "stages" / "play.json").unlink()  # as if the run had died after learning
    (run_dir / "summary.json").unlink()
    monkeypatch.chdir(tmp_path / "b")
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
    assert _summary(run_dir)["experiment"] == "tictactoe"


def test_contextual_bandit_runs_small(tmp_path):
    out = tmp_path / "c"
    assert (
        main(
            [
                "run",
                "contextual-bandit",
                "--quiet",
                "--set",
                "datasets=iris",
                "--set",
                "steps=300",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert _summary(out)["iris_bandit_accuracy"] > 0.6


def test_learn_env_on_a_gridworld_matches_the_planner(tmp_path):
    out = tmp_path / "l"
    assert (
        main(
            [
                "run",
                "learn-env",
                "--quiet",
                "--set",
                "env_kwargs=map='3x3'",
                "--set",
                "budget=200",
                "--set",
                "eval_episodes=20",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = _summary(out)
    assert s["mean_return"] == s["optimal_mean_return"] == 1.0 and s["mean_length"] == 4
    assert s["budget"] == 200 and s["budget_unit"] == "episodes"


def test_learn_env_exact_returns_are_what_the_episodes_estimate():
    import gymnasium as gym
    import numpy as np

    from agents import ValueIteration
    from agents.planning import exact_returns

    env = gym.make("FrozenLake-v1")

    class Left:  # never reaches the goal: exactly 0
        def act(self, obs):
            return 0

    plan = ValueIteration(gamma=0.99).fit(env)
    exact = exact_returns(env, {"left": Left(), "plan": plan})
    assert exact["left"] == 0.0
    # the optimal policy's success within the 100-step limit, against 4,000 episodes of it
    episodes = plan.evaluate(env, episodes=4000, seed=0)
    se = np.sqrt(exact["plan"] * (1 - exact["plan"]) / 4000)
    assert 0.7 < exact["plan"] < 0.76 and abs(episodes["success_rate"] - exact["plan"]) < 3 * se
    # a shorter time limit is a lower exact success: the horizon is the env's own
    short = exact_returns(gym.make("FrozenLake-v1", max_episode_steps=10), {"plan": plan})
    assert short["plan"] < exact["plan"] - 0.2
    # no transition table start distribution or no time limit: nothing claimed
    assert (
        exact_returns(gym.make("FrozenLake-v1", max_episode_steps=None).unwrapped, {"plan": plan})
        is None
    )


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["agent=QLearnin"], "Did you mean 'QLearning'"),
        (
            ["agent=LinearRegressor"],
            "LinearRegressor cannot run on sandbox/GridWorld-v0: a supervised learner",
        ),
        (["agent=EpsilonGreedy"], "EpsilonGreedy cannot run on sandbox/GridWorld-v0"),
        (
            ["agent=SelfPlayQLearning"],
            "SelfPlayQLearning cannot run on sandbox/GridWorld-v0: it learns by playing",
        ),
        (["agent=QLearning", "agent_kwargs=alpha=0.5"], "QLearning takes no parameter 'alpha'"),
        (["env_kwargs=map=5x5"], "keyword=literal"),
        (["env=sandbox/GridWrld-v0"], "Did you mean 'sandbox/GridWorld-v0'"),
    ],
)
def test_learn_env_bad_input(tmp_path, capsys, sets, message):
    args = ["run", "learn-env", "--quiet", "--out", str(tmp_path / "bad")]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_learn_env_trains_on_a_bare_id_so_the_batched_vector_env_is_used(tmp_path, monkeypatch):
    import sandbox.vector as vector

    used = []
    real = vector._batched
    monkeypatch.setattr(vector, "_batched", lambda env_id: used.append(env_id) or real(env_id))
    sets = ["env=Acrobot-v1", "agent=PolicyGradient", "budget=1024", "eval_episodes=1"]
    argv = ["run", "learn-env", "--quiet", "--out", str(tmp_path / "a")]
    assert main([*argv, *(x for s in sets for x in ("--set", s))]) == 0
    assert used == ["Acrobot-v1"]
    # with env keyword arguments it is the user's env as they configured it: no swap
    argv = ["run", "learn-env", "--quiet", "--out", str(tmp_path / "b")]
    sets.append("env_kwargs=max_episode_steps=50")
    assert main([*argv, *(x for s in sets for x in ("--set", s))]) == 0
    assert used == ["Acrobot-v1"]
