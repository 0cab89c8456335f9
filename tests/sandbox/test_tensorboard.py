"""`sandbox run NAME --tensorboard`: the metric series of metrics.csv as TensorBoard scalars."""

from dataclasses import dataclass

import pytest

from sandbox import cli
from sandbox import experiment as ex

pytest.importorskip(
    "tensorboard", reason="needs the tensorboard extra: pip install '.[tensorboard]'"
)

from sandbox.tensorboard import read_scalars  # noqa: E402


@dataclass
class C:
    seed: int = 0


def _two_stages(cfg, run):
    def first():
        for step in range(3):
            run.log("train", step, loss=1.0 / (step + 1))
        return {}

    run.stage("first", first)
    run.stage("second", lambda: run.log("eval", 10, mean_return=7.5) or {})
    return {}


def test_metrics_are_written_as_scalars_once_even_after_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ex, "info", lambda name: ex.Experiment("t", "t", C, _two_stages))
    out = tmp_path / "r"
    assert cli.main(["run", "t", "--out", str(out), "--tensorboard", "--quiet"]) == 0
    expected = {
        "train/loss": [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))],
        "eval/mean_return": [(10, 7.5)],
    }
    assert read_scalars(out / "tensorboard") == expected
    (out / "summary.json").unlink()
    (out / "stages" / "second.json").unlink()
    assert cli.main(["run", "t", "--resume", str(out), "--tensorboard", "--quiet"]) == 0
    assert read_scalars(out / "tensorboard") == expected  # rewritten, not doubled
    assert len(list((out / "tensorboard").glob("events.out.tfevents.*"))) == 1


def test_without_the_flag_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "info", lambda name: ex.Experiment("t", "t", C, _two_stages))
    assert cli.main(["run", "t", "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert not (tmp_path / "r" / "tensorboard").exists()
