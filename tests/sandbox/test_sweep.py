import csv
import json
import multiprocessing
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sandbox import cli
from sandbox import sweep as sweep_module
from sandbox.sweep import parse_grid, plan, start_method, sweep
from tests.sandbox.crashing import CRASHES

FAST = {"iterations": "20", "converge_iterations": "20"}


def test_grid_parsing_and_early_validation():
    assert parse_grid(["learning_rate=0.1,0.2", "hidden=(8,8);(16,)"]) == {
        "learning_rate": ["0.1", "0.2"],
        "hidden": ["(8,8)", "(16,)"],
    }
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
    assert len(summary["failed"]) == 2 and all(
        "learning_rate=50" in f and "DivergenceError" in f for f in summary["failed"]
    )
    ok = summary["points"]["learning_rate=0.1,iterations=20,converge_iterations=20"]
    assert ok["closed_form_w"]["n"] == 2
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert (tmp_path / "sweep.csv").read_text().count("\n") == 5
    # a second call reuses finished runs: their summaries are not rewritten
    done = (
        tmp_path
        / "learning_rate=0.1,iterations=20,converge_iterations=20"
        / "seed=0"
        / "summary.json"
    )
    stamp = done.stat().st_mtime_ns
    sweep("linear-regression", grid, [0, 1], tmp_path, quiet=True)
    assert done.stat().st_mtime_ns == stamp


def test_process_backend_and_cli(tmp_path, capsys):
    args = [
        "sweep",
        "linear-regression",
        "--seeds",
        "0,1",
        "--backend",
        "process",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
        "--quiet",
    ] + [a for k, v in FAST.items() for a in ("--grid", f"{k}={v}")]
    assert cli.main(args) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed"] == [] and summary["runs"] == 2
    # the workers (forked from this process where that is safe) give the serial backend's numbers
    grid = {k: [v] for k, v in FAST.items()}
    serial = sweep("linear-regression", grid, [0, 1], tmp_path / "serial", quiet=True)
    assert serial["points"] == summary["points"]
    for seed in (0, 1):
        run = f"iterations=20,converge_iterations=20/seed={seed}/summary.json"
        a, b = (json.loads((d / run).read_text()) for d in (tmp_path, tmp_path / "serial"))
        a.pop("seconds"), b.pop("seconds")
        assert a == b
    assert cli.main(["sweep", "linear-regression", "--backend", "slurm"]) == 2
    assert "backend='slurm' is not allowed" in capsys.readouterr().err


DEATHS = {
    "exit": "exited with code 137",
    "kill": "killed by signal SIGKILL",
    "segv": "killed by signal SIGSEGV",
    "raise": "RuntimeError: raised, with a comma",
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork only on Linux")
def test_workers_are_forked_from_this_process_only_while_no_other_thread_runs():
    # a fresh process: the test session's own threads (torch's pool, after other tests) do not count
    script = (
        "import torch\n"
        "from sandbox.sweep import start_method\n"
        "print(start_method())\n"
        "torch.set_num_threads(2)\n"
        "torch.ones(1000, 1000).exp().sum()  # starts torch's OpenMP pool\n"
        "print(start_method())\n"
    )
    root = Path(__file__).resolve().parents[2]
    lines = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert lines == ["fork", "forkserver"]
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        assert start_method() == "forkserver"
    finally:
        release.set()
        waiting.join()


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_a_sweep_survives_workers_that_die_and_a_rerun_retries_only_those(
    tmp_path, monkeypatch, method
):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    monkeypatch.setattr(sweep_module, "start_method", lambda: method)
    grid = {"crash": ["none", *DEATHS]}
    summary = sweep(CRASHES, grid, [0, 1], tmp_path, backend="process", workers=2, quiet=True)
    assert summary["runs"] == 10 and len(summary["failed"]) == 8
    for crash, why in DEATHS.items():
        for seed in (0, 1):
            line = next(f for f in summary["failed"] if f.startswith(f"crash={crash} seed={seed}:"))
            assert why in line, line
            assert why in (tmp_path / f"crash={crash}" / f"seed={seed}" / "error.txt").read_text()
    value = summary["points"]["crash=none"]["value"]
    assert {k: value[k] for k in ("mean", "std", "min", "max", "n")} == {
        "mean": 5.0,
        "std": 7.0710678118654755,
        "min": 0.0,
        "max": 10.0,
        "n": 2,
    }
    # the survivors' 95 % t interval: 12.706 (t, 1 degree of freedom) * 7.071 / sqrt(2) either side of 5
    assert value["half_width"] == pytest.approx(63.531, abs=1e-3) and value[
        "ci_low"
    ] == pytest.approx(5 - 63.531, abs=1e-3)
    rows = list(csv.DictReader((tmp_path / "sweep.csv").open(newline="")))
    assert len(rows) == 10 and [r["status"] for r in rows].count("ok") == 2
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(summary))
    # the rerun retries only what failed (a finished run is not touched), and now all of it succeeds
    done = tmp_path / "crash=none" / "seed=1" / "summary.json"
    stamp = done.stat().st_mtime_ns
    again = sweep(CRASHES, grid, [0, 1], tmp_path, backend="process", workers=2, quiet=True)
    assert again["failed"] == [] and done.stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob("*/seed=*/error.txt"))


def test_ray_backend_same_numbers_as_serial_and_survives_a_killed_worker(tmp_path):
    pytest.importorskip("ray", reason="the Ray backend needs the 'sweep' extra")
    grid = {"learning_rate": ["0.1"], **{k: [v] for k, v in FAST.items()}}
    summary = sweep(
        "linear-regression", grid, [0, 1], tmp_path / "ray", backend="ray", workers=2, quiet=True
    )
    serial = sweep("linear-regression", grid, [0, 1], tmp_path / "serial", quiet=True)
    assert summary["failed"] == [] and summary["points"] == serial["points"]
    for seed in (0, 1):
        d = f"learning_rate=0.1,iterations=20,converge_iterations=20/seed={seed}"
        a, b = (
            json.loads((tmp_path / k / d / "summary.json").read_text()) for k in ("ray", "serial")
        )
        a.pop("seconds"), b.pop("seconds")
        assert a == b
    grid = {"crash": ["none", "kill", "exit"]}
    crashed = sweep(CRASHES, grid, [0], tmp_path / "crash", backend="ray", workers=2, quiet=True)
    assert crashed["runs"] == 3 and len(crashed["failed"]) == 2
    assert all("the worker running it died: WorkerCrashedError" in f for f in crashed["failed"])
    assert crashed["points"]["crash=none"]["value"]["n"] == 1
    assert (tmp_path / "crash" / "crash=kill" / "seed=0" / "error.txt").is_file()
    assert (
        sweep(CRASHES, grid, [0], tmp_path / "crash", backend="ray", workers=2, quiet=True)[
            "failed"
        ]
        == []
    )
