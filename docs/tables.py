"""Write the docs' result tables from run folders, stamped with the machine the runs ran on.

    python docs/tables.py                   # read the run folders under runs/docs, write every table
    python docs/tables.py --run             # run the experiments first (short settings), then write
    python docs/tables.py --run tour        # only the tables named
    python docs/tables.py --run cartpole-seeds --print   # print a table instead of writing it

A page asks for a table with a pair of markers; everything between them is
replaced, the rest of the page is left alone:

    <!-- table:tour -->
    <!-- /table -->

Each table is built from the run folders ``sandbox run`` and ``sandbox sweep``
write (``summary.json`` and ``config.json`` of every run), never from printed
output. ``--run`` records the machine (CPU model, cores, Python, torch, numpy)
in ``RUNS/NAME/machine.json`` beside the runs; the stamp under each table reads
it back, with the command that produced the runs. Tables whose markers no page
holds (the longer ones: cartpole over five seeds, the DQN screening) are run
only when named, and printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"(<!-- table:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


@dataclass(frozen=True)
class Table:
    """A result table: the sandbox commands that make its runs, and how to read them back."""

    commands: tuple[str, ...]  # sandbox arguments; {out} is the table's run folder
    build: Callable[[Path], tuple[list[str], list[list[Any]]]]  # run folder -> (headers, rows)
    about: str
    note: Callable[[Path], str] | None = None  # run folder -> a line under the stamp
    runs_of: str | None = None  # another table whose runs this one reads (its commands make them)

    def folder_name(self, name: str) -> str:
        return self.runs_of or name


# ------------------------------------------------------------------ reading run folders


def runs_under(folder: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(config, summary) of every finished run below ``folder`` (a run, a sweep, or a folder of runs)."""
    found = []
    for summary_path in sorted(folder.rglob("summary.json")):
        config_path = summary_path.with_name("config.json")
        if config_path.is_file():  # a sweep's own summary.json has no config.json beside it
            found.append(
                (json.loads(config_path.read_text()), json.loads(summary_path.read_text()))
            )
    if not found:
        raise FileNotFoundError(
            f"no finished runs under {folder} (a run folder has config.json and summary.json); "
            f"make them with --run."
        )
    return found


def one_run(folder: Path) -> dict[str, Any]:
    """The summary of the single run in ``folder``."""
    runs = runs_under(folder)
    if len(runs) != 1:
        raise ValueError(f"{folder} holds {len(runs)} runs; expected one.")
    return runs[0][1]


def fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return f"{value:.{digits}g}"


# ------------------------------------------------------------------ the tables


def tour_table(folder: Path) -> tuple[list[str], list[list[Any]]]:
    """One row per tour member: its paradigm, seconds and headline numbers, from its own run folder."""
    from sandbox import experiment as ex

    tour = json.loads((folder / "summary.json").read_text())
    rows = []
    for config, summary in runs_under(folder):
        if config["experiment"] == "tour":
            continue
        exp = ex.get(config["experiment"])
        shown = ", ".join(f"{k}={fmt(summary[k])}" for k in exp.headline if k in summary)
        rows.append([exp.paradigm, exp.name, fmt(summary["seconds"], 3), shown])
    order = {name: i for i, name in enumerate(tour["experiments"])}
    rows.sort(key=lambda row: order.get(row[1], len(order)))
    rows += [["", name, "", "FAILED (see the tour's output)"] for name in tour.get("failed", [])]
    return ["paradigm", "experiment", "seconds", "headline numbers"], rows


def linear_regression_table(folder: Path) -> tuple[list[str], list[list[Any]]]:
    summary = one_run(folder)
    ref = summary["converged"]["closed form"]
    rows = [
        [method, fmt(r["w"]), fmt(r["b"]), fmt(r["mse"]), fmt(abs(r["w"] - ref["w"]), 2)]
        for method, r in summary["article"].items()
    ]
    return ["method (300 iterations, learning rate 0.1)", "w", "b", "mse", "|w - w*|"], rows


def bandit_table(folder: Path) -> tuple[list[str], list[list[Any]]]:
    ((config, summary),) = runs_under(folder)
    tail = config["settings"]["tail"]
    rows = [
        [agent, fmt(r["mean_reward"]), fmt(r["tail_reward"]), fmt(r["tail_optimal_pct"], 3)]
        for agent, r in summary["results"].items()
    ]
    return [
        "agent",
        "average reward (all steps)",
        f"average reward (last {tail})",
        f"% optimal action (last {tail})",
    ], rows


