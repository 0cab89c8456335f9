"""Many runs of one experiment: a grid of settings times a list of seeds.

    sandbox sweep linear-regression --grid learning_rate=0.01,0.1,0.5 --seeds 0,1,2 --workers 2

Each run is an ordinary run directory under ``OUT/<settings>/seed=<n>``; the
sweep writes ``sweep.csv`` (one row per run) and ``summary.json`` (mean and
spread of each numeric headline per grid point, and the runs' CPU seconds). A
run that fails is recorded with its error (its traceback in its folder's
``error.txt``) and the others go on; a run that already has its
``summary.json`` is reused, so running the same sweep again retries only what
failed or never ran.

Backends: ``serial`` (in this process), ``process`` (local worker processes that
start once and run many runs each; forked from this process where that is safe,
so that they do not import torch and the experiment again: see
:func:`start_method`), ``ray`` (a Ray cluster, local or the one
``RAY_ADDRESS`` names; needs the ``sweep`` extra: ``pip install -e ".[sweep]"``).
A worker that dies in the middle of a run (killed, out of memory, a segfault)
fails that run only, with the signal or exit code; a new worker takes its place.
"""

from __future__ import annotations

import collections
import contextlib
import faulthandler
import gc
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_info, threadpool_limits

from sandbox import experiment as ex
from sandbox import stats
from sandbox.checks import check_choice, check_number
from sandbox.files import atomic_write_json, atomic_write_text

BACKENDS = ("serial", "process", "ray")


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["lr=0.1,0.2", "hidden=(8,8);(16,)"]`` -> ``{"lr": ["0.1", "0.2"], ...}``.

    Values are split on ``,``, or on ``;`` when any is present (for tuple-valued settings).
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ValueError(
                f"--grid {item!r}: expected key=v1,v2,... e.g. --grid learning_rate=0.01,0.1."
            )
        parts = values.split(";") if ";" in values else values.split(",")
        grid[key.strip()] = [p.strip() for p in parts if p.strip()]
    return grid


def plan(exp: ex.Experiment, grid: dict[str, list[str]], seeds: list[int]) -> list[dict[str, Any]]:
    """Every (settings, seed) pair, each checked against the experiment's settings before anything runs."""
    if not seeds:
        raise ValueError("--seeds is empty; give at least one seed, e.g. --seeds 0,1,2.")
    keys = list(grid)
    runs = []
    for values in itertools.product(*(grid[k] for k in keys)) if keys else [()]:
        sets = dict(zip(keys, values))
        for seed in seeds:
            check_number("seed", seed, low=0, integer=True)
            ex.make_config(
                exp, seed=seed, sets=[f"{k}={v}" for k, v in sets.items()]
            )  # fail early, by name
            label = ",".join(f"{k}={v}" for k, v in sets.items()) or "default"
            runs.append(
                {"sets": sets, "seed": seed, "label": label, "dir": f"{_safe(label)}/seed={seed}"}
            )
    return runs


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "=,.-_" else "_" for c in label)


def run_one(exp: str | ex.Experiment, sets: dict[str, str], seed: int, out: str) -> dict[str, Any]:
    """One run of the sweep; never raises (the error is the result).

    ``cpu_seconds``: the CPU time the run took in the process that ran it (all its threads).
    """
    start, cpu = time.perf_counter(), time.process_time()
    summary_path = Path(out) / "summary.json"
    if summary_path.is_file():
        return {
            "ok": True,
            "summary": json.loads(summary_path.read_text()),
            "reused": True,
            "seconds": 0.0,
            "cpu_seconds": 0.0,
        }
    try:
        exp = ex.get(exp) if isinstance(exp, str) else exp
        config = ex.make_config(exp, seed=seed, sets=[f"{k}={v}" for k, v in sets.items()])
        summary = ex.run_experiment(exp, config, out, quiet=True, resume=True)
        result = {"ok": True, "summary": summary, "reused": False}
    except Exception as exc:  # a failing run is a result, not the end of the sweep
        result = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    result["seconds"] = time.perf_counter() - start
    result["cpu_seconds"] = time.process_time() - cpu
    return result


