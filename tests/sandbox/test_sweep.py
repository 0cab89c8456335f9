import json

import pytest

from sandbox import cli
from sandbox.sweep import parse_grid, plan, sweep

FAST = {"iterations": "20", "converge_iterations": "20"}


def test_grid_parsing_and_early_validation():
    assert parse_grid(["learning_rate=0.1,0.2", "hidden=(8,8);(16,)"]) == {
        "learning_rate": ["0.1", "0.2"], "hidden": ["(8,8)", "(16,)"]}
    with pytest.raises(ValueError, match="expected key=v1,v2"):
        parse_grid(["learning_rate"])
    from sandbox.experiment import get

    exp = get("linear-regression")
    assert len(plan(exp, {"learning_rate": ["0.1", "0.2"]}, [0, 1, 2])) == 6
    with pytest.raises(ValueError, match="unknown setting 'lr'"):
        plan(exp, {"lr": ["0.1"]}, [0])
    with pytest.raises(ValueError, match="expected a number"):
        plan(exp, {"learning_rate": ["fast"]}, [0])
    with pytest.raises(ValueError, match="--seeds is empty"):
        plan(exp, {}, [])


def test_a_failing_run_does_not_take_the_others_down_and_reruns_resume(tmp_path):
    grid = {"learning_rate": ["0.1", "50"], **{k: [v] for k, v in FAST.items()}}
    summary = sweep("linear-regression", grid, [0, 1], tmp_path, quiet=True)
    assert summary["runs"] == 4
    assert len(summary["failed"]) == 2 and all("learning_rate=50" in f and "DivergenceError" in f for f in summary["failed"])
    ok = summary["points"]["learning_rate=0.1,iterations=20,converge_iterations=20"]
    assert ok["closed_form_w"]["n"] == 2
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert (tmp_path / "sweep.csv").read_text().count("\n") == 5
    # a second call reuses finished runs: their summaries are not rewritten
    done = tmp_path / "learning_rate=0.1,iterations=20,converge_iterations=20" / "seed=0" / "summary.json"
    stamp = done.stat().st_mtime_ns
    sweep("linear-regression", grid, [0, 1], tmp_path, quiet=True)
    assert done.stat().st_mtime_ns == stamp


def test_process_backend_and_cli(tmp_path, capsys):
    args = ["sweep", "linear-regression", "--seeds", "0,1", "--backend", "process", "--workers", "2",
            "--out", str(tmp_path), "--quiet"] + [a for k, v in FAST.items() for a in ("--grid", f"{k}={v}")]
    assert cli.main(args) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed"] == [] and summary["runs"] == 2
    assert cli.main(["sweep", "linear-regression", "--backend", "slurm"]) == 2
    assert "backend='slurm' is not allowed" in capsys.readouterr().err


def test_ray_backend(tmp_path):
    pytest.importorskip("ray", reason="the Ray backend needs the 'sweep' extra")
    grid = {"learning_rate": ["0.1", "50"], **{k: [v] for k, v in FAST.items()}}
    summary = sweep("linear-regression", grid, [0], tmp_path, backend="ray", workers=2, quiet=True)
    assert summary["runs"] == 2 and len(summary["failed"]) == 1
