"""The `sandbox` command: fast answers without importing experiments, `show`, user errors as one
line and exit 2 with nothing left behind, learners' hyperparameters through `--set`."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox import catalog, cli
from sandbox import experiment as ex

ROOT = Path(__file__).parents[2]
HEAVY = (
    "torch",
    "sklearn",
    "numpy",
    "matplotlib",
    "scipy",
    "gymnasium",
    "agents",
    "experiments.cartpole",
)


def _imports_of(*argv: str) -> tuple[int, set[str], str]:
    """Exit code, heavy modules imported and stderr of `sandbox ARGV` in a fresh interpreter."""
    code = (
        "import sys\nfrom sandbox.cli import main\n"
        f"rc = main({list(argv)!r})\n"
        f"print('MODULES', sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )
    line = next(x for x in res.stderr.splitlines() if x.startswith("MODULES"))
    return res.returncode, set(eval(line.removeprefix("MODULES "))), res.stderr


@pytest.mark.parametrize(
    "argv, rc",
    [
        (("list",), 0),
        (("show", "cartpole"), 0),
        (("run", "cartpol"), 2),
        (("run", "cartpole", "--set", "stepz=1"), 2),
        (("run", "cartpole", "--set", "agent=ppo"), 2),
        (("run", "cartpole", "--set", "agent=dqn", "--set", "agent.learnin_rate=1e-3"), 2),
        (("run", "cartpole", "--seed", "1", "--set", "seed=2"), 2),
        (("run", "cartpole", "--seed", "-1"), 2),
    ],
)
def test_list_show_and_refusals_import_no_experiment_and_no_heavy_library(argv, rc):
    code, heavy, err = _imports_of(*argv)
    assert code == rc, err
    assert heavy == set(), f"`sandbox {' '.join(argv)}` imported {sorted(heavy)}"


def test_discovery_from_source_matches_the_imported_experiments():
    found = ex.discover()
    assert all(isinstance(e, catalog.ExperimentInfo) for e in found.values())
    for name in ("cartpole", "linear-regression", "tour"):
        light, real = found[name], ex.get(name)
        assert isinstance(real, ex.Experiment)
        assert (
            light.summary,
            light.tour,
            light.tour_order,
            light.headline,
            light.paradigm,
            light.learners,
        ) == (real.summary, real.tour, real.tour_order, real.headline, real.paradigm, real.learners)
        defaults = real.config()
        assert [(s.name, s.default) for s in light.settings] == [
            (f, getattr(defaults, f)) for f in real.config.__dataclass_fields__
        ]


def test_show_explains_every_setting_and_the_learners_hyperparameters(capsys):
    assert cli.main(["show", "cartpole"]) == 0
    out = capsys.readouterr().out
    assert (
        '  agent=<str>  default \'pg\'\n      "pg" (PolicyGradient) or "dqn" (DQN)\n      choices: pg, dqn'
        in out
    )
    assert "steps=<int>  default 0\n      env-step budget; 0: the agent's own" in out
    assert "accepted: an integer >= 1" in out  # from validate's check_number
    assert "DQN's hyperparameters (--set agent.NAME=VALUE, used with agent=dqn" in out
    assert "agent.learning_rate=<float>  default 0.001\n      of the optimizer" in out
    assert "agent.seed" not in out  # the run's --seed is the learner's seed
    example = out.split("Example:\n")[1].split()
    assert example[:3] == ["sandbox", "run", "cartpole"]
    ex.check_settings(
        ex.info("cartpole"), sets=[a for a in example[3:] if "=" in a]
    )  # the example is valid


def test_settings_declared_by_field_metadata_comment_and_validate():
    from sandbox.checks import check_number

    @dataclass
    class C:
        seed: int = 0
        steps: int = 0  # env steps; 0: the agent's own
        kind: str = field(
            default="a", metadata={"help": "which one", "choices": ("a", "b"), "applies": "mode=x"}
        )

        def validate(self) -> None:
            check_number("steps", self.steps, low=0, integer=True)

    exp = ex.Experiment("t", "t", C, lambda c, r: {})
    s = {x.name: x for x in ex.declared_settings(exp)}
    assert (
        s["steps"].help == "env steps; 0: the agent's own"
        and s["steps"].bounds == "an integer >= 0"
    )
    assert (s["kind"].help, s["kind"].choices, s["kind"].applies) == (
        "which one",
        ("a", "b"),
        "mode=x",
    )
    with pytest.raises(ValueError, match="kind='c' is not allowed; choose one of 'a', 'b'"):
        ex.make_config(exp, sets=["kind=c"])


class Toy:
    """A learner for these tests.

    Parameters
    ----------
    rate : how fast it learns
    kind, size : what it is
    """

    def __init__(
        self, *, rate: float = 0.1, kind: str = "a", size: tuple[int, ...] = (2,), seed: int = 0
    ):
        self.rate, self.kind, self.size, self.seed = rate, kind, size, seed


@dataclass
class ToyConfig:
    seed: int = 0
    kind: str = "b"


def _toy_run(cfg, run):
    toy = Toy(**ex.learner_kwargs(cfg, "agent", kind=cfg.kind, seed=cfg.seed))
    return {"rate": toy.rate, "kind": toy.kind, "size": list(toy.size), "seed": toy.seed}


TOY = ex.Experiment("toy", "a toy", ToyConfig, _toy_run, learners={"agent": f"{__name__}:Toy"})


def test_learner_hyperparameters_reach_the_constructor_and_survive_resume(tmp_path):
    assert [s.name for s in catalog.learner_settings(f"{__name__}:Toy")] == ["rate", "kind", "size"]
    assert catalog.learner_settings(f"{__name__}:Toy")[2].help == "what it is"
    cfg = ex.make_config(TOY, seed=3, sets=["agent.rate=0.5", "agent.size=4,5"])
    summary = ex.run_experiment(TOY, cfg, tmp_path / "r", quiet=True)
    assert (summary["rate"], summary["kind"], summary["size"], summary["seed"]) == (
        0.5,
        "b",
        [4, 5],
        3,
    )
    saved = json.loads((tmp_path / "r" / "config.json").read_text())["settings"]
    assert saved["agent.rate"] == 0.5 and saved["kind"] == "b"
    again = ex.settings_from_json(TOY, saved)
    assert ex.learner_params(again) == {"agent": {"rate": 0.5, "size": (4, 5)}}
    assert (
        _toy_run(ex.make_config(TOY, sets=["agent.kind=c"]), None)["kind"] == "c"
    )  # the command line wins


@pytest.mark.parametrize(
    "sets, message",
    [
        (["agent.rat=1"], "Toy has no hyperparameter 'rat'. Did you mean 'agent.rate'?"),
        (["agent.rate=fast"], "--set agent.rate='fast': expected a number"),
        (["agent.seed=1"], "use --seed N"),
        (["model.rate=1"], "experiment 'toy' has no learner 'model'; its learners are agent"),
    ],
)
def test_bad_learner_hyperparameters_are_refused(sets, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("?", r"\?")):
        ex.make_config(TOY, sets=sets)


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert "sandbox (learning-sandbox) 0." in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--seed", "-1"], "seed -1: a seed is an integer >= 0"),
        (["--seed", "1", "--set", "seed=2"], "--seed 1 and --set seed=2 disagree"),
        (["--set", "iterations=0"], "iterations=0 is out of range"),
    ],
)
def test_bad_settings_leave_no_run_folder(tmp_path, capsys, extra, message):
    out = tmp_path / "run"
    assert cli.main(["run", "linear-regression", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not out.exists()


def test_out_that_cannot_be_a_run_folder(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert cli.main(["run", "linear-regression", "--out", str(a_file)]) == 2
    assert "that is a file, not a folder" in capsys.readouterr().err
    assert cli.main(["run", "linear-regression", "--out", str(a_file / "run")]) == 2
    assert "is a file, so no folder can be made under it" in capsys.readouterr().err
    assert a_file.read_text() == "mine"


def test_out_that_cannot_be_written(tmp_path, capsys):
    if os.geteuid() == 0:
        target = Path("/sys/sandbox-run")  # read-only even for root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "run"
    assert cli.main(["run", "linear-regression", "--out", str(target)]) == 2
    assert "cannot make the run folder there" in capsys.readouterr().err
    assert not target.exists()


def test_user_error_inside_the_run_removes_the_folder_it_made(tmp_path, capsys, monkeypatch):
    def refuse(cfg, run):
        raise ValueError("env_kwargs: unknown keyword 'sped'")

    monkeypatch.setattr(ex, "info", lambda name: ex.Experiment("t", "t", ToyConfig, refuse))
    assert cli.main(["run", "t", "--out", str(tmp_path / "r")]) == 2
    assert "unknown keyword 'sped'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_ctrl_c_names_the_folder_to_resume(tmp_path, capsys, monkeypatch):
    def interrupted(cfg, run):
        run.stage("first", lambda: {"x": 1})
        raise KeyboardInterrupt

    monkeypatch.setattr(ex, "info", lambda name: ex.Experiment("t", "t", ToyConfig, interrupted))
    out = tmp_path / "r"
    assert cli.main(["run", "t", "--out", str(out)]) == 130
    assert f"Continue with: sandbox run t --resume {out}" in capsys.readouterr().err
    assert (out / "stages" / "first.json").is_file()


def test_a_project_bug_keeps_its_traceback(tmp_path, monkeypatch):
    def bug(cfg, run):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(ex, "info", lambda name: ex.Experiment("t", "t", ToyConfig, bug))
    with pytest.raises(ZeroDivisionError):
        cli.main(["run", "t", "--out", str(tmp_path / "r")])


def test_every_setting_of_every_experiment_says_what_it_means(capsys):
    for name, exp in ex.discover().items():
        assert [s.name for s in exp.settings if not s.help] == [], name
        assert cli.main(["show", name]) == 0
    assert "Traceback" not in capsys.readouterr().err
