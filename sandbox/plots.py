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


# ------------------------------------------------------------- clustering


def choose_k(
    ks: Sequence[int], inertia: Sequence[float], silhouette: Sequence[float], *, chosen: int | None = None, elbow: int | None = None, title: str = ""
) -> Figure:
    """Inertia (the elbow) and silhouette against k, side by side, with the chosen k marked."""
    fig = Figure(figsize=(9.6, 3.8))
    left, right = fig.subplots(1, 2)
    left.plot(ks, inertia, "o-", color="C0")
    left.set_ylabel("inertia (sum of squared distances)")
    right.plot(ks, silhouette, "o-", color="C1")
    right.set_ylabel("mean silhouette")
    for ax in (left, right):
        ax.set_xlabel("k (number of clusters)")
        ax.grid(alpha=0.3)
        if chosen is not None:
            ax.axvline(chosen, color="k", ls="--", lw=1, label=f"chosen k = {chosen}")
        if elbow is not None and elbow != chosen:
            ax.axvline(elbow, color="0.5", ls=":", lw=1, label=f"elbow k = {elbow}")
        if chosen is not None or elbow is not None:
            ax.legend(fontsize=8)
    left.set_title("elbow: where adding clusters stops paying")
    right.set_title("silhouette: higher is better separated")
    if title:
        fig.suptitle(title)
    return fig


def cluster_scatter(
    Z: np.ndarray, labels: np.ndarray, *, centers: np.ndarray | None = None, flagged: np.ndarray | None = None,
    names: Sequence[str] | None = None, title: str = "", axis_labels: tuple[str, str] = ("PC 1", "PC 2"),
) -> Figure:
    """2-D scatter (e.g. PCA coordinates) coloured by cluster; centres as crosses, flagged rows ringed."""
    fig = Figure(figsize=(6.8, 5.2))
    ax = fig.add_subplot()
    for j in np.unique(labels):
        m = labels == j
        name = names[j] if names is not None else f"cluster {j}"
        ax.scatter(Z[m, 0], Z[m, 1], s=8, alpha=0.55, label=f"{name} ({int(m.sum())})")
    if centers is not None:
        ax.scatter(centers[:, 0], centers[:, 1], marker="X", s=140, color="k", edgecolor="w", label="centres")
    if flagged is not None and np.any(flagged):
        ax.scatter(Z[flagged, 0], Z[flagged, 1], s=60, facecolors="none", edgecolors="red", lw=1.2, label=f"anomalies ({int(flagged.sum())})")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    ax.legend(fontsize=7, markerscale=1.5)
    ax.grid(alpha=0.3)
    return fig


def image_grid(images: np.ndarray, *, titles: Sequence[str] | None = None, columns: int = 5, title: str = "", cmap: str = "gray_r") -> Figure:
    """Small images (n, h, w) in a grid, e.g. k-means centres of 8x8 digits."""
    n = len(images)
    rows = int(np.ceil(n / columns))
    fig = Figure(figsize=(1.5 * columns, 1.7 * rows + (0.4 if title else 0)))
    for i in range(rows * columns):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
