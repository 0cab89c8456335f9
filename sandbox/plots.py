"""Every picture. Functions return a matplotlib Figure; :meth:`Run.save_plot` writes it.

Figures are made with ``matplotlib.figure.Figure`` directly (no pyplot), so
nothing here needs a display or touches global plotting state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def _label(ax: object, xlabel: str, ylabel: str, title: str, **title_kw: object) -> None:
    """The three labels every plot sets (``title_kw`` such as fontsize go to the title)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, **title_kw)


def fitted_lines(
    x: np.ndarray,
    y: np.ndarray,
    lines: Mapping[str, tuple[float, float]],
    *,
    title: str = "",
    truth: tuple[float, float] | None = None,
) -> Figure:
    """Scatter of (x, y) and a line y = w x + b for each named (w, b)."""
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    ax.scatter(np.ravel(x), np.ravel(y), s=14, alpha=0.6, color="0.4", label="data")
    grid = np.linspace(float(np.min(x)), float(np.max(x)), 50)
    styles = ["-", "--", "-.", ":"]
    for i, (name, (w, b)) in enumerate(lines.items()):
        ax.plot(
            grid,
            w * grid + b,
            styles[i % len(styles)],
            lw=2,
            label=f"{name}: y = {w:.3f}x + {b:.3f}",
        )
    if truth is not None:
        ax.plot(
            grid,
            truth[0] * grid + truth[1],
            color="k",
            lw=1,
            alpha=0.5,
            label=f"truth: y = {truth[0]:g}x + {truth[1]:g}",
        )
    _label(ax, "x", "y", title)
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
    for i, (name, level) in enumerate(
        (hlines or {}).items()
    ):  # in the legend: a label on the line hides curves
        ax.axhline(
            level,
            ls=("--", ":", "-.")[i % 3],
            lw=1,
            color="k",
            alpha=0.6,
            label=f"{name}: {level:.4g}",
        )
    if logy:
        ax.set_yscale("log")
    _label(ax, xlabel, ylabel, title)
    if series or hlines:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def bars(
    groups: Mapping[str, Sequence[float]],
    labels: Sequence[str],
    *,
    ylabel: str = "",
    title: str = "",
    logy: bool = False,
) -> Figure:
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


# ------------------------------------------------------------- grid worlds (tabular RL)


