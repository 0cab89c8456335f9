"""Runs, settings, resume and the CLI, on the article's experiment with a small budget."""

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import cli
from sandbox import experiment as ex

SMALL = ["--set", "converge_iterations=2000", "--set", "iterations=50"]


def test_run_writes_every_file_and_the_gd_fits_agree(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "linear-regression", "--out", str(out), *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "by-hand numpy" in printed and "closed form" in printed and "within 0.001" in printed
    for name in (
        "config.json",
        "metrics.csv",
        "summary.json",
        "fits.png",
        "loss.png",
        "article_table.csv",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["converged_within_tolerance"] is True
    assert summary["closed_form_w"] == pytest.approx(1.99369, abs=1e-4)
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["iterations"] == 50 and config["seed"] == 0
    assert {"numpy", "torch", "gymnasium"} <= set(config["versions"])
    assert (out / "metrics.csv").read_text().startswith("series,step,metric,value\n")
    assert not list(out.glob(".*.tmp"))


def test_same_seed_same_numbers(tmp_path):
    exp = ex.get("linear-regression")
    cfg = ex.make_config(exp, seed=3, sets=["iterations=40", "converge_iterations=40"])
    a = ex.run_experiment(exp, cfg, tmp_path / "a", quiet=True)
    b = ex.run_experiment(exp, cfg, tmp_path / "b", quiet=True)
    a.pop("seconds"), b.pop("seconds")
    assert a == b


def test_resume_skips_finished_stages(tmp_path, capsys):
    out = tmp_path / "run"
    cli.main(["run", "linear-regression", "--out", str(out), *SMALL])
    (out / "summary.json").unlink()
    stage = json.loads((out / "stages" / "article.json").read_text())
    stage["result"]["closed form"]["w"] = 123.0  # proves the stage was read back, not recomputed
    (out / "stages" / "article.json").write_text(json.dumps(stage))
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(out)]) == 0
    assert "[article] resumed" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["article"]["closed form"]["w"] == 123.0


def test_refuses_to_overwrite_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    cli.main(["run", "linear-regression", "--out", str(out), *SMALL])
    assert cli.main(["run", "linear-regression", "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["run", "linear-regresion"],
            "unknown experiment 'linear-regresion'. Did you mean 'linear-regression'?",
        ),
        (["run", "linear-regression", "--set", "lr=0.1"], "unknown setting 'lr'"),
        (["run", "linear-regression", "--set", "learning_rat=0.1"], "Did you mean 'learning_rate'"),
        (
            ["run", "linear-regression", "--set", "iterations=ten"],
            "--set iterations='ten': expected an integer",
        ),
        (["run", "linear-regression", "--set", "learning_rate=fast"], "expected a number"),
        (["run", "linear-regression", "--set", "iterations"], "expected key=value"),
        (["run", "linear-regression", "--set", "iterations=0"], "iterations=0 is out of range"),
        (["run"], "name an experiment"),
        (["run", "--resume", "/nonexistent/run"], "has no config.json"),
    ],
)
def test_bad_commands_get_clear_errors(args, message, capsys):
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_known_settings_are_listed(capsys):
    cli.main(["run", "linear-regression", "--set", "bogus=1"])
    err = capsys.readouterr().err
    assert "Known settings: seed, n, noise, learning_rate, iterations" in err


def test_list_and_show(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "linear-regression" in out and "tour" in out
    assert cli.main(["show", "linear-regression"]) == 0
    shown = capsys.readouterr().out
    assert (
        "  learning_rate=<float>  default 0.1\n      the optimizer's step size\n      accepted: > 0.0"
        in shown
    )
    assert "iterations=<int>  default 300\n      as in the article" in shown


def test_value_parsing():
    from typing import Literal

    @dataclass
    class C:
        seed: int = 0
        hidden: tuple[int, ...] = (8,)
        flag: bool = False
        clip: float | None = None
        kind: Literal["a", "b"] = "a"

    exp = ex.Experiment("t", "t", C, lambda c, r: {})
    cfg = ex.make_config(exp, sets=["hidden=64,32", "flag=yes", "clip=none", "kind=b"])
    assert cfg.hidden == (64, 32) and cfg.flag is True and cfg.clip is None and cfg.kind == "b"
    assert ex.make_config(exp, sets=["clip=0.5"]).clip == 0.5
    with pytest.raises(ValueError, match="expected one of a, b"):
        ex.make_config(exp, sets=["kind=c"])
    with pytest.raises(ValueError, match="expected a boolean"):
        ex.make_config(exp, sets=["flag=maybe"])


def test_tour_survives_a_failing_member(tmp_path, monkeypatch):
    @dataclass
    class C:
        seed: int = 0

    def boom(cfg, run):
        raise RuntimeError("kaput")

    broken = ex.Experiment("broken", "fails on purpose", C, boom, tour={}, tour_order=0)
    fine = ex.Experiment(
        "fine",
        "works",
        C,
        lambda cfg, run: {"answer": 42},
        tour={},
        tour_order=1,
        headline=("answer",),
    )
    real = ex.discover
    monkeypatch.setattr(ex, "discover", lambda: {**real(), "broken": broken, "fine": fine})
    tour = ex.get("tour")
    summary = ex.run_experiment(
        tour, ex.make_config(tour, sets=["only=broken,fine"]), tmp_path / "t", quiet=True
    )
    assert summary["failed"] == ["broken"]
    assert summary["experiments"]["fine"]["answer"] == 42
    assert "RuntimeError: kaput" in (tmp_path / "t" / "tour.csv").read_text()
    with pytest.raises(ValueError, match="'nope' is not in the tour"):
        ex.run_experiment(
            tour, ex.make_config(tour, sets=["only=nope"]), tmp_path / "u", quiet=True
        )


def test_installed_console_script_and_plain_script(tmp_path):
    exe = shutil.which("sandbox", path=str(Path(sys.executable).parent))
    assert exe, "the `sandbox` console script is not installed next to this Python"
    out = subprocess.run([exe, "list"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "linear-regression" in out.stdout
    script = Path(__file__).parents[2] / "experiments" / "linear_regression.py"
    res = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "s"), "--quiet", *SMALL],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "s" / "summary.json").is_file()