def _died(out: str, why: str) -> dict[str, Any]:
    """The result of a run whose worker died under it; the reason also goes to the run's error.txt."""
    error = f"the worker running it died: {why}"
    if Path(out).is_dir():
        atomic_write_text(Path(out) / "error.txt", error + "\n")
    return {"ok": False, "error": error, "seconds": 0.0}


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def start_method() -> str:
    """How the process backend would start its workers now: ``fork``, ``forkserver`` or ``spawn``.

    A forked worker starts warm: it has everything this process imported (torch, gymnasium,
    matplotlib, scikit-learn and the experiment's module: seconds of CPU time for each process
    that imports them) and what it has compiled and cached. Forking is safe only while no other
    thread of this process can hold a lock or a pool the child would need: on Linux, with no
    threads but OpenBLAS's idle helpers (which OpenBLAS itself stops around a fork). Once any
    other thread has started (torch's OpenMP pool after its first parallel operation, a progress
    bar's monitor thread, Ray), the workers come from a forkserver: one clean process that imports
    the experiment's module once and forks every worker from there. ``spawn`` is the rest
    (Windows), where each worker imports on its own.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and _only_safe_threads():
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _only_safe_threads() -> bool:
    """Whether every thread of this process but the main one is an idle OpenBLAS helper."""
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        return False
    helpers = sum(
        max(0, int(info.get("num_threads", 1)) - 1)
        for info in threadpool_info()
        if info.get("internal_api") == "openblas" and info.get("threading_layer") == "pthreads"
    )
    return threading.active_count() == 1 and threads <= 1 + helpers


def _worker(conn: Connection, threads: int, inherited: tuple[Connection, ...] = ()) -> None:
    """A process backend worker: runs tasks from ``conn`` until it gets None.

    A forked worker has the experiment's module already; a spawned one imports it when it
    unpickles its first task. ``inherited``: the pool's ends of the other workers' pipes, which a
    forked worker got copies of; it closes them, so each of those workers still sees the end of
    its pipe when the parent goes.
    """
    for other in inherited:
        other.close()
    # a crash dump only where this interpreter was asked for one, as in a fresh one (a forked
    # worker inherits what the parent turned on: pytest's would print one per worker a test kills)
    if not (
        sys.flags.dev_mode or "faulthandler" in sys._xoptions or os.getenv("PYTHONFAULTHANDLER")
    ):
        faulthandler.disable()
    # the workers share the cores instead of each taking all of them: BLAS and OpenMP pools already
    # loaded (NumPy is, by the time this runs), and torch's, now or when a task imports it
    threadpool_limits(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(run_one(*task))


@dataclass
class _Slot:
    process: BaseProcess
    conn: Connection
    task: tuple[dict[str, Any], tuple[Any, ...]] | None = None


class _Pool:
    """Worker processes that each run many runs, started as :func:`start_method` says.

    Unlike ``ProcessPoolExecutor``, whose every pending future fails once one worker dies, a dead
    worker here fails only the run it held; another worker is started in its place. ``preload``:
    the modules a forkserver imports once for all its workers (the experiment's).
    """

    def __init__(self, workers: int, preload: tuple[str, ...] = ()) -> None:
        self.start_method = start_method()
        self._ctx = get_context(self.start_method)
        if self.start_method == "forkserver":
            self._ctx.set_forkserver_preload([m for m in [*preload, __name__] if m != "__main__"])
        self._threads = max(1, (os.cpu_count() or 1) // workers)
        self.slots: list[_Slot] = []
        for _ in range(workers):
            self.slots.append(self._start())

    def _start(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        # a forked worker gets this process's ends of the other workers' pipes, and closes them
        inherited = tuple(s.conn for s in self.slots) if self.start_method == "fork" else ()
        process = self._ctx.Process(
            target=_worker, args=(child, self._threads, inherited), daemon=True
        )
        if self.start_method == "fork":
            # the inherited objects move to the permanent generation first: the child's garbage
            # collector then never walks them, and never writes to (so copies) their pages
            gc.freeze()
        try:
            process.start()
        finally:
            if self.start_method == "fork":
                gc.unfreeze()
        child.close()
        return _Slot(process, parent)

    def _replace(self, slot: _Slot) -> _Slot:
        slot.process.join()
        slot.conn.close()
        new = self._start()
        self.slots[self.slots.index(slot)] = new
        return new

    def run(
        self,
        tasks: list[tuple[dict[str, Any], tuple[Any, ...]]],
        on_done: Callable[[dict[str, Any], dict[str, Any]], None],
    ) -> None:
        queue = collections.deque(tasks)
        while queue or any(s.task for s in self.slots):
            for slot in [s for s in self.slots if s.task is None]:
                if queue:
                    self._give(slot, queue.popleft())
            busy = [s for s in self.slots if s.task]
            ready = set(wait([s.conn for s in busy] + [s.process.sentinel for s in busy]))
            for slot in busy:
                if slot.conn in ready or slot.process.sentinel in ready:
                    run, args = slot.task
                    try:
                        result = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.process.join()
                        result = _died(args[-1], _exit_reason(slot.process.exitcode))
                        slot = self._replace(slot)
                    slot.task = None
                    on_done(run, result)

    def _give(self, slot: _Slot, task: tuple[dict[str, Any], tuple[Any, ...]]) -> None:
        try:
            slot.conn.send(task[1])
        except (BrokenPipeError, OSError):  # it died while idle: its replacement takes the task
            slot = self._replace(slot)
            slot.conn.send(task[1])
        slot.task = task

    def close(self) -> None:
        for slot in self.slots:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        for slot in self.slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.terminate()
                slot.process.join()
            slot.conn.close()


def execute_runs(
    runs: list[dict[str, Any]],
    exp: ex.Experiment,
    out: Path,
    backend: str,
    workers: int,
    on_done: Callable[[dict[str, Any], dict[str, Any]], None],
) -> None:
    """Run ``runs`` (as :func:`plan` makes them) on ``backend``, calling ``on_done(run, result)`` as each ends."""
    tasks = [(r, (exp, r["sets"], r["seed"], str(out / r["dir"]))) for r in runs]
    if backend == "serial":
        for r, a in tasks:
            on_done(r, run_one(*a))
    elif backend == "process":
        pool = _Pool(min(workers, len(tasks)) or 1, preload=(exp.run.__module__,))
        try:
            pool.run(tasks, on_done)
        finally:
            pool.close()
    else:
        _execute_ray(tasks, workers, on_done)


def _execute_ray(
    tasks: list[tuple[dict[str, Any], tuple[Any, ...]]],
    workers: int,
    on_done: Callable[[dict[str, Any], dict[str, Any]], None],
) -> None:
    try:
        import ray
        from ray.exceptions import RayError
    except ImportError:
        raise ValueError(
            "backend='ray' needs Ray: pip install -e '.[sweep]' (or use backend='process')."
        ) from None
    if not ray.is_initialized():
        local = "RAY_ADDRESS" not in os.environ
        # a local instance's workers import from where this process does, as spawned processes would
        env = (
            {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}
            if local
            else None
        )
        ray.init(
            ignore_reinit_error=True,
            num_cpus=workers if local else None,
            runtime_env=env,
            include_dashboard=False,
            log_to_driver=False,
        )
    remote = ray.remote(max_retries=0)(
        run_one
    )  # a run that killed its worker would kill the retry too
    refs = {remote.remote(*a): (r, a) for r, a in tasks}
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        run, args = refs[done[0]]
        try:
            result = ray.get(done[0])
        except RayError as exc:
            result = _died(
                args[-1], f"{type(exc).__name__}: {_first_line(exc)}"
            )  # Ray keeps the signal to itself
        on_done(run, result)


def _first_line(exc: BaseException) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "")


def sweep(
    name: str | ex.Experiment,
    grid: dict[str, list[str]],
    seeds: list[int],
    out: str | Path,
    *,
    backend: str = "serial",
    workers: int = 2,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run the sweep and return its summary (also written to ``OUT/summary.json``, with ``OUT/sweep.csv``).

    ``name`` is an experiment's name, or an :class:`~sandbox.experiment.Experiment` (the process
    and Ray backends need it importable by its module). The summary and the table are written
    even when the sweep is interrupted: runs that did not finish are listed as not run.
    """
    check_choice("backend", backend, BACKENDS)
    check_number("workers", workers, low=1, integer=True)
    exp = ex.get(name) if isinstance(name, str) else name
    runs = plan(exp, grid, seeds)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        out / "sweep.json",
        {"experiment": exp.name, "grid": grid, "seeds": seeds, "backend": backend},
    )
    results: dict[str, dict[str, Any]] = {}

    def on_done(run: dict[str, Any], result: dict[str, Any]) -> None:
        results[run["dir"]] = result
        if not quiet:
            state = stats.run_status(result.get("summary"), result.get("error"))
            state = f"{state} (reused)" if result.get("reused") else state
            print(
                f"  [{len(results)}/{len(runs)}] {run['label']} seed={run['seed']}: {state}",
                flush=True,
            )

    if not quiet:
        print(f"== sweep of {exp.name}: {len(runs)} runs on backend {backend!r} -> {out}")
    try:
        execute_runs(
            runs, exp, out, backend, workers, on_done
        )  # workers import only this experiment's module
    finally:
        for run in runs:
            results.setdefault(
                run["dir"],
                {"ok": False, "error": "not run: the sweep was interrupted", "seconds": 0.0},
            )
        summary = _summarise(exp, runs, results, out, quiet)
    return summary


