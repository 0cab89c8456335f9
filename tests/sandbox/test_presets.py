"""Presets: every shipped one is valid for its learner; learn-env applies, names and overrides them;
a malformed preset file is a clear error naming the file."""

from __future__ import annotations

import pytest

import agents  # noqa: F401  (fills the registry)
from sandbox import presets
from sandbox.learner import load_learner_plugins
from tests.experiments.helpers import run_small


@pytest.fixture
def preset_dir(tmp_path, monkeypatch):
    """An empty presets folder in place of the shipped one."""
    folder = tmp_path / "presets"
    folder.mkdir()
    monkeypatch.setattr(presets, "PRESETS_DIR", folder)
    presets._agent_presets.cache_clear()
    yield folder
    presets._agent_presets.cache_clear()


GRID_PRESET = """
["sandbox/GridWorld-v0"]
why = "a test preset"
tuned_on_seeds = [7]

["sandbox/GridWorld-v0".params]
learning_rate = 0.37
gamma = 0.9
"""


@pytest.mark.parametrize("preset", presets.all_presets(), ids=lambda p: p.name)
def test_every_shipped_preset_is_valid_for_its_learner(preset):
    learners = load_learner_plugins()
    assert preset.agent in learners, f"{preset.file}: no learner named {preset.agent}"
    cls = learners[preset.agent]
    unknown = set(preset.params) - set(cls._param_names())
    assert not unknown, f"{preset.name}: {cls.__name__} takes no {sorted(unknown)}"
    agent = cls(**preset.params)
    if hasattr(agent, "_validate"):
        agent._validate()
    assert preset.tuned_on_seeds


def test_learn_env_applies_names_and_overrides_the_preset(preset_dir, tmp_path, capsys):
    (preset_dir / "QLearning.toml").write_text(GRID_PRESET)
    summary = run_small("learn-env", tmp_path / "a", budget=20, eval_episodes=5)
    assert summary["preset"] == "QLearning/sandbox/GridWorld-v0"
    none = run_small("learn-env", tmp_path / "b", budget=20, eval_episodes=5, preset="none")
    assert none["preset"] is None
    from sandbox.cli import main

    assert (
        main(
            [
                "run",
                "learn-env",
                "--out",
                str(tmp_path / "c"),
                "--set",
                "budget=20",
                "--set",
                "eval_episodes=5",
                "--set",
                "agent_kwargs=learning_rate=0.5",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "preset QLearning/sandbox/GridWorld-v0 (a test preset)" in out
    assert "learning_rate=0.37" in out and "overridden by agent_kwargs: learning_rate" in out


def test_a_named_preset_must_exist_and_match_the_agent(preset_dir, tmp_path):
    (preset_dir / "QLearning.toml").write_text(GRID_PRESET)
    with pytest.raises(ValueError, match="does not exist.*QLearning/sandbox/GridWorld-v0"):
        run_small("learn-env", tmp_path, preset="QLearning/GridWorld")
    with pytest.raises(ValueError, match="is for QLearning, but the agent is SARSA"):
        run_small("learn-env", tmp_path, agent="SARSA", preset="QLearning/sandbox/GridWorld-v0")


@pytest.mark.parametrize(
    "text, message",
    [
        ("not toml [", "could not be read as TOML"),
        ('["X"]\nwhy = "w"\ntuned_on_seeds = [1]\n', "'params' must be a table"),
        ('["X"]\nwhy = "w"\ntuned_on_seeds = []\n[X.params]\na = 1\n', "tuned_on_seeds"),
        ('["X"]\nwhy = "w"\nseeds = [1]\n', "unknown key"),
    ],
)
def test_a_malformed_preset_file_is_a_clear_error(preset_dir, text, message):
    (preset_dir / "DQN.toml").write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        presets.find("DQN", "X")
    assert "DQN.toml" in str(info.value)


def test_a_preset_param_the_learner_lacks_is_named_with_its_file(preset_dir, tmp_path):
    (preset_dir / "QLearning.toml").write_text(GRID_PRESET.replace("gamma", "gama"))
    with pytest.raises(
        ValueError, match=r"preset QLearning/sandbox/GridWorld-v0 .*'gama'.*'gamma'"
    ):
        run_small("learn-env", tmp_path, budget=20, eval_episodes=5)
