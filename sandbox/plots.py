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


def bars(groups: Mapping[str, Sequence[float]], labels: Sequence[str], *, ylabel: str = "", title: str = "",
         logy: bool = False) -> Figure:
    """Grouped bars: one group per label, one bar per named series."""
    fig = Figure(figsize=(max(6.4, 0.8 * len(labels) + 2), 4.4))
    ax = fig.add_subplot()
    width = 0.8 / max(len(groups), 1)
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(groups.items()):
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    if logy:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig
