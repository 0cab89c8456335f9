"""Every picture. Functions return a matplotlib Figure; :meth:`Run.save_plot` writes it.

Figures are made with ``matplotlib.figure.Figure`` directly (no pyplot), so
nothing here needs a display or touches global plotting state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def fitted_lines(
    x: np.ndarray, y: np.ndarray, lines: Mapping[str, tuple[float, float]], *, title: str = "", truth: tuple[float, float] | None = None
) -> Figure:
    """Scatter of (x, y) and a line y = w x + b for each named (w, b)."""
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    ax.scatter(np.ravel(x), np.ravel(y), s=14, alpha=0.6, color="0.4", label="data")
    grid = np.linspace(float(np.min(x)), float(np.max(x)), 50)
    styles = ["-", "--", "-.", ":"]
    for i, (name, (w, b)) in enumerate(lines.items()):
        ax.plot(grid, w * grid + b, styles[i % len(styles)], lw=2, label=f"{name}: y = {w:.3f}x + {b:.3f}")
    if truth is not None:
        ax.plot(grid, truth[0] * grid + truth[1], color="k", lw=1, alpha=0.5, label=f"truth: y = {truth[0]:g}x + {truth[1]:g}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def curves(
    series: Mapping[str, Sequence[float]],
    *,
    xlabel: str = "step",
    ylabel: str = "loss",
    title: str = "",
    logy: bool = False,
    hlines: Mapping[str, float] | None = None,
) -> Figure:
    """One line per named series (e.g. loss curves); optional labelled reference lines."""
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    for name, values in series.items():
        v = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(v) + 1), v, lw=1.6, label=name)
    for name, level in (hlines or {}).items():
        ax.axhline(level, ls="--", lw=1, color="k", alpha=0.6)
        ax.annotate(name, (0.99, level), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if series:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def learning_curve(
    runs: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    window: int = 100,
    target: float | None = None,
    xlabel: str = "env steps",
    ylabel: str = "episode return",
    title: str = "",
) -> Figure:
    """Episode returns against env steps: faint dots per episode, a line for the mean of the last ``window``.

    runs : name -> (end step of each episode, return of each episode), both of shape (n_episodes,)
    """
    from sandbox.rollout import moving_mean  # here, so plots alone does not import gymnasium

    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    for i, (name, (steps, returns)) in enumerate(runs.items()):
        s, r = np.asarray(steps, dtype=float), np.asarray(returns, dtype=float)
        color = f"C{i}"
        ax.scatter(s, r, s=3, alpha=0.25, color=color)
        ax.plot(s, moving_mean(r, window), lw=1.8, color=color, label=f"{name} (mean of last {window})")
    if target is not None:
        ax.axhline(target, ls="--", lw=1, color="k", alpha=0.6)
        ax.annotate(f"target {target:g}", (0.01, target), xycoords=("axes fraction", "data"), ha="left", va="bottom", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if runs:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
