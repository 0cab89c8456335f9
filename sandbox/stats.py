"""Statistics over runs: seeds, confidence intervals, run status, curves with bands.

Every interval here is a 95 % Student t confidence interval for the mean of the
runs' values: ``mean +/- t(0.975, n - 1) * std / sqrt(n)``, with ``std`` the
sample standard deviation (ddof=1). It needs n >= 2 runs; with one run the
interval is unknown (None), never zero width. The t interval assumes the
per-seed values are independent draws from a roughly normal spread; with 3 to 5
seeds it is wide, which is the honest answer.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as _scipy_stats

CONFIDENCE = 0.95
INTERVAL_NAME = "95 % Student t confidence interval of the mean (n >= 2 runs)"

# Summary flags that make a finished run something other than "ok", and the word shown instead.
FLAGS = {
    "converged_within_tolerance": "not converged",
    "converged": "not converged",
    "solved": "not solved",
    "target_met": "target not met",
}
# Summary keys that measure the cost of reaching a threshold: absent (None) in a run that never got there.
THRESHOLD_KEY = re.compile(
    r"(^steps_to_|^seconds_to_|^episodes_to_|_at_steps$|_at_episode$|^solved_seconds$)"
)


# ------------------------------------------------------------------ seeds


def parse_seeds(text: str | int | Sequence[int]) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5-7"`` -> [0, 2, 5, 6, 7]; an int or a list passes through.

    Ranges are inclusive. Seeds must be integers >= 0, each given once.
    """
    if isinstance(text, bool):
        raise ValueError(f"seeds={text!r}: expected integers >= 0 such as 0-4 or 0,2,5-7.")
    if isinstance(text, int):
        items: list[int] = [text]
    elif isinstance(text, str):
        items = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            m = re.fullmatch(r"(\d+)\s*-\s*(\d+)|(\d+)", part)
            if m is None:
                raise ValueError(
                    f"--seeds {text!r}: {part!r} is not a seed or a range; "
                    "expected integers >= 0 and inclusive ranges, e.g. 0-4 or 0,2,5-7."
                )
            if m.group(3) is not None:
                items.append(int(m.group(3)))
                continue
            low, high = int(m.group(1)), int(m.group(2))
            if high < low:
                raise ValueError(
                    f"--seeds {text!r}: the range {part!r} runs backwards; write it low-high, e.g. {high}-{low}."
                )
            items.extend(range(low, high + 1))
    else:
        items = [int(s) for s in text]
    if not items:
        raise ValueError(f"--seeds {text!r} names no seed; give at least one, e.g. 0-4 or 0,1,2.")
    negative = [s for s in items if s < 0]
    if negative:
        raise ValueError(f"seeds {negative} are negative; seeds are integers >= 0.")
    repeated = sorted({s for s in items if items.count(s) > 1})
    if repeated:
        raise ValueError(
            f"--seeds {text!r} repeats {repeated}; each seed once (a repeat would count the same run twice)."
        )
    return items


# ------------------------------------------------------------------ numbers