def test_csv_cells_with_commas_and_quotes_keep_their_columns(tmp_path):
    import csv

    run = ex.Run(tmp_path, "t", None, quiet=True)
    rows = [["learning_rate=0.1,hidden=(8, 8)", 0, 'ValueError: "x", then y'], ["plain", 1, 0.5]]
    run.table("t", ["settings", "seed", "status"], rows)
    back = list(csv.reader((tmp_path / "t.csv").open(newline="")))
    assert back == [
        ["settings", "seed", "status"],
        *[[str(c) if not isinstance(c, float) else "0.5" for c in r] for r in rows],
    ]
    run.log("a,b", step=1, loss=0.25)
    run.flush()
    assert list(csv.reader((tmp_path / "metrics.csv").open(newline="")))[1] == [
        "a,b",
        "1",
        "loss",
        "0.25",
    ]


def test_a_damaged_stage_file_is_named(tmp_path, capsys):
    out = tmp_path / "run"
    cli.main(["run", "linear-regression", "--out", str(out), *SMALL])
    stage = out / "stages" / "article.json"
    stage.write_text(stage.read_text()[:40])
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{stage} is damaged" in err and "delete it" in err


def test_resume_keeps_the_original_command_line(tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = ["sandbox", "run", "linear-regression", "--out", str(out), *SMALL]
    monkeypatch.setattr(sys, "argv", first)
    cli.main(first[1:])
    (out / "summary.json").unlink()
    monkeypatch.setattr(sys, "argv", ["sandbox", "run", "--resume", str(out)])
    assert cli.main(["run", "--resume", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["argv"] == first
    assert [r["argv"] for r in config["resumed"]] == [["sandbox", "run", "--resume", str(out)]]


@dataclass
class _Waits:
    seed: int = 0


def test_two_runs_into_one_folder_cannot_mix(tmp_path):
    import threading

    started, release = threading.Event(), threading.Event()

    def slow(cfg, run):
        started.set()
        assert release.wait(30)
        return {"seed_seen": cfg.seed}

    exp = ex.Experiment("waits", "waits", _Waits, slow)
    out = tmp_path / "run"
    results = {}
    first = threading.Thread(
        target=lambda: results.update(a=ex.run_experiment(exp, _Waits(seed=1), out, quiet=True))
    )
    first.start()
    assert started.wait(30)
    try:
        with pytest.raises(FileExistsError, match=r"is in use by another run \(pid \d+\)"):
            ex.run_experiment(exp, _Waits(seed=2), out, quiet=True)
        with pytest.raises(FileExistsError, match="is in use by another run"):
            ex.run_experiment(exp, _Waits(seed=2), out, quiet=True, resume=True)
    finally:
        release.set()
        first.join()
    assert results["a"]["seed_seen"] == 1
    assert json.loads((out / "config.json").read_text())["seed"] == 1
    assert json.loads((out / "summary.json").read_text())["seed"] == 1
    with pytest.raises(FileExistsError, match="already holds a run"):
        ex.run_experiment(exp, _Waits(seed=2), out, quiet=True)


def test_a_failed_run_keeps_its_traceback(tmp_path):
    def boom(cfg, run):
        raise RuntimeError("kaput, with details")

    exp = ex.Experiment("boom", "fails", _Waits, boom)
    with pytest.raises(RuntimeError):
        ex.run_experiment(exp, _Waits(), tmp_path / "r", quiet=True)
    text = (tmp_path / "r" / "error.txt").read_text()
    assert (
        text.startswith("Traceback")
        and "RuntimeError: kaput, with details" in text
        and "in boom" in text
    )
    fine = ex.Experiment("boom", "fixed", _Waits, lambda cfg, run: {"a": 1})
    ex.run_experiment(fine, _Waits(), tmp_path / "r", quiet=True, resume=True)
    assert not (tmp_path / "r" / "error.txt").exists()
