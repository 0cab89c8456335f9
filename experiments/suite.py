"""The benchmark suite: every agent family on standard environments, over seeds, in one table.

    sandbox run suite                                  # short: minutes on 2 cores
    sandbox run suite --set size=full --out runs/suite # the table's budgets and seeds (hours)
    sandbox run suite --set only=tabular,cartpole-pg   # some families or entries
    sandbox run suite --resume runs/suite              # an interrupted suite goes on where it stopped

Each row of the table is an entry of ``sandbox/suite.toml`` (an env, an agent, a budget and seeds
per size, a reference score with its source, the issue's target): its runs are ordinary
``learn-env`` runs (the agent's preset for the env applies and is named) in
``RUN/<entry>/<agent>/seed=<k>``, run on the sweep's process backend, ``workers`` at a time.
A run that fails or dies fails alone; a run that finished is reused when the suite is resumed.
``sandbox compare RUN/<entry>`` compares an entry's seeds. A row whose learner is not in the
registry, or whose env is not registered or misses a dependency, is shown "not available".

The row gives the median and the mean with its 95 % t interval over seeds (``sandbox.stats``),
the reference beside it (published, or computed on the same evaluation episodes: value
iteration on the env's P, the basic strategy on Blackjack), the target and whether it is met
(on the median, or as k of n seeds), and the median wall time of a run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sandbox import suite
from sandbox.checks import check_choice, check_number
from sandbox.experiment import Experiment, Run
from sandbox.files import atomic_write_json
from sandbox.report import Report
from sandbox.suite import SIZES


@dataclass
class Config:
    seed: int = 0  # not used: every entry runs its own seeds (sandbox/suite.toml)
    size: str = "short"  # short: minutes, small budgets, 1-2 seeds; full: the table's (hours)
    only: str = ""  # entry ids or families (tabular, planning, deep), comma-separated; "": all
    workers: int = 2  # runs at once, each in its own worker process
    entries: str = ""  # the entries file (TOML); "": the suite's own, sandbox/suite.toml

    def validate(self) -> None:
        check_choice("size", self.size, SIZES)
        check_number("workers", self.workers, low=1, integer=True)
        suite.select(suite.load(self.entries or None), self.only)


def unavailable(entry: suite.Entry, size: str) -> str | None:
    """Why ``entry`` cannot run here (its learner is not in the registry, its env is not registered,
    or a dependency of the env is not installed), or None: other problems are its runs' to report."""
    import gymnasium as gym

    from experiments.learn_env import parse_kwargs
    from sandbox.environments import load_env_plugins, make_env
    from sandbox.learner import load_learner_plugins

    if entry.agent not in load_learner_plugins():
        return f"not available: no learner {entry.agent!r} in the registry"
    load_env_plugins()
    if ":" not in entry.env and entry.env not in gym.registry:
        return f"not available: env {entry.env!r} is not registered"
    try:
        kwargs = parse_kwargs("env_kwargs", entry.env_kwargs_for(entry.seeds[size][0]))
        make_env(entry.env, **kwargs).close()
    except gym.error.DependencyNotInstalled as exc:
        return "not available: " + str(exc).splitlines()[0]
    except Exception:  # a bad env_kwargs and the like: the runs fail with the env's own message
        pass
    return None


def references(entry: suite.Entry, size: str, summaries: dict, folder: Path) -> dict[int, float]:
    """The computed references of an entry that needs them here (the basic strategy), per seed; kept
    in ``folder/reference.json`` so a resumed suite does not compute them again."""
    if entry.reference is None or entry.reference.value != "basic strategy":
        return {}
    path = folder / "reference.json"
    episodes = entry.eval_episodes[size]
    saved = suite.read_json(path) if path.is_file() else {}
    if saved.get("episodes") != episodes:
        saved = {"episodes": episodes, "values": {}}
    for seed in summaries:
        if str(seed) not in saved["values"]:
            saved["values"][str(seed)] = suite.computed_reference(entry, seed, episodes)
    atomic_write_json(path, saved)
    return {int(s): v for s, v in saved["values"].items() if int(s) in summaries}


COMPARED = ("env", "env_kwargs", "agent", "agent_kwargs", "budget", "eval_episodes")


def check_reusable(runs: list[dict], out: Path) -> None:
    """Refuse to resume over runs made with other settings than the entries now give (an entries file
    edited between two sessions, or a preset for the entry's learner and env shipped or removed since):
    a finished run is reused as it is, so it must be the run asked for."""
    from sandbox import presets

    for r in runs:
        path = out / r["dir"] / "config.json"
        if not path.is_file():
            continue
        had = suite.read_json(path).get("settings", {})
        wanted = {"agent_kwargs": "", "budget": None, **r["sets"]}
        differ = [k for k in COMPARED if str(had.get(k)) != str(wanted[k])]
        summary = out / r["dir"] / "summary.json"
        if differ:
            was = ", ".join(f"{k}={had.get(k)!r}" for k in differ)
            now = ", ".join(f"{k}={wanted[k]!r}" for k in differ)
        elif summary.is_file():  # a preset shipped (or removed) since the run
            preset = presets.resolve("auto", r["sets"]["agent"], r["sets"]["env"])
            was = f"preset {suite.read_json(summary).get('preset') or 'none'}"
            now = f"preset {preset.name if preset else 'none'}"
            if was == now:
                continue
        else:
            continue
        raise ValueError(
            f"{out / r['dir']} was run with {was}, but the entry now asks for {now}; "
            "start the suite in a new --out, or delete that run's folder to run it again."
        )


