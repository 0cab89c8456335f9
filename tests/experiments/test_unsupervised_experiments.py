"""The segments and digits-clusters experiments run end to end through the CLI machinery."""

from __future__ import annotations

import json

from sandbox import experiment as ex
from tests.experiments.helpers import run_small


def _run(name: str, tmp_path, **sets):
    return run_small(name, tmp_path, **sets), tmp_path / name


def test_segments_finds_the_planted_structure(tmp_path):
    summary, out = _run("segments", tmp_path, n=800, k_max=7, n_init=1, silhouette_sample=400)
    assert 4 <= summary["k"] <= 6
    assert summary["ari"] > 0.8
    assert (
        summary["planted_in_top"] >= 3
    )  # all 4 planted oddities of 800 rows are among the 10 farthest
    for f in ("choose_k.png", "pca_segments.png", "segments.csv", "anomalies.csv", "summary.json"):
        assert (out / f).is_file()
    assert json.loads((out / "summary.json").read_text())["k"] == summary["k"]


def test_digits_clusters_reports_ari(tmp_path):
    summary, out = _run("digits-clusters", tmp_path, n_init=1, minibatch_epochs=2)
    assert 0.5 < summary["ari"] <= 1.0
    assert 0.4 < summary["minibatch_ari"] <= 1.0
    assert (out / "centres.png").is_file() and (out / "pca_clusters.png").is_file()


def test_both_join_the_tour():
    names = {e.name for e in ex.discover().values() if e.tour is not None}
    assert {"segments", "digits-clusters"} <= names
