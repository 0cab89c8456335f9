"""Customer segmentation with k-means on a generated customer table.

    sandbox run segments [--seed N] [--set n=20000 --set k_max=12 ...]

The table (:func:`sandbox.data.customer_table`) has recency, frequency, monetary
value and basket size for customers drawn from five documented segments, plus a
few planted oddities. The columns are log-transformed (they are skewed) and
standardised; k is chosen by the best silhouette over ``k_min..k_max`` (the
elbow of the inertia curve is shown beside it); then a profile table per
segment, a scatter in PCA space, and the customers farthest from every centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score

from agents import KMeans
from agents.decomposition import PCA
from experiments._unsupervised_tools import (
    anomaly_scores,
    anomaly_threshold,
    best_silhouette_k,
    elbow_k,
    scan_k,
    silhouette,
)
from sandbox import plots
from sandbox.checks import check_number
from sandbox.data import customer_table
from sandbox.experiment import Experiment, Run


@dataclass
class Config:
    seed: int = 0
    n: int = 5000
    outlier_fraction: float = 0.005  # share of planted odd customers
    k_min: int = 2  # smallest k tried
    k_max: int = 10  # largest k tried
    n_init: int = 4
    silhouette_sample: int = 2000  # customers sampled to compute the silhouette
    anomaly_quantile: float = 0.99  # anomaly scores above this quantile are flagged
    top_anomalies: int = 10  # rows of the most-anomalous table

    def validate(self) -> None:
        check_number("n", self.n, low=50, integer=True)
        check_number("k_min", self.k_min, low=2, integer=True)
        check_number("k_max", self.k_max, low=self.k_min + 2, integer=True)
        check_number("n_init", self.n_init, low=1, integer=True)
        check_number("silhouette_sample", self.silhouette_sample, low=10, integer=True)
        check_number(
            "anomaly_quantile",
            self.anomaly_quantile,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
        )
        check_number("top_anomalies", self.top_anomalies, low=0, integer=True)


def standardise(X: np.ndarray) -> np.ndarray:
    """log1p (the money and count columns are heavily skewed), then zero mean and unit variance."""
    L = np.log1p(X)
    return (L - L.mean(axis=0)) / L.std(axis=0)


def run(cfg: Config, run: Run) -> dict:
    data = customer_table(cfg.n, seed=cfg.seed, outlier_fraction=cfg.outlier_fraction)
    X, columns = data["X"], list(data["columns"])
    Z = standardise(X)
    run.say(
        f"{len(X)} customers, columns {', '.join(columns)}; {int(data['is_outlier'].sum())} planted oddities"
    )

    ks = list(range(cfg.k_min, cfg.k_max + 1))
    scan = run.stage(
        "scan_k",
        lambda: scan_k(
            Z,
            ks,
            n_init=cfg.n_init,
            seed=cfg.seed,
            sample_size=cfg.silhouette_sample,
            progress=run.progress("scan_k"),
        ),
    )
    chosen = best_silhouette_k(scan["k"], scan["silhouette"])
    elbow = elbow_k(scan["k"], scan["inertia"])
    for k, inertia, sil in zip(scan["k"], scan["inertia"], scan["silhouette"]):
        run.log("choose_k", k, inertia=inertia, silhouette=sil)
    run.say("\nChoosing k:")
    run.table(
        "choose_k",
        ["k", "inertia", "silhouette"],
        [[k, i, s] for k, i, s in zip(scan["k"], scan["inertia"], scan["silhouette"])],
    )
    run.say(f"best silhouette at k = {chosen}; elbow of the inertia at k = {elbow}")
    run.save_plot(
        plots.choose_k(
            scan["k"],
            scan["inertia"],
            scan["silhouette"],
            chosen=chosen,
            elbow=elbow,
            title="Customer segments: choosing k",
        ),
        "choose_k",
    )

    model = KMeans(k=chosen, n_init=cfg.n_init, seed=cfg.seed).fit(
        Z, progress=run.progress("kmeans")
    )
    labels = model.labels_
    profile_rows = segment_profiles(X, labels, data)
    run.say(f"\nSegments found (k = {chosen}), medians of the raw columns:")
    run.table(
        "segments",
        ["segment", "customers", *columns, "most common true segment", "share of it"],
        profile_rows,
    )

    pca = PCA(n_components=2).fit(Z)
    P = pca.act(Z)
    scores = anomaly_scores(model, Z)
    threshold, flagged = anomaly_threshold(scores, cfg.anomaly_quantile)
    ratio = pca.explained_variance_ratio_
    run.save_plot(
        plots.cluster_scatter(
            P,
            labels,
            centers=pca.act(model.centers_),
            flagged=flagged,
            kind="segment",
            title=f"Customers in PCA space (k = {chosen}); red rings: anomaly score above the {cfg.anomaly_quantile:g} quantile",
            axis_labels=(f"PC 1 ({ratio[0]:.0%} of variance)", f"PC 2 ({ratio[1]:.0%})"),
        ),
        "pca_segments",
    )

    top = np.argsort(-scores)[: cfg.top_anomalies]
    run.say(
        f"\nThe {len(top)} most anomalous customers (distance to the nearest centre, standardised units; threshold {threshold:.3f}):"
    )
    run.table(
        "anomalies",
        ["row", "score", *columns, "planted oddity"],
        [
            [int(i), float(scores[i]), *(float(v) for v in X[i]), bool(data["is_outlier"][i])]
            for i in top
        ],
    )
    planted = data["is_outlier"]
    known = data["segment"] >= 0
    return {
        "k": chosen,
        "elbow_k": elbow,
        "silhouette": silhouette(Z, labels, sample_size=cfg.silhouette_sample, seed=cfg.seed),
        "ari": float(adjusted_rand_score(data["segment"][known], labels[known])),
        "inertia": model.inertia_,
        "pca_explained_variance": float(ratio.sum()),
        "anomaly_threshold": threshold,
        "flagged": int(flagged.sum()),
        "planted_oddities": int(planted.sum()),
        "planted_found_in_flagged": int((flagged & planted).sum()),
        "planted_in_top": int(planted[top].sum()),
    }


def segment_profiles(X: np.ndarray, labels: np.ndarray, data: dict) -> list[list]:
    """One row per found segment: size, column medians, and the true segment most of it comes from."""
    names = data["segment_names"]
    rows = []
    for j in np.unique(labels):
        m = labels == j
        truth = data["segment"][m]
        truth = truth[truth >= 0]
        common, share = ("(planted oddities)", 1.0) if len(truth) == 0 else _mode(truth, names)
        rows.append(
            [int(j), int(m.sum()), *(float(v) for v in np.median(X[m], axis=0)), common, share]
        )
    return rows


def _mode(truth: np.ndarray, names: tuple[str, ...]) -> tuple[str, float]:
    counts = np.bincount(truth, minlength=len(names))
    return names[int(np.argmax(counts))], float(counts.max() / counts.sum())


EXPERIMENT = Experiment(
    "segments",
    "k-means customer segmentation: choose k, profile each segment, PCA view, most anomalous customers",
    Config,
    run,
    tour={"n": 1500, "k_max": 7, "n_init": 2, "silhouette_sample": 800},
    tour_order=30,
    paradigm="unsupervised",
    headline=("k", "silhouette", "ari", "planted_in_top"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
