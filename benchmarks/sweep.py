"""Parallel sweeps: the same runs serially and on the process backend's workers.

    .venv/bin/python benchmarks/sweep.py                       # 8 seeds of a ~10 s taxi run, 2 workers
    .venv/bin/python benchmarks/sweep.py --seeds 4 --set episodes=1000

Goal: the process backend with 2 workers is at least 1.8x faster than serial on
2 cores, with the same results. The workers start once and run many runs each,
so start-up is paid once per worker, not once per run. The load average is
printed beside the figure: on a machine shared with other work, the speed-up
two workers can give is less than the core count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.experiment import format_table  # noqa: E402
from sandbox.sweep import sweep  # noqa: E402

GOAL = 1.8
TAXI_10S = ["episodes=3000", "eval_episodes=1000", "curve_points=5"]


def _results(out: Path) -> dict[str, dict]:
    """Every run's summary, without its wall-clock seconds, by run folder."""
    found = {}
    for path in sorted(out.glob("*/seed=*/summary.json")):
        summary = json.loads(path.read_text())
        summary.pop("seconds")
        found[str(path.parent.relative_to(out))] = summary
    return found


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="taxi")
    p.add_argument("--seeds", type=int, default=8, help="runs: seeds 0..N-1 (default 8)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help=f"settings of every run (default, for taxi: {' '.join(TAXI_10S)})",
    )
    args = p.parse_args()
    sets = args.set if args.set is not None else (TAXI_10S if args.experiment == "taxi" else [])
    grid = {k: [v] for k, _, v in (s.partition("=") for s in sets)}
    seeds = list(range(args.seeds))
    rows, outs = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, workers in (("serial", 1), ("process", args.workers)):
            load = os.getloadavg()[0]
            start = time.perf_counter()
            summary = sweep(
                args.experiment,
                grid,
                seeds,
                Path(tmp) / backend,
                backend=backend,
                workers=workers,
                quiet=True,
            )
            seconds = time.perf_counter() - start
            if summary["failed"]:
                print(f"{backend}: {len(summary['failed'])} runs failed: {summary['failed'][0]}")
                return 1
            outs[backend] = _results(Path(tmp) / backend)
            rows.append([backend, workers, round(seconds, 1), round(load, 1)])
        same = outs["serial"] == outs["process"] and len(outs["serial"]) == len(seeds)
    speedup = rows[0][2] / rows[1][2]
    rows[0].append("1.00x")
    rows[1].append(f"{speedup:.2f}x")
    print(
        f"{args.experiment}, {len(seeds)} runs ({' '.join(sets) or 'default settings'}), "
        f"{os.cpu_count()} cores"
    )
    print(format_table(["backend", "workers", "seconds", "load before", "speed-up"], rows))
    print(f"same results: {'yes' if same else 'NO'}")
    print(f"goal: process backend >= {GOAL}x serial: {'met' if speedup >= GOAL else 'not met'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