def grouped(folder: Path, key: str, metrics: tuple[str, ...]) -> tuple[list[str], list[list[Any]]]:
    """Runs grouped by the setting ``key`` (a sweep's grid): mean and range of each metric over seeds."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for config, summary in runs_under(folder):
        groups.setdefault(config["settings"][key], []).append(summary)
    rows = []
    for value, summaries in sorted(groups.items()):
        row: list[Any] = [fmt(value), len(summaries)]
        for m in metrics:
            vals = [float(s[m]) for s in summaries]
            row.append(f"{fmt(sum(vals) / len(vals))} ({fmt(min(vals))} to {fmt(max(vals))})")
        rows.append(row)
    return [key, "seeds", *(f"{m}: mean (min to max)" for m in metrics)], rows


def per_seed(folder: Path, metrics: tuple[str, ...]) -> tuple[list[str], list[list[Any]]]:
    rows = sorted(
        ([s["seed"], *(fmt(s.get(m, "")) for m in metrics)] for _, s in runs_under(folder))
    )
    return ["seed", *metrics], rows


def dqn_screening_table(folder: Path) -> tuple[list[str], list[list[Any]]]:
    """Seeds solved per (n_step, prioritized) setting of the DQN sweep."""
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for config, summary in runs_under(folder):
        s = config["settings"]
        groups.setdefault((s["n_step"], s["prioritized"]), []).append(summary)
    rows = []
    for (n_step, prioritized), summaries in sorted(groups.items()):
        solved = sorted(s["seed"] for s in summaries if s.get("solved_at_steps"))
        rows.append(
            [
                n_step,
                prioritized,
                f"{len(solved)}/{len(summaries)}",
                ", ".join(map(str, solved)) or "none",
            ]
        )
    return ["n_step", "prioritized", "seeds solved", "which"], rows


def suite_parts(folder: Path) -> list[dict[str, Any]]:
    """The suite runs in ``folder``: the folder itself, or each suite run directly inside it (a
    full suite made in parts, e.g. ``--set only=tabular,planning`` and ``--set only=deep``)."""
    if (folder / "summary.json").is_file():
        return [json.loads((folder / "summary.json").read_text())]
    return [_suite_part(p) for p in sorted(folder.iterdir()) if (p / "config.json").is_file()]


def _suite_part(folder: Path) -> dict[str, Any]:
    """One suite run's summary; for a suite stopped before it wrote one, the rows its finished runs
    give (sandbox.suite.rows_from_runs), marked as stopped."""
    if (folder / "summary.json").is_file():
        return json.loads((folder / "summary.json").read_text())
    from experiments.suite import references
    from sandbox.suite import rows_from_runs

    settings = json.loads((folder / "config.json").read_text())["settings"]
    rows = rows_from_runs(
        folder, settings["size"], settings["only"], references, settings.get("entries") or None
    )
    return {
        "size": settings["size"],
        "only": settings["only"],
        "stopped": True,
        "targets_met": sum(r["met"].startswith("met") for r in rows),
        "targets": sum(r["target"] != "-" for r in rows),
        "rows": rows,
    }


def suite_table(folder: Path) -> tuple[list[str], list[list[Any]]]:
    """The suite's own table: one row per entry, as its runs' summary.json keep them, in the
    order of the entries file."""
    from sandbox.suite import HEADERS, cells, load

    order = {e.id: i for i, e in enumerate(load())}  # other entries files keep their own order
    rows = [r for part in suite_parts(folder) for r in part["rows"]]
    rows.sort(key=lambda r: order.get(r["entry"], len(order)))
    return HEADERS, [cells(r) for r in rows]


BRIEF = ["entry", "agent", "preset", "budget", "seeds", "median", "reference", "target", "met"]


def suite_brief(folder: Path) -> tuple[list[str], list[list[Any]]]:
    """The suite's table cut to what the README shows: each entry's score beside its reference and
    target (docs/suite.md has the whole table from the same runs)."""
    headers, rows = suite_table(folder)
    keep = [headers.index(h) for h in BRIEF]
    return BRIEF, [[row[i] for i in keep] for row in rows]


def suite_note(folder: Path) -> str:
    parts = suite_parts(folder)
    sizes = sorted({p["size"] for p in parts})
    what = (
        "the budgets and seeds the targets are stated for"
        if sizes == ["full"]
        else "small budgets and one or two seeds: it shows the suite works, not what the agents "
        "reach; `sandbox run suite --set size=full` makes the full table"
    )
    only = "; ".join(p["only"] for p in parts if p.get("only"))
    only = f", only {only}" if only else ""
    stopped = [p["only"] or "all entries" for p in parts if p.get("stopped")]
    if stopped:
        only += (
            f"; stopped before it finished: {'; '.join(stopped)} (rows from the runs that finished;"
            " the seeds not run are named in the status column)"
        )
    met = sum(p["targets_met"] for p in parts)
    targets = sum(p["targets"] for p in parts)
    return (
        f"<sub>Suite size: {', '.join(sizes)}{only} ({what}). Targets met: {met} of "
        f"{targets}.</sub>"
    )


CARTPOLE = ("solved_at_steps", "solved_seconds", "eval_mean_return", "steps_per_second")

TABLES: dict[str, Table] = {
    "tour": Table(
        ("run tour --seed 0 --out {out}",), tour_table, "every paradigm's short run, seed 0"
    ),
    "linear-regression": Table(
        ("run linear-regression --seed 0 --out {out}",),
        linear_regression_table,
        "the article's line fitted four ways",
    ),
    "bandit": Table(
        ("run bandit --seed 0 --out {out}",),
        bandit_table,
        "Sutton & Barto's 10-armed testbed, 2000 runs",
    ),
    "learn-env-episodes": Table(
        ("sweep learn-env --grid budget=100,300,1000 --seeds 0,1,2 --out {out}",),
        lambda folder: grouped(folder, "budget", ("success_rate", "optimal_success_rate")),
        "Q-learning on the slippery 5x5 GridWorld: success against training episodes",
    ),
    "suite": Table(
        (
            "run suite --set size=full --set only=tabular,planning --set workers=2 --out {out}/tabular",
            "run suite --set size=full --set only=deep --set workers=2 --out {out}/deep",
        ),
        suite_table,
        "the benchmark suite, full size (hours on 2 cores)",
        suite_note,
    ),
    "suite-brief": Table(
        (),
        suite_brief,
        "the benchmark suite's scores, references and targets (the suite table's runs)",
        suite_note,
        runs_of="suite",
    ),
    "cartpole-seeds": Table(
        tuple(f"run cartpole --seed {n} --out {{out}}/seed={n}" for n in range(5)),
        lambda folder: per_seed(folder, CARTPOLE),
        "PolicyGradient on CartPole-v1, seeds 0-4 (minutes)",
    ),
    "dqn-cartpole-seeds": Table(
        tuple(f"run cartpole --seed {n} --set agent=dqn --out {{out}}/seed={n}" for n in range(5)),
        lambda folder: per_seed(folder, CARTPOLE),
        "DQN on CartPole-v1, seeds 0-4 (several minutes)",
    ),
    "dqn-screening": Table(
        (
            "sweep cartpole --grid agent=dqn --grid n_step=1,3 --grid prioritized=false,true "
            "--seeds 5,6,8,11,0,2 --backend process --out {out}",
        ),
        dqn_screening_table,
        "DQN with and without n-step returns and prioritized replay (about half an hour on 2 cores)",
    ),
}


# ------------------------------------------------------------------ machine and stamp


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> dict[str, Any]:
    versions = {}
    for pkg in ("numpy", "torch"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        **versions,
        "date": time.strftime("%Y-%m-%d"),
        "load_average": round(os.getloadavg()[0], 1),
    }


def stamp(name: str, folder: Path) -> str:
    """Where the runs ran and the commands that made them, from RUNS/NAME/machine.json."""
    path = folder / "machine.json"
    if not path.is_file():
        return (
            f"<sub>Runs in {folder}, made without `--run`: the machine was not recorded. "
            f"`python docs/tables.py --run {name}` makes them and records it.</sub>"
        )
    made = json.loads(path.read_text())
    commands = "; ".join(f"`{c}`" for c in made["commands"][:2])
    if len(made["commands"]) > 2:
        commands += f" and {len(made['commands']) - 2} more like them"
    load = (
        f", load average {made['load_average']} when they ended" if "load_average" in made else ""
    )
    return (
        f"<sub>Runs: {commands}; on {made['cpu']} ({made['cores']} cores{load}), Python {made['python']}, "
        f"torch {made['torch']}, numpy {made['numpy']}, {made['date']}. "
        f"Table: `python docs/tables.py --run {name}`.</sub>"
    )


def markdown(headers: list[str], rows: list[list[Any]]) -> str:
    def cells(row: list[Any]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"

    return "\n".join(
        [cells(headers), "|" + "|".join(" --- " for _ in headers) + "|", *map(cells, rows)]
    )


def render(name: str, runs: Path) -> str:
    table = TABLES[name]
    folder = runs / table.folder_name(name)
    headers, rows = table.build(folder)
    note = "\n\n" + table.note(folder) if table.note else ""
    return markdown(headers, rows) + "\n\n" + stamp(table.folder_name(name), folder) + note + "\n"


# ------------------------------------------------------------------ running and writing


def wanted_in_pages(pages: list[Path]) -> list[str]:
    names = []
    for page in pages:
        for m in MARKER.finditer(page.read_text()):
            if m["name"] not in TABLES:
                raise ValueError(
                    f"{page}: marker for unknown table {m['name']!r}; known: {', '.join(TABLES)}."
                )
            names.append(m["name"])
    return list(dict.fromkeys(names))


def run_table(name: str, runs: Path, sandbox: list[str]) -> None:
    """Make the table's runs into RUNS/NAME (a fresh folder); record the machine and the commands."""
    folder = runs / name
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(
            f"{folder} already holds runs; remove it, or write the table from it without --run."
        )
    folder.mkdir(parents=True, exist_ok=True)
    typed = []
    for command in TABLES[name].commands:
        args = shlex.split(command.format(out=folder))
        print("$ sandbox", shlex.join(args), flush=True)
        subprocess.run([*sandbox, *args], check=True)
        typed.append("sandbox " + shlex.join(args))
    (folder / "machine.json").write_text(
        json.dumps({**machine(), "commands": typed}, indent=2) + "\n"
    )