def run(cfg: Config, run: Run) -> dict:
    entries = suite.select(suite.load(cfg.entries or None), cfg.only)
    missing = {e.id: unavailable(e, cfg.size) for e in entries}
    runnable = [e for e in entries if missing[e.id] is None]
    runs = suite.plan_runs(runnable, cfg.size)
    check_reusable(runs, run.dir)
    run.say(
        f"suite ({cfg.size}): {len(entries)} entries, {len(runs)} learn-env runs, "
        f"{cfg.workers} at a time -> {run.dir}"
    )
    for e in entries:
        if missing[e.id]:
            run.say(f"  {e.id}: {missing[e.id]}")
    results: dict[str, dict] = {}
    start = time.perf_counter()

    def on_done(r: dict, result: dict) -> None:
        results[r["dir"]] = result
        state = "ok" if result["ok"] else f"failed: {result['error']}"
        state += " (reused)" if result.get("reused") else ""
        run.say(f"  [{len(results)}/{len(runs)}] {r['entry']} seed={r['seed']}: {state}")

    try:
        suite.execute(runs, run.dir, cfg.workers, on_done)
    finally:
        for r in runs:
            results.setdefault(
                r["dir"], {"ok": False, "error": "not run: the suite was interrupted"}
            )
        for e in runnable:
            suite.write_group(e, cfg.size, runs, results, run.dir)
    rows = []
    for e in entries:
        mine = [r for r in runs if r["entry"] == e.id]
        summaries = {
            r["seed"]: results[r["dir"]]["summary"] for r in mine if results[r["dir"]]["ok"]
        }
        errors = {
            r["seed"]: results[r["dir"]]["error"] for r in mine if not results[r["dir"]]["ok"]
        }
        refs = references(e, cfg.size, summaries, run.dir / e.id) if summaries else {}
        rows.append(suite.row(e, cfg.size, summaries, errors, refs, missing[e.id]))
    run.say(f"\nThe suite ({cfg.size}), {time.perf_counter() - start:.0f} s:")
    run.table("suite", suite.HEADERS, [suite.cells(r) for r in rows])
    failed = [r["entry"] for r in rows if r["status"].startswith("failed")]
    _, page = report(cfg, rows, run.dir).write(run.dir)
    run.say(f"\nreport: {page}")
    return {
        "size": cfg.size,
        "only": cfg.only,
        "entries": len(entries),
        "runs": len(runs),
        "failed": failed,
        "not_available": [r["entry"] for r in rows if r["status"].startswith("not available")],
        "targets_met": sum(r["met"].startswith("met") for r in rows),
        "targets": sum(r["target"] != "-" for r in rows),
        "rows": rows,
        "report": str(page),
    }


def report(cfg: Config, rows: list[dict], folder: Path) -> Report:
    """The table, what its columns mean, and each entry's training curves over its seeds."""
    from sandbox.compare import curve_figures, load

    page = Report(f"The benchmark suite ({cfg.size})")
    page.text(
        "Each row: an (env, agent) entry of sandbox/suite.toml, run as learn-env runs, one per seed. "
        "median and mean are the greedy policy's evaluation score over the seeds (mean with its 95 % "
        "Student t interval, n >= 2); the reference is a published number or one computed on the same "
        "evaluation episodes; wall s/run is the median seconds of a run (training, evaluation and the "
        "value-iteration reference), on a machine that may have been running other work."
    )
    page.table(suite.HEADERS, [suite.cells(r) for r in rows])
    page.heading("Per seed")
    page.text(
        "Each run's score beside its reference on the same evaluation episodes (for the generated "
        "FrozenLake maps, seed K is map K)."
    )
    page.table(["entry", "seed", "score", "reference", "score / reference"], per_seed(rows))
    for r in rows:
        folder_of = folder / r["entry"]
        if not (folder_of / "sweep.json").is_file():
            continue
        try:
            settings = load(folder_of)
            for setting in settings:
                setting.label = r["agent"]
            figures = curve_figures(settings)
        except (ValueError, FileNotFoundError):
            continue
        if figures:
            page.heading(f"{r['entry']}: {r['agent']} on {r['env']}")
            for name, fig, caption in figures[:1]:
                page.figure(fig, f"{r['entry']}_{name}", caption)
    return page


def per_seed(rows: list[dict]) -> list[list]:
    out = []
    for r in rows:
        refs = r.get("references", {})
        for seed, score in r["scores"].items():
            ref = refs.get(seed)
            ratio = score / ref if score is not None and ref else None
            out.append(
                [r["entry"], seed, _num(score), _num(ref), "-" if ratio is None else f"{ratio:.3f}"]
            )
    return out


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


EXPERIMENT = Experiment(
    "suite",
    "the benchmark suite: each agent family on standard envs over seeds, beside reference scores",
    Config,
    run,
    paradigm="reinforcement + planning",
    headline=("targets_met", "targets"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