def describe(values: Iterable[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Mean, sample std, min, max, n and the Student t interval of the mean of ``values``.

    Returns ``{"mean", "std", "min", "max", "n", "ci_low", "ci_high", "half_width"}``; with
    n == 1 ``std`` is 0.0 and the interval fields are None (one run says nothing about spread).
    """
    v = np.asarray([float(x) for x in values], dtype=float)
    if v.size == 0:
        raise ValueError("describe() needs at least one value.")
    if not np.all(np.isfinite(v)):
        raise ValueError(
            f"describe() got non-finite values {v[~np.isfinite(v)].tolist()}; they have no mean."
        )
    n = int(v.size)
    mean = float(v.mean())
    out: dict[str, Any] = {
        "mean": mean,
        "std": 0.0,
        "min": float(v.min()),
        "max": float(v.max()),
        "n": n,
        "ci_low": None,
        "ci_high": None,
        "half_width": None,
    }
    if n >= 2:
        std = float(v.std(ddof=1))
        half = float(_scipy_stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
        out.update(std=std, ci_low=mean - half, ci_high=mean + half, half_width=half)
    return out


def overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool | None:
    """Whether two :func:`describe` intervals overlap; None when either is unknown (n < 2)."""
    if a.get("ci_low") is None or b.get("ci_low") is None:
        return None
    return not (a["ci_high"] < b["ci_low"] or b["ci_high"] < a["ci_low"])


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def run_status(summary: Mapping[str, Any] | None, error: str | None = None) -> str:
    """ "ok", or what went wrong: "failed: <error>", "not converged", "not solved", "target not met".

    Flags are looked for at the top level of the summary and one level down (per-map or
    per-dataset results); any false flag makes the run not ok.
    """
    if error is not None or summary is None:
        return f"failed: {error or 'no summary.json'}"
    bad = []
    for scope in [summary, *(v for v in summary.values() if isinstance(v, Mapping))]:
        for key, word in FLAGS.items():
            if scope.get(key) is False and word not in bad:
                bad.append(word)
    return ", ".join(bad) if bad else "ok"


def metric_keys(summaries: Iterable[Mapping[str, Any]], headline: Sequence[str] = ()) -> list[str]:
    """The headline keys, or else every top-level numeric summary key (seed and seconds aside), in order."""
    if headline:
        return list(headline)
    keys: list[str] = []
    for s in summaries:
        for k, v in s.items():
            if (
                k not in ("seed", "seconds")
                and k not in keys
                and (is_number(v) or THRESHOLD_KEY.search(k))
            ):
                keys.append(k)
    return keys


def aggregate(
    summaries: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per key, :func:`describe` of the runs' numeric values, plus ``reached`` for threshold keys.

    summaries : the summaries of the runs that finished (failed runs have none)
    A threshold key (``steps_to_*``, ``*_at_steps``, ``solved_seconds``...) is None in a run
    that never reached it: its statistics are over the runs that did, and ``reached`` says
    how many of all of them that was. A key no run has a number for is left out.
    """
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        values = [s.get(key) for s in summaries]
        numbers = [float(v) for v in values if is_number(v)]
        entry: dict[str, Any] = describe(numbers) if numbers else {"n": 0}
        if THRESHOLD_KEY.search(key):
            entry["reached"] = f"{len(numbers)} of {len(summaries)}"
        if numbers or THRESHOLD_KEY.search(key):
            out[key] = entry
    return out


def varying(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[str]:
    """The keys whose value is not the same in every row (a column worth printing)."""
    return [k for k in keys if len({repr(r.get(k)) for r in rows}) > 1]


def fmt(entry: Mapping[str, Any] | None, digits: int = 4) -> str:
    """``0.812 +/- 0.034 (n=5)``; ``0.812 (n=1)`` without an interval; ``-`` for nothing."""
    if not entry or not entry.get("n"):
        return "-"
    text = f"{entry['mean']:.{digits}g}"
    if entry.get("half_width") is not None:
        text += f" +/- {entry['half_width']:.2g}"
    text += f" (n={entry['n']})"
    if "reached" in entry:
        text += f", reached in {entry['reached']}"
    return text


# ------------------------------------------------------------------ curves


def read_metrics(path: str | Path) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """A run's metrics.csv as ``{(series, metric): (steps, values)}``, steps sorted; {} if absent."""
    path = Path(path)
    if not path.is_file():
        return {}
    found: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            try:
                found.setdefault((row["series"], row["metric"]), []).append(
                    (float(row["step"]), float(row["value"]))
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{path}: unreadable row {row} ({exc}); expected series,step,metric,value."
                ) from None
    out = {}
    for key, points in found.items():
        points.sort()
        xs, ys = zip(*points)
        out[key] = (np.asarray(xs), np.asarray(ys))
    return out


def band(
    curves: Sequence[tuple[Sequence[float], Sequence[float]]],
    points: int = 100,
    confidence: float = CONFIDENCE,
) -> dict[str, np.ndarray | int]:
    """Mean curve and its t interval over several runs' ``(x, y)`` curves.

    When every run logged the same x values they are used as they are; otherwise each curve is
    linearly interpolated onto ``points`` values spanning the x range all runs cover (never
    extrapolated). Returns ``{"x", "mean", "low", "high", "n"}`` (arrays of one length; low ==
    high == mean when n == 1).
    """
    if not curves:
        raise ValueError("band() needs at least one curve.")
    xs = [np.asarray(x, dtype=float) for x, _ in curves]
    ys = [np.asarray(y, dtype=float) for _, y in curves]
    if all(x.shape == xs[0].shape and np.array_equal(x, xs[0]) for x in xs):
        grid, table = xs[0], np.vstack(ys)
    else:
        lo, hi = max(x.min() for x in xs), min(x.max() for x in xs)
        if lo > hi:
            raise ValueError(
                f"the runs' curves share no x range (one starts at {lo:g} after another ends at {hi:g})."
            )
        grid = np.linspace(lo, hi, points) if hi > lo else np.array([lo])
        table = np.vstack([np.interp(grid, x, y) for x, y in zip(xs, ys)])
    n = table.shape[0]
    mean = table.mean(axis=0)
    if n >= 2:
        half = (
            _scipy_stats.t.ppf(0.5 + confidence / 2, n - 1)
            * table.std(axis=0, ddof=1)
            / math.sqrt(n)
        )
    else:
        half = np.zeros_like(mean)
    return {"x": grid, "mean": mean, "low": mean - half, "high": mean + half, "n": n}
