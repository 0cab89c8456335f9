"""The tabular benchmark runs and prints its ratio (tiny budget; the real run is benchmarks/tabular.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_benchmark_prints_the_ratio(capsys):
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "tabular.py"
    spec = importlib.util.spec_from_file_location("tabular_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--steps", "300", "--repeats", "1", "--envs", "FrozenLake8x8-v1"]) == 0
    out = capsys.readouterr().out
    assert "fit / raw precomputed" in out and "FrozenLake8x8-v1" in out
