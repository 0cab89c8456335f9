"""Many runs of one experiment: a grid of settings times a list of seeds.

    sandbox sweep linear-regression --grid learning_rate=0.01,0.1,0.5 --seeds 0,1,2 --workers 2

Each run is an ordinary run directory under ``OUT/<settings>/seed=<n>``; the
sweep writes ``sweep.csv`` (one row per run) and ``summary.json`` (mean and
spread of each numeric headline per grid point). A run that fails is
recorded with its error and the others go on; a run that already has its
``summary.json`` is reused, so an interrupted sweep resumes where it stopped.

Backends: ``serial`` (in this process), ``process`` (a pool of local
processes), ``ray`` (a Ray cluster, local or the one ``RAY_ADDRESS`` names;
needs the ``sweep`` extra: ``pip install -e ".[sweep]"``).
"""

from __future__ import annotations

import itertools
import json
import os
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sandbox import experiment as ex
from sandbox import stats
from sandbox.checks import check_choice, check_number
from sandbox.files import atomic_write_json

BACKENDS = ("serial", "process", "ray")


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["lr=0.1,0.2", "hidden=(8,8);(16,)"]`` -> ``{"lr": ["0.1", "0.2"], ...}``.

    Values are split on ``,``, or on ``;`` when any is present (for tuple-valued settings).
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ValueError(f"--grid {item!r}: expected key=v1,v2,... e.g. --grid learning_rate=0.01,0.1.")
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
            ex.make_config(exp, seed=seed, sets=[f"{k}={v}" for k, v in sets.items()])  # fail early, by name
            label = ",".join(f"{k}={v}" for k, v in sets.items()) or "default"
            runs.append({"sets": sets, "seed": seed, "label": label, "dir": f"{_safe(label)}/seed={seed}"})
    return runs


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "=,.-_" else "_" for c in label)


def run_one(name: str, sets: dict[str, str], seed: int, out: str) -> dict[str, Any]:
    """One run of the sweep; never raises (the error is the result)."""
    start = time.perf_counter()
    summary_path = Path(out) / "summary.json"
    if summary_path.is_file():
        return {"ok": True, "summary": json.loads(summary_path.read_text()), "reused": True, "seconds": 0.0}
    try:
        exp = ex.get(name)
        config = ex.make_config(exp, seed=seed, sets=[f"{k}={v}" for k, v in sets.items()])
        summary = ex.run_experiment(exp, config, out, quiet=True, resume=True)
        return {"ok": True, "summary": summary, "reused": False, "seconds": time.perf_counter() - start}
    except Exception as exc:  # a failing run is a result, not the end of the sweep
        return {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
            "seconds": time.perf_counter() - start,
        }


def _execute(runs: list[dict[str, Any]], name: str, out: Path, backend: str, workers: int,
             on_done: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
    args = [(name, r["sets"], r["seed"], str(out / r["dir"])) for r in runs]
    if backend == "serial":
        for r, a in zip(runs, args):
            on_done(r, run_one(*a))
    elif backend == "process":
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_one, *a): r for r, a in zip(runs, args)}
            for fut in as_completed(futures):
                on_done(futures[fut], fut.result())
    else:
        try:
            import ray
        except ImportError:
            raise ValueError("backend='ray' needs Ray: pip install -e '.[sweep]' (or use backend='process').") from None
        if not ray.is_initialized():
            ray.init(ignore_reinit_error=True, num_cpus=None if "RAY_ADDRESS" in os.environ else workers)
        remote = ray.remote(run_one)
        refs = {remote.remote(*a): r for r, a in zip(runs, args)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            on_done(refs[done[0]], ray.get(done[0]))


def sweep(
    name: str,
    grid: dict[str, list[str]],
    seeds: list[int],
    out: str | Path,
    *,
    backend: str = "serial",
    workers: int = 2,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run the sweep and return its summary (also written to ``OUT/summary.json``)."""
    check_choice("backend", backend, BACKENDS)
    check_number("workers", workers, low=1, integer=True)
    exp = ex.get(name)
    runs = plan(exp, grid, seeds)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "sweep.json", {"experiment": name, "grid": grid, "seeds": seeds, "backend": backend})
    results: dict[str, dict[str, Any]] = {}

    def on_done(run: dict[str, Any], result: dict[str, Any]) -> None:
        results[run["dir"]] = result
        if not quiet:
            state = stats.run_status(result.get("summary"), result.get("error"))
            state = f"{state} (reused)" if result.get("reused") else state
            print(f"  [{len(results)}/{len(runs)}] {run['label']} seed={run['seed']}: {state}", flush=True)

    if not quiet:
        print(f"== sweep of {name}: {len(runs)} runs on backend {backend!r} -> {out}")
    _execute(runs, name, out, backend, workers, on_done)
    return _summarise(exp, runs, results, out, quiet)


def _summarise(exp: ex.Experiment, runs: list[dict[str, Any]], results: dict[str, dict[str, Any]], out: Path,
               quiet: bool) -> dict[str, Any]:
    keys = list(exp.headline) or sorted({k for r in results.values() if r["ok"] for k, v in r["summary"].items()
                                         if isinstance(v, int | float) and not isinstance(v, bool) and k not in ("seed", "seconds")})
    rows, groups = [], {}
    for run in runs:
        res = results[run["dir"]]
        values = [res["summary"].get(k, "") if res["ok"] else "" for k in keys]
        status = _clip(stats.run_status(res.get("summary"), res.get("error")))  # the whole message is in summary.json
        rows.append([run["label"], run["seed"], status, *values])
        if res["ok"]:
            for k in keys:
                v = res["summary"].get(k)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    groups.setdefault(run["label"], {}).setdefault(k, []).append(float(v))
    shown = [k for i, k in enumerate(keys) if len(rows) < 2 or len({repr(r[3 + i]) for r in rows}) > 1]  # constants are noise
    run_view = ex.Run(out, f"sweep:{exp.name}", None, quiet=quiet)
    run_view.table("sweep", ["settings", "seed", "status", *shown], [r[:3] + [r[3 + keys.index(k)] for k in shown] for r in rows])
    points = {label: {k: stats.describe(v) for k, v in ks.items()} for label, ks in groups.items()}
    failed = [f"{r['label']} seed={r['seed']}: {results[r['dir']]['error']}" for r in runs if not results[r["dir"]]["ok"]]
    summary = {"experiment": exp.name, "runs": len(runs), "failed": failed, "points": points}
    atomic_write_json(out / "summary.json", summary)
    return summary


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."

