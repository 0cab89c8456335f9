"""The learning rate, the article's lesson: too small crawls, too large diverges.

    sandbox run learning-rate [--set rates=0.001,0.01,0.1,1,3] [--set optimizer=sgd]

One network (an MLPRegressor on the standardised house-price set) trained
with plain gradient descent at each rate, from the same starting weights and
batch order. A rate whose loss becomes non-finite is caught: the run reports
the epoch where it diverged and goes on with the next rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.mlp import MLPRegressor
from sandbox import plots
from sandbox.checks import check_choice, check_int_tuple, check_number
from sandbox.data import Standardizer, house_prices, split
from sandbox.errors import DivergenceError
from sandbox.experiment import Experiment, Run
from sandbox.optim import OPTIMIZERS
from sandbox.threads import torch_threads


@dataclass
class Config:
    seed: int = 0
    rates: tuple[float, ...] = (
        0.0001,
        0.001,
        0.01,
        0.1,
        0.5,
        2.0,
    )  # the learning rates tried, comma-separated
    optimizer: str = "sgd"  # sgd, momentum, adam or rmsprop
    hidden: tuple[int, ...] = (32,)
    epochs: int = 40
    batch_size: int = 32
    n: int = 1000
    good_loss: float = 0.1  # validation MSE (standardised units) that counts as "learned"

    def validate(self) -> None:
        if not self.rates:
            raise ValueError("rates=() must list at least one learning rate, e.g. 0.001,0.01,0.1.")
        for r in self.rates:
            check_number("rates", r, low=0.0, low_open=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_int_tuple("hidden", self.hidden)
        check_number("epochs", self.epochs, low=1, integer=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("n", self.n, low=20, integer=True)
        check_number("good_loss", self.good_loss, low=0.0, low_open=True)


def standardised_houses(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """House prices split 80/20, features and price standardised on the training part only."""
    X, y = house_prices(n, seed=seed)
    X_tr, X_te, y_tr, y_te = split(X, y, test=0.2, stratify=False, seed=seed)
    sx, sy = Standardizer().fit(X_tr), Standardizer().fit(y_tr[:, None])
    return (
        sx.transform(X_tr),
        sx.transform(X_te),
        sy.transform(y_tr[:, None])[:, 0],
        sy.transform(y_te[:, None])[:, 0],
    )


def train_at(
    cfg: Config, rate: float, data: tuple[np.ndarray, ...], progress: bool = False
) -> dict:
    X_tr, X_val, y_tr, y_val = data
    model = MLPRegressor(
        hidden=cfg.hidden,
        optimizer=cfg.optimizer,
        learning_rate=rate,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        early_stopping=False,
        seed=cfg.seed,
    )
    diverged = None
    try:
        model.fit(X_tr, y_tr, validation_data=(X_val, y_val), progress=progress)
    except DivergenceError as exc:
        diverged = exc.epoch
    h = model.history_
    val = h.get("val_loss", [])
    first_good = next((i + 1 for i, v in enumerate(val) if v <= cfg.good_loss), None)
    if diverged is not None:
        verdict = f"diverged in epoch {diverged}"
    elif first_good is None:
        verdict = "too slow: not learned"
    else:
        verdict = f"learned by epoch {first_good}"
    return {
        "rate": rate,
        "loss": h.get("loss", []),
        "val_loss": val,
        "diverged_epoch": diverged,
        "first_good_epoch": first_good,
        "final_val_loss": val[-1] if val else None,
        "verdict": verdict,
    }


def run(cfg: Config, run: Run) -> dict:
    with torch_threads(1):  # small networks: one thread is as fast and leaves the other cores alone
        return _run(cfg, run)


def _run(cfg: Config, run: Run) -> dict:
    data = standardised_houses(cfg.n, cfg.seed)
    results = [
        run.stage(f"rate_{r:g}", lambda r=r: train_at(cfg, r, data, run.progress(f"rate_{r:g}")))
        for r in cfg.rates
    ]
    for r in results:
        for epoch, (tl, vl) in enumerate(zip(r["loss"], r["val_loss"]), 1):
            run.log(f"rate={r['rate']:g}", epoch, loss=tl, val_loss=vl)
    run.say(
        f"\n{cfg.optimizer} on standardised house prices, {cfg.epochs} epochs; 'learned' = validation MSE <= {cfg.good_loss:g}:"
    )
    rows = [
        [
            f"{r['rate']:g}",
            r["final_val_loss"] if r["final_val_loss"] is not None else "-",
            r["verdict"],
        ]
        for r in results
    ]
    run.table("rates", ["learning rate", "final val MSE", "verdict"], rows)
    curves = {
        f"lr={r['rate']:g}" + (" (diverged)" if r["diverged_epoch"] else ""): r["val_loss"]
        for r in results
        if r["val_loss"]
    }
    gone = [
        f"{r['rate']:g} (epoch {r['diverged_epoch']})"
        for r in results
        if r["diverged_epoch"] is not None
    ]
    title = f"One network, {len(results)} learning rates ({cfg.optimizer})" + (
        f"\ndiverged: {', '.join(gone)}" if gone else ""
    )
    run.save_plot(
        plots.curves(
            curves, xlabel="epoch", ylabel="validation MSE (standardised)", logy=True, title=title
        ),
        "loss_curves",
    )
    finite = [r for r in results if r["diverged_epoch"] is None and r["final_val_loss"] is not None]
    best = min(finite, key=lambda r: r["final_val_loss"]) if finite else None
    return {
        "best_rate": best["rate"] if best else None,
        "best_val_loss": best["final_val_loss"] if best else None,
        "diverged_rates": [r["rate"] for r in results if r["diverged_epoch"] is not None],
        "too_slow_rates": [
            r["rate"]
            for r in results
            if r["diverged_epoch"] is None and r["first_good_epoch"] is None
        ],
        "results": {
            f"{r['rate']:g}": {
                k: r[k] for k in ("diverged_epoch", "first_good_epoch", "final_val_loss", "verdict")
            }
            for r in results
        },
    }


EXPERIMENT = Experiment(
    "learning-rate",
    "one network over a range of learning rates: crawling, learning, diverging (caught and reported)",
    Config,
    run,
    headline=("best_rate", "diverged_rates", "too_slow_rates"),
    paradigm="supervised",
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
