"""The benchmark suite: its entries as plain data, the runs they make, and the table they give.

The entries live in ``sandbox/suite.toml`` (its header says what each key means). Each is one
(env, agent) row; each of its runs is an ordinary ``learn-env`` run, one per seed, in
``RUN/<entry id>/<agent>/seed=<k>``, run through the sweep's process backend (a run that fails
or whose worker dies fails alone; a run with its ``summary.json`` is reused, so an interrupted
suite resumes where it stopped). Each entry's folder is a seed group (``sweep.json`` and
``summary.json`` beside the runs), so ``sandbox compare RUN/<entry id>`` reads it.

A row's reference is a published number with its source, or computed on the same evaluation
episodes as the runs: value iteration on the env's transition table (learn-env computes it in
each run) or the hand-coded :func:`basic_strategy` for Blackjack (computed here). Its target,
where the issue sets one, is checked on the median over seeds or on every seed (k of n).
Reading the entries parses TOML only: it never imports or runs code.
"""

from __future__ import annotations

import json
import statistics
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import stats
from sandbox.checks import close_matches
from sandbox.files import atomic_write_json

ENTRIES_FILE = Path(__file__).resolve().parent / "suite.toml"
SIZES = ("short", "full")
FAMILIES = ("tabular", "planning", "deep")
METRICS = ("mean_return", "success_rate", "exact_mean_return")
COMPARISONS = (">=", "between", "ratio>=", "within")
COMPUTED = ("value iteration", "basic strategy")
_ENTRY_KEYS = {
    "id",
    "family",
    "env",
    "env_kwargs",
    "agent",
    "agent_kwargs",
    "metric",
    "budget",
    "seeds",
    "eval_episodes",
    "reference",
    "target",
}
_FAMILY_KEYS = {"metric", "seeds", "eval_episodes", "budget"}


@dataclass(frozen=True)
class Reference:
    value: float | str  # a published number, or one of COMPUTED
    source: str

    @property
    def computed(self) -> bool:
        return isinstance(self.value, str)


@dataclass(frozen=True)
class Target:
    value: float | tuple[float, float]
    comparison: str
    per: str  # "median" or "every"

    def describe(self) -> str:
        where = "median of the seeds" if self.per == "median" else "every seed"
        if self.comparison == ">=":
            text = f">= {self.value:g}"
        elif self.comparison == "between":
            low, high = self.value
            text = f"{low:g} to {high:g}"
        elif self.comparison == "ratio>=":
            text = f">= {self.value:g} x reference"
        else:
            text = f"within {self.value:g} of reference"
        return f"{text} ({where})"

    def holds(self, score: float, reference: float | None) -> bool | None:
        """Whether ``score`` meets the target; None when it needs a reference that is missing."""
        if self.comparison == ">=":
            return score >= self.value
        if self.comparison == "between":
            low, high = self.value
            return low <= score <= high
        if reference is None:
            return None
        if self.comparison == "ratio>=":
            return score >= self.value * reference
        return abs(score - reference) <= self.value


@dataclass(frozen=True)
class Entry:
    id: str
    family: str
    env: str
    agent: str
    metric: str
    budget: dict[str, int | None] = field(hash=False)
    seeds: dict[str, list[int]] = field(hash=False)
    eval_episodes: dict[str, int] = field(hash=False)
    env_kwargs: str = ""
    agent_kwargs: str = ""
    reference: Reference | None = None
    target: Target | None = None

    def env_kwargs_for(self, seed: int) -> str:
        """learn-env's env_kwargs for the run with ``seed`` (``{seed}`` replaced: map K for seed K)."""
        return self.env_kwargs.replace("{seed}", str(seed))

    def sets(self, size: str, seed: int) -> dict[str, str]:
        """The learn-env settings of this entry's run with ``seed`` at ``size``."""
        out = {
            "env": self.env,
            "env_kwargs": self.env_kwargs_for(seed),
            "agent": self.agent,
            "eval_episodes": str(self.eval_episodes[size]),
        }
        if self.budget[size] is not None:
            out["budget"] = str(self.budget[size])
        if self.agent_kwargs:
            out["agent_kwargs"] = self.agent_kwargs
        return out


# ------------------------------------------------------------------ reading the entries


