"""Compare runs: single run folders, seed groups and sweeps, in any mix.

    sandbox compare runs/a runs/b runs/sweep-x/20250101-120000 [--out DIR]

Each input becomes one or more *settings* (a run folder: one setting with one
run; a seed group or a sweep: one setting per grid point, with a run per seed).
For each setting and headline metric the comparison gives the mean, the spread
and a 95 % Student t confidence interval of the mean over its seeds (see
:mod:`sandbox.stats`); a terminal table says which setting leads each metric
and whether its interval overlaps the runner-up's. Runs that failed, did not
converge or were not solved are counted as such, never as ``ok``. The report
(``report.md`` and a self-contained ``report.html``) adds the metrics.csv
curves of all seeds as mean curves with 95 % bands.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import experiment as ex
from sandbox import plots, stats
from sandbox.files import atomic_write_json
from sandbox.report import Report

# Metrics whose name says smaller is better; every other metric leads when larger. A summary does not
# say which way is better, so the table states that the direction is guessed from the name.
LOWER_IS_BETTER = re.compile(
    r"loss|mse|mae|error|regret|gap|diff|seconds|steps_to|_at_steps|_at_episode|inertia"
)
MAX_FIGURES = 12


@dataclass
class RunRecord:
    dir: Path
    seed: int | None
    summary: dict[str, Any] | None
    status: str


@dataclass
class Setting:
    """One point of comparison: an experiment, its settings (seed aside) and its runs."""

    experiment: str
    settings: dict[str, Any]
    source: Path
    runs: list[RunRecord] = field(default_factory=list)
    label: str = ""

    def ok_summaries(self) -> list[dict[str, Any]]:
        """Summaries of every run that finished (not converged and not solved included: their numbers are real)."""
        return [r.summary for r in self.runs if r.summary is not None]

    def status_text(self) -> str:
        counts: dict[str, int] = {}
        for r in self.runs:
            word = "failed" if r.status.startswith("failed") else r.status
            counts[word] = counts.get(word, 0) + 1
        return ", ".join(
            f"{n} {w}" for w, n in sorted(counts.items(), key=lambda kv: kv[0] != "ok")
        )


# ------------------------------------------------------------------ loading


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path} is not readable JSON ({exc}).") from None


def _run_record(folder: Path, error: str | None = None) -> tuple[RunRecord, dict[str, Any]]:
    config = _read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    summary = _read_json(folder / "summary.json") if (folder / "summary.json").is_file() else None
    seed = config.get("seed", (summary or {}).get("seed"))
    if summary is None and error is None:
        error = "no summary.json (the run did not finish)"
    return RunRecord(folder, seed, summary, stats.run_status(summary, error)), config


def load(path: str | Path) -> list[Setting]:
    """The settings in ``path``: a run folder, a seed group or a sweep (a folder with sweep.json)."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a folder; give run folders, seed groups or sweeps.")
    if (path / "sweep.json").is_file():
        return _load_sweep(path)
    if (path / "config.json").is_file():
        record, config = _run_record(path)
        settings = {k: v for k, v in config.get("settings", {}).items() if k != "seed"}
        return [Setting(config.get("experiment", "?"), settings, path, [record])]
    raise ValueError(
        f"{path} is not a run folder, a seed group or a sweep: it has neither config.json nor sweep.json."
    )


def _load_sweep(path: Path) -> list[Setting]:
    meta = _read_json(path / "sweep.json")
    errors: dict[str, str] = {}
    if (path / "summary.json").is_file():
        for line in _read_json(path / "summary.json").get("failed", []):
            where, _, error = line.partition(": ")
            errors[where] = error
    points: dict[str, Setting] = {}
    for folder in sorted(path.glob("*/seed=*"), key=lambda p: (p.parent.name, _seed_of(p))):
        where = f"{folder.parent.name} seed={_seed_of(folder)}"
        record, config = _run_record(folder, errors.get(where))
        if record.seed is None:
            record.seed = _seed_of(folder)
        settings = {k: v for k, v in config.get("settings", {}).items() if k != "seed"}
        point = points.setdefault(
            folder.parent.name, Setting(meta.get("experiment", "?"), settings, path)
        )
        if settings and not point.settings:
            point.settings = settings
        point.runs.append(record)
    if not points:
        raise ValueError(
            f"{path} has sweep.json but no run folders (<settings>/seed=<n>); did the sweep start?"
        )
    return list(points.values())


