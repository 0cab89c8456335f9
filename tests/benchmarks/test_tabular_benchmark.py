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


def test_q_learning_learns_blackjack_through_the_tuple_wrapper():
    """Blackjack-v1's Tuple observations reach QLearning flattened; what it learns beats an arbitrary policy
    and comes near the hand-coded basic strategy (the full measurement: --blackjack)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "tabular.py"
    spec = importlib.util.spec_from_file_location("tabular_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from sandbox.rollout import evaluate

    result = module.blackjack(train_episodes=5000, eval_episodes=2000)
    arbitrary = evaluate(
        lambda obs: int(obs[0]) % 2, "Blackjack-v1", episodes=2000, seed=1_000_000
    )["mean_return"]
    assert (
        result["basic_strategy"] > result["q_learning"] - 0.15
        and result["q_learning"] > arbitrary + 0.15
    )
    assert module.basic_strategy((12, 4, 0)) == 0 and module.basic_strategy((12, 2, 0)) == 1
    assert module.basic_strategy((18, 9, 1)) == 1 and module.basic_strategy((18, 7, 1)) == 0


def test_random_maps_prints_value_iteration_beside_q_learning_per_map(capsys):
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "tabular.py"
    spec = importlib.util.spec_from_file_location("tabular_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.map_seeds("0-2,7") == [0, 1, 2, 7]
    argv = ["--random-maps", "--map-seeds", "1", "--train-episodes", "50", "--eval-episodes", "20"]
    assert module.main(argv) == 0
    out = capsys.readouterr().out
    assert "sandbox/RandomFrozenLake-v0" in out and "value iteration" in out
    cells = next(line.split() for line in out.splitlines() if line.split()[:1] == ["1"])
    assert (
        0.6 < float(cells[1]) <= 1.0
    )  # map 1: value iteration's policy reaches G about 3 times in 4
    assert cells[7] == "50"  # the training episodes