def load(path: str | Path | None = None) -> list[Entry]:
    """The entries of ``path`` (default: the suite's own ``sandbox/suite.toml``), checked."""
    path = Path(path) if path else ENTRIES_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"suite entries {path} could not be read as TOML: {exc}") from None
    unknown = set(data) - {"sizes", "family", "entry"}
    if unknown:
        raise ValueError(
            f"suite entries {path}: unknown table(s) {', '.join(sorted(unknown))}; "
            "allowed: sizes, family, entry."
        )
    defaults = data.get("family", {})
    for name, table in defaults.items():
        if name not in FAMILIES or not isinstance(table, dict) or set(table) - _FAMILY_KEYS:
            raise ValueError(
                f"suite entries {path}: [family.{name}] must be one of {', '.join(FAMILIES)} "
                f"with keys among {', '.join(sorted(_FAMILY_KEYS))}."
            )
    raw = data.get("entry", [])
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"suite entries {path}: no [[entry]] tables.")
    entries: list[Entry] = []
    for i, table in enumerate(raw):
        where = f"suite entries {path}, entry {table.get('id', i + 1)!r}"
        entries.append(_entry(table, defaults, where))
    ids = [e.id for e in entries]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"suite entries {path}: ids {repeated} appear more than once.")
    return entries


def _entry(table: dict[str, Any], defaults: dict[str, Any], where: str) -> Entry:
    unknown = set(table) - _ENTRY_KEYS
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(_ENTRY_KEYS))}."
        )
    for key in ("id", "family", "env", "agent"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise ValueError(f"{where}: '{key}' must be a non-empty string.")
    if table["family"] not in FAMILIES:
        raise ValueError(f"{where}: family {table['family']!r} is not one of {FAMILIES}.")
    if table["id"] in FAMILIES:
        raise ValueError(f"{where}: an id cannot be a family name ({', '.join(FAMILIES)}).")
    merged = {**defaults.get(table["family"], {}), **table}
    metric = merged.get("metric", "mean_return")
    if metric not in METRICS:
        raise ValueError(f"{where}: metric {metric!r} is not one of {', '.join(METRICS)}.")
    planning = table["family"] == "planning"
    if planning and "budget" in table:
        raise ValueError(f"{where}: planners take no budget; drop 'budget'.")
    budget = (
        dict.fromkeys(SIZES)
        if planning
        else _per_size(merged.get("budget"), "budget", where, positive_int=True)
    )
    seeds = {
        size: stats.parse_seeds(str(text))
        for size, text in _per_size(merged.get("seeds"), "seeds", where).items()
    }
    eval_episodes = _per_size(
        merged.get("eval_episodes"), "eval_episodes", where, positive_int=True
    )
    for key in ("env_kwargs", "agent_kwargs"):
        if not isinstance(merged.get(key, ""), str):
            raise ValueError(f"{where}: '{key}' must be a string such as \"map_name='8x8'\".")
    return Entry(
        id=table["id"],
        family=table["family"],
        env=table["env"],
        agent=table["agent"],
        metric=metric,
        budget=budget,
        seeds=seeds,
        eval_episodes=eval_episodes,
        env_kwargs=merged.get("env_kwargs", ""),
        agent_kwargs=merged.get("agent_kwargs", ""),
        reference=_reference(merged.get("reference"), where),
        target=_target(merged.get("target"), where),
    )


def _per_size(value: Any, key: str, where: str, *, positive_int: bool = False) -> dict[str, Any]:
    if value is None:
        raise ValueError(f"{where}: '{key}' is missing (give {{ short = ..., full = ... }}).")
    table = value if isinstance(value, dict) else dict.fromkeys(SIZES, value)
    if set(table) != set(SIZES):
        raise ValueError(f"{where}: '{key}' must give short and full, got {sorted(table)}.")
    if positive_int:
        for size, v in table.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{where}: {key}.{size}={v!r} must be an integer >= 1.")
    return dict(table)


def _reference(value: Any, where: str) -> Reference | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"value", "source"}:
        raise ValueError(f'{where}: reference must be {{ value = ..., source = "..." }}.')
    v, source = value["value"], value["source"]
    ok = v in COMPUTED if isinstance(v, str) else isinstance(v, int | float)
    if not ok or isinstance(v, bool) or not isinstance(source, str) or not source.strip():
        raise ValueError(
            f"{where}: reference value {v!r} must be a number or one of {', '.join(COMPUTED)}, "
            "with a non-empty source."
        )
    return Reference(v if isinstance(v, str) else float(v), source)