def xy_curves(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str = "step",
    ylabel: str = "value",
    title: str = "",
    hlines: Mapping[str, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """One line per named (x, y) pair, for series sampled at different points; labelled reference lines."""
    fig = Figure(figsize=(6.8, 4.4))
    ax = fig.add_subplot()
    for name, (x, y) in series.items():
        ax.plot(np.asarray(x, dtype=float), np.asarray(y, dtype=float), lw=1.6, label=name)
    for i, (name, level) in enumerate((hlines or {}).items()):
        ax.axhline(
            level,
            ls=("--", ":", "-.")[i % 3],
            lw=1.2,
            color="k",
            alpha=0.7,
            label=f"{name}: {level:.4g}",
        )
    if ylim is not None:
        ax.set_ylim(*ylim)
    _label(ax, xlabel, ylabel, title)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return fig


def grid_policy(
    values: np.ndarray,
    arrows: np.ndarray,
    labels: np.ndarray,
    *,
    title: str = "",
    value_label: str = "value",
    caption: str = "",
) -> Figure:
    """A grid world's state values as a heatmap, the greedy action as an arrow in each cell;
    ``caption`` (under the grid) says what the letters, arrows and colours mean.

    values : array of shape (rows, cols)
    arrows : array of shape (rows, cols, 2), the (dx, dy) of each cell's arrow with
        dy pointing down the page; (0, 0) draws none (terminal cells)
    labels : array of shape (rows, cols) of short strings drawn in the corner (map letters)
    """
    rows, cols = values.shape
    fig = Figure(
        figsize=(max(5.5, 1.0 + 0.75 * cols), 0.6 + 0.75 * rows + 0.15 * caption.count("\n"))
    )
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis")
    fig.colorbar(image, ax=ax, label=value_label, fraction=0.046, pad=0.04)
    yy, xx = np.mgrid[0:rows, 0:cols]
    dx, dy = arrows[..., 0].astype(float), arrows[..., 1].astype(float)
    show = (dx != 0) | (dy != 0)
    ax.quiver(
        xx[show],
        yy[show],
        0.35 * dx[show],
        -0.35 * dy[show],
        color="white",
        pivot="middle",
        scale=1,
        scale_units="xy",
        angles="xy",
        width=0.012,
    )
    for r in range(rows):
        for c in range(cols):
            ax.text(
                c - 0.42, r - 0.3, str(labels[r, c]), color="white", fontsize=8, fontweight="bold"
            )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    if caption:
        ax.set_xlabel(caption, fontsize=8)
    return fig


def grid_paths(
    shape: tuple[int, int],
    paths: Mapping[str, Sequence[tuple[int, int]]],
    *,
    marked: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    title: str = "",
) -> Figure:
    """Paths of (row, col) cells drawn over an empty grid; ``marked`` shades named sets of cells."""
    rows, cols = shape
    fig = Figure(figsize=(0.8 + 0.55 * cols, 1.2 + 0.55 * rows))
    ax = fig.add_subplot()
    colours = ["0.35", "tab:green", "tab:blue"]
    for i, (name, cells) in enumerate((marked or {}).items()):
        for j, (r, c) in enumerate(cells):
            ax.add_patch(_square(r, c, colours[i % len(colours)], name if j == 0 else None))
    for i, (name, cells) in enumerate(paths.items()):
        rc = np.asarray(cells, dtype=float).reshape(-1, 2)
        offset = 0.12 * (i - (len(paths) - 1) / 2)  # keep overlapping paths visible
        ax.plot(
            rc[:, 1] + offset, rc[:, 0] + offset, "-o", lw=2.2, ms=3, label=name, color=f"C{i + 1}"
        )
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="0.8")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3)
    return fig


def _square(r: int, c: int, colour: str, label: str | None) -> object:
    from matplotlib.patches import Rectangle

    return Rectangle((c - 0.5, r - 0.5), 1, 1, color=colour, alpha=0.5, label=label)


# ------------------------------------------------------------ supervised


