"""k-means on scikit-learn's handwritten digits, without their labels.

    sandbox run digits-clusters [--seed N] [--set n_init=20 ...]

1,797 images of 8x8 pixels. KMeans with k = 10 sees only the pixels; the
adjusted Rand index (ARI) against the true digits says how well the clusters
match them (1 = perfectly, 0 = no better than chance). scikit-learn's KMeans
and our MiniBatchKMeans run on the same data beside it, and the centres are
drawn as 8x8 images, each titled with the digit most of its members show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

from agents import KMeans, MiniBatchKMeans
from agents.decomposition import PCA
from sandbox import plots
from sandbox.checks import check_number
from sandbox.experiment import Experiment, Run, learner_kwargs


@dataclass
class Config:
    seed: int = 0
    k: int = 10  # clusters
    n_init: int = 10
    minibatch_size: int = 256  # rows per MiniBatchKMeans step
    minibatch_epochs: int = 20  # passes of MiniBatchKMeans over the data

    def validate(self) -> None:
        check_number("k", self.k, low=2, high=100, integer=True)
        check_number("n_init", self.n_init, low=1, integer=True)
        check_number("minibatch_size", self.minibatch_size, low=1, integer=True)
        check_number("minibatch_epochs", self.minibatch_epochs, low=1, integer=True)


def run(cfg: Config, run: Run) -> dict:
    digits = load_digits()
    X, y = digits.data, digits.target
    run.say(
        f"{len(X)} digit images of 8x8 pixels (values 0-16); clustering into k = {cfg.k} without labels"
    )

    model = KMeans(**learner_kwargs(cfg, "model", k=cfg.k, n_init=cfg.n_init, seed=cfg.seed)).fit(
        X, progress=run.progress("kmeans")
    )
    mini = MiniBatchKMeans(
        k=cfg.k, batch_size=cfg.minibatch_size, epochs=cfg.minibatch_epochs, seed=cfg.seed
    ).fit(X, progress=run.progress("minibatch_kmeans"))
    sk = SKKMeans(cfg.k, n_init=cfg.n_init, random_state=cfg.seed).fit(X)
    rows = [
        ["KMeans (ours)", model.inertia_, adjusted_rand_score(y, model.labels_), model.n_iter_],
        [
            "MiniBatchKMeans (ours)",
            mini.inertia_,
            adjusted_rand_score(y, mini.labels_),
            mini.n_steps_,
        ],
        [
            "scikit-learn KMeans",
            float(sk.inertia_),
            adjusted_rand_score(y, sk.labels_),
            int(sk.n_iter_),
        ],
    ]
    run.say(f"\nSame data, n_init = {cfg.n_init} (scikit-learn draws its own seeds):")
    run.table("methods", ["method", "inertia", "ARI vs true digits", "iterations / steps"], rows)
    for step, value in enumerate(model.history_["inertia"], 1):
        run.log("kmeans", step, inertia=value)

    majority = [_majority(y[model.labels_ == j]) for j in range(cfg.k)]
    titles = [
        f"cluster {j}:\nmostly {d} ({s:.0%})" if d >= 0 else f"cluster {j}:\nempty"
        for j, (d, s) in enumerate(majority)
    ]
    order = np.argsort([d for d, _ in majority], kind="stable")
    run.save_plot(
        plots.image_grid(
            model.centers_[order].reshape(-1, 8, 8),
            [titles[j] for j in order],
            columns=5,
            title="k-means centres of the digits, as images",
        ),
        "centres",
    )
    P = PCA(n_components=2).fit(X)
    run.save_plot(
        plots.cluster_scatter(
            P.act(X),
            model.labels_,
            centers=P.act(model.centers_),
            names=[t.split(":")[1].strip() for t in titles],
            title="Digits in PCA space, coloured by k-means cluster",
        ),
        "pca_clusters",
    )
    return {
        "ari": float(rows[0][2]),
        "inertia": model.inertia_,
        "minibatch_ari": float(rows[1][2]),
        "minibatch_inertia": mini.inertia_,
        "sklearn_ari": float(rows[2][2]),
        "sklearn_inertia": float(sk.inertia_),
        "n_iter": model.n_iter_,
    }


def _majority(truth: np.ndarray) -> tuple[int, float]:
    if len(truth) == 0:
        return -1, 0.0
    counts = np.bincount(truth, minlength=10)
    return int(np.argmax(counts)), float(counts.max() / len(truth))


EXPERIMENT = Experiment(
    "digits-clusters",
    "k-means on scikit-learn's digits without labels: ARI against the true digits, centres drawn as images",
    Config,
    run,
    tour={"n_init": 1, "minibatch_epochs": 3},
    tour_order=35,
    learners={"model": "agents.kmeans:KMeans"},
    paradigm="unsupervised",
    headline=("ari", "sklearn_ari", "minibatch_ari"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