def _target(value: Any, where: str) -> Target | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not {"value", "comparison"} <= set(value) <= {
        "value",
        "comparison",
        "per",
    }:
        raise ValueError(f"{where}: target must be {{ value, comparison, per }}.")
    comparison, per, v = value["comparison"], value.get("per", "median"), value["value"]
    if comparison not in COMPARISONS:
        raise ValueError(f"{where}: target comparison {comparison!r} is not one of {COMPARISONS}.")
    if per not in ("median", "every"):
        raise ValueError(f"{where}: target per {per!r} must be 'median' or 'every'.")
    if comparison == "between":
        if not (isinstance(v, list) and len(v) == 2 and v[0] <= v[1]):
            raise ValueError(f"{where}: a 'between' target's value is [low, high].")
        return Target((float(v[0]), float(v[1])), comparison, per)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{where}: target value {v!r} must be a number.")
    return Target(float(v), comparison, per)


def select(entries: list[Entry], only: str) -> list[Entry]:
    """The entries ``only`` names (entry ids or family names, comma-separated); all when empty."""
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    if not wanted:
        return list(entries)
    ids = [e.id for e in entries]
    for w in wanted:
        if w not in ids and w not in FAMILIES:
            hint = close_matches(w, [*ids, *FAMILIES])
            did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
            raise ValueError(
                f"--set only={only!r}: {w!r} is neither an entry id nor a family.{did} "
                f"Families: {', '.join(FAMILIES)}. Entry ids: {', '.join(ids)}."
            )
    return [e for e in entries if e.id in wanted or e.family in wanted]


# ------------------------------------------------------------------ the basic strategy


def basic_strategy(obs: tuple[int, int, int]) -> int:
    """Blackjack's basic strategy without doubling or splitting: 1 (hit) or 0 (stick).

    obs : (player sum, dealer's showing card with 1 for an ace, usable ace 0/1), as Blackjack-v1 gives it
    """
    player, dealer, usable_ace = (int(v) for v in obs)
    if usable_ace:
        return int(player <= 17 or (player == 18 and dealer in (1, 9, 10)))
    if player <= 11:
        return 1
    if player == 12:
        return int(dealer not in (4, 5, 6))
    if player <= 16:
        return int(not 2 <= dealer <= 6)
    return 0


def computed_reference(entry: Entry, seed: int, episodes: int) -> float:
    """The basic strategy's score on the episodes learn-env evaluates the run with ``seed`` on
    (``evaluate(..., seed=seed)``: episode i is reset with seed + i)."""
    from sandbox.rollout import evaluate

    return float(evaluate(basic_strategy, entry.env, episodes=episodes, seed=seed)[entry.metric])


# ------------------------------------------------------------------ running


def plan_runs(entries: list[Entry], size: str) -> list[dict[str, Any]]:
    """One run per (entry, seed): its learn-env settings and its folder under the suite's run folder.

    The longest runs go first (deep ones, then tabular, then planners, each by budget), so that the
    workers do not end with one long run each left alone; the table keeps the entries' order.
    """
    first = {"deep": 0, "tabular": 1, "planning": 2}
    ordered = sorted(entries, key=lambda e: (first[e.family], -(e.budget[size] or 0)))
    return [
        {
            "entry": e.id,
            "sets": e.sets(size, seed),
            "seed": seed,
            "label": e.agent,
            "dir": f"{e.id}/{e.agent}/seed={seed}",
        }
        for e in ordered
        for seed in e.seeds[size]
    ]


def execute(
    runs: list[dict[str, Any]],
    out: Path,
    workers: int,
    on_done: Callable[[dict[str, Any], dict[str, Any]], None],
) -> None:
    """Run ``runs`` (from :func:`plan_runs`) on the sweep's process backend, ``workers`` at a time."""
    from sandbox import experiment as ex
    from sandbox.sweep import execute_runs

    if runs:
        execute_runs(runs, ex.get("learn-env"), out, "process", workers, on_done)