def decision_boundaries(
    panels: Sequence[tuple[str, np.ndarray]],
    grid: tuple[np.ndarray, np.ndarray],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    title: str = "",
) -> Figure:
    """TensorFlow-Playground-style pictures, one panel per (caption, probability of class 1 on the grid).

    grid : (xx, yy) from ``np.meshgrid``, each of shape (gh, gw); each panel's array has that shape
    train, test : (X of shape (n, 2), y of shape (n,) with labels 0/1); test points get a black edge
    """
    n = len(panels)
    fig = Figure(figsize=(3.2 * n, 3.4))
    xx, yy = grid
    for i, (caption, prob) in enumerate(panels):
        ax = fig.add_subplot(1, n, i + 1)
        ax.contourf(
            xx, yy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55, vmin=0, vmax=1
        )
        ax.contour(xx, yy, prob, levels=[0.5], colors="k", linewidths=1)
        for (X, y), edge, marker in ((train, "white", "o"), (test, "black", "o")):
            if X is None or y is None:
                continue
            ax.scatter(
                X[:, 0],
                X[:, 1],
                c=np.where(np.asarray(y) == 1, "#e66101", "#0571b0"),
                s=9,
                edgecolors=edge,
                linewidths=0.4,
                marker=marker,
            )
        ax.set_title(caption, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlim(xx.min(), xx.max())
        ax.set_ylim(yy.min(), yy.max())
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    dot = dict(marker="o", ls="", markersize=5, markeredgewidth=0.8)
    handles = [
        Line2D(
            [],
            [],
            color="#0571b0",
            markeredgecolor="white",
            label="class 0 (training point)",
            **dot,
        ),
        Line2D(
            [],
            [],
            color="#e66101",
            markeredgecolor="white",
            label="class 1 (training point)",
            **dot,
        ),
    ]
    if test is not None:
        handles.append(
            Line2D(
                [], [], color="0.6", markeredgecolor="black", label="test point (black edge)", **dot
            )
        )
    handles += [
        Line2D([], [], color="k", lw=1, label="decision boundary: P(class 1) = 0.5"),
        Patch(color="#0571b0", alpha=0.4, label="shade: network says class 0"),
        Patch(color="#ca0020", alpha=0.4, label="shade: network says class 1 (darker: surer)"),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=3,
        fontsize=7,
        bbox_to_anchor=(0.5, -0.12),
        frameon=False,
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def confusion(cm: np.ndarray, labels: Sequence[str] | None = None, *, title: str = "") -> Figure:
    """A confusion matrix (rows: true class, columns: predicted), counts written in each cell."""
    cm = np.asarray(cm)
    k = cm.shape[0]
    labels = [str(i) for i in range(k)] if labels is None else [str(v) for v in labels]
    fig = Figure(figsize=(1.0 + 0.45 * k, 0.8 + 0.45 * k))
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    top = cm.max() if cm.size else 1
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if cm[i, j] > top / 2 else ("crimson" if i != j else "black"),
                )
    ax.set_xticks(range(k), labels)
    ax.set_yticks(range(k), labels)
    _label(ax, "predicted", "true", title, fontsize=10)
    return fig


def image_grid(
    images: np.ndarray,
    captions: Sequence[str] | None = None,
    *,
    title: str = "",
    columns: int = 8,
    cmap: str = "gray_r",
) -> Figure:
    """Small images of shape (n, h, w) with an optional caption under each (misclassified digits, k-means centres)."""
    images = np.asarray(images)
    n = max(len(images), 1)
    cols = min(columns, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(1.2 * cols, 1.45 * rows + 0.4))
    for i, img in enumerate(images):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(img, cmap=cmap, interpolation="nearest")
        if captions is not None:
            ax.set_title(captions[i], fontsize=7)
        ax.axis("off")
    if not len(images):
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center")
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def predicted_vs_true(
    results: Mapping[str, tuple[np.ndarray, np.ndarray]], *, unit: str = "", title: str = ""
) -> Figure:
    """One scatter per model of predicted against true values, with the y = x line."""
    n = len(results)
    fig = Figure(figsize=(4.0 * n, 4.0))
    for i, (name, (y_true, y_pred)) in enumerate(results.items()):
        ax = fig.add_subplot(1, n, i + 1)
        ax.scatter(y_true, y_pred, s=8, alpha=0.5)
        lo, hi = (
            float(min(np.min(y_true), np.min(y_pred))),
            float(max(np.max(y_true), np.max(y_pred))),
        )
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        _label(ax, f"true {unit}".strip(), f"predicted {unit}".strip(), name, fontsize=9)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


# ------------------------------------------------------------- clustering


def choose_k(
    ks: Sequence[int],
    inertia: Sequence[float],
    silhouette: Sequence[float],
    *,
    chosen: int | None = None,
    elbow: int | None = None,
    title: str = "",
) -> Figure:
    """Inertia (the elbow) and silhouette against k, side by side, with the chosen k marked."""
    fig = Figure(figsize=(9.6, 3.8), layout="constrained")  # the suptitle clears the panel titles
    left, right = fig.subplots(1, 2)
    left.plot(ks, inertia, "o-", color="C0")
    left.set_ylabel("inertia (sum of squared distances)")
    right.plot(ks, silhouette, "o-", color="C1")
    right.set_ylabel("mean silhouette")
    for ax in (left, right):
        ax.set_xticks(list(ks))
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


# Cluster colours: tab10 without its red (kept for anomaly rings) and grey (kept for "other"), then tab20b.
CLUSTER_COLOURS = (
    "C0",
    "C1",
    "C2",
    "C4",
    "C5",
    "C6",
    "C8",
    "C9",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#7b4173",
)
ANOMALY_COLOUR = "red"


def cluster_scatter(
    Z: np.ndarray,
    labels: np.ndarray,
    *,
    centers: np.ndarray | None = None,
    flagged: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    kind: str = "cluster",
    title: str = "",
    axis_labels: tuple[str, str] = ("PC 1", "PC 2"),
) -> Figure:
    """2-D scatter (e.g. PCA coordinates) coloured by cluster; centres as crosses, flagged rows ringed in red
    (a colour no cluster uses). The legend calls cluster j ``names[j]``, or else "{kind} j" (use the word
    the printed table uses, e.g. ``kind="segment"``)."""
    fig = Figure(figsize=(6.8, 5.2))
    ax = fig.add_subplot()
    for j in np.unique(labels):
        m = labels == j
        name = names[j] if names is not None else f"{kind} {j}"
        ax.scatter(
            Z[m, 0],
            Z[m, 1],
            s=8,
            alpha=0.55,
            color=CLUSTER_COLOURS[int(j) % len(CLUSTER_COLOURS)],
            label=f"{name} ({int(m.sum())})",
        )
    if centers is not None:
        ax.scatter(
            centers[:, 0],
            centers[:, 1],
            marker="X",
            s=140,
            color="k",
            edgecolor="w",
            label=f"{kind} centres",
        )
    if flagged is not None and np.any(flagged):
        ax.scatter(
            Z[flagged, 0],
            Z[flagged, 1],
            s=60,
            facecolors="none",
            edgecolors=ANOMALY_COLOUR,
            lw=1.2,
            label=f"anomalies ({int(flagged.sum())})",
        )
    _label(ax, axis_labels[0], axis_labels[1], title)
    ax.legend(fontsize=7, markerscale=1.5)
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
    from sandbox.vector import moving_mean  # here, so plots alone does not import gymnasium

    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    for i, (name, (steps, returns)) in enumerate(runs.items()):
        s, r = np.asarray(steps, dtype=float), np.asarray(returns, dtype=float)
        color = f"C{i}"
        ax.scatter(s, r, s=3, alpha=0.25, color=color, label=f"{name}: one training episode")
        ax.plot(
            s,
            moving_mean(r, window),
            lw=1.8,
            color=color,
            label=f"{name}: mean of the last {window} episodes",
        )
    if target is not None:
        ax.axhline(target, ls="--", lw=1, color="k", alpha=0.6, label=f"target return {target:g}")
    _label(ax, xlabel, ylabel, title)
    if runs:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def bands(
    series: Mapping[str, Mapping[str, np.ndarray]],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    hlines: Mapping[str, float] | None = None,
    ylim: tuple[float, float] | None = None,
    logx: bool = False,
    note: str = "",
    count_in_legend: bool = True,
    legend_loc: str = "best",
) -> Figure:
    """One mean curve and its shaded interval per named series (each a :func:`sandbox.stats.band`
    dict with ``x``, ``mean``, ``low``, ``high``, ``n``); labelled horizontal reference lines.
    ``count_in_legend`` adds "(mean of n)" to each legend entry."""
    fig = Figure(figsize=(7.2, 4.6))
    ax = fig.add_subplot()
    colours = [f"C{i}" for i in range(10)]
    for i, (name, b) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        ax.plot(
            b["x"],
            b["mean"],
            lw=1.8,
            color=colour,
            label=f"{name} (mean of {b['n']})" if count_in_legend and b["n"] > 1 else name,
        )
        if b["n"] > 1:
            ax.fill_between(b["x"], b["low"], b["high"], color=colour, alpha=0.2, lw=0)
    for i, (name, level) in enumerate((hlines or {}).items()):
        ax.axhline(level, ls="--", lw=1.2, color="k", alpha=0.7 - 0.2 * i, label=name)
    if logx:
        ax.set_xscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    _label(ax, xlabel, ylabel, title)
    if note:
        ax.text(0.0, -0.16, note, transform=ax.transAxes, fontsize=7.5, color="0.35", va="top")
    if series or hlines:
        ax.legend(fontsize=8, loc=legend_loc)
    ax.grid(alpha=0.3)
    return fig