def _seed_of(folder: Path) -> int:
    try:
        return int(folder.name.partition("=")[2])
    except ValueError:
        return -1


# ------------------------------------------------------------------ comparing


def differing_settings(settings: list[Setting]) -> list[str]:
    keys: list[str] = []
    for s in settings:
        keys += [k for k in s.settings if k not in keys]
    return stats.varying([s.settings for s in settings], keys)


def _label(settings: list[Setting]) -> None:
    keys = differing_settings(settings)
    several = len({s.experiment for s in settings}) > 1
    for s in settings:
        parts = [s.experiment] if several else []
        parts += [f"{k}={_short(s.settings.get(k))}" for k in keys]
        s.label = ", ".join(parts) or s.source.name
    labels = [s.label for s in settings]
    for s in settings:  # same settings from different folders: tell them apart by folder
        if labels.count(s.label) > 1:
            s.label = f"{s.label} ({s.source.name})" if s.label != s.source.name else str(s.source)


def _short(v: Any) -> str:
    if isinstance(v, list):
        return "(" + ",".join(map(str, v)) + ")"
    return str(v)


def headline(settings: list[Setting]) -> list[str]:
    known = ex.discover()
    keys: list[str] = []
    for name in dict.fromkeys(s.experiment for s in settings):
        exp_keys = list(known[name].headline) if name in known else []
        summaries = [x for s in settings if s.experiment == name for x in s.ok_summaries()]
        keys += [k for k in stats.metric_keys(summaries, exp_keys) if k not in keys]
        keys += [k for s in summaries for k in s if stats.THRESHOLD_KEY.search(k) and k not in keys]
    return keys


def lower_is_better(metric: str) -> bool:
    return bool(LOWER_IS_BETTER.search(metric))


def leaders(
    settings: list[Setting], table: dict[str, dict[str, dict[str, Any]]], metrics: list[str]
) -> list[list[Any]]:
    """Per metric: the leading setting, its value, the runner-up, and whether their intervals overlap."""
    rows = []
    for m in metrics:
        ranked = [
            (s.label, table[s.label][m]) for s in settings if table[s.label].get(m, {}).get("n")
        ]
        if len(ranked) < 2:
            continue
        low = lower_is_better(m)
        ranked.sort(key=lambda kv: kv[1]["mean"], reverse=not low)
        (best, b), (second, c) = ranked[0], ranked[1]
        ov = stats.overlap(b, c)
        verdict = {
            None: "unknown (a setting has 1 run)",
            True: "yes: the lead may be noise",
            False: "no: the lead is more than noise",
        }[ov]
        rows.append(
            [m, "lower" if low else "higher", best, stats.fmt(b), second, stats.fmt(c), verdict]
        )
    return rows


def compare(
    paths: list[str | Path],
    out: str | Path | None = None,
    *,
    quiet: bool = False,
    title: str | None = None,
) -> dict[str, Any]:
    """Compare the runs in ``paths``; print the table, write report.md and report.html into ``out``.

    Returns ``{"settings": {label: {"status", "settings", "metrics"}}, "leaders": [...],
    "differing": [...], "report": path of report.html}`` (also written as comparison.json).
    """
    if not paths:
        raise ValueError("compare needs at least one folder: run folders, seed groups or sweeps.")
    settings = [s for p in paths for s in load(p)]
    _label(settings)
    metrics = headline(settings)
    table = {s.label: stats.aggregate(s.ok_summaries(), metrics) for s in settings}
    shown = (
        metrics
        if len(settings) == 1
        else [
            m
            for m in metrics
            if len({repr(table[s.label].get(m, {}).get("mean")) for s in settings}) > 1
        ]
    )
    differing = differing_settings(settings)
    lead = leaders(settings, table, shown)
    headers = ["setting", "runs", *shown]
    rows = [
        [s.label, s.status_text(), *(stats.fmt(table[s.label].get(m)) for m in shown)]
        for s in settings
    ]
    lead_headers = [
        "metric",
        "better (guessed from its name)",
        "leader",
        "leader's value",
        "runner-up",
        "runner-up's value",
        "95 % intervals overlap?",
    ]
    say = (lambda *a: None) if quiet else print
    say(ex.format_table(headers, rows))
    dropped = [m for m in metrics if m not in shown]
    if dropped:
        say(f"(the same in every setting, so not shown: {', '.join(dropped)})")
    if lead:
        say("")
        say(ex.format_table(lead_headers, lead))
    if differing:
        say("settings that differ: " + ", ".join(differing))
    say(f"values: mean +/- half-width of the {stats.INTERVAL_NAME}")
    if (
        out is None
    ):  # a seed group or sweep keeps its report; a run folder's own report.html is left alone
        out = (
            Path(paths[0])
            if len(paths) == 1 and (Path(paths[0]) / "sweep.json").is_file()
            else ex.default_out("compare")
        )
    report = build_report(
        settings, headers, rows, lead_headers, lead, differing, dropped, title=title
    )
    md, page = report.write(out)
    result = {
        "settings": {
            s.label: {
                "status": s.status_text(),
                "settings": s.settings,
                "metrics": table[s.label],
                "runs": [str(r.dir) for r in s.runs],
            }
            for s in settings
        },
        "leaders": [dict(zip(lead_headers, r)) for r in lead],
        "differing": differing,
        "interval": stats.INTERVAL_NAME,
        "report": str(page),
    }
    atomic_write_json(Path(out) / "comparison.json", result)
    say(f"report: {page}  (and {md})")
    return result


