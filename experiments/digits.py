"""Handwritten digits: from softmax regression to a small ensemble of conv nets.

    sandbox run digits [--set members=5] [--set epochs=20] [--set augment=false]

scikit-learn's 1797 8x8 digits, split as ``train_test_split(test_size=0.25,
stratify=y, random_state=0)`` (450 test images; scikit-learn's SVC scores
0.9867 here). Four sandbox classifiers, one step up each: softmax regression,
a one-hidden-layer MLP, a small conv net (``NetSpec.conv``) trained on the
images plus copies shifted by one pixel, and the average of several such
conv nets from different seeds. ``summary.json`` holds the best one's
``test_accuracy``; its confusion matrix and every digit it gets wrong are
drawn (those of the next best when it gets none wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.mlp import MLPClassifier
from sandbox import plots
from sandbox.checks import check_int_tuple, check_number
from sandbox.data import Standardizer, load_real, shift_images, split
from sandbox.experiment import Experiment, Run
from sandbox.metrics import classification_metrics
from sandbox.threads import torch_threads


@dataclass
class Config:
    seed: int = 0  # the split stays scikit-learn's random_state=0; the seed drives the learners
    split_seed: int = 0  # random_state of the train/test split
    members: int = 3  # conv nets in the ensemble
    conv_channels: tuple[int, ...] = (16, 32)  # channels of the conv layers, comma-separated
    hidden: tuple[int, ...] = (64,)
    epochs: int = 15
    batch_size: int = 64
    learning_rate: float = 0.002
    l2: float = 0.0001
    dropout: float = 0.1
    augment: bool = True  # add copies shifted one pixel up, down, left, right
    mlp_epochs: int = 60  # epochs of the plain MLP

    def validate(self) -> None:
        check_number("members", self.members, low=1, integer=True)
        check_int_tuple("conv_channels", self.conv_channels)
        check_number("epochs", self.epochs, low=1, integer=True)
        check_number("mlp_epochs", self.mlp_epochs, low=1, integer=True)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)


def load(cfg: Config) -> tuple[np.ndarray, ...]:
    X, y = load_real("digits")
    return split(X, y, test=0.25, seed=cfg.split_seed)


def conv_member(
    cfg: Config, seed: int, data: tuple[np.ndarray, ...], progress: bool = False
) -> list[list[float]]:
    """One conv net's test probabilities, shape (n_test, 10)."""
    X_tr, X_te, y_tr, _ = data
    images, labels = X_tr.reshape(-1, 8, 8) / 16.0, y_tr
    if cfg.augment:
        images, labels = shift_images(images, labels)
    model = MLPClassifier(
        conv_channels=cfg.conv_channels,
        hidden=cfg.hidden,
        dropout=cfg.dropout,
        l2=cfg.l2,
        learning_rate=cfg.learning_rate,
        learning_rate_schedule="cosine",
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        early_stopping=False,
        seed=seed,
    )
    model.fit(images, labels, progress=progress)
    return model.predict_proba(X_te.reshape(-1, 8, 8) / 16.0).tolist()


def dense(
    cfg: Config, hidden: tuple[int, ...], data: tuple[np.ndarray, ...], progress: bool = False
) -> list[list[float]]:
    X_tr, X_te, y_tr, _ = data
    s = Standardizer().fit(X_tr)
    model = MLPClassifier(
        hidden=hidden,
        l2=cfg.l2,
        learning_rate=cfg.learning_rate,
        epochs=cfg.mlp_epochs,
        batch_size=32,
        early_stopping=False,
        seed=cfg.seed,
    )
    return (
        model.fit(s.transform(X_tr), y_tr, progress=progress)
        .predict_proba(s.transform(X_te))
        .tolist()
    )


def run(cfg: Config, run: Run) -> dict:
    with torch_threads(1):  # small networks: one thread is as fast and leaves the other cores alone
        return _run(cfg, run)


def _run(cfg: Config, run: Run) -> dict:
    data = load(cfg)
    X_te, y_te = data[1], data[3]
    run.say(
        f"{len(data[0])} training and {len(X_te)} test digits (stratified, random_state={cfg.split_seed})"
    )
    probas = {
        "softmax regression": run.stage(
            "softmax", lambda: dense(cfg, (), data, run.progress("softmax"))
        ),
        f"MLP {cfg.hidden}": run.stage(
            "mlp", lambda: dense(cfg, cfg.hidden, data, run.progress("mlp"))
        ),
    }
    members = [
        run.stage(
            f"conv_{i}", lambda i=i: conv_member(cfg, cfg.seed + i, data, run.progress(f"conv_{i}"))
        )
        for i in range(cfg.members)
    ]
    aug = " + shifts" if cfg.augment else ""
    probas[f"conv net{aug}"] = members[0]
    if cfg.members > 1:
        probas[f"{cfg.members} conv nets{aug}, averaged"] = np.mean(members, axis=0)
    scores = {
        name: classification_metrics(y_te, np.argmax(p, 1), proba=np.asarray(p), n_classes=10)
        for name, p in probas.items()
    }
    rows = [
        [
            n,
            m["accuracy"],
            int(round((1 - m["accuracy"]) * len(y_te))),
            m["log_loss"],
            m["f1_macro"],
        ]
        for n, m in scores.items()
    ]
    run.say("\nTest set (450 digits):")
    run.table("accuracy", ["classifier", "test accuracy", "errors", "log-loss", "macro F1"], rows)
    best = max(scores, key=lambda n: scores[n]["accuracy"])
    pred = np.argmax(probas[best], 1)
    run.save_plot(
        plots.confusion(
            np.asarray(scores[best]["confusion_matrix"]),
            title=f"{best}: test accuracy {scores[best]['accuracy']:.4f}",
        ),
        "confusion",
    )
    wrong = np.flatnonzero(pred != y_te)
    # a perfect best leaves nothing to look at: show the misses of the best one that has some
    shown = next(
        (
            n
            for n in sorted(scores, key=lambda n: -scores[n]["accuracy"])
            if scores[n]["accuracy"] < 1
        ),
        best,
    )
    shown_pred = np.argmax(probas[shown], 1)
    miss = np.flatnonzero(shown_pred != y_te)
    run.save_plot(
        plots.image_grid(
            X_te[miss].reshape(-1, 8, 8),
            [f"true {y_te[i]}, said {shown_pred[i]}" for i in miss],
            title=f"{shown}: the {len(miss)} misclassified test digits",
        ),
        "misclassified",
    )
    return {
        "test_accuracy": scores[best]["accuracy"],
        "best": best,
        "errors": int(len(wrong)),
        "accuracy": {n: m["accuracy"] for n, m in scores.items()},
    }


EXPERIMENT = Experiment(
    "digits",
    "scikit-learn's digits: softmax regression, MLP, conv net, conv ensemble; confusion matrix and the misses",
    Config,
    run,
    headline=("test_accuracy", "best"),
    paradigm="supervised",
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
