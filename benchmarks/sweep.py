"""Parallel sweeps: the same runs serially and on the process backend's workers.

    .venv/bin/python benchmarks/sweep.py                       # 8 seeds of a ~10 s taxi run, 2 workers
    .venv/bin/python benchmarks/sweep.py --seeds 4 --set episodes=1000
    .venv/bin/python benchmarks/sweep.py --rounds 3                # the median of three rounds

Goal: the process backend with 2 workers is at least 1.8x faster than serial on
2 cores, with the same results. The workers start once and run many runs each,
so start-up is paid once per worker, not once per run; they are forked from
this process where that is safe, so they do not import torch and the experiment
again. The load average is printed beside the figure: on a machine shared with
other work, the speed-up two workers can give is less than the core count. So
is the CPU time each backend took, in the runs and outside them, which compares
on a shared machine too. The experiment is imported before either clock starts.

Last, the machine's own ceiling for the workload: as many separate programs as
workers, each warmed up by one untimed run, run the same runs at once with no
sweep machinery between them. Where two such programs already slow each other
down (shared caches and memory bandwidth, or a virtual machine's cores shared
with other guests), no backend can reach the core count, and the line says what
share of that ceiling the process backend reached. The machine's own noise can
be as large as the gap to the goal, so ``--rounds N`` repeats the three
measurements N times and judges the goal on the median round.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing.forkserver
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.experiment import format_table, get  # noqa: E402
from sandbox.sweep import start_method, sweep  # noqa: E402

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


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _stop_forkserver() -> None:
    """End a forkserver, if one was started, so that its workers' CPU time is counted.

    Workers forked by a forkserver are its children, not ours: their CPU time reaches this
    process's RUSAGE_CHILDREN only once the forkserver itself has ended and been waited for.
    """
    server = multiprocessing.forkserver._forkserver
    stop = getattr(server, "_stop", None)  # CPython's own, since 3.8
    if stop is not None and getattr(server, "_forkserver_pid", None) is not None:
        stop()


_INDEPENDENT = """
import sys, tempfile, time
sys.path.insert(0, {root!r})
from sandbox import experiment as ex
exp = ex.get({name!r})
def run(seed, out):
    ex.run_experiment(exp, ex.make_config(exp, seed=seed, sets={sets!r}), out, quiet=True)
with tempfile.TemporaryDirectory() as tmp:
    run({seeds}[0], tmp + "/warm")  # first-use costs, as the serial backend has paid them
    print("ready", flush=True)
    sys.stdin.readline()
    for seed in {seeds}:
        run(seed, f"{{tmp}}/seed={{seed}}")
    print("done", flush=True)  # before the interpreter's exit, which no sweep run pays
"""


def independent(name: str, sets: list[str], seeds: list[int], processes: int) -> float:
    """Seconds for ``processes`` separate programs, each warmed up, to run their share of ``seeds``
    at once, with no sweep machinery between them: what the machine's cores give this workload."""
    root = str(Path(__file__).resolve().parents[1])
    shares = [seeds[i::processes] for i in range(processes)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _INDEPENDENT.format(root=root, name=name, sets=sets, seeds=s)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for s in shares
    ]
    for proc in procs:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("an independent process failed before its runs")
    start = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        if proc.stdout.readline().strip() != "done":
            raise RuntimeError("an independent process failed in its runs")
    seconds = time.perf_counter() - start
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError("an independent process failed after its runs")
    return seconds


