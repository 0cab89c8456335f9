"""The benchmark suite at toy size, through the CLI: a tabular entry with value iteration as its
reference, a deep entry, a failing entry and an unavailable learner in one table; resume reuses the
runs that finished; a bad `only` is refused with the ids."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sandbox import suite
from sandbox.cli import main
from sandbox.compare import compare

TOY = """
[family.tabular]
seeds = { short = "0-1", full = "0-1" }
eval_episodes = 20

[[entry]]
id = "lake"
family = "tabular"
env = "FrozenLake-v1"
agent = "QLearning"
metric = "success_rate"
budget = 300
reference = { value = "value iteration", source = "value iteration on P" }
target = { value = 0.0, comparison = "ratio>=", per = "every" }

[[entry]]
id = "pole"
family = "deep"
env = "CartPole-v1"
agent = "PolicyGradient"
budget = 1024
seeds = "0"
eval_episodes = 2
reference = { value = 500.0, source = "the env's maximum" }
target = { value = 475, comparison = ">=" }

[[entry]]
id = "broken"
family = "tabular"
env = "FrozenLake-v1"
agent = "QLearning"
agent_kwargs = "no_such_setting=1"
budget = 10
seeds = "0"
reference = { value = "value iteration", source = "value iteration on P" }

[[entry]]
id = "missing"
family = "deep"
env = "Pendulum-v1"
agent = "NoSuchLearner"
budget = 10
seeds = "0"
eval_episodes = 1
reference = { value = -150.0, source = "a paper" }
target = { value = -200, comparison = ">=" }
"""


def _tables():
    root = Path(__file__).resolve().parents[2] / "docs"
    sys.path.insert(0, str(root))
    try:
        import tables
    finally:
        sys.path.remove(str(root))
    return tables


def _suite(tmp_path, *extra):
    entries = tmp_path / "entries.toml"
    entries.write_text(TOY)
    return main(
        ["run", "suite", "--quiet", "--set", f"entries={entries}", "--set", "workers=1", *extra]
    )


def test_suite_table_resume_failure_and_compare(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert _suite(tmp_path, "--out", str(out)) == 1  # the 'broken' entry's run failed
    assert "run: failed: broken" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["entry"]: r for r in summary["rows"]}
    assert list(rows) == ["lake", "pole", "broken", "missing"]

    lake = rows["lake"]
    assert lake["status"] == "ok" and lake["preset"] == "defaults"
    assert lake["budget"] == "300 episodes" and lake["seeds"] == "0,1"
    # value iteration's success on the same 20 episodes of each seed, from each run's own summary
    for seed in (0, 1):
        run = json.loads((out / "lake" / "QLearning" / f"seed={seed}" / "summary.json").read_text())
        assert lake["references"][str(seed)] == run["optimal_success_rate"]
        assert lake["scores"][str(seed)] == run["success_rate"]
    assert lake["met"] == "met (2 of 2 seeds)"  # a ratio of 0 always holds
    assert lake["ci_low"] is not None and lake["ci_low"] <= lake["mean"] <= lake["ci_high"]

    pole = rows["pole"]
    assert pole["status"] == "ok" and pole["budget"] == "1,024 steps"
    assert pole["reference"] == 500.0 and pole["reference source"] == "the env's maximum"
    assert pole["met"] == ("met" if pole["median"] >= 475 else "not met")

    assert rows["broken"]["status"].startswith("failed: 1 of 1 runs")
    assert "no_such_setting" in rows["broken"]["status"]
    assert summary["failed"] == ["broken"]
    missing = rows["missing"]
    assert missing["status"].startswith("not available") and missing["met"] == "not available"
    assert missing["reference"] == -150.0  # a published reference is shown all the same

    table = (out / "suite.csv").read_text().splitlines()[0].split(",")
    for column in ("reference", "reference source", "target", "met", "wall s/run"):
        assert column in table
    assert (out / "report.html").is_file() and summary["report"].endswith("report.html")

    # docs/tables.py builds the docs table from the suite's summary.json
    tables = _tables()
    headers, cells = tables.suite_table(out)
    assert headers == suite.HEADERS and [c[0] for c in cells] == list(rows)
    assert "Suite size: short" in tables.suite_note(out)
    # the README's brief table: the same rows, its columns taken from the full one
    brief_headers, brief = tables.suite_brief(out)
    assert [r[0] for r in brief] == list(rows)
    lake_full = dict(zip(headers, cells[0]))
    assert dict(zip(brief_headers, brief[0])) == {h: lake_full[h] for h in brief_headers}
    assert tables.TABLES["suite-brief"].folder_name("suite-brief") == "suite"

    # a suite stopped before it wrote its summary, kept as one part of a folder of parts: the rows
    # come from the runs that finished, and the seeds that did not run are named
    import shutil

    parts = tmp_path / "parts"
    shutil.copytree(out, parts / "stopped")
    (parts / "stopped" / "summary.json").unlink()
    shutil.rmtree(parts / "stopped" / "lake" / "QLearning" / "seed=1")
    headers, cells = tables.suite_table(parts)
    stopped = {c[0]: dict(zip(headers, c)) for c in cells}
    assert set(stopped) == {"lake", "pole", "broken"}  # 'missing' never ran: no row
    assert stopped["lake"]["status"] == "not run: 1 of 2 runs"  # not run, and not failed
    assert stopped["broken"]["status"].startswith("failed: 1 of 1 runs")
    assert stopped["lake"]["median"] == f"{lake['scores']['0']:.4g}"
    assert "stopped before it finished" in tables.suite_note(parts)

    # an entry's folder is a seed group `sandbox compare` reads
    compared = compare([out / "lake"], quiet=True)
    assert list(compared["settings"].values())[0]["status"] == "2 ok"

    # resume: the finished runs are reused (their summaries untouched), the failed one runs again
    stamp = (out / "lake" / "QLearning" / "seed=0" / "summary.json").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["run", "suite", "--resume", str(out)]) == 1
    printed = capsys.readouterr().out
    assert printed.count("(reused)") == 3 and "broken seed=0: failed" in printed
    assert (out / "lake" / "QLearning" / "seed=0" / "summary.json").stat().st_mtime_ns == stamp

    # an entries file edited since: its finished runs are not what it asks for, so no resume over them
    entries = tmp_path / "entries.toml"
    entries.write_text(TOY.replace("budget = 300", "budget = 400"))
    assert main(["run", "suite", "--resume", str(out)]) == 2
    assert (
        "was run with budget=300, but the entry now asks for budget='400'"
        in capsys.readouterr().err
    )

    # a preset shipped since for the lake's learner and env: its finished runs ran without it
    from sandbox import presets

    entries.write_text(TOY)
    shipped = presets.Preset(
        "QLearning", "FrozenLake-v1", {"gamma": 0.9}, "a test", (9,), None, entries
    )
    monkeypatch.setattr(
        presets,
        "find",
        lambda agent, env: shipped if (agent, env) == ("QLearning", "FrozenLake-v1") else None,
    )
    assert main(["run", "suite", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        "was run with preset none, but the entry now asks for preset QLearning/FrozenLake-v1" in err
    )


def test_unknown_only_names_the_ids(tmp_path, capsys):
    assert _suite(tmp_path, "--set", "only=tabular,nope", "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert "'nope' is neither an entry id nor a family" in err
    assert "lake, pole, broken, missing" in err and "tabular, planning, deep" in err
    assert not (tmp_path / "x").exists()


def test_the_suites_own_entries_read_and_select():
    entries = suite.load()
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))
    deep = suite.select(entries, "deep")
    assert {e.agent for e in deep} >= {"PolicyGradient", "DQN", "SAC"}
    lake = next(e for e in entries if e.id == "randomlake8x8-qlearning")
    assert lake.seeds["full"] == list(range(10))
    assert lake.sets("full", 7)["env_kwargs"] == "size=8, map_seed=7"  # map K for seed K
    assert all(e.budget["full"] is None for e in suite.select(entries, "planning"))
    with pytest.raises(ValueError, match="neither an entry id nor a family"):
        suite.select(entries, "cartpole")


def test_basic_strategy_plays_blackjack_as_the_table_says():
    assert suite.basic_strategy((20, 10, 0)) == 0  # stand on hard 20
    assert suite.basic_strategy((16, 10, 0)) == 1  # hit hard 16 against a 10
    assert suite.basic_strategy((13, 4, 0)) == 0  # stand on 13 against a 4
    assert suite.basic_strategy((18, 9, 1)) == 1  # hit soft 18 against a 9
    assert suite.basic_strategy((18, 7, 1)) == 0


def test_a_missing_dependency_makes_an_entry_not_available(monkeypatch):
    import gymnasium as gym

    import sandbox.environments
    from experiments.suite import unavailable

    def no_box2d(*args, **kwargs):
        raise gym.error.DependencyNotInstalled("Box2D is not installed, run `pip install box2d`")

    monkeypatch.setattr(sandbox.environments, "make_env", no_box2d)
    entry = next(e for e in suite.load() if e.id == "lunarlander-dqn")
    assert (
        unavailable(entry, "short")
        == "not available: Box2D is not installed, run `pip install box2d`"
    )
    pole = suite.Entry("x", "deep", "CartPole-v1", "NoSuchAgent", "mean_return", {}, {}, {})
    assert unavailable(pole, "short") == "not available: no learner 'NoSuchAgent' in the registry"