def write_group(entry: Entry, size: str, runs: list[dict[str, Any]], results: dict, out: Path):
    """Make ``out/<entry id>`` a seed group for ``sandbox compare``: its sweep.json and summary.json."""
    folder = out / entry.id
    folder.mkdir(parents=True, exist_ok=True)
    mine = [r for r in runs if r["entry"] == entry.id]
    sets = entry.sets(size, entry.seeds[size][0])
    if "{seed}" in entry.env_kwargs:
        sets["env_kwargs"] = entry.env_kwargs
    atomic_write_json(
        folder / "sweep.json",
        {
            "experiment": "learn-env",
            "grid": {k: [v] for k, v in sets.items()},
            "seeds": entry.seeds[size],
            "backend": "process",
            "suite_entry": entry.id,
        },
    )
    ok = [results[r["dir"]]["summary"] for r in mine if results[r["dir"]]["ok"]]
    keys = stats.metric_keys(ok, ("mean_return", "success_rate"))
    atomic_write_json(
        folder / "summary.json",
        {
            "experiment": "learn-env",
            "runs": len(mine),
            "failed": [
                f"{r['label']} seed={r['seed']}: {results[r['dir']]['error']}"
                for r in mine
                if not results[r["dir"]]["ok"]
            ],
            "points": {entry.agent: stats.aggregate(ok, keys)} if ok else {},
        },
    )


# ------------------------------------------------------------------ the table

HEADERS = [
    "entry",
    "env",
    "agent",
    "preset",
    "budget",
    "seeds",
    "metric",
    "median",
    "mean (95 % CI)",
    "reference",
    "reference source",
    "target",
    "met",
    "wall s/run",
    "status",
]


def row(
    entry: Entry,
    size: str,
    summaries: dict[int, dict[str, Any]],
    errors: dict[int, str],
    references: dict[int, float],
    why_not: str | None = None,
) -> dict[str, Any]:
    """One row of the table (as a dict keyed like :data:`HEADERS`, plus the numbers behind it).

    summaries : seed -> the learn-env summary of each run that finished
    errors : seed -> the error of each run that failed
    references : seed -> the reference computed on that run's episodes (computed references only)
    """
    seeds = entry.seeds[size]
    unit = next((s.get("budget_unit") for s in summaries.values() if s.get("budget_unit")), None)
    unit = unit or ("steps" if entry.family == "deep" else "episodes")
    budget = entry.budget[size]
    presets = {s.get("preset") for s in summaries.values()}
    out: dict[str, Any] = {
        "entry": entry.id,
        "family": entry.family,
        "env": entry.env + (f" ({entry.env_kwargs})" if entry.env_kwargs else ""),
        "agent": entry.agent,
        "preset": ", ".join(sorted(p or "defaults" for p in presets)) if presets else "-",
        "budget": "-" if budget is None else f"{budget:,} {unit}",
        "budget_value": budget,
        "budget_unit": None if budget is None else unit,
        "seeds": _seeds_text(seeds),
        "seed_list": seeds,
        "eval_episodes": entry.eval_episodes[size],
        "metric": entry.metric,
        "scores": {str(s): summaries[s].get(entry.metric) for s in sorted(summaries)},
        "median": None,
        "mean": None,
        "ci_low": None,
        "ci_high": None,
        "reference": None,
        "reference source": entry.reference.source if entry.reference else "-",
        "target": entry.target.describe() if entry.target else "-",
        "met": "-",
        "wall s/run": None,
        "wall_seconds_total": None,
        "status": why_not or _status(seeds, summaries, errors),
        "errors": {str(s): e for s, e in errors.items()},
    }
    refs = _references(entry, seeds, summaries, references)
    if refs:
        out["reference"] = statistics.mean(refs.values())
        out["references"] = {str(s): v for s, v in refs.items()}
    if why_not is not None:
        out["met"] = "not available" if entry.target else "-"
        return out
    scores = {
        s: float(v[entry.metric])
        for s, v in summaries.items()
        if stats.is_number(v.get(entry.metric))
    }
    if scores:
        described = stats.describe(scores.values())
        out.update(
            median=statistics.median(scores.values()),
            mean=described["mean"],
            ci_low=described["ci_low"],
            ci_high=described["ci_high"],
        )
        walls = [
            float(s["seconds"]) for s in summaries.values() if stats.is_number(s.get("seconds"))
        ]
        if walls:
            out["wall s/run"] = statistics.median(walls)
            out["wall_seconds_total"] = sum(walls)
    if entry.target is not None:
        out["met"] = _met(entry.target, seeds, scores, refs)
    return out