def _summarise(
    exp: ex.Experiment,
    runs: list[dict[str, Any]],
    results: dict[str, dict[str, Any]],
    out: Path,
    quiet: bool,
) -> dict[str, Any]:
    keys = list(exp.headline) or sorted(
        {
            k
            for r in results.values()
            if r["ok"]
            for k, v in r["summary"].items()
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            and k not in ("seed", "seconds")
        }
    )
    rows, groups = [], {}
    for run in runs:
        res = results[run["dir"]]
        values = [res["summary"].get(k, "") if res["ok"] else "" for k in keys]
        status = _clip(
            stats.run_status(res.get("summary"), res.get("error"))
        )  # the whole message is in summary.json
        rows.append([run["label"], run["seed"], status, *values])
        if res["ok"]:
            for k in keys:
                v = res["summary"].get(k)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    groups.setdefault(run["label"], {}).setdefault(k, []).append(float(v))
    shown = [
        k for i, k in enumerate(keys) if len(rows) < 2 or len({repr(r[3 + i]) for r in rows}) > 1
    ]  # constants are noise
    run_view = ex.Run(out, f"sweep:{exp.name}", None, quiet=quiet)
    run_view.table(
        "sweep",
        ["settings", "seed", "status", *shown],
        [r[:3] + [r[3 + keys.index(k)] for k in shown] for r in rows],
    )
    points = {label: {k: stats.describe(v) for k, v in ks.items()} for label, ks in groups.items()}
    failed = [
        f"{r['label']} seed={r['seed']}: {results[r['dir']]['error']}"
        for r in runs
        if not results[r["dir"]]["ok"]
    ]
    summary = {
        "experiment": exp.name,
        "runs": len(runs),
        "failed": failed,
        "points": points,
        # the runs' own CPU time, summed (that of runs whose worker died is not known)
        "cpu_seconds": round(sum(r.get("cpu_seconds", 0.0) for r in results.values()), 3),
    }
    atomic_write_json(out / "summary.json", summary)
    return summary


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
