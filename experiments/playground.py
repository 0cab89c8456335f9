"""TensorFlow Playground in the sandbox: small networks on four 2-D sets, decision boundaries as they learn.

    sandbox run playground [--set datasets=spiral] [--set hidden=8,8,8] [--set activation=relu]
                           [--set l2=0.001] [--set dropout=0.1] [--set noise=0.2]

For each set (circle, xor, gauss, spiral) half the points train and half
test, as the Playground's default ratio. The background of each picture is
the predicted probability of the orange class (label 1) over the plane,
shaded as in the Playground, at several moments of training; training
points have a white edge, test points a black one. The final test accuracy
of each set goes in a table and ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.mlp import MLPClassifier
from sandbox import plots
from sandbox.checks import check_choice, check_int_tuple, check_number
from sandbox.data import PLAYGROUND_SETS, playground, split
from sandbox.experiment import Experiment, Run, learner_kwargs
from sandbox.nn import ACTIVATIONS
from sandbox.threads import torch_threads


@dataclass
class Config:
    seed: int = 0
    datasets: tuple[str, ...] = PLAYGROUND_SETS
    n: int = 400
    noise: float = 0.1
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    learning_rate: float = 0.01
    batch_size: int = 10  # the Playground's default
    epochs: int = 200
    snapshots: tuple[int, ...] = (1, 10, 50)  # epochs pictured besides the last one
    backend: str = "numpy"  # tiny dense networks: the from-scratch engine is the quicker one here

    def validate(self) -> None:
        if not self.datasets:
            raise ValueError(f"datasets=() must name at least one of {', '.join(PLAYGROUND_SETS)}.")
        for d in self.datasets:
            check_choice("datasets", d, PLAYGROUND_SETS)
        check_number("n", self.n, low=8, integer=True)
        check_number("noise", self.noise, low=0.0, high=1.0)
        if self.hidden:  # () is allowed: a linear model, the Playground with no hidden layer
            check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_number("epochs", self.epochs, low=1, integer=True)
        if self.snapshots:
            check_int_tuple("snapshots", self.snapshots)
        check_choice("backend", self.backend, ("torch", "numpy"))


def plane(extent: float = 6.0, steps: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid the background is drawn on: xx, yy of shape (steps, steps) and their points (steps², 2)."""
    axis = np.linspace(-extent, extent, steps)
    xx, yy = np.meshgrid(axis, axis)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def train_set(cfg: Config, name: str, progress: bool = False) -> dict:
    X, y = playground(name, cfg.n, noise=cfg.noise, seed=cfg.seed)
    X_tr, X_te, y_tr, y_te = split(X, y, test=0.5, seed=cfg.seed)
    xx, _, points = plane()
    wanted = {e for e in cfg.snapshots if e < cfg.epochs}
    pictures: dict[int, list] = {}

    def snapshot(info: dict) -> None:
        if info["done"] in wanted:
            pictures[info["done"]] = model.predict_proba(points)[:, 1].reshape(xx.shape).tolist()

    model = MLPClassifier(
        **learner_kwargs(
            cfg,
            "model",
            hidden=cfg.hidden,
            activation=cfg.activation,
            l1=cfg.l1,
            l2=cfg.l2,
            dropout=cfg.dropout,
            learning_rate=cfg.learning_rate,
            batch_size=cfg.batch_size,
            epochs=cfg.epochs,
            early_stopping=False,
            backend=cfg.backend,
            seed=cfg.seed,
        )
    )
    model.fit(X_tr, y_tr, validation_data=(X_te, y_te), callback=snapshot, progress=progress)
    pictures[model.n_epochs_] = model.predict_proba(points)[:, 1].reshape(xx.shape).tolist()
    return {
        "train_accuracy": model.evaluate(X_tr, y_tr)["accuracy"],
        "test_accuracy": model.evaluate(X_te, y_te)["accuracy"],
        "test_loss": model.evaluate(X_te, y_te)["log_loss"],
        "history": model.history_,
        "pictures": {str(k): v for k, v in sorted(pictures.items())},
        "data": {"X_train": X_tr, "y_train": y_tr, "X_test": X_te, "y_test": y_te},
    }


def run(cfg: Config, run: Run) -> dict:
    with torch_threads(1):  # tiny networks: one thread is as fast and leaves the other cores alone
        return _run(cfg, run)


def _run(cfg: Config, run: Run) -> dict:
    xx, yy, _ = plane()
    results = {}
    for name in cfg.datasets:
        r = run.stage(name, lambda name=name: train_set(cfg, name, run.progress(name)))
        results[name] = r
        for epoch, (tl, vl) in enumerate(zip(r["history"]["loss"], r["history"]["val_loss"]), 1):
            run.log(name, epoch, loss=tl, test_loss=vl)
        d = {k: np.asarray(v) for k, v in r["data"].items()}
        panels = [(f"epoch {e}", np.asarray(p)) for e, p in r["pictures"].items()]
        fig = plots.decision_boundaries(
            panels,
            (xx, yy),
            (d["X_train"], d["y_train"]),
            (d["X_test"], d["y_test"]),
            title=f"{name}: hidden {cfg.hidden}, {cfg.activation}, test accuracy {r['test_accuracy']:.3f}",
        )
        run.save_plot(fig, f"boundary_{name}")
    run.say(
        f"\nNetwork {cfg.hidden} {cfg.activation}, l1={cfg.l1:g}, l2={cfg.l2:g}, dropout={cfg.dropout:g}, noise={cfg.noise:g}:"
    )
    run.table(
        "accuracy",
        ["dataset", "train accuracy", "test accuracy", "test log-loss"],
        [[n, r["train_accuracy"], r["test_accuracy"], r["test_loss"]] for n, r in results.items()],
    )
    return {
        "test_accuracy": {n: r["test_accuracy"] for n, r in results.items()},
        "mean_test_accuracy": float(np.mean([r["test_accuracy"] for r in results.values()])),
    }


EXPERIMENT = Experiment(
    "playground",
    "TensorFlow Playground: circle, xor, gauss, spiral; decision boundaries while a small network learns",
    Config,
    run,
    tour={"datasets": ("circle",), "epochs": 30, "snapshots": (1, 5)},
    tour_order=20,
    learners={"model": "agents.mlp:MLPClassifier"},
    paradigm="supervised",
    headline=("mean_test_accuracy",),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
