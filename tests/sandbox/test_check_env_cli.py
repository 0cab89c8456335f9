"""`sandbox check-env` and make_env's errors for envs that cannot be built or run."""

import sys
import types

import gymnasium as gym
import pytest

from sandbox.cli import main
from sandbox.environments import make_env, require_env_support
from sandbox.learner import Learner


def test_check_env_passes_and_lists_who_can_run(capsys):
    assert main(["check-env", "sandbox/TicTacToe-v0", "--kwarg", "opponent=self"]) == 0
    out = capsys.readouterr().out
    assert "gymnasium check_env: passed" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert " yes " in lines["SelfPlayQLearning"]
    assert "Discrete(1)" in lines["EpsilonGreedy"] and " no " in lines["EpsilonGreedy"]
    assert "supervised learner" in lines["LinearRegressor"]


def test_check_env_reports_a_failing_env(capsys, monkeypatch):
    class Broken(gym.Env):
        observation_space = gym.spaces.Discrete(2)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            return 5, {}  # outside its own observation space

        def step(self, action):
            return 0, 0.0, True, False, {}

    monkeypatch.setitem(sys.modules, "broken_env_mod", types.SimpleNamespace(Broken=Broken))
    assert main(["check-env", "broken_env_mod:Broken"]) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:Env", "does not import"),
        ("envs.gridworld:GridWord", "has no 'GridWord'. Env classes there: GridWorld"),
        ("envs.gridworld:parse_map", "not a gymnasium.Env subclass"),
        ("sandbox/GridWord-v0", "Did you mean 'sandbox/GridWorld-v0'"),
    ],
)
def test_make_env_errors_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        make_env(spec)


def test_check_env_cli_error_for_unknown_id(capsys):
    assert main(["check-env", "sandbox/TicTacToo-v0"]) == 2
    assert "Did you mean 'sandbox/TicTacToe-v0'" in capsys.readouterr().err


def test_require_env_support_raises_the_learners_reason():
    class Needy(Learner):
        paradigm = "reinforcement"

        @classmethod
        def env_support(cls, env):
            return "it needs a Box action space"

    with pytest.raises(
        ValueError, match="Needy cannot run on sandbox/GridWorld-v0: it needs a Box action space"
    ):
        require_env_support(Needy, make_env("sandbox/GridWorld-v0"))
    from sandbox.learner import LEARNERS

    LEARNERS.pop("Needy")


def test_learners_without_a_check_say_so():
    class Silent(Learner):
        paradigm = "reinforcement"

    from sandbox.learner import LEARNERS

    LEARNERS.pop("Silent")
    assert not Silent.declares_env_support()
    require_env_support(Silent, make_env("sandbox/GridWorld-v0"))  # undeclared: left to its own fit


def test_check_env_marks_undeclared_learners_unknown(capsys, monkeypatch):
    from sandbox.learner import LEARNERS

    class Quiet(Learner):
        paradigm = "reinforcement"

    LEARNERS.pop("Quiet")  # defining it registered it; monkeypatch re-adds it for this test only
    monkeypatch.setitem(LEARNERS, "Quiet", Quiet)
    main(["check-env", "sandbox/GridWorld-v0"])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Quiet "))
    assert " ? " in line and "does not declare env_support" in line


def test_tabular_agents_and_planners_answer_for_themselves(capsys):
    main(["check-env", "CartPole-v1"])
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    for name in ("QLearning", "SARSA", "ExpectedSARSA"):
        assert (
            " no " in lines[name]
            and "observation_space=Box(4,)" in lines[name]
            and "Discretize" in lines[name]
        )
    for name in ("ValueIteration", "PolicyIteration"):  # a planner names the missing model first
        assert " no " in lines[name] and "transition table" in lines[name]
    main(["check-env", "sandbox/GridWorld-v0"])
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    for name in ("QLearning", "SARSA", "ExpectedSARSA", "ValueIteration", "PolicyIteration"):
        assert " yes " in lines[name]
