"""House prices, the article's regression example: a straight line against a small network.

    sandbox run houses [--set n=2000] [--set noise=40] [--set hidden=64,64]

Prices come from :func:`sandbox.data.house_prices` (area, rooms, distance to
the centre, age -> price in thousands, formula in its docstring). The price
of a square metre falls off with distance, which a linear model cannot
follow. Features and price are standardised on the training part only; R²,
MSE and MAE are reported in thousands on the held-out test part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.linear import LinearRegressor
from agents.mlp import MLPRegressor
from sandbox import plots
from sandbox.checks import check_int_tuple, check_number
from sandbox.data import Standardizer, house_prices, split
from sandbox.experiment import Experiment, Run, learner_kwargs
from sandbox.metrics import regression_metrics
from sandbox.threads import torch_threads


@dataclass
class Config:
    seed: int = 0
    n: int = 1000
    noise: float = 20.0  # price noise, thousands
    hidden: tuple[int, ...] = (64, 64)
    epochs: int = 200
    learning_rate: float = 0.001
    batch_size: int = 32

    def validate(self) -> None:
        check_number("n", self.n, low=20, integer=True)
        check_number("noise", self.noise, low=0.0)
        check_int_tuple("hidden", self.hidden)
        check_number("epochs", self.epochs, low=1, integer=True)


def fit_both(cfg: Config, progress: bool = False) -> dict:
    X, y = house_prices(cfg.n, noise=cfg.noise, seed=cfg.seed)
    X_tr, X_te, y_tr, y_te = split(X, y, test=0.2, stratify=False, seed=cfg.seed)
    sx, sy = Standardizer().fit(X_tr), Standardizer().fit(y_tr[:, None])
    Z_tr, Z_te, t_tr = sx.transform(X_tr), sx.transform(X_te), sy.transform(y_tr[:, None])[:, 0]
    models = {
        "linear (least squares)": LinearRegressor(solver="closed-form", seed=cfg.seed),
        f"MLP {cfg.hidden}": MLPRegressor(
            **learner_kwargs(
                cfg,
                "mlp",
                hidden=cfg.hidden,
                epochs=cfg.epochs,
                learning_rate=cfg.learning_rate,
                batch_size=cfg.batch_size,
                early_stopping=True,
                patience=20,
                seed=cfg.seed,
            )
        ),
    }
    out = {"y_test": y_te}
    for name, model in models.items():
        model.fit(Z_tr, t_tr, progress=progress)
        pred = sy.inverse_transform(model.act(Z_te)[:, None])[:, 0]
        out[name] = {
            "pred": pred,
            "test": regression_metrics(y_te, pred),
            "history": getattr(model, "history_", {}),
        }
    return out


def run(cfg: Config, run: Run) -> dict:
    with torch_threads(1):  # small networks: one thread is as fast and leaves the other cores alone
        return _run(cfg, run)


def _run(cfg: Config, run: Run) -> dict:
    r = run.stage("fit", lambda: fit_both(cfg, run.progress("fit")))
    y_te = np.asarray(r.pop("y_test"))
    run.say(f"\n{cfg.n} houses, {len(y_te)} held out; price in thousands (noise sd {cfg.noise:g}):")
    run.table(
        "metrics",
        ["model", "R²", "RMSE", "MAE"],
        [
            [n, m["test"]["r2"], float(np.sqrt(m["test"]["mse"])), m["test"]["mae"]]
            for n, m in r.items()
        ],
    )
    for name, m in r.items():
        for epoch, v in enumerate(m["history"].get("val_loss", []), 1):
            run.log(name, epoch, val_loss=v)
    run.save_plot(
        plots.predicted_vs_true(
            {n: (y_te, np.asarray(m["pred"])) for n, m in r.items()},
            unit="price (k)",
            title="House prices on the test set",
        ),
        "predicted_vs_true",
    )
    return {
        f"r2_{'linear' if n.startswith('linear') else 'mlp'}": m["test"]["r2"] for n, m in r.items()
    } | {"rmse": {n: float(np.sqrt(m["test"]["mse"])) for n, m in r.items()}}


EXPERIMENT = Experiment(
    "houses",
    "the article's house prices: a straight line against a small network, R² and predicted-vs-true",
    Config,
    run,
    headline=("r2_linear", "r2_mlp"),
    learners={"mlp": "agents.mlp:MLPRegressor"},
    paradigm="supervised",
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
