"""Hyperparameters that move over a training budget, without torch: one schedule system.

Two shapes cover the vocabulary (docs/vocabulary.md):

- :func:`exploration` gives epsilon for the triple ``epsilon_start``,
  ``epsilon_end``, ``exploration_fraction``: linear from start to end over the
  first ``exploration_fraction`` of the budget, then held at ``epsilon_end``.
- :func:`schedule_value` gives a ``learning_rate`` under a
  ``learning_rate_schedule`` (one of :data:`SCHEDULES`) ending at
  ``learning_rate_end`` when the budget is spent.

``progress`` is the share of the budget used, 0 at the start and 1 at the end
(steps or episodes, whichever the learner counts). The names and shapes match
:func:`sandbox.optim.schedule_factor`'s "constant", "linear" and "cosine".
"""

from __future__ import annotations

import math

from sandbox.checks import check_choice, check_number

SCHEDULES = ("constant", "linear", "cosine")


def schedule_value(kind: str, start: float, end: float, progress: float) -> float:
    """A value moving from ``start`` (progress 0) to ``end`` (progress 1), then held.

    kind : "constant" (always ``start``), "linear", or "cosine" (half a cosine
        wave: slow at both ends)
    """
    if kind == "constant":
        return start
    p = min(max(progress, 0.0), 1.0)
    if kind == "linear":
        return start + (end - start) * p
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * p))


def exploration(
    epsilon_start: float, epsilon_end: float, exploration_fraction: float, progress: float
) -> float:
    """Epsilon after ``progress`` of the budget: linear over ``exploration_fraction`` of it, then ``epsilon_end``."""
    if exploration_fraction <= 0:
        return epsilon_end
    return schedule_value("linear", epsilon_start, epsilon_end, progress / exploration_fraction)


def check_exploration(
    epsilon_start: float, epsilon_end: float, exploration_fraction: float
) -> None:
    """ValueError naming the parameter when the exploration triple is out of range."""
    check_number("epsilon_start", epsilon_start, low=0.0, high=1.0)
    check_number("epsilon_end", epsilon_end, low=0.0, high=1.0)
    check_number("exploration_fraction", exploration_fraction, low=0.0, high=1.0)


def check_learning_rate_schedule(schedule: str, end: float, *, high: float | None = None) -> None:
    """ValueError naming the parameter when ``learning_rate_schedule`` / ``learning_rate_end`` are out of range."""
    check_choice("learning_rate_schedule", schedule, SCHEDULES)
    check_number("learning_rate_end", end, low=0.0, high=high, low_open=True)
