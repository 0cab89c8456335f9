import numpy as np
import pytest

from sandbox import stats


def test_seeds_take_lists_and_inclusive_ranges():
    assert stats.parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert stats.parse_seeds("0,2,5-7") == [0, 2, 5, 6, 7]
    assert stats.parse_seeds(" 3 ") == [3]
    assert stats.parse_seeds(7) == [7]
    with pytest.raises(ValueError, match="runs backwards"):
        stats.parse_seeds("4-0")
    with pytest.raises(ValueError, match="repeats \\[2\\]"):
        stats.parse_seeds("0-3,2")
    with pytest.raises(ValueError, match="'x' is not a seed or a range"):
        stats.parse_seeds("1,x")
    with pytest.raises(ValueError, match="'-1' is not a seed"):
        stats.parse_seeds("-1")
    with pytest.raises(ValueError, match="names no seed"):
        stats.parse_seeds(" , ")


def test_describe_gives_the_student_t_interval():
    d = stats.describe([1.0, 2.0, 3.0])
    # mean 2, sample std 1, t(0.975, df=2) = 4.302653: half-width 4.302653 / sqrt(3)
    assert d["mean"] == 2.0 and d["std"] == pytest.approx(1.0) and d["n"] == 3
    assert d["half_width"] == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    assert d["ci_low"] == pytest.approx(2.0 - d["half_width"])
    one = stats.describe([5.0])
    assert one["ci_low"] is None and one["half_width"] is None and one["std"] == 0.0
    assert stats.fmt(one) == "5 (n=1)"
    with pytest.raises(ValueError, match="non-finite"):
        stats.describe([1.0, float("nan")])


def test_overlap_is_unknown_without_an_interval():
    a, b, c = (
        stats.describe([1.0, 1.1, 0.9]),
        stats.describe([1.05, 1.2, 1.0]),
        stats.describe([5.0, 5.1, 4.9]),
    )
    assert stats.overlap(a, b) is True
    assert stats.overlap(a, c) is False
    assert stats.overlap(a, stats.describe([1.0])) is None


def test_run_status_never_calls_a_non_converged_run_ok():
    assert stats.run_status({"mse": 0.1}) == "ok"
    assert stats.run_status({"converged_within_tolerance": False}) == "not converged"
    assert stats.run_status({"solved": False, "converged": False}) == "not converged, not solved"
    assert (
        stats.run_status({"4x4": {"target_met": False}, "8x8": {"target_met": True}})
        == "target not met"
    )
    assert stats.run_status(None, "DivergenceError: boom") == "failed: DivergenceError: boom"
    assert stats.run_status(None) == "failed: no summary.json"


def test_aggregate_counts_threshold_keys_over_the_runs_that_reached_them():
    runs = [
        {"acc": 0.8, "solved_at_steps": 1000},
        {"acc": 0.9, "solved_at_steps": None},
        {"acc": 1.0},
    ]
    agg = stats.aggregate(runs, ["acc", "solved_at_steps", "missing"])
    assert agg["acc"]["mean"] == pytest.approx(0.9) and agg["acc"]["n"] == 3
    assert agg["solved_at_steps"]["reached"] == "1 of 3" and agg["solved_at_steps"]["mean"] == 1000
    assert "missing" not in agg
    assert stats.metric_keys(runs) == ["acc", "solved_at_steps"]
    assert stats.varying([{"a": 1, "b": 2}, {"a": 1, "b": 3}], ["a", "b"]) == ["b"]


def test_band_keeps_shared_x_and_interpolates_different_x():
    same = stats.band([([0, 1, 2], [0.0, 1.0, 2.0]), ([0, 1, 2], [2.0, 3.0, 4.0])])
    assert same["x"].tolist() == [0, 1, 2] and same["mean"].tolist() == [1.0, 2.0, 3.0]
    assert np.all(same["low"] < same["mean"]) and np.all(same["high"] > same["mean"])
    mixed = stats.band([([0, 10], [0.0, 10.0]), ([5, 20], [5.0, 20.0])], points=6)
    assert mixed["x"].tolist() == [5, 6, 7, 8, 9, 10]  # only where both runs have data
    assert mixed["mean"] == pytest.approx(mixed["x"])
    lone = stats.band([([0, 1], [3.0, 4.0])])
    assert lone["n"] == 1 and np.array_equal(lone["low"], lone["mean"])
    with pytest.raises(ValueError, match="share no x range"):
        stats.band([([0, 1], [0.0, 1.0]), ([2, 3], [0.0, 1.0])])


def test_read_metrics_groups_series_and_sorts_steps(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(
        "series,step,metric,value\ntrain,2,loss,0.5\ntrain,1,loss,1.0\neval,1,acc,0.7\n"
    )
    m = stats.read_metrics(path)
    assert m[("train", "loss")][0].tolist() == [1.0, 2.0] and m[("train", "loss")][1].tolist() == [
        1.0,
        0.5,
    ]
    assert stats.read_metrics(tmp_path / "absent.csv") == {}
    path.write_text("series,step,metric,value\ntrain,two,loss,0.5\n")
    with pytest.raises(ValueError, match="unreadable row"):
        stats.read_metrics(path)