def one_round(args, sets: list[str], seeds: list[int]) -> dict:
    """Serial, then the process backend, then the machine's ceiling: one round's figures."""
    grid = {k: [v] for k, _, v in (s.partition("=") for s in sets)}
    rows, outs, cpus = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, workers in (("serial", 1), ("process", args.workers)):
            how = start_method() if backend == "process" else "-"
            load = os.getloadavg()[0]
            start, cpu = time.perf_counter(), _cpu_seconds()
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
            _stop_forkserver()
            cpus[backend] = cpu = _cpu_seconds() - cpu
            if summary["failed"]:
                raise RuntimeError(
                    f"{backend}: {len(summary['failed'])} runs failed: {summary['failed'][0]}"
                )
            outs[backend] = _results(Path(tmp) / backend)
            outside = cpu - summary["cpu_seconds"]
            rows.append([backend, workers, how, round(seconds, 1), round(load, 1)])
            rows[-1] += [round(cpu, 1), round(summary["cpu_seconds"], 1), round(outside, 1)]
        same = outs["serial"] == outs["process"] and len(outs["serial"]) == len(seeds)
    load = os.getloadavg()[0]
    alone = independent(args.experiment, sets, seeds, args.workers)
    for row, backend in zip(rows, ("serial", "process")):
        row += [f"{cpus[backend] / cpus['serial'] - 1:+.1%}", f"{rows[0][3] / row[3]:.2f}x"]
    speedup = rows[0][3] / rows[1][3]
    return {
        "rows": rows,
        "same": same,
        "speedup": speedup,
        "alone": alone,
        "ceiling": rows[0][3] / alone,
        "ceiling_load": load,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="taxi")
    p.add_argument("--seeds", type=int, default=8, help="runs: seeds 0..N-1 (default 8)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat serial, process and ceiling this many times; the goal is judged on the "
        "median round (default 1)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help=f"settings of every run (default, for taxi: {' '.join(TAXI_10S)})",
    )
    args = p.parse_args()
    if args.rounds < 1:
        p.error(f"--rounds must be at least 1, got {args.rounds}")
    sets = args.set if args.set is not None else (TAXI_10S if args.experiment == "taxi" else [])
    seeds = list(range(args.seeds))
    get(args.experiment)  # imported here, before either backend's clock starts
    print(
        f"{args.experiment}, {len(seeds)} runs ({' '.join(sets) or 'default settings'}), "
        f"{os.cpu_count()} cores"
    )
    head = ["round", "backend", "workers", "started by", "seconds", "load before"]
    head += ["CPU seconds", "in runs", "outside runs", "CPU vs serial", "speed-up"]
    rounds = []
    for k in range(args.rounds):
        try:
            result = one_round(args, sets, seeds)
        except RuntimeError as exc:
            print(exc)
            return 1
        rounds.append(result)
        print(format_table(head, [[k + 1, *row] for row in result["rows"]]), flush=True)
        print(
            f"round {k + 1}, the machine's own ceiling: {args.workers} separate warmed-up programs "
            f"running the same runs at once, no sweep between them, took {result['alone']:.1f} s "
            f"(load before {result['ceiling_load']:.1f}): {result['ceiling']:.2f}x serial; the "
            f"process backend reached {result['speedup'] / result['ceiling']:.0%} of it",
            flush=True,
        )
    print(
        "CPU seconds: of this process and its workers; in runs: the runs' own, outside runs: the "
        "rest (starting workers, imports, handing out runs, the sweep's tables). With "
        f"{args.workers} workers on idle cores the speed-up is about {args.workers} / (1 + the "
        "CPU over serial), less when the runs do not divide evenly. On a loaded machine the "
        "seconds mean little, and CPU seconds in runs drift with the load too; the seconds "
        "outside runs still compare."
    )
    speedup = statistics.median(r["speedup"] for r in rounds)
    ceiling = statistics.median(r["ceiling"] for r in rounds)
    same = all(r["same"] for r in rounds)
    if args.rounds > 1:
        each = ", ".join(f"{r['speedup']:.2f}x" for r in rounds)
        ceilings = ", ".join(f"{r['ceiling']:.2f}x" for r in rounds)
        print(f"speed-up by round: {each}; median {speedup:.2f}x")
        print(f"ceiling by round: {ceilings}; median {ceiling:.2f}x")
    print(f"same results: {'yes' if same else 'NO'}")
    print(f"goal: process backend >= {GOAL}x serial: {'met' if speedup >= GOAL else 'not met'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
