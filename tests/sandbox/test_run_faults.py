"""Fault injection: a run killed with SIGKILL at any point resumes to the summary a clean run writes,
and no half-written file is ever visible in its folder."""

import csv
import json
import multiprocessing
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from sandbox import experiment as ex
from sandbox import files
from sandbox.seeding import derive_seed


@dataclass
class StagedConfig:
    seed: int = 0
    n: int = 50


FAULT = {"point": None}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _walk(run: ex.Run, seed: int, n: int, name: str) -> dict:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=n))
    for i, v in enumerate(x):
        run.log(name, step=i, position=v)
        if FAULT["point"] == "mid-stage" and name == "second" and i == n // 2:
            _die()
    return {"end": float(x[-1]), "max": float(x.max())}


def staged(cfg: StagedConfig, run: ex.Run) -> dict:
    first = run.stage("first", lambda: _walk(run, derive_seed(cfg.seed, "first"), cfg.n, "first"))
    second = run.stage(
        "second", lambda: _walk(run, derive_seed(cfg.seed, "second"), cfg.n, "second")
    )
    fig, ax = plt.subplots()
    ax.plot([first["end"], second["end"]])
    run.save_plot(fig, "ends")
    plt.close(fig)
    run.table(
        "ends", ["stage", "end, as printed"], [["first", first["end"]], ["second", second["end"]]]
    )
    return {"first": first, "second": second}


STAGED = ex.Experiment("staged", "two stages, a plot and a table", StagedConfig, staged)


def _inject(point: str) -> None:
    """Arrange, inside the child, for SIGKILL at ``point``."""
    FAULT["point"] = point
    write_json = ex.atomic_write_json

    def watched(path, obj):
        path = Path(path)
        if point == "before-config" and path.name == "config.json":
            _die()
        out = write_json(path, obj)
        if point == "between-stages" and path.parent.name == "stages" and path.name == "first.json":
            _die()
        return out

    ex.atomic_write_json = watched
    fsync = os.fsync

    def half_then_die(fd):
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        target = {
            "during-stage-write": ".second.json.",
            "during-summary-write": ".summary.json.",
        }.get(point)
        if target and name.startswith(target):
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            _die()
        fsync(fd)

    files.os.fsync = half_then_die


def _child(point: str, out: str) -> None:
    _inject(point)
    ex.run_experiment(STAGED, StagedConfig(), out, quiet=True)


def _no_half_written_file(out: Path) -> None:
    """Every file under its own name is whole; a kill mid-write leaves only a hidden ``.NAME.*.tmp``."""
    for path in out.rglob("*"):
        if (
            path.is_dir()
            or path.name == ex.LOCK_NAME
            or (path.name.startswith(".") and path.suffix == ".tmp")
        ):
            continue
        assert not path.name.startswith("."), f"an unexpected hidden file: {path}"
        data = path.read_bytes()
        if path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".png":
            assert data.endswith(b"IEND\xaeB`\x82"), path
        elif path.suffix == ".csv":
            rows = list(csv.reader(data.decode().splitlines()))
            assert rows and all(len(r) == len(rows[0]) for r in rows), path


def _clean(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "seconds"}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "run"
    return _clean(ex.run_experiment(STAGED, StagedConfig(), out, quiet=True)), out


@pytest.mark.parametrize(
    "point",
    ["before-config", "mid-stage", "between-stages", "during-stage-write", "during-summary-write"],
)
def test_a_killed_run_resumes_to_the_clean_summary(tmp_path, clean_run, point):
    out = tmp_path / "run"
    child = multiprocessing.get_context("fork").Process(target=_child, args=(point, str(out)))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL, (
        f"the fault at {point} did not fire (exit code {child.exitcode})"
    )
    _no_half_written_file(out)
    if point == "before-config":
        with pytest.raises(
            FileNotFoundError, match="nothing was run yet; start it again with the same --out"
        ):
            ex.resume_settings(out)
        summary = ex.run_experiment(STAGED, StagedConfig(), out, quiet=True)
    else:
        name, settings = ex.resume_settings(out)
        assert name == "staged"
        summary = ex.run_experiment(
            STAGED, ex.settings_from_json(STAGED, settings), out, quiet=True, resume=True
        )
    expected, clean_out = clean_run
    assert _clean(summary) == expected
    assert _clean(json.loads((out / "summary.json").read_text())) == json.loads(
        json.dumps(expected)
    )
    for name in ("metrics.csv", "ends.csv", "stages/first.json", "stages/second.json"):
        assert (out / name).read_text() == (clean_out / name).read_text(), name
    assert not list(
        out.rglob(".*.tmp")
    )  # what a killed writer left, the next run of the folder removed
    _no_half_written_file(out)
