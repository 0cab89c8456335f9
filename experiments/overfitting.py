"""Overfitting and four cures, the article's lesson on generalisation.

    sandbox run overfitting [--set n_train=200] [--set hidden=512,512] [--set l2=0.01]

A network far too large for a small training set (a few hundred of
scikit-learn's handwritten digits) learns its training set by heart: the
training loss goes to zero while the validation loss turns back up. The same
network with an L1 penalty, with L2 weight decay, with dropout, and with
early stopping (best weights restored) is trained from the same start; a
table gives the train-test gap of each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.mlp import MLPClassifier
from sandbox import plots
from sandbox.checks import check_int_tuple, check_number
from sandbox.data import Standardizer, load_real, split
from sandbox.experiment import Experiment, Run
from sandbox.threads import torch_threads


@dataclass
class Config:
    seed: int = 0
    n_train: int = 200  # training digits, drawn stratified from the whole set
    hidden: tuple[int, ...] = (512, 512)
    epochs: int = 150
    batch_size: int = 32
    learning_rate: float = 0.001
    l1: float = 0.0001
    l2: float = 0.001
    dropout: float = 0.5
    patience: int = 10

    def validate(self) -> None:
        check_number("n_train", self.n_train, low=20, high=1000, integer=True)
        check_int_tuple("hidden", self.hidden)
        check_number("epochs", self.epochs, low=1, integer=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_number("l1", self.l1, low=0.0)
        check_number("l2", self.l2, low=0.0)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_number("patience", self.patience, low=0, integer=True)


def digits_small(cfg: Config) -> tuple[np.ndarray, ...]:
    """n_train training digits, 300 for validation, the remaining ~1300 for test; scaled on train only."""
    X, y = load_real("digits")
    n = len(X)
    X_tr, X_val, X_te, y_tr, y_val, y_te = split(
        X, y, test=1 - (cfg.n_train + 300) / n, validation=300 / n, seed=cfg.seed
    )
    s = Standardizer().fit(X_tr)
    return s.transform(X_tr), s.transform(X_val), s.transform(X_te), y_tr, y_val, y_te


def variants(cfg: Config) -> dict[str, dict]:
    return {
        "too large, no cure": {"early_stopping": False},
        f"L1 = {cfg.l1:g}": {"l1": cfg.l1, "early_stopping": False},
        f"L2 = {cfg.l2:g}": {"l2": cfg.l2, "early_stopping": False},
        f"dropout = {cfg.dropout:g}": {"dropout": cfg.dropout, "early_stopping": False},
        f"early stopping (patience {cfg.patience})": {
            "early_stopping": True,
            "patience": cfg.patience,
        },
    }


def train_variant(
    cfg: Config, extra: dict, data: tuple[np.ndarray, ...], progress: bool = False
) -> dict:
    X_tr, X_val, X_te, y_tr, y_val, y_te = data
    model = MLPClassifier(
        hidden=cfg.hidden,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        seed=cfg.seed,
        **extra,
    )
    model.fit(X_tr, y_tr, validation_data=(X_val, y_val), progress=progress)
    train, test = model.evaluate(X_tr, y_tr), model.evaluate(X_te, y_te)
    return {
        "history": model.history_,
        "epochs": model.n_epochs_,
        "best_epoch": model.best_epoch_,
        "train_loss": train["log_loss"],
        "test_loss": test["log_loss"],
        "gap": test["log_loss"] - train["log_loss"],
        "train_accuracy": train["accuracy"],
        "test_accuracy": test["accuracy"],
    }


def run(cfg: Config, run: Run) -> dict:
    with torch_threads(1):  # small networks: one thread is as fast and leaves the other cores alone
        return _run(cfg, run)


def _run(cfg: Config, run: Run) -> dict:
    data = digits_small(cfg)
    run.say(
        f"{len(data[3])} training digits, {len(data[4])} validation, {len(data[5])} test; network {cfg.hidden}"
    )
    results = {
        name: run.stage(
            f"variant_{i}",
            lambda i=i, e=extra: train_variant(cfg, e, data, run.progress(f"variant_{i}")),
        )
        for i, (name, extra) in enumerate(variants(cfg).items())
    }
    for name, r in results.items():
        for epoch, (tl, vl) in enumerate(zip(r["history"]["loss"], r["history"]["val_loss"]), 1):
            run.log(name, epoch, loss=tl, val_loss=vl)
    rows = [
        [
            name,
            r["epochs"],
            r["train_loss"],
            r["test_loss"],
            r["gap"],
            r["train_accuracy"],
            r["test_accuracy"],
        ]
        for name, r in results.items()
    ]
    run.say("\nTrain-test gap (log-loss on the test set minus on the training set, eval mode):")
    run.table(
        "gap",
        ["variant", "epochs", "train loss", "test loss", "gap", "train acc", "test acc"],
        rows,
    )
    fig = plots.curves(
        {
            f"{n}: {part}": r["history"][key]
            for n, r in list(results.items())[:1]
            for part, key in (("train", "loss"), ("validation", "val_loss"))
        },
        xlabel="epoch",
        ylabel="cross-entropy",
        logy=True,
        title="Too large a network: train vs validation loss",
    )
    run.save_plot(fig, "overfitting")
    fig = plots.curves(
        {n: r["history"]["val_loss"] for n, r in results.items()},
        xlabel="epoch",
        ylabel="validation cross-entropy",
        logy=True,
        title="Validation loss with each cure",
    )
    run.save_plot(fig, "cures")
    plain = results["too large, no cure"]
    return {
        "plain_gap": plain["gap"],
        "best_cure": min(
            (n for n in results if n != "too large, no cure"), key=lambda n: results[n]["test_loss"]
        ),
        "variants": {n: {k: v for k, v in r.items() if k != "history"} for n, r in results.items()},
    }


EXPERIMENT = Experiment(
    "overfitting",
    "a network too large for 200 digits: train vs validation loss, then L1, L2, dropout, early stopping",
    Config,
    run,
    headline=("plain_gap", "best_cure"),
    paradigm="supervised",
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
