"""A short tour of every paradigm: each experiment that declares tour settings, run briefly, one table.

    sandbox run tour [--seed N]

A failing experiment is reported and the tour goes on; ``--resume DIR``
skips the experiments already finished. The tour ends by naming its report:
``report.html`` (one self-contained page: the table, then each member's
figures) and ``report.md`` in the tour's run folder.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

from sandbox import experiment as ex
from sandbox.experiment import Experiment, Run
from sandbox.report import Report


@dataclass
class Config:
    seed: int = 0
    only: str = ""  # comma-separated experiment names; empty: all that join the tour


def run(cfg: Config, run: Run) -> dict:
    members = sorted(
        (e for e in ex.discover().values() if e.tour is not None),
        key=lambda e: (e.tour_order, e.name),
    )
    if cfg.only:
        wanted = [w.strip() for w in cfg.only.split(",") if w.strip()]
        names = [e.name for e in members]
        for w in wanted:
            if w not in names:
                raise ValueError(
                    f"--set only={cfg.only!r}: {w!r} is not in the tour; tour members: {', '.join(names)}."
                )
        members = [e for e in members if e.name in wanted]
    results = {}
    for exp in members:
        results[exp.name] = run.stage(exp.name, lambda exp=exp: _one(exp, cfg.seed, run))
    rows = []
    for name, r in results.items():
        numbers = (
            ", ".join(f"{k}={_fmt(r['summary'].get(k))}" for k in r["headline"])
            if r["ok"]
            else r["error"]
        )
        paradigm = next((e.paradigm for e in members if e.name == name), "")
        rows.append([paradigm, name, "ok" if r["ok"] else "FAILED", r["seconds"], numbers])
    run.say("\nThe tour:")
    run.table("tour", ["paradigm", "experiment", "status", "seconds", "headline numbers"], rows)
    failed = [n for n, r in results.items() if not r["ok"]]
    _, page = tour_report(run, members, results, rows).write(run.dir)
    run.say(f"\nreport: {page}")
    return {"experiments": {n: r["summary"] for n, r in results.items()}, "failed": failed}


def _one(exp: Experiment, seed: int, run: Run) -> dict:
    start = time.perf_counter()
    try:
        config = ex.make_config(exp, seed=seed, sets=dict(exp.tour))
        summary = ex.run_experiment(exp, config, run.dir / exp.name, quiet=run.quiet, resume=True)
        return {
            "ok": True,
            "summary": summary,
            "headline": list(exp.headline),
            "seconds": round(time.perf_counter() - start, 2),
        }
    except Exception as exc:  # one failing member must not take the tour down
        run.say(traceback.format_exc())
        return {
            "ok": False,
            "summary": {},
            "headline": [],
            "error": f"{type(exc).__name__}: {exc}",
            "seconds": round(time.perf_counter() - start, 2),
        }


def tour_report(run: Run, members: list[Experiment], results: dict, rows: list[list]) -> Report:
    """The tour's table, then each member's summary line and figures (the PNGs in its run folder)."""
    report = Report("A tour of the learning sandbox")
    report.text(
        "Every paradigm, run briefly with small settings: the numbers show each one working, not its best. "
        "Run an experiment on its own (sandbox run NAME) for the full version."
    )
    report.table(["paradigm", "experiment", "status", "seconds", "headline numbers"], rows)
    for exp in members:
        r = results[exp.name]
        report.heading(f"{exp.name} ({exp.paradigm})" if exp.paradigm else exp.name)
        report.text(exp.summary)
        if not r["ok"]:
            report.text(f"FAILED: {r['error']}")
            continue
        for png in sorted((run.dir / exp.name).glob("*.png")):
            report.figure(
                png.read_bytes(),
                f"{exp.name}/{png.stem}",
                f"{exp.name}: {png.stem.replace('_', ' ')}",
            )
    return report


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


EXPERIMENT = Experiment(
    "tour", "a short run of every paradigm, one table at the end", Config, run, paradigm="all"
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