def _status(seeds: list[int], summaries: dict, errors: dict) -> str:
    """ok; or how many runs failed (with the first one's error) and how many never ran."""
    if len(summaries) == len(seeds):
        return "ok"
    missing = [s for s in seeds if s not in summaries]
    not_run = [s for s in missing if errors.get(s, "not run").startswith("not run")]
    failed = [s for s in missing if s not in not_run]
    parts = []
    if failed:
        parts.append(f"failed: {len(failed)} of {len(seeds)} runs ({errors[failed[0]]})")
    if not_run:
        parts.append(f"not run: {len(not_run)} of {len(seeds)} runs")
    return "; ".join(parts)


def _references(
    entry: Entry,
    seeds: list[int],
    summaries: dict[int, dict[str, Any]],
    computed: dict[int, float],
) -> dict[int, float]:
    """seed -> reference: a published number for every seed, a computed one per finished run."""
    ref = entry.reference
    if ref is None:
        return {}
    if not ref.computed:
        return dict.fromkeys(seeds, float(ref.value))
    if ref.value == "value iteration":
        key = f"optimal_{entry.metric}"
        return {s: float(v[key]) for s, v in summaries.items() if stats.is_number(v.get(key))}
    return {s: v for s, v in computed.items() if s in summaries}


def _met(target: Target, seeds: list[int], scores: dict[int, float], refs: dict[int, float]) -> str:
    if target.per == "every":
        verdicts = [target.holds(scores[s], refs.get(s)) if s in scores else False for s in seeds]
        if any(v is None for v in verdicts):
            return "unknown (no reference)"
        k = sum(bool(v) for v in verdicts)
        return f"{'met' if k == len(seeds) else 'not met'} ({k} of {len(seeds)} seeds)"
    if len(scores) < len(seeds):
        return f"unknown ({len(seeds) - len(scores)} of {len(seeds)} runs did not finish)"
    ref = statistics.median(refs.values()) if refs else None
    verdict = target.holds(statistics.median(scores.values()), ref)
    return "unknown (no reference)" if verdict is None else ("met" if verdict else "not met")


def _seeds_text(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def cells(r: dict[str, Any]) -> list[Any]:
    """The printed cells of a row from :func:`row`."""

    def num(v: Any, digits: int = 4) -> str:
        return "-" if v is None else f"{v:.{digits}g}"

    mean = num(r["mean"])
    if r["ci_low"] is not None:
        mean += f" [{num(r['ci_low'])}, {num(r['ci_high'])}]"
    return [
        r["entry"],
        r["env"],
        r["agent"],
        r["preset"],
        r["budget"],
        r["seeds"],
        r["metric"],
        num(r["median"]),
        mean,
        num(r["reference"]),
        r["reference source"],
        r["target"],
        r["met"],
        num(r["wall s/run"], 3),
        r["status"],
    ]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def rows_from_runs(
    folder: str | Path,
    size: str,
    only: str = "",
    references: Callable[[Entry, str, dict, Path], dict[int, float]] | None = None,
    entries: str | Path | None = None,
) -> list[dict[str, Any]]:
    """The table's rows from the run folders under ``folder`` alone, for a suite that did not
    finish (stopped, or still running): an entry with at least one finished or failed run gets its
    row, its unfinished seeds shown as not run; an entry with none is left out. ``references(entry, size,
    summaries, entry_folder)`` gives the computed references (the suite's own, which computes the
    basic strategy on the same episodes once and keeps it in the entry's folder); ``entries`` the
    entries file the suite ran (None: the suite's own)."""
    folder = Path(folder)
    rows = []
    for e in select(load(entries), only):
        summaries, errors, failed = {}, {}, False
        for seed in e.seeds[size]:
            run = folder / e.id / e.agent / f"seed={seed}"
            if (run / "summary.json").is_file():
                summaries[seed] = read_json(run / "summary.json")
            elif (run / "error.txt").is_file():
                lines = (run / "error.txt").read_text(errors="replace").strip().splitlines()
                errors[seed], failed = (lines[-1] if lines else "failed"), True
            else:
                errors[seed] = "not run: the suite was stopped before this run"
        if not summaries and not failed:
            continue
        refs = references(e, size, summaries, folder / e.id) if references else {}
        rows.append(row(e, size, summaries, errors, refs))
    return rows