def write_pages(tables: dict[str, str], pages: list[Path]) -> list[Path]:
    """Put each rendered table between its markers; returns the pages changed."""
    changed = []
    for page in pages:
        text = page.read_text()
        new = MARKER.sub(
            lambda m: m[1] + tables[m["name"]] + m[4] if m["name"] in tables else m[0], text
        )
        if new != text:
            page.write_text(new)
            changed.append(page)
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "names",
        nargs="*",
        help=f"tables to make (default: those the pages ask for). Known: {', '.join(TABLES)}",
    )
    p.add_argument("--run", action="store_true", help="run the experiments first, into RUNS/NAME")
    p.add_argument(
        "--runs",
        type=Path,
        default=Path("runs/docs"),
        help="the folder of run folders (default runs/docs)",
    )
    p.add_argument(
        "--print",
        action="store_true",
        help="print the tables instead of writing them into the pages",
    )
    p.add_argument(
        "--sandbox",
        default=f"{shlex.quote(sys.executable)} -m sandbox.cli",
        help="how to call the sandbox command (default: this Python's -m sandbox.cli)",
    )
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in TABLES]
    if unknown:
        p.error(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    try:
        names = args.names or wanted_in_pages(PAGES)
        if args.run:
            for name in dict.fromkeys(TABLES[n].folder_name(n) for n in names):
                run_table(name, args.runs, shlex.split(args.sandbox))
        tables = {name: render(name, args.runs) for name in names}
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"tables.py: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(
            f"tables.py: error: {shlex.join(map(str, exc.cmd))} failed (exit {exc.returncode}); "
            f"its folder is kept for a look.",
            file=sys.stderr,
        )
        return 1
    if args.print:
        for name, text in tables.items():
            print(f"{name}: {TABLES[name].about}\n\n{text}")
        return 0
    for page in write_pages(tables, PAGES):
        print(f"wrote {page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}")
    missing = [n for n in tables if n not in wanted_in_pages(PAGES)]
    for name in missing:
        print(f"{name}: no page has its marker; printed instead\n\n{tables[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
