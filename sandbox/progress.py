"""Progress reports from ``fit``: the one ``callback`` every learner takes, and progress bars on top of it.

Every learner's ``fit`` takes ``callback=None`` and ``progress=False``. At a
regular cadence (every epoch, every solver iteration, about every 1 % of an RL
budget, and once at the end) ``fit`` calls ``callback(info)`` with a small dict:

=========  ==================================================================
``unit``   what ``done`` and ``total`` count: "steps", "episodes", "epochs",
           "iterations" or "games"
``done``   how many units are done so far
``total``  the budget in that unit (None when open-ended)
others     what a user wants to see move: ``mean_return`` (RL: mean of the
           last 100 finished episodes), ``loss`` / ``val_loss``
           (supervised), ``inertia`` (k-means), ``delta`` (planning), ...
=========  ==================================================================

A callback that returns ``False`` stops training there, keeping what was
learned so far (custom early stopping); anything else goes on. ``progress=True``
adds a bar (tqdm) on standard error showing the same numbers; where standard
error is not a terminal (CI, a pipe, a log file) it prints a plain line at every
tenth of the budget instead (every 10 s when the budget is open-ended; a fit that
stops early, converged, adds one line where it ended), so logs stay readable.
Only numbers are shown: arrays a learner hands its callback (a policy) are not.
Bars and lines go to standard error and a bar is cleared when ``fit`` ends, so
the tables printed on standard output are never garbled.

A learner uses it as::

    with Reporter(callback, progress, desc="DQN", unit="steps", total=steps) as report:
        while ...:
            ...
            if report.due(step) and report(done=step, mean_return=m):
                break  # the callback asked to stop
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from collections.abc import Callable
from typing import Any

Callback = Callable[[dict[str, Any]], Any]
LINE_SECONDS = 10.0  # off a terminal, an open-ended budget prints a line at most this often


def check_callback(callback: Any, progress: Any) -> None:
    """``callback`` must be None or callable, ``progress`` a bool; a clear ValueError otherwise."""
    if callback is not None and not callable(callback):
        raise ValueError(
            f"callback={callback!r} is not callable; pass a function taking one dict of progress "
            "(return False from it to stop training), or None."
        )
    if not isinstance(progress, bool):
        raise ValueError(f"progress={progress!r} must be True or False.")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _shown_metrics(info: dict[str, Any]) -> dict[str, str]:
    """The numbers a bar or line shows; arrays a learner hands its callback (a policy) are left out."""
    return {
        k: _fmt(v)
        for k, v in info.items()
        if k not in ("unit", "done", "total") and isinstance(v, (numbers.Number, str))
    }


class Reporter:
    """Calls the user's ``callback`` and draws the bar; see the module docstring.

    callback : the user's callable or None
    progress : draw a bar (or plain lines off a terminal)
    desc : the bar's label, e.g. the learner's class name
    unit, total : what is counted and the budget (``total`` None: open-ended)
    reports : about how many times :meth:`due` says yes over the budget
    """

    def __init__(
        self,
        callback: Callback | None,
        progress: bool = False,
        *,
        desc: str,
        unit: str,
        total: int | None,
        reports: int = 100,
    ) -> None:
        check_callback(callback, progress)
        self.callback, self.progress = callback, progress
        self.desc, self.unit, self.total = desc, unit, total
        self.every = max(1, int(total) // reports) if total else 1
        self._next = self.every
        self._bar: Any = None
        self._lines = progress and not _is_terminal()
        self._next_tenth = 1  # off a terminal: the next tenth of the budget that prints a line
        self._last_line = -math.inf
        self._last: dict[str, Any] | None = None
        self._shown: dict[str, Any] | None = None  # off a terminal: the last info printed as a line
        self._start = time.perf_counter()

    @property
    def active(self) -> bool:
        """Whether anybody listens (skip computing extra numbers when not)."""
        return self.callback is not None or self.progress

    def due(self, done: int) -> bool:
        """True once ``done`` has passed the next reporting point (then the point moves on)."""
        if not self.active or done < self._next:
            return False
        self._next = (done // self.every + 1) * self.every
        return True

    def __call__(self, *, done: int, **metrics: Any) -> bool:
        """Report progress; True when the callback asked to stop (returned False)."""
        info = {"unit": self.unit, "done": int(done), "total": self.total, **metrics}
        self._last = info
        if self.progress:
            self._draw(info)
        if self.callback is None:
            return False
        return self.callback(dict(info)) is False

    def _draw(self, info: dict[str, Any]) -> None:
        extra = _shown_metrics(info)
        if self._lines:
            now = time.perf_counter()
            if self.total:  # a line at each tenth of the budget (integer tenths: no drift)
                tenth = min(10, info["done"] * 10 // self.total)
                if tenth < self._next_tenth:
                    return
                self._next_tenth = tenth + 1
            elif now - self._last_line < LINE_SECONDS:  # open-ended: a line every LINE_SECONDS
                return
            self._last_line = now
            self._line(info, extra, now)
            return
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total,
                desc=self.desc,
                unit=self.unit[:-1] if self.unit.endswith("s") else self.unit,
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
            )
        self._bar.n = min(info["done"], self.total) if self.total else info["done"]
        self._bar.set_postfix(extra, refresh=False)
        self._bar.refresh()

    def _line(self, info: dict[str, Any], extra: dict[str, str], now: float) -> None:
        self._shown = info
        shown = f"{info['done']:,}" + (f"/{self.total:,}" if self.total else "")
        parts = " ".join(f"{k}={v}" for k, v in extra.items())
        print(
            " ".join(
                w
                for w in (
                    f"{self.desc}: {shown} {self.unit}",
                    parts,
                    f"({now - self._start:.0f} s)",
                )
                if w
            ),
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if (
            self._lines
            and self.total
            and self._last is not None
            and (self._shown is None or self._last["done"] > self._shown["done"])
        ):
            # a fit that stopped before the next tenth (converged, early stopping) still says where it ended
            self._line(self._last, _shown_metrics(self._last), time.perf_counter())
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