# ------------------------------------------------------------------ report


def build_report(
    settings: list[Setting],
    headers: list[str],
    rows: list[list[Any]],
    lead_headers: list[str],
    lead: list[list[Any]],
    differing: list[str],
    dropped: list[str],
    *,
    title: str | None = None,
) -> Report:
    experiments = list(dict.fromkeys(s.experiment for s in settings))
    report = Report(title or f"Comparison: {', '.join(experiments)}")
    n_runs = sum(len(s.runs) for s in settings)
    report.text(
        f"{len(settings)} setting(s), {n_runs} run(s). Each value is the mean over a setting's seeds "
        f"+/- the half-width of its {stats.INTERVAL_NAME}; n is the number of finished runs. "
        "A run that failed, did not converge or was not solved is counted as such in the runs column."
    )
    report.heading("Results")
    report.table(headers, rows)
    if dropped:
        report.text(
            f"Left out because every setting has the same value: {', '.join(dropped)}.", note=True
        )
    if lead:
        report.heading("Who leads, and is it more than noise?")
        report.table(lead_headers, lead)
        report.text(
            "When the two 95 % intervals overlap, these seeds do not show that the leader is better; "
            "more seeds narrow the intervals.",
            note=True,
        )
    report.heading("Settings")
    if differing:
        report.table(
            ["setting", *differing],
            [[s.label, *(_short(s.settings.get(k)) for k in differing)] for s in settings],
        )
    else:
        report.text("All settings are the same (apart from the seed).")
    figures = curve_figures(settings)
    if figures:
        report.heading("Curves over training")
        report.text(
            "Each line is the mean over a setting's seeds, on a common x axis (interpolated where the "
            "seeds logged different x values); the shaded band is the 95 % t interval of that mean.",
            note=True,
        )
        for name, fig, caption in figures:
            report.figure(fig, name, caption)
    report.heading("Run folders")
    report.table(
        ["setting", "seed", "status", "folder"],
        [[s.label, r.seed, r.status, str(r.dir)] for s in settings for r in s.runs],
    )
    return report


def curve_figures(settings: list[Setting]) -> list[tuple[str, Any, str]]:
    """A banded figure per (series, metric) of metrics.csv, one band per setting."""
    per_key: dict[tuple[str, str], dict[str, list[tuple[Any, Any]]]] = {}
    for s in settings:
        for r in s.runs:
            if r.summary is None:
                continue
            for key, xy in stats.read_metrics(r.dir / "metrics.csv").items():
                per_key.setdefault(key, {}).setdefault(s.label, []).append(xy)
    figures = []
    for (series, metric), by_setting in list(per_key.items())[:MAX_FIGURES]:
        if max(len(xs[0]) for xs in by_setting.values()) < 2:
            continue  # a single point is not a curve
        try:
            drawn = {label: stats.band(curves) for label, curves in by_setting.items()}
        except ValueError:
            continue  # the seeds' x ranges do not overlap: no common axis to average on
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"curve_{series}_{metric}")
        fig = plots.bands(drawn, xlabel="step", ylabel=metric, title=f"{series}: {metric}")
        figures.append((name, fig, f"{metric} of {series}: mean over seeds with 95 % band"))
    return figures
